"""Section 9's workers rows: ``serve --workers N`` on PostgreSQL under concurrent load.

One turn at a time cannot show what several processes do, so these rows drive the server
with ``clients`` concurrent clients (asyncio + httpx in this process), each running
streamed new-thread runs back to back until ``turns`` turns are done. Every turn opens a
new connection, so the kernel spreads the turns over the workers (uvicorn's workers share
one listening socket) as a load balancer would. Server CPU is summed over all the
server's processes: the uvicorn master and every worker (``bench.child.tree_cpu``).
The servers for all worker counts run at once and take turns in rounds (see ``run``).

A process's CPU per turn depends on its own load: a busy event loop serves many turns
per pass and stays warm, so one process at 170 turns/s spends less per turn than at 40.
N workers sharing a load each carry 1/N of it, so each row is also set against the
1-worker server driven at that per-worker rate (an open loop, ``_drive_at_rate``): the
cost of a lighter load per process, apart from any cost of there being several.
"""

from __future__ import annotations

import asyncio
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from langchain_assistants.testing.cli_server import CliServer

from .child import TurnRates, context_switches, start_server, tree_cpu
from .fixtures import TEXT_PROMPT
from .markdown import table

_STARTED = b"Application startup complete."
_DIED = b"] died"  # uvicorn's supervisor: "Child process [PID] died" (then it starts another)


@dataclass
class WorkersRow(TurnRates):
    """``turns`` concurrent turns on ``serve --workers N``; CPU summed over its processes."""

    workers: int
    clients: int
    turns: int
    seconds: float
    server_cpu: float
    #: (role, CPU seconds) per server process during the turns: master, workers, others.
    by_process: list[tuple[str, float]] = field(default_factory=list)
    failed: int = 0
    note: str = ""
    #: Server CPU per second while no request arrives (all processes: leases, sweeps).
    idle_cpu_per_s: float = float("nan")
    #: Involuntary context switches (preemptions) of the server's processes per turn.
    preempted_per_turn: float = float("nan")
    #: CPU per turn of the 1-worker server driven at this row's turns/s per worker.
    same_load_cpu_per_turn: float = float("nan")


async def _turn(http: httpx.AsyncClient, body: dict[str, object]) -> None:
    async with http.stream("POST", "/threads/runs", json={**body, "stream": True}) as response:
        response.raise_for_status()
        ended = False
        async for line in response.aiter_lines():
            if line == "event: thread.run.completed":
                ended = True
        if not ended:
            raise RuntimeError("the run did not complete")


async def _drive(
    base_url: str, body: dict[str, object], clients: int, turns: int
) -> tuple[float, list[str]]:
    """Run ``turns`` turns over ``clients`` concurrent clients; wall seconds and errors."""
    tickets = iter(range(turns))
    failures: list[str] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=0)
    async with httpx.AsyncClient(
        base_url=base_url,
        headers={"Authorization": "Bearer bench", "OpenAI-Beta": "assistants=v2"},
        timeout=60.0,
        limits=limits,  # no keep-alive: each turn a new connection, spread over the workers
    ) as http:

        async def client() -> None:
            for _ in tickets:  # the clients share one iterator: `turns` turns in all
                try:
                    await _turn(http, body)
                except (httpx.HTTPError, RuntimeError) as exc:
                    failures.append(f"{type(exc).__name__}: {exc}")

        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        return time.perf_counter() - start, failures


async def _drive_at_rate(
    base_url: str, body: dict[str, object], rate: float, turns: int
) -> tuple[float, list[str]]:
    """Start a turn every ``1/rate`` seconds, whether or not the earlier ones ended (an
    open loop: the offered load is fixed); wall seconds and errors."""
    failures: list[str] = []
    async with httpx.AsyncClient(
        base_url=base_url,
        headers={"Authorization": "Bearer bench", "OpenAI-Beta": "assistants=v2"},
        timeout=60.0,
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
    ) as http:

        async def one() -> None:
            try:
                await _turn(http, body)
            except (httpx.HTTPError, RuntimeError) as exc:
                failures.append(f"{type(exc).__name__}: {exc}")

        start = time.perf_counter()
        started = []
        for index in range(turns):
            await asyncio.sleep(max(0.0, start + index / rate - time.perf_counter()))
            started.append(asyncio.create_task(one()))
        await asyncio.gather(*started)
        return time.perf_counter() - start, failures


