"""In-process publish/subscribe of a run's server-sent events.

A streaming request subscribes before the run starts and reads events until the run
stops for tool outputs or ends; then its subscription is closed with ``None``.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    """One SSE frame: ``event: <name>`` and ``data: <json object>``."""

    name: str
    data: dict[str, Any]


class EventBus:
    def __init__(self) -> None:
        self._subscribers: dict[str, list[asyncio.Queue[Event | None]]] = defaultdict(list)

    def subscribe(self, run_id: str) -> asyncio.Queue[Event | None]:
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._subscribers[run_id].append(queue)
        return queue

    def unsubscribe(self, run_id: str, queue: asyncio.Queue[Event | None]) -> None:
        queues = self._subscribers.get(run_id)
        if queues and queue in queues:
            queues.remove(queue)
            if not queues:
                del self._subscribers[run_id]

    def publish(self, run_id: str, name: str, data: dict[str, Any]) -> None:
        for queue in self._subscribers.get(run_id, ()):
            queue.put_nowait(Event(name, data))

    def close(self, run_id: str) -> None:
        """End every open stream of this run (it paused for tool outputs or ended)."""
        for queue in self._subscribers.pop(run_id, ()):
            queue.put_nowait(None)
