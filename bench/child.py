"""The server as a child process, and the CPU time of it and of its descendants (a
``serve --workers N`` master and its workers).

Section 9's rows (``bench.process``, ``bench.workers``) start ``langchain-assistants
serve`` through :func:`start_server` (the tests' :mod:`langchain_assistants.testing.cli_server`
without this shell's ``LANGCHAIN_ASSISTANTS_*`` settings) and read its CPU here.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from langchain_assistants.testing.cli_server import CliServer, start_cli_server

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


def context_switches(pid: int) -> tuple[int, int]:
    """``(voluntary, involuntary)`` context switches of ``pid`` and its living descendants
    (``/proc/PID/status``): involuntary ones are preemptions, the scheduler taking the CPU
    from a process that still had work."""
    voluntary = involuntary = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):  # a process that just ended
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    voluntary += int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches:"):
                    involuntary += int(line.split()[1])
    return voluntary, involuntary


def start_server(
    *, db: str, model: str, workdir: Path, name: str, extra: tuple[str, ...] = ()
) -> CliServer:
    """``serve`` on ``db`` with the zero-setup options of section 9, its log
    ``workdir/server-NAME.log``; returns once it answers (raises ``CliServerError``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANGCHAIN_ASSISTANTS_")}
    return start_cli_server(
        *("--db", db, "--model", model, "--code-interpreter", "unsafe-local", *extra),
        log=workdir / f"server-{name}.log",
        env=env,
    )


@contextmanager
def server_process(*, db: str, model: str, workdir: Path) -> Iterator[CliServer]:
    """One ``serve`` process for the one-at-a-time rows, stopped at the end."""
    name = "process-postgres" if db.startswith("postgres") else "process-sqlite"
    with start_server(db=db, model=model, workdir=workdir, name=name) as server:
        yield server


class TurnRates:
    """Turns/s and server CPU per turn of a row with ``turns``, ``seconds``, ``server_cpu``."""

    turns: int
    seconds: float
    server_cpu: float

    @property
    def turns_per_s(self) -> float:
        return self.turns / self.seconds if self.seconds > 0 else float("nan")

    @property
    def cpu_per_turn(self) -> float:
        return self.server_cpu / self.turns if self.turns else float("nan")