def _wait_for_workers(server: CliServer, workers: int, timeout: float = 120.0) -> None:
    """Wait until every worker has logged the end of its start-up (requests queue before)."""
    deadline = time.monotonic() + timeout
    while server.log.read_bytes().count(_STARTED) < workers:
        if server.proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"not all {workers} workers started (see {server.log})")
        time.sleep(0.2)


class _Target:
    """One ``serve --workers N`` under measurement; CPU and wall time summed over rounds."""

    def __init__(self, *, db: str, model: str, workdir: Path, workers: int) -> None:
        self.workers = workers
        self.server = start_server(
            db=db,
            model=model,
            workdir=workdir,
            name=f"workers-{workers}",
            extra=("--workers", str(workers)),
        )
        self.seconds = 0.0
        self.turns = 0
        self.failures: list[str] = []
        self.cpu: dict[int, float] = {}  # by pid
        self.roles: dict[int, str] = {}
        self.body: dict[str, object] = {}
        self.idle_cpu_per_s = float("nan")
        self.preempted = 0
        #: 1-worker server only: (turns, CPU) at each other row's per-worker rate.
        self.at_rate: dict[int, tuple[int, float]] = {}

    def prepare(self, model: str, clients: int, warm_turns: int) -> None:
        """Wait for every worker, create the assistant, warm every worker up (untimed)."""
        _wait_for_workers(self.server, self.workers)
        response = httpx.post(
            f"{self.server.base_url}/assistants",
            json={"model": model, "name": "bench workers", "instructions": "Be brief."},
            headers={"Authorization": "Bearer bench", "OpenAI-Beta": "assistants=v2"},
            timeout=60.0,
        )
        response.raise_for_status()
        self.body = {
            "assistant_id": response.json()["id"],
            "thread": {"messages": [{"role": "user", "content": TEXT_PROMPT}]},
        }
        _warm_up(self.server, self.body, clients, self.workers, warm_turns)

    def batch(self, clients: int, turns: int) -> None:
        """Time ``turns`` turns and add their wall time and every process's CPU."""
        pid = self.server.pid
        before, switched = tree_cpu(pid), context_switches(pid)[1]
        seconds, failures = asyncio.run(_drive(self.server.base_url, self.body, clients, turns))
        after = tree_cpu(pid)
        self.preempted += context_switches(pid)[1] - switched
        # A process that started during the turns counts from zero; one that ended is missing.
        for member, cpu in after.items():
            self.cpu[member] = self.cpu.get(member, 0.0) + cpu - before.get(member, 0.0)
            self.roles.setdefault(member, _role(member, pid))
        self.seconds += seconds
        self.turns += turns - len(failures)
        self.failures += failures

    def batch_at_rate(self, workers: int, rate: float, turns: int) -> None:
        """Time ``turns`` turns offered at ``rate`` turns/s (the load of one of ``workers``
        workers) and add their count and CPU to ``at_rate[workers]``."""
        before = sum(tree_cpu(self.server.pid).values())
        _, failures = asyncio.run(_drive_at_rate(self.server.base_url, self.body, rate, turns))
        cpu = sum(tree_cpu(self.server.pid).values()) - before
        done, spent = self.at_rate.get(workers, (0, 0.0))
        self.at_rate[workers] = (done + turns - len(failures), spent + cpu)

    def row(self, clients: int) -> WorkersRow:
        by_process = sorted(
            ((self.roles[member], cpu) for member, cpu in self.cpu.items()),
            key=lambda item: _ROLES.index(item[0]),
        )
        notes = []
        if self.failures:
            total = self.turns + len(self.failures)
            first = self.failures[0][:200]
            notes.append(f"{len(self.failures)} of {total} turns failed, first: {first}")
        replaced = self.server.log.read_bytes().count(_DIED)
        if replaced:
            notes.append(
                f"uvicorn killed and replaced {replaced} worker(s): no answer to its 5 s ping"
            )
        return WorkersRow(
            workers=self.workers,
            clients=clients,
            turns=self.turns,
            seconds=self.seconds,
            server_cpu=sum(cpu for _, cpu in by_process),
            by_process=by_process,
            failed=len(self.failures),
            note="; ".join(notes),
            idle_cpu_per_s=self.idle_cpu_per_s,
            preempted_per_turn=self.preempted / self.turns if self.turns else float("nan"),
        )


