"""Background ingestion: parse, chunk, embed and index files, several at once.

The queue is the ``vector_store_files`` table: a row ``in_progress`` with no live claim is
waiting. A worker claims a row (``claimed_by`` = this process, ``claimed_at``), does the
work outside any transaction, then in ONE transaction marks the row ``completed`` (only if
it is still ``in_progress`` and still ours) and writes its chunks — so a crash, a restart,
a cancel or a delete never leaves half a file's chunks, nor a file's chunks twice.
At start-up rows left ``in_progress`` are resumed; a row whose ingestion was interrupted
``MAX_ATTEMPTS`` times ends ``failed`` with a ``server_error``. On PostgreSQL several
processes share the queue; a worker renews its claims while it works (every third of
``lease_seconds``), so a claim older than the lease is a dead process's and is taken over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import or_, select, update

from ..store import Store, StoreUnavailable
from ..store.repository import is_outage
from ..wire import now
from .chunking import Chunk, ChunkingStrategy, TooManyTokens, chunk_text
from .embeddings import EmbeddingsModel
from .index import ChunkIndex
from .parsing import ParseError, extract_text
from .tables import VectorStoreFileRow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
EMBED_BATCH = 64
# While claiming fails, the wait between attempts doubles from ``rescan_seconds`` up to this.
MAX_BACKOFF_SECONDS = 30.0

# Reads a file's name and bytes by id; None when the file does not exist (any more).
FileReader = Callable[[str], Awaitable[tuple[str, bytes] | None]]


class Ingestor:
    """Claims waiting files from the database and ingests up to ``concurrency`` at once."""

    def __init__(
        self,
        store: Store,
        index: ChunkIndex,
        read_file: FileReader,
        embeddings: EmbeddingsModel | None,
        *,
        concurrency: int = 4,
        lease_seconds: int = 120,
        rescan_seconds: float = 2.0,
    ) -> None:
        self.store = store
        self.index = index
        self.read_file = read_file
        self.embeddings = embeddings
        self.concurrency = max(1, concurrency)
        self.lease_seconds = lease_seconds
        self.rescan_seconds = rescan_seconds
        self.worker_id = "ingest_" + secrets.token_hex(8)
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Release claims of processes that are gone, then start the worker loop."""
        async with self.store.session(write=True) as s:
            stale = VectorStoreFileRow.claimed_at < now() - self.lease_seconds
            # One process owns a SQLite database, so every claim there is a dead one's.
            condition: Any = VectorStoreFileRow.claimed_by.is_not(None)
            if not self.store.is_sqlite:
                condition = condition & stale
            await s.execute(
                update(VectorStoreFileRow)
                .where(VectorStoreFileRow.status == "in_progress", condition)
                .values(claimed_by=None, claimed_at=None)
            )
        self._loop_task = asyncio.create_task(self._loop(), name="retrieval-ingest")

    async def stop(self) -> None:
        tasks = [t for t in (self._loop_task, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._loop_task = None
        self._tasks.clear()

    def wake(self) -> None:
        """New work was queued: look for it now rather than at the next rescan."""
        self._wake.set()

    async def idle(self) -> None:
        """Wait until nothing is being ingested by this process (tests, benchmarks)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- the loop -----------------------------------------------------------------------

    async def _loop(self) -> None:
        health = ClaimHealth(self.rescan_seconds)
        while True:
            claimed: list[dict[str, Any]] = []
            free = self.concurrency - len(self._tasks)
            if free > 0:
                try:
                    claimed = await self._claim(free)
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    health.failed(error)
                else:
                    health.succeeded()
            for row in claimed:
                task = asyncio.create_task(self._ingest(row))
                self._tasks.add(task)
                task.add_done_callback(self._done)
            if claimed and len(self._tasks) < self.concurrency:
                continue  # there may be more waiting
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), health.next_wait())

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._wake.set()  # a slot is free

    async def _claim(self, limit: int) -> list[dict[str, Any]]:
        """Claim up to ``limit`` waiting rows in one conditional UPDATE: a row another
        process claimed meanwhile no longer matches, so two processes never both win it."""
        claimable = (VectorStoreFileRow.status == "in_progress") & or_(
            VectorStoreFileRow.claimed_by.is_(None),
            VectorStoreFileRow.claimed_at < now() - self.lease_seconds,
        )
        waiting = (
            select(VectorStoreFileRow.seq)
            .where(claimable)
            .order_by(VectorStoreFileRow.seq)
            .limit(limit)
        )
        if not self.store.is_sqlite:
            waiting = waiting.with_for_update(skip_locked=True)
        async with self.store.session(write=True) as s:
            result = await s.execute(
                update(VectorStoreFileRow)
                .where(VectorStoreFileRow.seq.in_(waiting.scalar_subquery()), claimable)
                .values(
                    claimed_by=self.worker_id,
                    claimed_at=now(),
                    attempts=VectorStoreFileRow.attempts + 1,
                )
                .returning(
                    VectorStoreFileRow.seq,
                    VectorStoreFileRow.vector_store_id,
                    VectorStoreFileRow.file_id,
                    VectorStoreFileRow.attempts,
                    VectorStoreFileRow.data,
                )
            )
            rows = [dict(row._mapping) for row in result.all()]
        return sorted(rows, key=lambda row: row["seq"])

    # -- one file -----------------------------------------------------------------------

    async def _ingest(self, row: dict[str, Any]) -> None:
        heartbeat = asyncio.create_task(self._renew(row["seq"]))
        try:
            await self._ingest_claimed(row)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _renew(self, seq: int) -> None:
        """Keep this process's claim on a file fresh while it is being ingested."""
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                async with self.store.session(write=True) as s:
                    await s.execute(
                        update(VectorStoreFileRow)
                        .where(self._still_ours(seq))
                        .values(claimed_at=now())
                    )
            except Exception:
                log.warning("renewing the ingestion claim on row %s failed", seq)

    async def _ingest_claimed(self, row: dict[str, Any]) -> None:
        seq, file_id = row["seq"], row["file_id"]
        if row["attempts"] > MAX_ATTEMPTS:
            await self._finish_failed(
                seq,
                row["data"],
                "server_error",
                f"Ingestion of file '{file_id}' was interrupted {MAX_ATTEMPTS} times.",
            )
            return
        try:
            found = await self.read_file(file_id)
            if found is None:
                raise ParseError("invalid_file", f"The file '{file_id}' no longer exists.")
            filename, content = found
            strategy = _strategy(row["data"])
            chunks = await asyncio.to_thread(_parse_and_chunk, filename, content, strategy)
            vectors = await self._embed([c.text for c in chunks])
        except asyncio.CancelledError:
            raise
        except ParseError as exc:
            await self._finish_failed(seq, row["data"], exc.code, exc.message)
            return
        except Exception as exc:
            log.warning("ingesting %s failed: %s", file_id, type(exc).__name__)
            message = f"Ingesting '{file_id}' failed: {type(exc).__name__}: {exc}"[:1000]
            await self._finish_failed(seq, row["data"], "server_error", message)
            return
        try:
            await self._finish_completed(row, chunks, vectors)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database refused the chunks: say so on the file
            log.warning("storing the chunks of %s failed: %s", file_id, type(exc).__name__)
            message = f"Storing the chunks of '{file_id}' failed: {type(exc).__name__}"
            await self._finish_failed(seq, row["data"], "server_error", message)

    async def _embed(self, texts: list[str]) -> list[list[float]] | None:
        if self.embeddings is None or not texts:
            return None
        vectors: list[list[float]] = []
        for start in range(0, len(texts), EMBED_BATCH):
            vectors.extend(
                await self.embeddings.model.aembed_documents(texts[start : start + EMBED_BATCH])
            )
        return vectors

    def _still_ours(self, seq: int) -> Any:
        return (
            (VectorStoreFileRow.seq == seq)
            & (VectorStoreFileRow.status == "in_progress")
            & (VectorStoreFileRow.claimed_by == self.worker_id)
        )

    async def _finish_completed(
        self, row: dict[str, Any], chunks: list[Chunk], vectors: list[list[float]] | None
    ) -> None:
        usage = sum(len(c.text.encode()) for c in chunks)
        if vectors:
            usage += sum(4 * len(v) for v in vectors)
        data = {**row["data"], "status": "completed", "last_error": None, "usage_bytes": usage}
        async with self.store.session(write=True) as s:
            result = await s.execute(
                update(VectorStoreFileRow)
                .where(self._still_ours(row["seq"]))
                .values(status="completed", data=data, usage_bytes=usage, claimed_by=None)
            )
            if not getattr(result, "rowcount", 0):
                return  # cancelled, deleted or taken over meanwhile: write nothing
            await self.index.write(
                s,
                row["vector_store_id"],
                row["file_id"],
                chunks,
                vectors,
                self.embeddings.name if self.embeddings else None,
            )

    async def _finish_failed(self, seq: int, data: dict[str, Any], code: str, message: str) -> None:
        data = {**data, "status": "failed", "last_error": {"code": code, "message": message}}
        async with self.store.session(write=True) as s:
            await s.execute(
                update(VectorStoreFileRow)
                .where(self._still_ours(seq))
                .values(status="failed", data=data, claimed_by=None)
            )


class ClaimHealth:
    """What the claiming loop says about its failures, and how long it waits after one.

    A database outage (:class:`StoreUnavailable`) is one WARNING when it starts, DEBUG
    lines while it lasts and one INFO line once a claim works again; an unexpected error
    logs its traceback once until a different one comes or a claim works. While claims
    fail, the wait between attempts doubles up to ``MAX_BACKOFF_SECONDS`` (new work still
    wakes the loop at once).
    """

    def __init__(self, rescan_seconds: float) -> None:
        self.rescan_seconds = rescan_seconds
        self.failures = 0
        self.outage_since: float | None = None
        self.last_unexpected: str | None = None

    def failed(self, error: Exception) -> None:
        self.failures += 1
        if isinstance(error, StoreUnavailable) or is_outage(error):
            if self.outage_since is None:
                self.outage_since = time.monotonic()
                log.warning("ingestion paused: database unavailable (%s); retrying", error)
            else:
                log.debug("ingestion still waiting for the database (%s)", error)
            return
        # The driver's words only: SQLAlchemy's text adds the statement's values, which
        # change every pass (timestamps).
        what = f"{type(error).__name__}: {getattr(error, 'orig', None) or error}"
        if what != self.last_unexpected:
            self.last_unexpected = what
            log.error("claiming files to ingest failed", exc_info=error)
        else:
            log.debug("claiming files to ingest failed again (%s)", what)

    def succeeded(self) -> None:
        if self.outage_since is not None:
            down = time.monotonic() - self.outage_since
            log.info("ingestion resumed: database reachable again after %.0f s", down)
        self.failures = 0
        self.outage_since = None
        self.last_unexpected = None

    def next_wait(self) -> float:
        if not self.failures:
            return self.rescan_seconds
        backoff = self.rescan_seconds * 2 ** min(self.failures - 1, 10)
        return max(self.rescan_seconds, min(backoff, MAX_BACKOFF_SECONDS))


def _strategy(data: dict[str, Any]) -> ChunkingStrategy:
    static = (data.get("chunking_strategy") or {}).get("static") or {}
    if not static:
        return ChunkingStrategy()
    return ChunkingStrategy(static["max_chunk_size_tokens"], static["chunk_overlap_tokens"])


def _parse_and_chunk(filename: str, content: bytes, strategy: ChunkingStrategy) -> list[Chunk]:
    """CPU work, run in a thread: bytes → text → token windows."""
    try:
        text = extract_text(filename, content)
    except ParseError:
        raise
    except Exception as exc:  # a parser library's unexpected error on a malformed file
        raise ParseError(
            "invalid_file", f"The file '{filename}' could not be parsed: {type(exc).__name__}"
        ) from exc
    try:
        return chunk_text(text, strategy)
    except TooManyTokens as exc:
        raise ParseError("invalid_file", f"The file '{filename}' is too long: {exc}.") from exc
