"""The store: typed access to the tables, pagination, and the thread-lock query.

SQLite allows one writer at a time, so on SQLite every write takes an in-process lock
instead of failing with "database is locked"; PostgreSQL writes run concurrently.

A read or write that is one statement runs outside a transaction on PostgreSQL
(autocommit: one statement is atomic by itself), which saves the ``BEGIN`` and ``COMMIT``
round trips that were half of a turn's trips to the database.

When the database itself fails (unreachable, restarted, read-only, disk full) every call
raises :class:`StoreUnavailable`; the app answers 503. Connections recover on their own
once it is back: pooled ones are pinged before use, broken SQLite ones are discarded.

Projects: ``store.scoped(project)`` is a view of the same database that reads, updates and
deletes only that project's rows and stamps its inserts with it. Routes get such a view
from ``Svc`` (``routes/common.py``), so a route that knows nothing of projects is scoped.
The unscoped store (the engine's) sees every project; its inserts must say ``project=``.
"""

from __future__ import annotations

import asyncio
import copy
import enum
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, event, exc, func, select, update
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

from ..wire import ACTIVE_RUN_STATUSES
from . import json_codec
from . import statements as sql
from .liveness import ping_idle_connections
from .schema import prepare_schema
from .sqlite_driver import INLINE, plain_sqlite_dbapi, route_statements
from .sqlite_ext import aiosqlite_dbapi, load_sqlite_vec
from .tables import AssistantRow, FileRow, MessageRow, RunRow, StepRow, ThreadRow, core


class StoreUnavailable(Exception):
    """The database cannot be reached or written right now (a fault, not a bad request)."""