def _warm_up(
    server: CliServer, body: dict[str, object], clients: int, workers: int, turns: int
) -> None:
    """Untimed turns until every worker has served some (its first turns import and build
    what it needs): rounds of ``turns`` turns, until each worker's CPU rose by at least a
    quarter of its fair share in the last round (at most 10 rounds)."""
    for _ in range(10):
        before = tree_cpu(server.pid)
        asyncio.run(_drive(server.base_url, body, clients, turns))
        after = tree_cpu(server.pid)
        spent = [
            cpu - before.get(member, 0.0)
            for member, cpu in after.items()
            if _role(member, server.pid) == "worker" or workers == 1
        ]
        total = sum(spent)
        if total > 0 and min(spent) >= total / len(spent) / 4:
            return


_ROLES = ("master", "worker", "other")


def _role(pid: int, master: int) -> str:
    """``master`` (the server process we started), ``worker`` (a uvicorn worker: a
    multiprocessing spawn child) or ``other`` (e.g. multiprocessing's resource tracker)."""
    if pid == master:
        return "master"
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "other"
    return "worker" if b"spawn_main" in command else "other"


def shares(row: WorkersRow) -> str:
    """Each process's share of the row's server CPU (``master 1%, workers 25/24/25/25%``),
    which shows how evenly the turns were spread; empty for a single process."""
    if len(row.by_process) < 2 or row.server_cpu <= 0:
        return ""
    percent: dict[str, list[str]] = {}
    for role, cpu in row.by_process:
        percent.setdefault(role, []).append(str(round(100 * cpu / row.server_cpu)))
    names = {"master": "master", "worker": "workers", "other": "other"}
    parts = [f"{names[role]} {'/'.join(values)}%" for role, values in percent.items()]
    return "CPU by process: " + ", ".join(parts)


def not_run(exc: BaseException) -> str:
    """A table cell for a row that could not run: the error's first line (a server's
    start-up error ends with its log, which belongs in the log file, not in the table)."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return f"not run: {first[:300]}"


def _idle(targets: list[_Target], seconds: float) -> None:
    """Each server's CPU per second over ``seconds`` with no requests (all servers at once):
    the background work (lease renewals, sweeps) that every process adds."""
    if seconds <= 0 or not targets:
        return
    before = [sum(tree_cpu(target.server.pid).values()) for target in targets]
    time.sleep(seconds)
    for target, cpu in zip(targets, before, strict=True):
        target.idle_cpu_per_s = (sum(tree_cpu(target.server.pid).values()) - cpu) / seconds


def run(
    *,
    db: str,
    model: str,
    workdir: Path,
    counts: tuple[int, ...],
    clients: int,
    turns: int,
    rounds: int = 5,
    idle_s: float = 10.0,
) -> list[WorkersRow]:
    """One row per worker count. All the servers run at once and take turns: ``rounds``
    rounds, each a batch of ``turns / rounds`` turns on every server in order, so a change
    in the machine's load falls on every row alike (idle servers cost next to nothing)."""
    batch = max(1, math.ceil(turns / rounds))
    targets: list[_Target] = []
    rows: dict[int, WorkersRow] = {}
    try:
        # Started side by side (each start waits until its server answers).
        with ThreadPoolExecutor(len(counts) or 1) as pool:
            starts = {
                workers: pool.submit(_Target, db=db, model=model, workdir=workdir, workers=workers)
                for workers in counts
            }
        for workers, start in starts.items():
            try:
                targets.append(start.result())
            except Exception as exc:  # this row says why; the others still run
                rows[workers] = WorkersRow(workers, clients, 0, 0.0, 0.0, note=not_run(exc))
        for target in list(targets):
            try:
                target.prepare(model, clients, max(2 * clients, batch))
            except (RuntimeError, httpx.HTTPError) as exc:
                note = not_run(exc)
                rows[target.workers] = WorkersRow(target.workers, clients, 0, 0.0, 0.0, note=note)
                targets.remove(target)
                target.server.stop()
        _idle(targets, idle_s)
        for _ in range(rounds):
            for target in targets:
                target.batch(clients, batch)
        _same_load(targets, rounds, batch)
    finally:
        for target in targets:
            target.server.stop()
    rows.update((target.workers, target.row(clients)) for target in targets)
    single = next((target for target in targets if target.workers == 1), None)
    for workers, (done, cpu) in single.at_rate.items() if single else []:
        if done and workers in rows:
            rows[workers].same_load_cpu_per_turn = cpu / done
    return [rows[workers] for workers in counts]


