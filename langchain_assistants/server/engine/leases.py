"""This process's leases on the runs it executes (see ``store/leases.py`` for the rows).

Each server process has a unique owner id. It claims a run when it creates it or resumes
it with tool outputs, and renews the leases of the runs it executes every quarter lease
in one statement. The renewal reads back those runs' stored status and owner, which is
also the fallback signal for a cancel made through another process (when LISTEN is down)
and tells a stalled process that its run was taken over after its lease lapsed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable, Collection

from ..store import Store
from ..store.leases import renew

log = logging.getLogger(__name__)

#: ``{run id: (stored status, stored owner)}`` of the runs this process executes.
Found = dict[str, tuple[str, str | None]]


def process_owner_id() -> str:
    """Unique for each server process start: host, pid and a random tag (pids repeat)."""
    return f"{socket.gethostname()[:48]}:{os.getpid()}:{secrets.token_hex(4)}"


class RunLeases:
    """Renews this process's leases while it executes runs; reports what it found."""

    def __init__(
        self,
        store: Store,
        lease_seconds: float,
        executing: Callable[[], Collection[str]],
        on_found: Callable[[Found], None],
    ) -> None:
        self.store = store
        self.owner = process_owner_id()
        self.lease_ms = int(lease_seconds * 1000)
        self.interval = max(0.1, lease_seconds / 4)
        self._executing = executing
        self._on_found = on_found
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._renew_forever(), name="run leases")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            run_ids = list(self._executing())  # before the query: runs it must see
            if not run_ids:
                continue
            try:
                found = await renew(self.store, self.owner, run_ids, self.lease_ms)
            except Exception as exc:  # the database is away: retry; the lease has slack
                log.warning("renewing run leases failed (%s: %s)", type(exc).__name__, exc)
                continue
            self._on_found({run_id: found.get(run_id, ("deleted", None)) for run_id in run_ids})
