"""Several real ``langchain-assistants serve`` processes on one database, for scale-out tests.

Each replica is a CLI subprocess on its own loopback port (like replicas on several
machines behind a load balancer); ``RoundRobin`` spreads a client's requests across the
live ones. ``kill()`` is a SIGKILL: no shutdown code runs, exactly like a crash.
"""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx2
from openai import AsyncOpenAI, OpenAI

KEY = "sk-scaleout"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Replica:
    """One server process; ``base_url`` is its ``/v1``."""

    def __init__(self, db: str, model: str, log_path: Path, *extra: str) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.log_path = log_path
        command = [
            sys.executable,
            "-m",
            "langchain_assistants",
            "serve",
            "--port",
            str(self.port),
            "--db",
            db,
            "--model",
            model,
            "--api-key",
            KEY,
            "--code-interpreter",
            "unsafe-local",
            "--log-level",
            "warning",
            *extra,
        ]
        self.killed = False
        self._log = log_path.open("wb")
        self.proc = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx2.get(f"http://127.0.0.1:{self.port}/health").status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"replica did not start:\n{self.output()}")
            time.sleep(0.1)

    @property
    def alive(self) -> bool:
        return not self.killed and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the process group: a crash, no graceful shutdown. Marked dead first, so a
        request it drops is never taken for a failure of a live process."""
        if self.alive:
            self.killed = True
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

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
