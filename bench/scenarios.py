"""Sequential scenarios: turn latency, tool round trip, cost vs thread length.

Contenders take turns (ours, legacy, floor, ours, ...) so that a noisy neighbour slows
them alike; the server counts each contender's requests.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable, Sequence

from openai import OpenAI

from .contenders import LEGACY, SyncContender
from .fixtures import TEXT_PROMPT, TOOL_PROMPT, seed_thread
from .results import LengthRow, Samples
from .server import BenchServer
from .sizes import Sizes
from .stats import CpuClock

Turn = Callable[[SyncContender], None]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _interleaved(
    server: BenchServer,
    contenders: Sequence[SyncContender],
    reps: dict[str, int],
    prepare: Callable[[], Turn],
) -> dict[str, Samples]:
    """Time one turn per contender, round-robin; ``prepare`` (untimed) builds each turn."""
    gc.collect()
    samples = {c.tag: Samples([]) for c in contenders}
    for i in range(max(reps.values())):
        for contender in contenders:
            if i >= reps[contender.tag]:
                continue
            turn = prepare()
            out = samples[contender.tag]
            requests = server.requests(contender.tag)
            connections = server.connections(contender.tag)
            statements, commits = server.database_work()
            clock = CpuClock()
            start = time.perf_counter()
            turn(contender)
            out.seconds.append(time.perf_counter() - start)
            client_cpu, server_cpu = clock.read()
            out.client_cpu += client_cpu
            out.server_cpu += server_cpu
            out.requests += server.requests(contender.tag) - requests
            out.connections += server.connections(contender.tag) - connections
            now_statements, now_commits = server.database_work()
            out.sql_statements += now_statements - statements
            out.sql_commits += now_commits - commits
    return samples


def _reps(contenders: Sequence[SyncContender], normal: int, legacy: int) -> dict[str, int]:
    return {c.tag: legacy if c.tag == LEGACY else normal for c in contenders}


def _new_thread_turn(contender: SyncContender) -> None:
    contender.new_thread_turn(TEXT_PROMPT)


def _tool_round_trip(contender: SyncContender) -> None:
    contender.tool_round_trip(TOOL_PROMPT)


def turn_latency(
    server: BenchServer, contenders: Sequence[SyncContender], sizes: Sizes
) -> dict[str, Samples]:
    """A text answer on a new thread (model delay 50 ms)."""
    for contender in contenders:  # warm-up: connections, model cache, code paths
        _new_thread_turn(contender)
    reps = _reps(contenders, sizes.turn_reps, sizes.legacy_turn_reps)
    return _interleaved(server, contenders, reps, lambda: _new_thread_turn)


def tool_round_trip(
    server: BenchServer, contenders: Sequence[SyncContender], sizes: Sizes
) -> dict[str, Samples]:
    """A tool call: run to ``requires_action``, submit the output, get the answer."""
    for contender in contenders:
        _tool_round_trip(contender)
    reps = _reps(contenders, sizes.tool_reps, sizes.legacy_tool_reps)
    return _interleaved(server, contenders, reps, lambda: _tool_round_trip)


def thread_length(
    server: BenchServer, seeder: OpenAI, contenders: Sequence[SyncContender], sizes: Sizes
) -> list[LengthRow]:
    """A text answer on an existing thread of n earlier messages (a fresh thread per turn)."""
    rows = []
    reps = _reps(contenders, sizes.length_reps, sizes.legacy_length_reps)
    for earlier in sizes.lengths:
        log(f"thread length {earlier}")

        def prepare(n: int = earlier) -> Turn:
            thread_id = seed_thread(seeder, n)
            return lambda contender: contender.thread_turn(thread_id, TEXT_PROMPT)

        rows.append(LengthRow(earlier, _interleaved(server, contenders, reps, prepare)))
    return rows
