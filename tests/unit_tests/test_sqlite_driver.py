"""The SQLite adapter (``store/sqlite_driver.py``) on a real SQLite file: the store's keyed
statements run on the event loop's thread, the others on the connection's worker thread,
and both kinds keep SQLAlchemy's results (rows, rowcount, inserted keys, errors)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from langchain_assistants.server.store import Kind, Store
from langchain_assistants.server.wire import thread_object


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    await store.create_all()
    yield store.scoped("default")
    await store.close()


async def _thread_of(store: Store, *, keyed: bool) -> int:
    """The thread a statement ran on: a SQL function reporting ``threading.get_ident``."""
    if keyed:
        async with store.connection(write=False) as conn:
            raw = await conn.get_raw_connection()
            raw.driver_connection._conn.create_function("ident", 0, threading.get_ident)  # type: ignore[union-attr]
            return int((await conn.execute(text("SELECT ident()"))).scalar_one())
    async with store.session(write=False) as session:
        raw = await (await session.connection()).get_raw_connection()
        raw.driver_connection._conn.create_function("ident", 0, threading.get_ident)  # type: ignore[union-attr]
        return int((await session.execute(text("SELECT ident()"))).scalar_one())


async def test_keyed_statements_run_inline_and_others_on_the_worker(store: Store) -> None:
    here = threading.get_ident()
    assert await _thread_of(store, keyed=True) == here
    assert await _thread_of(store, keyed=False) != here


async def test_both_kinds_keep_results_and_errors(store: Store) -> None:
    thread = thread_object(metadata={"k": "v"}, tool_resources=None)
    await store.insert(Kind.thread, thread)
    assert await store.get(Kind.thread, thread["id"]) == thread
    with pytest.raises(IntegrityError):  # the same id again: the unique index refuses it
        await store.insert(Kind.thread, thread)
    async with store.session(write=True) as session:  # worker thread: rows and rowcount
        rows = (await session.execute(text("SELECT id FROM threads"))).all()
        updated = await session.execute(text("UPDATE threads SET created_at = created_at + 1"))
    assert [r[0] for r in rows] == [thread["id"]] and updated.rowcount == 1  # type: ignore[attr-defined]
    assert await store.delete(Kind.thread, thread["id"]) is True
    assert await store.delete(Kind.thread, thread["id"]) is False


async def test_a_failed_inline_transaction_rolls_back(store: Store) -> None:
    first, second = (thread_object(metadata=None, tool_resources=None) for _ in range(2))
    with pytest.raises(IntegrityError):
        async with store.batch():
            await store.insert(Kind.thread, first)
            await store.insert(Kind.thread, second)
            await store.insert(Kind.thread, first)  # fails: the whole batch is undone
    assert await store.get(Kind.thread, first["id"]) is None
    assert await store.get(Kind.thread, second["id"]) is None