def _same_load(targets: list[_Target], rounds: int, turns: int) -> None:
    """Drive the 1-worker server at each other row's measured turns/s per worker, in
    rounds (one batch per rate each), as the baseline of the same load per process."""
    single = next((target for target in targets if target.workers == 1), None)
    others = [target for target in targets if target.workers > 1 and target.turns]
    if single is None:
        return
    for _ in range(rounds):
        for target in others:
            rate = target.turns / target.seconds / target.workers
            single.batch_at_rate(target.workers, rate, turns)


def section(database: str, rows: list[WorkersRow], not_run: str) -> list[str]:
    """The workers table: turns/s and server CPU per turn for each worker count, and CPU per
    turn relative to the 1-worker row (the goal: 2 and 4 workers within 15% of it)."""
    clients = rows[0].clients if rows else "several"
    lines = [
        f"**`serve --workers N` on {database}**: {clients} concurrent clients, each running "
        "streamed new-thread runs back to back (zero-delay scripted model), each turn on a new "
        "connection so the kernel spreads the turns over the workers. The servers for all "
        "worker counts run at once and take turns, in rounds of one batch each, after an "
        "untimed warm-up of every worker, so the machine's changing load falls on every row "
        "alike. *Server CPU/turn* is summed "
        "over all the server's processes (the uvicorn master and every worker, "
        "`/proc/PID/task/*/schedstat`), PostgreSQL's own processes not counted; *vs 1 "
        "worker* is that CPU per turn over the 1-worker row's (goal: at most 1.15); *idle "
        "server CPU*: the server's CPU per second, all processes, with no requests (leases, "
        "sweeps), measured before the turns. "
        "`--workers 1` is one process, as plain `serve`. The client runs on the same "
        "machine: turns/s cannot scale past its cores. *Preempted/turn*: involuntary "
        "context switches of the server's processes per turn (the scheduler taking a CPU "
        "from a process that still had work). *Same load per worker*: the 1-worker server "
        "driven at this row's turns/s divided by its workers (a turn started every 1/rate "
        "s), measured after the rounds, in rounds of its own: the CPU per turn one process "
        "spends at the load each of these workers carries, and this row's CPU per turn "
        "over it.",
        "",
    ]
    base = next((row for row in rows if row.workers == 1 and row.turns), None)
    cells: list[tuple[str, ...]] = []
    for row in rows:
        if not row.turns:
            cells.append((database, str(row.workers), str(row.clients), "0", *"-" * 7, row.note))
            continue
        versus = "-" if base is None else f"{row.cpu_per_turn / base.cpu_per_turn:.2f}"
        same = row.same_load_cpu_per_turn
        same_cells = (
            ("-", "-")
            if math.isnan(same)
            else (f"{same * 1000:.1f}", f"{row.cpu_per_turn / same:.2f}")
        )
        note = "; ".join(part for part in (row.note, shares(row)) if part)
        cells.append(
            (
                database,
                str(row.workers),
                str(row.clients),
                str(row.turns),
                f"{row.turns_per_s:.1f}",
                f"{row.cpu_per_turn * 1000:.1f}",
                versus,
                "-" if math.isnan(row.idle_cpu_per_s) else f"{row.idle_cpu_per_s * 1000:.1f}",
                "-" if math.isnan(row.preempted_per_turn) else f"{row.preempted_per_turn:.1f}",
                *same_cells,
                note,
            )
        )
    if not rows:
        cells.append((database, *"-" * 10, not_run or "not run"))
    header = [
        "database",
        "workers",
        "clients",
        "turns",
        "turns/s",
        "server CPU/turn (ms)",
        "vs 1 worker",
        "idle server CPU (ms/s)",
        "preempted/turn",
        "same load per worker: 1 worker's CPU/turn (ms)",
        "vs same load",
        "note",
    ]
    return lines + table(header, cells)
