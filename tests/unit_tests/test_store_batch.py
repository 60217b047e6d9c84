"""``Store.batch()`` on a real SQLite file: one transaction, actions only after its commit.

The engine publishes a turn's events through ``after_commit``; these check the rule it
relies on: a failed batch stores nothing and publishes nothing, and a task started inside
a batch works outside it (its reads and writes are its own).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from langchain_assistants.server.store import Kind, Store
from langchain_assistants.server.wire import thread_object


def _thread() -> dict[str, Any]:
    return thread_object(metadata=None, tool_resources=None)


async def _store(tmp_path: Path) -> Store:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'batch.db'}")
    await store.create_all()
    return store.scoped("default")


async def test_actions_run_after_the_commit_in_order(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    seen: list[str] = []
    first, second = _thread(), _thread()
    async with store.batch():
        await store.insert(Kind.thread, first)
        store.after_commit(lambda: seen.append("first"))
        async with store.batch():  # nested: joins the outer one
            await store.insert(Kind.thread, second)
            store.after_commit(lambda: seen.append("second"))
        assert seen == []
    assert seen == ["first", "second"]
    assert await store.get(Kind.thread, first["id"]) is not None
    assert await store.get(Kind.thread, second["id"]) is not None
    await store.close()


async def test_a_failed_batch_stores_and_publishes_nothing(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    seen: list[str] = []
    thread = _thread()
    with pytest.raises(RuntimeError):
        async with store.batch():
            await store.insert(Kind.thread, thread)
            store.after_commit(lambda: seen.append("published"))
            raise RuntimeError("boom")
    assert seen == []
    assert await store.get(Kind.thread, thread["id"]) is None
    store.after_commit(lambda: seen.append("now"))  # outside a batch: at once
    assert seen == ["now"]
    await store.close()


async def test_a_task_started_inside_a_batch_does_not_join_it(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    thread = _thread()

    async def look() -> bool:
        return await store.get(Kind.thread, thread["id"]) is not None

    async with store.batch():
        await store.insert(Kind.thread, thread)
        # Its own connection: the uncommitted insert is not visible to it.
        assert await asyncio.create_task(look()) is False
        assert await look() is True
    assert await asyncio.create_task(look()) is True
    await store.close()
