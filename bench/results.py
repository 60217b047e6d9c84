"""What the scenarios measure, as plain data for the report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .stats import median, percentile


@dataclass
class Samples:
    """Sequential turns of one contender: durations, requests made, CPU spent.

    ``client_cpu``: CPU time of the calling thread; ``server_cpu``: CPU time of every other
    thread of the process (uvicorn and its SQLite worker threads), both summed over turns.
    """

    seconds: list[float]
    requests: Counter[str] = field(default_factory=Counter)
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    sql_statements: int = 0
    sql_commits: int = 0
    connections: int = 0

    @property
    def n(self) -> int:
        return len(self.seconds)

    @property
    def median(self) -> float:
        return median(self.seconds)

    @property
    def p90(self) -> float:
        return percentile(self.seconds, 90)

    @property
    def requests_per_turn(self) -> float:
        return sum(self.requests.values()) / self.n if self.n else float("nan")

    @property
    def client_cpu_per_turn(self) -> float:
        return self.client_cpu / self.n if self.n else float("nan")

    @property
    def server_cpu_per_turn(self) -> float:
        return self.server_cpu / self.n if self.n else float("nan")

    @property
    def connections_per_turn(self) -> float:
        return self.connections / self.n if self.n else float("nan")

    @property
    def statements_per_turn(self) -> float:
        return self.sql_statements / self.n if self.n else float("nan")

    @property
    def commits_per_turn(self) -> float:
        return self.sql_commits / self.n if self.n else float("nan")


@dataclass
class LengthRow:
    """Turns on threads with ``earlier`` messages, per contender."""

    earlier: int
    samples: dict[str, Samples]


@dataclass
class Cell:
    """Concurrent async turns of one contender: latencies, wall time, loop lag, errors."""

    tag: str
    clients: int
    planned: int
    latencies: list[float]
    wall: float
    loop_lags: list[float]
    errors: Counter[str] = field(default_factory=Counter)
    timed_out: bool = False
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    requests: int = 0
    connections: int = 0

    @property
    def turns(self) -> int:
        return len(self.latencies)

    @property
    def requests_per_turn(self) -> float:
        return self.requests / self.turns if self.turns else float("nan")

    @property
    def connections_per_turn(self) -> float:
        return self.connections / self.turns if self.turns else float("nan")

    @property
    def client_cpu_per_turn(self) -> float:
        return self.client_cpu / self.turns if self.turns else float("nan")

    @property
    def server_cpu_per_turn(self) -> float:
        return self.server_cpu / self.turns if self.turns else float("nan")

    @property
    def turns_per_s(self) -> float:
        return self.turns / self.wall if self.wall > 0 else float("nan")

    @property
    def p50(self) -> float:
        return percentile(self.latencies, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 99)

    @property
    def lag_p99(self) -> float:
        return percentile(self.loop_lags, 99)

    @property
    def lag_max(self) -> float:
        return max(self.loop_lags) if self.loop_lags else float("nan")


@dataclass
class ThroughputRow:
    """Sustained turns on one database (``cell`` is None when the database was not run)."""

    database: str
    cell: Cell | None
    note: str = ""


@dataclass
class Results:
    mode: str
    machine: dict[str, str]
    turn: dict[str, Samples]
    tool: dict[str, Samples]
    lengths: list[LengthRow]
    concurrency: list[Cell]
    throughput: list[ThroughputRow]
    sizes: dict[str, object]
    elapsed: float = 0.0
    retrieval: Any = None  # retrieval.RetrievalResults (section 7)
    uploads: list[Any] | None = None  # uploads.UploadRow (section 8)
    process: list[Any] | None = None  # process.ProcessSection (section 9)


def by_level(cells: list[Cell]) -> dict[int, dict[str, Cell]]:
    """Concurrency cells by number of conversations, then by contender."""
    levels: dict[int, dict[str, Cell]] = {}
    for cell in cells:
        levels.setdefault(cell.clients, {})[cell.tag] = cell
    return levels


def lowest_level(results: Results) -> dict[str, Cell]:
    """The cells with the fewest conversations (1 in both modes), by contender."""
    levels = by_level(results.concurrency)
    return levels[min(levels)] if levels else {}
