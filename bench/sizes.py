"""How much each scenario runs: the full bench and ``--quick``."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Sizes:
    turn_reps: int = 30
    legacy_turn_reps: int = 10
    tool_reps: int = 20
    legacy_tool_reps: int = 6
    lengths: tuple[int, ...] = (10, 100, 1000)
    length_reps: int = 10
    legacy_length_reps: int = 3
    concurrency: tuple[int, ...] = (1, 16, 64, 256)
    #: Turns per concurrency cell (at least 2 per conversation).
    cell_turns: int = 96
    legacy_cell_turns: int = 16
    #: Wall-time cap per concurrency cell; turns still running are cancelled.
    cell_cap_s: float = 60.0
    throughput_clients: int = 32
    throughput_warmup_s: float = 2.0
    throughput_s: float = 15.0
    #: Retrieval: small files ingested in one batch, chunks searched, queries timed, PDF pages.
    retrieval_files: int = 1000
    retrieval_chunks: tuple[int, ...] = (10_000, 100_000)
    retrieval_queries: int = 200
    pdf_pages: int = 300
    #: File sizes uploaded (and downloaded) per blob store, in MiB.
    upload_mib: tuple[int, ...] = (50, 200)
    #: Section 9 (server in its own process): new-thread turns; turns per thread length.
    process_turns: int = 60
    process_lengths: tuple[int, ...] = (10, 100, 1000)
    #: Section 9 on PostgreSQL: ``serve --workers N`` for each N, under concurrent clients.
    workers: tuple[int, ...] = (1, 2, 4)
    workers_clients: int = 8
    #: Turns per worker count, in rounds that alternate between the worker counts.
    workers_turns: int = 400
    workers_rounds: int = 5
    #: Seconds the workers' servers sit idle, measured (their background CPU).
    workers_idle_s: float = 10.0

    def turns_each(self, clients: int, *, legacy: bool) -> int:
        """Turns each conversation runs back to back in a concurrency cell."""
        total = self.legacy_cell_turns if legacy else self.cell_turns
        return max(2, math.ceil(total / clients))

    def describe(self) -> dict[str, object]:
        return asdict(self)


FULL = Sizes()
QUICK = Sizes(
    turn_reps=5,
    legacy_turn_reps=2,
    tool_reps=3,
    legacy_tool_reps=1,
    lengths=(10, 50),
    length_reps=3,
    legacy_length_reps=1,
    concurrency=(1, 4),
    cell_turns=8,
    legacy_cell_turns=2,
    cell_cap_s=20.0,
    throughput_clients=8,
    throughput_warmup_s=0.5,
    throughput_s=2.0,
    retrieval_files=40,
    retrieval_chunks=(400,),
    retrieval_queries=20,
    pdf_pages=5,
    upload_mib=(4, 16),
    process_turns=8,
    process_lengths=(10, 50),
    workers=(1, 2),
    workers_clients=4,
    workers_turns=16,
    workers_rounds=2,
    workers_idle_s=1.0,
)
