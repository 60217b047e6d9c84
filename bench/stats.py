"""Summaries of timing samples: medians, percentiles, ratios."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Sequence


class CpuClock:
    """CPU seconds of this thread (the client) and of the rest of the process (the server)."""

    def __init__(self) -> None:
        self._thread = time.thread_time()
        self._process = time.process_time()

    def read(self) -> tuple[float, float]:
        """``(client, server)`` CPU seconds since the clock was made."""
        client = time.thread_time() - self._thread
        return client, max(0.0, time.process_time() - self._process - client)


def median(samples: Sequence[float]) -> float:
    """Median, or NaN for no samples."""
    return statistics.median(samples) if samples else math.nan


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100), linear between closest ranks; NaN if empty."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    pos = (len(ordered) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def ratio(a: float, b: float) -> float:
    """``a / b``, NaN when either is missing or ``b`` is zero."""
    if math.isnan(a) or math.isnan(b) or b == 0:
        return math.nan
    return a / b


def ms(seconds: float) -> str:
    """Seconds as milliseconds for a table cell (``-`` when missing)."""
    if math.isnan(seconds):
        return "-"
    return f"{seconds * 1000:.0f}" if seconds >= 0.1 else f"{seconds * 1000:.1f}"


def times(value: float) -> str:
    """A ratio as ``1.23x`` (``-`` when missing)."""
    return "-" if math.isnan(value) else f"{value:.2f}x"
