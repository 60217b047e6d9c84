"""A loopback proxy in front of PostgreSQL that counts what clients send it.

It reads the frontend side of PostgreSQL's wire protocol (v3): after the start-up
exchange, every message is a type byte, a 4-byte length and a body. A simple query
(``Q``) and an extended-protocol ``Sync`` (``S``) each wait for the server's answer, so
together they are the round trips; ``Q`` bodies show the ``BEGIN`` and ``COMMIT``
statements. Bytes are forwarded unchanged in both directions.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading
from collections import Counter
from types import TracebackType

_SPECIAL_REQUESTS = {80877102, 80877103, 80877104}  # cancel, SSL, GSS encryption


class WireCounts:
    """What the proxy saw clients send, summed over all connections."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.types: Counter[str] = Counter()
        self.queries: Counter[str] = Counter()

    @property
    def round_trips(self) -> int:
        with self.lock:
            return self.types["Q"] + self.types["S"]

    def statements(self, word: str) -> int:
        """Simple queries that start with ``word`` (``BEGIN``, ``COMMIT``)."""
        with self.lock:
            return sum(n for text, n in self.queries.items() if text.upper().startswith(word))

    def reset(self) -> None:
        with self.lock:
            self.types.clear()
            self.queries.clear()


class CountingProxy:
    """``with CountingProxy(port) as proxy:`` forwards ``127.0.0.1:proxy.port`` to
    ``127.0.0.1:port`` in a background thread and counts into ``proxy.counts``."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.counts = WireCounts()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._serve, "127.0.0.1", 0), self._loop
        ).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()
            for task in asyncio.all_tasks() - {asyncio.current_task()}:
                task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        back = asyncio.ensure_future(_pipe(up_reader, writer))
        try:
            await self._forward_counting(reader, up_writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            back.cancel()
            for stream in (writer, up_writer):
                with contextlib.suppress(Exception):
                    stream.close()

    async def _forward_counting(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        # Start-up: untyped messages (an SSL or GSS request first, maybe), then typed ones.
        while True:
            header = await reader.readexactly(8)
            length, code = struct.unpack("!ii", header)
            writer.write(header + await reader.readexactly(length - 8))
            await writer.drain()
            if code not in _SPECIAL_REQUESTS:
                break
        while True:
            header = await reader.readexactly(5)
            kind, length = header[:1].decode(), struct.unpack("!i", header[1:])[0]
            body = await reader.readexactly(length - 4)
            with self.counts.lock:
                self.counts.types[kind] += 1
                if kind == "Q":
                    self.counts.queries[body.rstrip(b"\0").decode(errors="replace")] += 1
            writer.write(header + body)
            await writer.drain()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.CancelledError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
