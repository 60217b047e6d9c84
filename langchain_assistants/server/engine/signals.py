"""Cross-process run signals through PostgreSQL ``LISTEN``/``NOTIFY`` (no other service).

A cancel that lands on another process marks the run ``cancelling`` and, in the same
transaction, notifies ``RUN_SIGNAL_CHANNEL`` with the run id (``store/leases.py``). Every
process listens on one dedicated connection and hands the ids to the engine, which acts
on runs it executes. If the connection drops, it reconnects; meanwhile the lease renewal
(``engine/leases.py``), which reads back the statuses of the runs it renews, is the
fallback. On SQLite (one process) there is nothing to listen to.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import make_url

from ..store.leases import RUN_SIGNAL_CHANNEL

log = logging.getLogger(__name__)

RECONNECT_SECONDS = 1.0


class RunSignals:
    """Calls ``on_signal(run_id)`` for each notification on the run channel."""

    def __init__(self, database_url: str, on_signal: Callable[[str], None]) -> None:
        self.enabled = database_url.startswith("postgresql")
        self._dsn = (
            make_url(database_url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
            if self.enabled
            else ""
        )
        self._on_signal = on_signal
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    async def start(self) -> None:
        if self.enabled:
            self._task = asyncio.create_task(self._listen(), name="run signals")
            with contextlib.suppress(asyncio.TimeoutError):  # the renewal covers meanwhile
                await asyncio.wait_for(self.listening.wait(), 10)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task

    def _deliver(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        self._on_signal(payload)

    async def _listen(self) -> None:
        import asyncpg

        while True:
            connection = None
            try:
                connection = await asyncpg.connect(self._dsn)
                lost = asyncio.Event()
                connection.add_termination_listener(lambda _c, lost=lost: lost.set())
                await connection.add_listener(RUN_SIGNAL_CHANNEL, self._deliver)
                self.listening.set()
                await lost.wait()
                log.warning("run signal connection lost; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: retry, the renewal covers
                log.warning("run signals unavailable (%s); retrying", type(exc).__name__)
            finally:
                self.listening.clear()
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(connection.close(), 2)
            await asyncio.sleep(RECONNECT_SECONDS)
