"""The database schema on disk: create it, bring an older one up to date, check it opens.

``serve`` calls :func:`check_database` before it listens, so an unusable ``--db`` ends with
one line; every start runs :func:`prepare_schema` (idempotent).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from .tables import Base


def prepare_schema(conn: Connection) -> None:
    """Create missing tables, then add the columns an existing database lacks."""
    Base.metadata.create_all(conn)
    _add_missing_columns(conn)


class DatabaseUnavailableError(RuntimeError):
    """The database cannot be opened or prepared; the message says which and why."""


def display_url(url: str) -> str:
    """The database URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy parses: say nothing more about it
        return "the configured database"


async def check_database(url: str) -> None:
    """Open the database once and prepare its tables, or raise DatabaseUnavailableError
    with a one-line reason (``serve`` checks this before it starts listening)."""
    path = url.split(":///", 1)[1] if url.startswith("sqlite") and ":///" in url else None
    if path and path != ":memory:":
        parent = Path(path).parent
        if not parent.is_dir():
            problem = "is not a directory" if parent.exists() else "does not exist"
            raise DatabaseUnavailableError(
                f"cannot open SQLite database {path}: {parent} {problem}"
            )
    try:
        if url.startswith("sqlite"):
            # The stdlib driver: a failed aiosqlite connect leaves a worker thread behind
            # that prints a traceback once the event loop is gone.
            sync_engine = create_engine(make_url(url).set(drivername="sqlite"))
            try:
                with sync_engine.begin() as conn:
                    prepare_schema(conn)
            finally:
                sync_engine.dispose()
        else:
            engine = create_async_engine(url)
            try:
                async with engine.begin() as conn:
                    await conn.run_sync(prepare_schema)
            finally:
                await engine.dispose()
    except Exception as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        where = f"SQLite database {path}" if path else f"database {display_url(url)}"
        hint = " (check that the file's directory exists and is writable)" if path else ""
        raise DatabaseUnavailableError(
            f"cannot open {where}: {reason[0] if reason else type(exc).__name__}{hint}"
        ) from exc


def _add_missing_columns(conn: Connection) -> None:
    """Bring a database made by an older version up to date: add each column the tables
    have gained (such as ``project``). Only columns that are nullable or have a server
    default can be added to existing rows; anything else asks for a fresh database."""
    inspector = inspect(conn)
    quote = conn.dialect.identifier_preparer.quote
    for table in Base.metadata.sorted_tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            sql = f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(column.name)} "
            sql += column.type.compile(dialect=conn.dialect)
            default = column.server_default
            if default is not None:
                arg = getattr(default, "arg", None)
                if isinstance(arg, str):
                    literal = "'" + arg.replace("'", "''") + "'"
                else:  # a text() clause: SQL as written
                    literal = str(getattr(arg, "text", arg))
                sql += f" DEFAULT {literal}"
                if not column.nullable:
                    sql += " NOT NULL"
            elif not column.nullable:
                raise RuntimeError(
                    f"The database predates column {table.name}.{column.name}, which cannot be "
                    "added to existing rows; start with a fresh database."
                )
            conn.execute(text(sql))
            for index in table.indexes:
                if column.name in index.columns:
                    index.create(conn, checkfirst=True)
