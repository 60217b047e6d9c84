"""The server as a child process: ``langchain-assistants serve`` on a free port, and the
CPU time of it and of its descendants (a ``--workers N`` master and its workers).

Sections 9's rows (``bench.process``, ``bench.workers``) start their servers through it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu(pid: int) -> float:
    """CPU seconds the process's threads have run, in nanosecond resolution.

    The sum of ``/proc/PID/task/*/schedstat`` (time on CPU per thread); falls back to
    ``/proc/PID/stat`` utime+stime (clock ticks, 10 ms resolution) without schedstat.
    """
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                total += int((task / "schedstat").read_text().split()[0])
            except (FileNotFoundError, ProcessLookupError):  # a thread that just ended
                continue
        return total / 1e9
    except OSError:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def _parent_pid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone, or not a process directory
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def process_tree(pid: int) -> list[int]:
    """``pid`` and every living descendant (a ``serve --workers N`` master and its workers),
    found through each process's parent pid in ``/proc/*/stat``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = _parent_pid(int(entry.name))
            if parent is not None:
                children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def tree_cpu(pid: int) -> dict[int, float]:
    """CPU seconds of ``pid`` and of each of its living descendants, by pid."""
    cpu = {}
    for member in process_tree(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):  # a process that just ended
            cpu[member] = process_cpu(member)
    return cpu


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    """``python -m langchain_assistants serve`` on a free loopback port."""

    def __init__(
        self,
        *,
        db: str,
        model: str,
        workdir: Path,
        extra: tuple[str, ...] = (),
        cwd: Path | None = None,
    ) -> None:
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        env = {k: v for k, v in os.environ.items() if not k.startswith("LANGCHAIN_ASSISTANTS_")}
        self.log_path = workdir / f"server-{self.port}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "langchain_assistants", "serve", "--port", str(self.port)),
                *("--db", db, "--model", model, "--code-interpreter", "unsafe-local", *extra),
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,  # another checkout's package, to compare two versions side by side
        )
        deadline = time.monotonic() + 60.0
        while True:
            try:
                httpx.get(f"{self.base_url}/models", timeout=2.0)
                break
            except httpx.HTTPError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the server process did not start") from None
                time.sleep(0.1)

    def cpu(self) -> float:
        return process_cpu(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15.0)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


@contextmanager
def server_process(*, db: str, model: str, workdir: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(db=db, model=model, workdir=workdir)
    try:
        yield server
    finally:
        server.stop()
