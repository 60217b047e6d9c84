"""The thread-history cache (``engine/thread_history.py``) stays within its memory bound.

It keeps each thread's converted messages between runs; these tests load real threads
from a real SQLite store through a cache with a small bound and check what it keeps: the
most recently used threads, never more than the bound, and never a thread heavier than
the whole bound (which is still loaded correctly, just not kept).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from langchain_assistants.server.engine.thread_history import (
    MESSAGE_OVERHEAD_BYTES,
    ThreadHistory,
    message_weight,
)
from langchain_assistants.server.store import Kind, Store
from langchain_assistants.server.wire import message_object, text_block, thread_object


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'history.db'}")
    await store.create_all()
    yield store.scoped("default")
    await store.close()


async def _thread(store: Store, texts: list[str]) -> dict[str, Any]:
    """A stored thread with one user message per text; a run on it (not stored) to load."""
    thread = thread_object(metadata={}, tool_resources=None)
    await store.insert(Kind.thread, thread)
    for text in texts:
        message = message_object(thread["id"], role="user", content=[text_block(text)])
        await store.insert(Kind.message, message, thread_id=thread["id"])
    return {"id": "run_unstored", "thread_id": thread["id"], "tools": []}


def _weight(texts: list[str]) -> int:
    return len(texts) * MESSAGE_OVERHEAD_BYTES + 2 * sum(map(len, texts))


def test_a_message_weighs_its_overhead_and_its_text_twice() -> None:
    message = message_object("thread_x", role="user", content=[text_block("x" * 1000)])
    assert message_weight(message) == MESSAGE_OVERHEAD_BYTES + 2000
    image = {"content": [{"type": "image_file", "image_file": {"file_id": "file_1"}}]}
    assert message_weight(image) == MESSAGE_OVERHEAD_BYTES


async def test_the_cache_keeps_the_newest_threads_within_its_bound(store: Store) -> None:
    texts = ["word " * 200] * 5  # 5 messages of 1,000 characters
    one_thread = _weight(texts)
    history = ThreadHistory(store, capacity=100, capacity_bytes=int(2.5 * one_thread))
    runs = [await _thread(store, texts) for _ in range(4)]
    for run in runs:
        loaded = await history.load(run)
        assert [m["content"][0]["text"]["value"] for m in loaded.messages] == texts
        assert loaded.weight == one_thread
        assert history.cached_bytes <= history.capacity_bytes
    assert history.cached_threads == 2  # the two most recently used fit, by weight
    assert history.cached_bytes == 2 * one_thread

    # Using the older of the two makes it the newest: the next new thread evicts the other.
    await history.load(runs[2])
    newest = await _thread(store, texts)
    await history.load(newest)
    assert history.cached_thread_ids() == [runs[2]["thread_id"], newest["thread_id"]]


async def test_added_messages_add_their_weight(store: Store) -> None:
    history = ThreadHistory(store)
    run = await _thread(store, ["first message"])
    await history.load(run)
    added = message_object(run["thread_id"], role="user", content=[text_block("next")])
    await store.insert(Kind.message, added, thread_id=run["thread_id"])
    loaded = await history.load(run)
    assert len(loaded.messages) == 2
    assert loaded.weight == _weight(["first message", "next"]) == history.cached_bytes


async def test_a_thread_heavier_than_the_bound_is_loaded_but_not_kept(store: Store) -> None:
    history = ThreadHistory(store, capacity_bytes=10 * MESSAGE_OVERHEAD_BYTES)
    small = await _thread(store, ["small"])
    await history.load(small)
    big = await _thread(store, ["x" * 50_000])
    loaded = await history.load(big)
    assert loaded.messages[0]["content"][0]["text"]["value"] == "x" * 50_000
    assert len(loaded.converted) == 1
    assert history.cached_threads == 1  # only the small one: the big one was not kept
    assert history.cached_bytes == _weight(["small"])


async def test_project_views_share_one_bound(store: Store) -> None:
    history = ThreadHistory(store, capacity_bytes=int(1.5 * _weight(["a"])))
    await history.scoped("default").load(await _thread(store, ["a"]))
    await history.scoped("default").load(await _thread(store, ["b"]))
    assert history.cached_threads == 1 and history.cached_bytes == _weight(["b"])