# SQLite errors that mean the file cannot be written now, not that the statement is wrong.
_SQLITE_OUTAGE = ("readonly", "disk i/o error", "disk is full", "unable to open database")
# PostgreSQL SQLSTATE classes: connection exception, insufficient resources (disk full),
# operator intervention (shutdown, restart), system error (I/O).
_PG_OUTAGE_CLASSES = ("08", "53", "57", "58")


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` from the driver means the database is away (retry later)."""
    if isinstance(error, (exc.OperationalError, exc.InterfaceError, exc.DisconnectionError)):
        return True
    if isinstance(error, exc.DBAPIError):
        sqlstate = str(getattr(error.orig, "sqlstate", None) or "")
        return error.connection_invalidated or sqlstate[:2] in _PG_OUTAGE_CLASSES
    return isinstance(error, (OSError, asyncio.TimeoutError))


class Kind(enum.Enum):
    """Each stored object type: its table and the name used in 404 messages."""

    assistant = (AssistantRow, "assistant")
    thread = (ThreadRow, "thread")
    message = (MessageRow, "message")
    run = (RunRow, "run")
    step = (StepRow, "run step")
    file = (FileRow, "file")

    @property
    def table(self) -> Any:
        return self.value[0]

    @property
    def label(self) -> str:
        return self.value[1]


#: ``(kind, wire object, extra columns)`` of one row to insert.
Insert = tuple[Kind, dict[str, Any], dict[str, Any]]


@dataclass(frozen=True)
class RunState:
    """A run's engine state (``Store.engine_state``)."""

    transcript: list[dict[str, Any]]
    usage: dict[str, int] | None
    tool_state: dict[str, Any]
    project: str


@dataclass(frozen=True)
class Page:
    """One page of a list: items in the requested order, and whether more follow."""

    items: list[dict[str, Any]]
    has_more: bool


@dataclass
class _Batch:
    """An open ``Store.batch()``: its session, the task that owns it, deferred actions."""

    sessions: Any
    task: asyncio.Task[Any] | None
    session: AsyncSession
    after_commit: list[Callable[[], None]]
    #: The session's connection, once a Core statement of the store needed it.
    connection: AsyncConnection | None = None


_BATCH: ContextVar[_Batch | None] = ContextVar("store_batch", default=None)


class Store:
    """Async access to the database named by a SQLAlchemy URL.

    The store's own reads and writes are Core statements on a connection (no ORM unit
    of work: they are keyed single-row statements, and the ORM's bookkeeping cost more
    than the statements). ``session()`` gives the stores built on this one (retrieval,
    blobs) an ORM session in the same transactions."""

    def __init__(self, url: str, *, sqlite_vec: bool = False) -> None:
        """``sqlite_vec`` loads the sqlite-vec extension into every SQLite connection."""
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if self.is_sqlite and ":memory:" in url:
            kwargs["poolclass"] = StaticPool
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
            # Every transaction here ends in a commit or rollback, so the pool's extra
            # rollback on check-in would only cost a call.
            kwargs["pool_reset_on_return"] = None
            # One call per statement, inline for the store's own (``sqlite_driver.py``).
            kwargs["module"] = aiosqlite_dbapi() if sqlite_vec else plain_sqlite_dbapi()
        else:
            # A server restart leaves pooled connections dead: idle ones are pinged
            # before use (``liveness.py``); the most recently used is handed out first.
            kwargs["pool_use_lifo"] = True
            # Concurrent requests and runs each hold a connection briefly; SQLAlchemy's
            # default (5 + 10 overflow) queues them under load. Several processes share
            # the server's max_connections (100 by default): 3 processes fit.
            kwargs |= {"pool_size": 10, "max_overflow": 20}
        kwargs |= {"json_serializer": json_codec.dumps, "json_deserializer": json_codec.loads}
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "handle_error", _discard_broken_sqlite)
            route_statements(self.engine.sync_engine)
        else:
            ping_idle_connections(self.engine.sync_engine)
        if self.is_sqlite and sqlite_vec:
            event.listen(self.engine.sync_engine, "connect", load_sqlite_vec)
        # The store's own statements are small and keyed: on SQLite they run inline.
        self._keyed = self.engine.execution_options(**{INLINE: True})
        # One statement needs no transaction around it on PostgreSQL (see the module doc).
        self._autocommit = (
            None if self.is_sqlite else self._keyed.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._sessions = async_sessionmaker(self._keyed, expire_on_commit=False)
        self._other_sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # Single writer on SQLite; on an in-memory database the one connection is shared,
        # so reads take the lock too.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._lock_reads = self.is_sqlite and ":memory:" in url
        # None: the unscoped store, which sees every project.
        self.project: str | None = None

    def scoped(self, project: str) -> Store:
        """A view of this store (same connections and locks) limited to ``project``."""
        view = copy.copy(self)
        view.project = project
        return view

    def _mine(self, table: Any) -> list[Any]:
        """The WHERE clauses that limit a query to this view's project."""
        return [] if self.project is None else [table.project == self.project]

    def row_values(
        self, kind: Kind, data: dict[str, Any], columns: dict[str, Any]
    ) -> dict[str, Any]:
        """The column values of a new row: the wire object, its keys and its project."""
        columns = dict(columns)
        project = columns.pop("project", None)
        if self.project is not None:
            if project not in (None, self.project):
                raise ValueError(f"A store scoped to {self.project!r} cannot insert elsewhere.")
            project = self.project
        if project is None:
            raise ValueError(
                f"Inserting a {kind.label} through the unscoped store needs project= "
                "(the project of the request or run that creates it)."
            )
        return {
            "id": data["id"],
            "created_at": data["created_at"],
            "data": data,
            "project": project,
            **columns,
        }

    async def create_all(self) -> None:
        """Create missing tables, and add columns newer than an existing database."""
        async with self.engine.begin() as conn:
            await conn.run_sync(prepare_schema)

    async def close(self) -> None:
        await self.engine.dispose()

    # -- transactions -----------------------------------------------------------------

    def _batch(self) -> _Batch | None:
        """The batch this task has open on this database, if any."""
        batch = _BATCH.get()
        if batch is None or batch.sessions is not self._sessions:
            return None
        # A task started inside a batch inherits the context: it must not join the batch.
        return batch if batch.task is asyncio.current_task() else None

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        """One transaction for every read and write this task makes inside the block
        (nested blocks join it); what ``after_commit`` was given runs once it committed,
        in order, and never if it failed. The engine publishes its events this way, so
        an event never announces an object a client could not yet read."""
        if self._batch() is not None:
            yield
            return
        async with self._transaction(write=True, sessions=self._sessions) as session:
            batch = _Batch(self._sessions, asyncio.current_task(), session, [])
            token = _BATCH.set(batch)
            try:
                yield
            finally:
                _BATCH.reset(token)
        for action in batch.after_commit:
            action()

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once this task's open batch has committed (now if none is open)."""
        batch = self._batch()
        if batch is None:
            action()
        else:
            batch.after_commit.append(action)

    def _lock(self, write: bool) -> asyncio.Lock | None:
        return self._write_lock if (write or self._lock_reads) else None

    @asynccontextmanager
    async def _outage_as_unavailable(self) -> AsyncIterator[None]:
        try:
            yield
        except Exception as error:
            if is_outage(error):
                # The driver's own words only: SQLAlchemy's text adds the SQL and its values.
                cause = getattr(error, "orig", None) or error
                raise StoreUnavailable(f"{type(cause).__name__}: {cause}"[:300]) from error
            raise

    @asynccontextmanager
    async def _transaction(self, *, write: bool, sessions: Any) -> AsyncIterator[AsyncSession]:
        """A new ORM session in its own transaction (serialized on SQLite if it writes)."""
        lock = self._lock(write)
        async with self._outage_as_unavailable():
            if lock is None:
                async with sessions() as session, session.begin():
                    yield session
                return
            async with lock, sessions() as session, session.begin():
                yield session

    @asynccontextmanager
    async def _conn(self, *, write: bool, single: bool = False) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction for the store's own Core statements: the open
        batch's, else a new one committed at the end of the block. ``single``: the block
        runs one statement, which on PostgreSQL then runs in autocommit (no transaction)."""
        batch = self._batch()
        if batch is not None:
            if batch.connection is None:
                batch.connection = await batch.session.connection()
            yield batch.connection
            return
        if single and self._autocommit is not None:
            async with self._outage_as_unavailable(), self._autocommit.begin() as conn:
                yield conn
            return
        lock = self._lock(write)
        async with self._outage_as_unavailable():
            if lock is None:
                async with self._keyed.begin() as conn:
                    yield conn
                return
            async with lock, self._keyed.begin() as conn:
                yield conn

    @asynccontextmanager
    async def _session(self, *, write: bool) -> AsyncIterator[AsyncSession]:
        batch = self._batch()
        if batch is not None:
            yield batch.session
            return
        async with self._transaction(write=write, sessions=self._other_sessions) as session:
            yield session

    def connection(
        self, *, write: bool, single: bool = False
    ) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection for keyed Core statements (as the store's own), in the open
        batch's transaction if there is one; on SQLite they run inline (``sqlite_driver``).
        ``single``: the caller runs one statement only (no transaction on PostgreSQL)."""
        return self._conn(write=write, single=single)

    def session(self, *, write: bool) -> AbstractAsyncContextManager[AsyncSession]:
        """An ORM session for stores built on this one (blobs, files, retrieval), unscoped
        by project, in the open batch's transaction if there is one. Its statements may
        be long (searches, ingestion): on SQLite they run on the driver's worker thread.
        ``write`` ones are serialized on SQLite like every write here."""
        return self._session(write=write)

    # -- single objects ---------------------------------------------------------------

    def _keys(self, object_id: str) -> dict[str, Any]:
        """The bound ``id`` (and project) of the prebuilt statements (``statements.py``)."""
        if self.project is None:
            return {sql.ID: object_id}
        return {sql.ID: object_id, sql.PROJECT: self.project}

    async def insert(self, kind: Kind, data: dict[str, Any], **columns: Any) -> None:
        await self.insert_rows([(kind, data, columns)])

    async def insert_rows(self, rows: Sequence[Insert]) -> None:
        """Insert rows (of any kinds) in one transaction, in order."""
        async with self._conn(write=True, single=len(rows) == 1) as c:
            await self.insert_on(c, rows)

    async def insert_on(self, connection: AsyncConnection, rows: Sequence[Insert]) -> None:
        """Insert rows on ``connection``, in its transaction, in order."""
        for kind, data, columns in rows:  # one by one: ``seq`` keeps their order
            await connection.execute(
                sql.insert_row(kind.table), self.row_values(kind, data, columns)
            )

    async def get(self, kind: Kind, object_id: str) -> dict[str, Any] | None:
        statement = sql.data_by_id(kind.table, self.project is not None)
        async with self._conn(write=False, single=True) as c:
            row = await c.scalar(statement, self._keys(object_id))
            return dict(row) if row is not None else None

    async def project_of(self, kind: Kind, object_id: str) -> str | None:
        """The project an object belongs to (None if it does not exist)."""
        table = kind.table
        async with self._conn(write=False, single=True) as c:
            project = await c.scalar(
                select(table.project).where(table.id == object_id, *self._mine(table))
            )
            return str(project) if project is not None else None

    async def save(self, kind: Kind, data: dict[str, Any], **columns: Any) -> None:
        """Replace an object's data (and any extra columns)."""
        statement = sql.update_by_id(kind.table, self.project is not None)
        async with self._conn(write=True, single=True) as c:
            await c.execute(statement, {**self._keys(data["id"]), "data": data, **columns})

    async def delete(self, kind: Kind, object_id: str) -> bool:
        table = kind.table
        async with self._conn(write=True, single=True) as c:
            result = await c.execute(
                delete(core(table)).where(table.id == object_id, *self._mine(table))
            )
            return bool(result.rowcount)

    async def delete_thread(self, thread_id: str) -> bool:
        """Delete a thread with its messages, runs and steps, atomically."""
        async with self._conn(write=True) as c:
            for table in (MessageRow, StepRow, RunRow):
                await c.execute(
                    delete(core(table)).where(table.thread_id == thread_id, *self._mine(table))
                )
            result = await c.execute(
                delete(core(ThreadRow)).where(ThreadRow.id == thread_id, *self._mine(ThreadRow))
            )
            return bool(result.rowcount)

    # -- lists ------------------------------------------------------------------------

    async def page(
        self,
        kind: Kind,
        *,
        limit: int = 20,
        order: str = "desc",
        after: str | None = None,
        before: str | None = None,
        **filters: Any,
    ) -> Page:
        """A page in ``order`` by creation; ``after``/``before`` are cursor ids."""
        table = kind.table
        async with self._conn(write=False) as s:
            query = select(table.data).where(*self._mine(table))
            for column, value in filters.items():
                if value is not None:
                    query = query.where(getattr(table, column) == value)
            ascending = order == "asc"
            reverse = False
            if after is not None:
                seq = await self._seq(s, table, after)
                query = query.where(table.seq > seq if ascending else table.seq < seq)
            if before is not None:
                seq = await self._seq(s, table, before)
                query = query.where(table.seq < seq if ascending else table.seq > seq)
                # The page just before the cursor: walk backwards from it, then flip.
                if after is None:
                    reverse = True
            walk_ascending = ascending != reverse
            query = query.order_by(table.seq.asc() if walk_ascending else table.seq.desc())
            rows = list((await s.scalars(query.limit(limit + 1))).all())
        has_more = len(rows) > limit
        items = [dict(r) for r in rows[:limit]]
        if reverse:
            items.reverse()
        return Page(items, has_more)

    async def _seq(self, session: AsyncConnection, table: Any, object_id: str) -> int:
        seq = await session.scalar(
            select(table.seq).where(table.id == object_id, *self._mine(table))
        )
        # An unknown cursor (or another project's) matches nothing after/before it, like a
        # cursor past the end.
        return int(seq) if seq is not None else -1

    def _shown_messages(self, thread_id: str, exclude_run: str | None) -> list[Any]:
        """WHERE clauses: a thread's messages, without those of run ``exclude_run``."""
        clauses = [MessageRow.thread_id == thread_id, *self._mine(MessageRow)]
        if exclude_run is not None:
            clauses.append((MessageRow.run_id != exclude_run) | (MessageRow.run_id.is_(None)))
        return clauses

    async def thread_messages(
        self,
        thread_id: str,
        *,
        exclude_run: str | None = None,
        last: int | None = None,
        after: str | None = None,
    ) -> list[dict[str, Any]]:
        """A thread's messages in creation order (the model's context); ``last``: only the
        newest ``last`` of them (read with a LIMIT, not filtered afterwards); ``after``: only
        those newer than the message with that id."""
        query = select(MessageRow.data).where(*self._shown_messages(thread_id, exclude_run))
        if after is not None:
            seq = select(MessageRow.seq).where(MessageRow.id == after).scalar_subquery()
            query = query.where(MessageRow.seq > seq)
        async with self._conn(write=False, single=True) as s:
            if last is None:
                rows = list((await s.scalars(query.order_by(MessageRow.seq.asc()))).all())
            else:
                newest = query.order_by(MessageRow.seq.desc()).limit(last)
                rows = list((await s.scalars(newest)).all())
                rows.reverse()
            return [dict(r) for r in rows]

    async def thread_marker(
        self, thread_id: str, *, exclude_run: str | None = None
    ) -> tuple[int, str | None]:
        """``(count, newest id)`` of ``thread_messages``' rows: a check in one small query
        that a copy of them is current. Any change of the set changes it: deleting lowers
        the count, and an inserted row is newer than every row before it (seq only grows),
        so keeping the count while inserting replaces the newest id (ids are never reused)."""
        clauses = self._shown_messages(thread_id, exclude_run)
        count = select(func.count()).select_from(MessageRow).where(*clauses).scalar_subquery()
        query = (
            select(count, MessageRow.id).where(*clauses).order_by(MessageRow.seq.desc()).limit(1)
        )
        async with self._conn(write=False, single=True) as s:
            row = (await s.execute(query)).first()
        return (int(row[0]), str(row[1])) if row else (0, None)

    # -- runs -------------------------------------------------------------------------

    async def active_run(self, thread_id: str) -> dict[str, Any] | None:
        """The run that locks this thread, if any."""
        async with self._conn(write=False, single=True) as s:
            row = await s.scalar(
                select(RunRow.data)
                .where(
                    RunRow.thread_id == thread_id,
                    RunRow.status.in_(ACTIVE_RUN_STATUSES),
                    *self._mine(RunRow),
                )
                .order_by(RunRow.seq.desc())
                .limit(1)
            )
            return dict(row) if row is not None else None

    async def active_runs(self, *, expired_before: int | None = None) -> list[dict[str, Any]]:
        async with self._conn(write=False, single=True) as s:
            query = select(RunRow.data).where(
                RunRow.status.in_(ACTIVE_RUN_STATUSES), *self._mine(RunRow)
            )
            if expired_before is not None:
                query = query.where(RunRow.expires_at <= expired_before)
            return [dict(r) for r in (await s.scalars(query)).all()]

    async def engine_state(self, run_id: str) -> RunState | None:
        """What the engine keeps of a run besides its wire object, in one read; None if
        the run does not exist (deleted with its thread)."""
        statement = sql.run_state(self.project is not None)
        async with self._conn(write=False, single=True) as c:
            row = (await c.execute(statement, self._keys(run_id))).first()
        if row is None:
            return None
        return RunState(list(row[0] or []), row[1], dict(row[2] or {}), str(row[3]))

    async def run_state(self, run_id: str) -> tuple[list[dict[str, Any]], dict[str, int] | None]:
        """The run's engine transcript and running usage."""
        state = await self.engine_state(run_id)
        if state is None:
            raise LookupError(f"No run {run_id}.")
        return state.transcript, state.usage

    async def tool_state(self, run_id: str) -> dict[str, Any]:
        """The run's hosted-tool state (``include``, citation markers); ``{}`` if none."""
        state = await self.engine_state(run_id)
        return state.tool_state if state is not None else {}

    async def save_run(
        self,
        run: dict[str, Any],
        *,
        transcript: list[dict[str, Any]] | None = None,
        usage: dict[str, int] | None = None,
        tool_state: dict[str, Any] | None = None,
        **columns: Any,
    ) -> dict[str, Any] | None:
        """Save a run unless that would undo a stop, and return it as stored; None (nothing
        written) when the stored run has ended, or is ``cancelling`` and this save would not
        end it. Another server process may have cancelled, expired or finished the run
        meanwhile (see ``store/leases.py``), so a run's writes never resurrect it or
        swallow a cancel. The stored ``metadata`` is kept: a client may have changed it
        (``save_run_metadata``) since the caller read the run."""
        values: dict[str, Any] = {
            **self._keys(run["id"]),
            sql.STATUS: run["status"],
            sql.DATA: run,
            "status": run["status"],
            "expires_at": run.get("expires_at"),
            **columns,
        }
        if transcript is not None:
            values["transcript"] = transcript
        if usage is not None:
            values["usage"] = usage
        if tool_state is not None:
            values["tool_state"] = tool_state
        stopping = run["status"] in sql.STOPPED_RUN_STATUSES
        statement = sql.save_run(self.project is not None, stopping, self.is_sqlite)
        async with self._conn(write=True, single=True) as c:
            stored = (await c.execute(statement, values)).scalar()
            return dict(stored) if stored is not None else None

    async def save_run_metadata(
        self, run_id: str, metadata: dict[str, str]
    ) -> dict[str, Any] | None:
        """Replace a run's metadata and nothing else (the run may be changing status in
        another process meanwhile); the run as stored, or None if it does not exist."""
        async with self._conn(write=True) as s:
            data = await s.scalar(
                select(RunRow.data)
                .where(RunRow.id == run_id, *self._mine(RunRow))
                .with_for_update()
            )
            if data is None:
                return None
            run = {**data, "metadata": metadata}
            await s.execute(update(core(RunRow)).where(RunRow.id == run_id).values(data=run))
            return run

    async def open_steps(self, run_id: str) -> list[dict[str, Any]]:
        async with self._conn(write=False, single=True) as s:
            rows = (
                await s.scalars(
                    select(StepRow.data)
                    .where(StepRow.run_id == run_id, *self._mine(StepRow))
                    .order_by(StepRow.seq)
                )
            ).all()
            return [dict(r) for r in rows if r["status"] == "in_progress"]

    async def open_messages(self, run_id: str) -> list[dict[str, Any]]:
        async with self._conn(write=False, single=True) as s:
            rows = (
                await s.scalars(
                    select(MessageRow.data)
                    .where(MessageRow.run_id == run_id, *self._mine(MessageRow))
                    .order_by(MessageRow.seq)
                )
            ).all()
            return [dict(r) for r in rows if r["status"] == "in_progress"]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _discard_broken_sqlite(context: Any) -> None:
    """After a statement failed because the file could not be written (read-only, full,
    I/O), drop the pool's connections: a SQLite connection that opened the file while it
    was read-only stays read-only for life, even once the file is writable again."""
    message = str(context.original_exception).lower()
    if any(marker in message for marker in _SQLITE_OUTAGE):
        context.is_disconnect = True
