"""The thread's earlier messages a run shows its model, read and converted once.

Every run (and every resumption after tool outputs) needs the thread's messages as
LangChain messages. Reading and converting the whole thread each time costs O(n) JSON
decoding and message objects per run, so:

- ``last_messages`` truncation reads only the newest n rows (a LIMIT), unless the run has
  ``code_interpreter``, whose files note needs every message's attachments;
- otherwise this process keeps the thread's messages and their conversion, and checks
  them against the database before each use with one small query: the number of the
  thread's messages and the id of the newest (``Store.thread_marker``: any insert or
  delete changes it; ids are never reused). A message's content is final once its run
  has ended, and the API's modify changes only metadata, which the prompt does not show.
  When messages were only added, only those are read and converted. So several
  processes on one database never use a stale copy: the database decides, the cache only
  saves the decoding and conversion.

The cache is bounded twice: by threads, and by an estimate of the memory its messages
hold, so that a few very long threads neither pin the process's memory nor make each of
Python's full garbage collections walk hundreds of thousands of cached objects.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from langchain_core.messages import BaseMessage

from ..store import Store
from .conversation import thread_as_messages
from .message_images import image_file_ids
from .tools import CODE_INTERPRETER

#: Threads whose converted messages this process keeps (least recently used go first).
CACHED_THREADS = 256
#: What those may hold together, estimated (``History.weight``): about 15,000 short messages.
CACHED_BYTES = 32 * 1024 * 1024
#: A message's own estimated cost besides its text: the stored dict and the LangChain
#: message with their parts (a few dozen Python objects).
MESSAGE_OVERHEAD_BYTES = 2048


def message_weight(message: Mapping[str, Any]) -> int:
    """Estimated memory one cached message holds: its overhead and its text, kept twice
    (as stored and as converted)."""
    text = 0
    for part in message.get("content") or ():
        value = (part.get("text") or {}).get("value") if isinstance(part, dict) else None
        if isinstance(value, str):
            text += len(value)
    return MESSAGE_OVERHEAD_BYTES + 2 * text


@dataclass(frozen=True)
class History:
    """A thread's messages as stored (``messages``: every one read, for the files note and
    images) and as the model sees them; ``kept``: how many newest ones the prompt shows;
    ``weight``: the memory they hold, estimated (``message_weight``)."""

    messages: list[dict[str, Any]]
    converted: list[BaseMessage]
    image_ids: list[str]
    kept: int | None = None
    weight: int = 0

    def as_prompt(self, images: Mapping[str, str]) -> list[BaseMessage]:
        """The shown messages converted; with image files, converted afresh with their URLs."""
        if self.image_ids:
            shown = self.messages[-self.kept :] if self.kept else self.messages
            return thread_as_messages(shown, images)
        return self.converted[-self.kept :] if self.kept else list(self.converted)


def _kept(run: dict[str, Any]) -> int | None:
    """How many newest messages ``last_messages`` keeps (None: all of them)."""
    strategy = run.get("truncation_strategy") or {}
    if strategy.get("type") == "last_messages" and strategy.get("last_messages"):
        return int(strategy["last_messages"])
    return None


def _history(messages: list[dict[str, Any]], before: History | None = None) -> History:
    """``messages`` converted; ``before``: an already converted copy of the first ones."""
    if before is None:
        ids = image_file_ids(messages)
        weight = sum(map(message_weight, messages))
        return History(messages, [] if ids else thread_as_messages(messages), ids, weight=weight)
    new = messages[len(before.messages) :]
    ids = before.image_ids or image_file_ids(new)
    converted = [] if ids else before.converted + thread_as_messages(new)
    return History(messages, converted, ids, weight=before.weight + sum(map(message_weight, new)))


Marker = tuple[int, str | None]


class ThreadHistory:
    """Loads a run's ``History``, from this process's cache when the database agrees."""

    def __init__(
        self, store: Store, capacity: int = CACHED_THREADS, capacity_bytes: int = CACHED_BYTES
    ) -> None:
        self.store = store
        self.capacity = capacity
        self.capacity_bytes = capacity_bytes
        self._cache: OrderedDict[tuple[str | None, str], tuple[Marker, History]] = OrderedDict()
        self._weight = _Weight()

    @property
    def cached_threads(self) -> int:
        return len(self._cache)

    def cached_thread_ids(self) -> list[str]:
        """The cached threads' ids, least recently used first."""
        return [thread_id for _, thread_id in self._cache]

    @property
    def cached_bytes(self) -> int:
        """The estimated memory the cached threads hold (never above ``capacity_bytes``)."""
        return self._weight.total

    def scoped(self, project: str | None) -> ThreadHistory:
        """The same cache, reading only ``project``'s messages (a run's project)."""
        if project is None:
            return self
        view = copy.copy(self)
        view.store = self.store.scoped(project)
        return view

    async def _read(
        self, thread_id: str, run_id: str, marker: Marker, cached: tuple[Marker, History] | None
    ) -> History:
        """Read what the cache lacks: only the newer messages when the cached ones are all
        still there (the usual case: a turn added messages), else all of them."""
        count, newest = marker
        if cached is not None and cached[0][1] is not None:
            (old_count, old_newest), old = cached
            new = await self.store.thread_messages(thread_id, exclude_run=run_id, after=old_newest)
            if new and new[-1]["id"] == newest and old_count + len(new) == count:
                return _history(old.messages + new, old)
        return _history(await self.store.thread_messages(thread_id, exclude_run=run_id))

    async def load(self, run: dict[str, Any]) -> History:
        thread_id, run_id = run["thread_id"], run["id"]
        kept = _kept(run)
        code = any(t.get("type") == CODE_INTERPRETER for t in run.get("tools") or [])
        if kept is not None and not code:
            messages = await self.store.thread_messages(thread_id, exclude_run=run_id, last=kept)
            return _history(messages)
        key = (self.store.project, thread_id)
        cached = self._cache.get(key)
        if cached is None:  # nothing to check: read them all, and they are their own marker
            history = _history(await self.store.thread_messages(thread_id, exclude_run=run_id))
            newest = history.messages[-1]["id"] if history.messages else None
            self._keep(key, (len(history.messages), newest), history)
            return replace(history, kept=kept) if kept is not None else history
        marker = await self.store.thread_marker(thread_id, exclude_run=run_id)
        if cached[0] == marker:
            history = cached[1]
        else:
            history = await self._read(thread_id, run_id, marker, cached)
            newest = history.messages[-1]["id"] if history.messages else None
            if (len(history.messages), newest) != marker:
                self._drop(key)  # changed while reading: use it, do not keep it
                return replace(history, kept=kept) if kept is not None else history
        self._keep(key, marker, history)
        return replace(history, kept=kept) if kept is not None else history

    def _keep(self, key: tuple[str | None, str], marker: Marker, history: History) -> None:
        """Keep ``history`` as the newest entry, then drop the least recently used ones
        until both bounds hold (a thread heavier than the whole bound is not kept)."""
        self._drop(key)
        if history.weight > self.capacity_bytes:
            return
        self._cache[key] = (marker, history)
        self._weight.total += history.weight
        while len(self._cache) > self.capacity or self._weight.total > self.capacity_bytes:
            self._drop(next(iter(self._cache)))

    def _drop(self, key: tuple[str | None, str]) -> None:
        dropped = self._cache.pop(key, None)
        if dropped is not None:
            self._weight.total -= dropped[1].weight


@dataclass
class _Weight:
    """The cache's running total, shared by its project-scoped views (``scoped``)."""

    total: int = 0
