"""Several real ``langchain-assistants serve`` processes on one database, for scale-out tests.

Each replica is a CLI subprocess on its own loopback port (like replicas on several
machines behind a load balancer); ``RoundRobin`` spreads a client's requests across the
live ones. ``kill()`` is a SIGKILL: no shutdown code runs, exactly like a crash.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from openai import AsyncOpenAI, OpenAI

from langchain_assistants.testing.cli_server import start_cli_server

KEY = "sk-scaleout"


class Replica:
    """One server process; ``base_url`` is its ``/v1``. Started without waiting, so that
    several start in parallel: call ``wait_ready()``."""

    def __init__(self, db: str, model: str, log_path: Path, *extra: str) -> None:
        self.server = start_cli_server(
            *("--db", db, "--model", model, "--api-key", KEY),
            *("--code-interpreter", "unsafe-local", "--log-level", "warning", *extra),
            log=log_path,
            wait=False,
        )
        self.base_url = self.server.base_url

    def wait_ready(self, timeout: float = 60.0) -> None:
        self.server.wait_ready(timeout)

    @property
    def alive(self) -> bool:
        return self.server.alive

    def kill(self) -> None:
        """SIGKILL the process group: a crash, no graceful shutdown. Marked dead first, so a
        request it drops is never taken for a failure of a live process."""
        self.server.kill()

    def stop(self) -> None:
        self.server.stop()

    def client(self) -> OpenAI:
        return OpenAI(base_url=self.base_url, api_key=KEY, max_retries=0, timeout=60)

    def async_client(self) -> AsyncOpenAI:
        return AsyncOpenAI(base_url=self.base_url, api_key=KEY, max_retries=0, timeout=60)


@contextmanager
def replicas(
    db: str, model: str, tmp_path: Path, count: int = 3, extra: Sequence[str] = ()
) -> Iterator[list[Replica]]:
    """``count`` server processes on database ``db``, started in parallel, stopped after."""
    started = [Replica(db, model, tmp_path / f"replica-{i}.log", *extra) for i in range(count)]
    try:
        for replica in started:
            replica.wait_ready()
        yield started
    finally:
        for replica in started:
            replica.stop()


class RoundRobin:
    """Hands out the next live replica's client in turn (a load balancer's rotation)."""

    def __init__(self, replicas: Sequence[Replica]) -> None:
        self.replicas = list(replicas)
        self.clients = [r.async_client() for r in self.replicas]
        self._turn = itertools.count()

    def next(self, *, avoid: int | None = None) -> tuple[int, AsyncOpenAI]:
        """(index, client) of the next live replica, other than ``avoid`` if possible."""
        for _ in range(2 * len(self.replicas)):
            index = next(self._turn) % len(self.replicas)
            if self.replicas[index].alive and index != avoid:
                return index, self.clients[index]
        live = [i for i, r in enumerate(self.replicas) if r.alive]
        return live[0], self.clients[live[0]]

    async def close(self) -> None:
        for client in self.clients:
            await client.close()
