"""Tables: one row per object, its wire JSON in ``data`` plus the columns we filter on.

Portable SQL only (SQLite and PostgreSQL): ``seq`` is an autoincrement key that gives a
stable creation order for pagination, since ``created_at`` has one-second resolution.
Every row belongs to a ``project`` (the project of the API key that created it, see
``server/auth.py``); the column is on the shared ``_Row`` so every table has it.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import JSON, BigInteger, Index, Integer, LargeBinary, String, Table, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SeqType = BigInteger().with_variant(Integer(), "sqlite")
JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    pass


DEFAULT_PROJECT = "default"
#: The runs that lock their thread (kept in step with ``wire.ACTIVE_RUN_STATUSES``).
ACTIVE_WHERE = "status IN ('queued', 'in_progress', 'requires_action', 'cancelling')"


class _Row:
    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    project: Mapped[str] = mapped_column(String(64), index=True, server_default=DEFAULT_PROJECT)
    id: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)


class AssistantRow(_Row, Base):
    __tablename__ = "assistants"


class ThreadRow(_Row, Base):
    __tablename__ = "threads"


class MessageRow(_Row, Base):
    __tablename__ = "messages"
    thread_id: Mapped[str] = mapped_column(String(64), index=True)
    run_id: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)


class RunRow(_Row, Base):
    __tablename__ = "runs"
    thread_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    expires_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Engine state that is not part of the wire object: the model turns and tool
    # results of this run (LangChain message dicts) and the running token usage.
    transcript: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    usage: Mapped[dict[str, int] | None] = mapped_column(JSONType, nullable=True)
    # State of the run's hosted tools: the run's ``include[]`` and the citation markers
    # its file searches handed out (so citations resolve after a requires_action pause).
    tool_state: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    # The server process executing the run and until when (epoch milliseconds) its claim
    # holds; the owner renews it. NULL while nobody executes it (``requires_action``).
    # See ``engine/leases.py``.
    owner: Mapped[str | None] = mapped_column(String(96), index=True, nullable=True)
    lease_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    # One active run per thread, whichever server process inserts it (SQLite and PostgreSQL
    # both have partial indexes). The route checks first; this is what makes it hold.
    __table_args__ = (
        Index(
            "one_active_run_per_thread",
            "thread_id",
            unique=True,
            sqlite_where=text(ACTIVE_WHERE),
            postgresql_where=text(ACTIVE_WHERE),
        ),
    )


class StepRow(_Row, Base):
    __tablename__ = "run_steps"
    thread_id: Mapped[str] = mapped_column(String(64), index=True)
    run_id: Mapped[str] = mapped_column(String(64), index=True)


class FileRow(_Row, Base):
    """A file's metadata (uploads and files runs make); its bytes are in the blob store."""

    __tablename__ = "files"
    # The default fills rows of databases from before uploads (all files were figures).
    purpose: Mapped[str] = mapped_column(String(32), index=True, server_default="assistants_output")


class FileBlobRow(Base):
    """One chunk of a file's bytes, for the database blob store (see ``store/blobs.py``)."""

    __tablename__ = "file_blobs"
    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    blob_key: Mapped[str] = mapped_column(String(96), index=True)
    part: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)


def core(row: Any) -> Table:
    """A mapped class's Core table: statements on it skip the ORM's per-call work."""
    return cast(Table, row.__table__)
