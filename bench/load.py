"""Async scenarios on one event loop: concurrency levels and sustained server throughput.

A lag probe sleeps 5 ms over and over on the same loop and records how late it wakes:
a client that blocks the loop (sync I/O or ``time.sleep`` inside ``ainvoke``) shows up
there, and as lost turns/s, before it shows up anywhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections import Counter
from collections.abc import Callable

from .contenders import LEGACY, AsyncContender
from .fixtures import TEXT_PROMPT
from .results import Cell
from .server import BenchServer
from .sizes import Sizes
from .stats import CpuClock

PROBE_INTERVAL_S = 0.005


class LagProbe:
    """Records how late the event loop wakes a task sleeping ``PROBE_INTERVAL_S``."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(PROBE_INTERVAL_S)
            self.lags.append(time.perf_counter() - start - PROBE_INTERVAL_S)

    def __enter__(self) -> LagProbe:
        self._task = asyncio.create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()


async def _cancel(tasks: set[asyncio.Task[None]], grace_s: float = 15.0) -> None:
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=grace_s)


async def concurrency_cell(
    contender: AsyncContender, clients: int, turns_each: int, cap_s: float
) -> Cell:
    """``clients`` conversations at once, each running ``turns_each`` turns back to back."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()

    async def conversation() -> None:
        for _ in range(turns_each):
            start = time.perf_counter()
            try:
                await contender.new_thread_turn(TEXT_PROMPT)
            except Exception as exc:
                errors[type(exc).__name__] += 1
            latencies.append(time.perf_counter() - start)

    gc.collect()
    with LagProbe() as probe:
        clock = CpuClock()
        start = time.perf_counter()
        tasks = {asyncio.create_task(conversation()) for _ in range(clients)}
        _, pending = await asyncio.wait(tasks, timeout=cap_s)
        wall = time.perf_counter() - start
        client_cpu, server_cpu = clock.read()
    await _cancel(pending)
    return Cell(
        tag=contender.tag,
        clients=clients,
        planned=clients * turns_each,
        latencies=latencies,
        wall=wall,
        loop_lags=probe.lags,
        errors=errors,
        timed_out=bool(pending),
        client_cpu=client_cpu,
        server_cpu=server_cpu,
    )


async def concurrency(
    server: BenchServer,
    make: dict[str, Callable[[], AsyncContender]],
    sizes: Sizes,
    log: Callable[[str], None],
) -> list[Cell]:
    """Every contender at every level; one warm-up turn each first."""
    contenders = {tag: factory() for tag, factory in make.items()}
    for contender in contenders.values():
        with contextlib.suppress(Exception):  # legacy ainvoke may fail; measured below
            await contender.new_thread_turn(TEXT_PROMPT)
    cells = []
    for clients in sizes.concurrency:
        for tag, contender in contenders.items():
            turns_each = sizes.turns_each(clients, legacy=tag == LEGACY)
            log(f"concurrency {clients}: {tag} ({clients * turns_each} turns)")
            requests, connections = server.requests(tag), server.connections(tag)
            cell = await concurrency_cell(contender, clients, turns_each, sizes.cell_cap_s)
            cell.requests = sum((server.requests(tag) - requests).values())
            cell.connections = server.connections(tag) - connections
            cells.append(cell)
            await asyncio.sleep(0.5)  # let cancelled or trailing runs settle
    for contender in contenders.values():
        await contender.aclose()
    return cells


async def sustained(
    contender: AsyncContender, clients: int, warmup_s: float, seconds: float
) -> Cell:
    """``clients`` loops of back-to-back turns; counts turns that end inside the window."""
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    loop_start = time.perf_counter()
    window_start = loop_start + warmup_s
    window_end = window_start + seconds

    async def client() -> None:
        while time.perf_counter() < window_end:
            start = time.perf_counter()
            try:
                await contender.new_thread_turn(TEXT_PROMPT)
            except Exception as exc:
                errors[type(exc).__name__] += 1
                continue
            end = time.perf_counter()
            if window_start <= end <= window_end:
                latencies.append(end - start)

    gc.collect()
    with LagProbe() as probe:
        tasks = {asyncio.create_task(client()) for _ in range(clients)}
        await asyncio.sleep(max(0.0, window_start - time.perf_counter()))
        clock = CpuClock()  # over the window, like the turns counted
        await asyncio.sleep(max(0.0, window_end - time.perf_counter()))
        client_cpu, server_cpu = clock.read()
        _, pending = await asyncio.wait(tasks, timeout=60.0)
    await _cancel(pending)
    await contender.aclose()
    return Cell(
        tag=contender.tag,
        clients=clients,
        planned=0,
        latencies=latencies,
        wall=seconds,
        loop_lags=probe.lags,
        errors=errors,
        timed_out=bool(pending),
        client_cpu=client_cpu,
        server_cpu=server_cpu,
    )
