"""A run's stream sends the events already waiting in one write (``routes/common.py``)."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_assistants.server.engine.events import Event
from langchain_assistants.server.routes.common import _SHUTDOWN, coalesced_frames


def _event(name: str) -> Event:
    return Event(name, {"id": name})


async def _chunks(queue: asyncio.Queue[Any], first: list[Event], feed: Any = None) -> list[bytes]:
    out = []
    async for chunk in coalesced_frames(queue, first):
        out.append(chunk)
        if feed is not None:
            await feed(len(out))
    return out


def test_waiting_events_go_out_in_one_write() -> None:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for name in ("thread.run.in_progress", "thread.run.step.created", "thread.message.created"):
        queue.put_nowait(_event(name))
    queue.put_nowait(None)
    chunks = asyncio.run(_chunks(queue, [_event("thread.run.created")]))
    assert len(chunks) == 1
    text = chunks[0].decode()
    assert text.count("event: ") == 5  # four events and done, in order
    assert text.index("thread.run.created") < text.index("thread.message.created")
    assert text.endswith("event: done\r\ndata: [DONE]\r\n\r\n")


def test_a_burst_is_flushed_before_waiting_for_the_next() -> None:
    """The first events are sent at once, not held until the run publishes more."""

    async def scenario() -> list[bytes]:
        queue: asyncio.Queue[Any] = asyncio.Queue()

        async def feed(sent: int) -> None:
            if sent == 1:  # the run publishes a burst, then ends
                queue.put_nowait(_event("thread.run.in_progress"))
                queue.put_nowait(_event("thread.run.completed"))
                queue.put_nowait(None)

        return await _chunks(queue, [_event("thread.created"), _event("thread.run.created")], feed)

    first, second = asyncio.run(scenario())
    assert first.decode().count("event: ") == 2
    assert second.decode().count("event: ") == 3  # the burst and done


def test_shutdown_ends_with_error_then_done() -> None:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    queue.put_nowait(_event("thread.run.in_progress"))
    queue.put_nowait(_SHUTDOWN)
    (chunk,) = asyncio.run(_chunks(queue, []))
    names = [line for line in chunk.decode().split("\r\n") if line.startswith("event: ")]
    assert names == ["event: thread.run.in_progress", "event: error", "event: done"]
