"""Markdown helpers for the report: tables and cell formatting."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def num(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}".removesuffix(".0")


def errors(counts: Counter[str]) -> str:
    """``AttributeError x3, ...`` or ``0``."""
    return ", ".join(f"{name} x{n}" for name, n in counts.most_common()) or "0"
