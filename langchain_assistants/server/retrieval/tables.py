"""Retrieval tables: vector stores, their files (with ingestion state), batches, chunks.

Ingestion state lives here, not in memory, so several server processes on one database see
the same queue: a file row is claimed by a process (``claimed_by``/``claimed_at``) while it
is ingested, and its chunks are written in the transaction that marks it ``completed``.
The full-text index (FTS5 / tsvector) and the vectors are created by :mod:`.index` with
dialect-specific DDL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..store.tables import Base, JSONType, SeqType


class VectorStoreRow(Base):
    __tablename__ = "vector_stores"
    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    project: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)


class VectorStoreFileRow(Base):
    """One file in one store; ``data`` is its ``vector_store.file`` wire object."""

    __tablename__ = "vector_store_files"
    __table_args__ = (UniqueConstraint("vector_store_id", "file_id"),)
    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    vector_store_id: Mapped[str] = mapped_column(String(64), index=True)
    file_id: Mapped[str] = mapped_column(String(64), index=True)
    batch_id: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    filename: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    usage_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class FileBatchRow(Base):
    __tablename__ = "vector_store_file_batches"
    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    vector_store_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    cancelled: Mapped[int] = mapped_column(Integer, default=0)


class ChunkRow(Base):
    """One chunk of one store's file; its id is the FTS5 rowid / the vector's key."""

    __tablename__ = "retrieval_chunks"
    __table_args__ = (Index("ix_retrieval_chunks_store_file", "vector_store_id", "file_id"),)
    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    vector_store_id: Mapped[str] = mapped_column(String(64))
    file_id: Mapped[str] = mapped_column(String(64), index=True)
    chunk_index: Mapped[int] = mapped_column(Integer)
    tokens: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
