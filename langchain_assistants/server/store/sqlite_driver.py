"""SQLAlchemy's aiosqlite dialect, with small statements run without a thread round trip.

aiosqlite runs every call of the ``sqlite3`` module on the connection's worker thread,
and SQLAlchemy's adapter makes four such calls per statement (open a cursor, execute,
fetch, close). Each is a round trip between the event loop and that thread (a queue put,
a thread wake-up, a loop wake-up, the GIL changing hands): measured, it costs more CPU
than SQLite's own work for the small keyed statements a turn makes.

So this adapter runs each statement in **one** call: its cursor is opened, executed,
read to its end and closed together, keeping the rows, ``description``, ``rowcount`` and
``lastrowid`` SQLAlchemy asks for afterwards. Where that call runs depends on the
statement's execution option ``sqlite_inline``:

- ``True`` (the store's keyed reads and writes, see ``Store``): on the event loop's
  thread, in tens of microseconds, no round trip. On a single-process SQLite server our
  own writers are serialized by the store's lock and WAL readers never wait, so such a
  statement never waits for a lock held inside the process.
- otherwise (searches, ingestion, blobs: anything that may scan or write a lot): on the
  worker thread, one round trip per statement, so the loop keeps serving while it runs.

A commit or rollback runs inline when every statement of its transaction did. The rest
(connecting, errors, termination) is SQLAlchemy's and aiosqlite's, unchanged;
``aiosqlite.Connection._execute`` (queue a function on the connection's thread) is the
one internal used, as SQLAlchemy's own adapter uses aiosqlite's queue.
"""

from __future__ import annotations

import asyncio
import collections
from types import ModuleType
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.engine import Engine
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

#: The execution option that runs a statement on the event loop's thread.
INLINE = "sqlite_inline"


def _run_statement(
    conn: Any, operation: Any, parameters: Any, many: bool
) -> tuple[list[Any], Any, int, int | None]:
    """The whole statement on a ``sqlite3`` connection: its rows and its cursor's facts."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return rows, description, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _done(value: Any) -> asyncio.Future[Any]:
    """An already-resolved future: SQLAlchemy's async bridge requires every execute to
    await something, and awaiting this costs no trip through the event loop."""
    future = asyncio.get_running_loop().create_future()
    future.set_result(value)
    return future


class OneCallCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor whose statement runs in one call, inline or on the worker thread."""

    __slots__ = ("_description", "_lastrowid", "_rowcount", "inline")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:
        # No aiosqlite cursor is opened here: each statement opens and closes its own.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None
        self.inline = False

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    def _run(self, operation: Any, parameters: Any, many: bool) -> None:
        connection: OneCallConnection = self._adapt_connection  # type: ignore[assignment]
        sqlite_conn = self._connection._conn
        try:
            if self.inline:
                outcome = await_(_done(_run_statement(sqlite_conn, operation, parameters, many)))
            else:
                connection.offloaded = True
                outcome = await_(
                    self._connection._execute(
                        _run_statement, sqlite_conn, operation, parameters, many
                    )
                )
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        rows, self._description, self._rowcount, self._lastrowid = outcome
        self._rows = collections.deque(rows)

    def execute(self, operation: Any, parameters: Any = None) -> None:
        self._run(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> None:
        self._run(operation, seq_of_parameters, many=True)

    async def _async_soft_close(self) -> None:
        return None  # nothing stays open on the worker thread between calls

    def close(self) -> None:
        self._rows.clear()


class OneCallConnection(AsyncAdapt_aiosqlite_connection):
    """Commits and rolls back inline when its transaction ran only inline statements."""

    __slots__ = ("offloaded",)
    _cursor_cls = OneCallCursor  # type: ignore[assignment]

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self.offloaded = False

    def _end(self, how: str) -> None:
        if not self._connection._connection:
            return  # closed already (aiosqlite would refuse)
        if self.offloaded:
            getattr(super(), how)()
        else:
            try:
                getattr(self._connection._conn, how)()
            except Exception as error:
                self._handle_exception(error)
        self.offloaded = False

    def commit(self) -> None:
        self._end("commit")

    def rollback(self) -> None:
        self._end("rollback")


class OneCallDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The ``module=`` for ``create_async_engine("sqlite+aiosqlite://...")``."""

    def connect(self, *arg: Any, **kw: Any) -> OneCallConnection:
        adapted = super().connect(*arg, **kw)
        return OneCallConnection(self, adapted._connection)


def one_call_dbapi(aiosqlite: ModuleType | Any, sqlite: ModuleType) -> OneCallDBAPI:
    """The adapter over ``aiosqlite`` (or a stand-in opening connections with another
    ``sqlite3``-compatible module, see ``sqlite_ext.py``)."""
    return OneCallDBAPI(aiosqlite, sqlite)


def plain_sqlite_dbapi() -> OneCallDBAPI:
    """The adapter over aiosqlite and the standard ``sqlite3``."""
    import sqlite3

    import aiosqlite

    return OneCallDBAPI(aiosqlite, sqlite3)


def route_statements(engine: Engine) -> None:
    """Mark each cursor with its statement's ``sqlite_inline`` option before it executes."""

    @event.listens_for(engine, "before_cursor_execute")
    def _route(
        _conn: Any, cursor: Any, _statement: Any, _params: Any, context: Any, _many: Any
    ) -> None:
        if isinstance(cursor, OneCallCursor):
            cursor.inline = bool(context is not None and context.execution_options.get(INLINE))
