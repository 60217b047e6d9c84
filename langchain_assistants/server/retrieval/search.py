"""Search: attribute filters, the two rankings, reciprocal rank fusion, scores in [0, 1].

Lexical only: chunks ordered by BM25 (FTS5) / ``ts_rank_cd`` (PostgreSQL); the score is the
saturating ``r / (1 + r)`` of that relevance, so it is absolute (comparable across
queries) and a ``score_threshold`` means the same thing for every query.
Hybrid (an embeddings model is configured): the lexical and the vector (cosine) rankings
are fused by reciprocal rank fusion, ``Σ 1 / (60 + rank)``; the score is that sum divided
by its maximum (first in both rankings = 1.0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import bad_request

RRF_K = 60
COMPARISONS = frozenset({"eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"})


def validate_filter(raw: Any, param: str = "filters") -> None:
    """400 naming the part of ``filters`` that is not a comparison or compound filter."""
    if not isinstance(raw, dict):
        raise bad_request(f"'{param}' must be an object.", param=param)
    kind = raw.get("type")
    if kind in ("and", "or"):
        filters = raw.get("filters")
        if not isinstance(filters, list):
            raise bad_request(f"'{param}.filters' must be a list.", param=f"{param}.filters")
        for i, item in enumerate(filters):
            validate_filter(item, f"{param}.filters[{i}]")
        return
    if kind not in COMPARISONS:
        raise bad_request(
            f"Invalid '{param}.type' {kind!r}: expected one of "
            f"{', '.join(sorted(COMPARISONS | {'and', 'or'}))}.",
            param=f"{param}.type",
        )
    if not isinstance(raw.get("key"), str):
        raise bad_request(f"'{param}.key' must be a string.", param=f"{param}.key")
    value = raw.get("value")
    if kind in ("in", "nin"):
        if not isinstance(value, list):
            raise bad_request(
                f"'{param}.value' must be a list for {kind!r}.", param=f"{param}.value"
            )
    elif not isinstance(value, (str, int, float, bool)):
        raise bad_request(
            f"'{param}.value' must be a string, number or boolean.", param=f"{param}.value"
        )


def matches(flt: Mapping[str, Any], attributes: Mapping[str, Any]) -> bool:
    """Whether a file's attributes pass a (validated) filter. A comparison on a key the
    file does not have is false, whatever its operator."""
    kind = flt["type"]
    if kind == "and":
        return all(matches(f, attributes) for f in flt["filters"])
    if kind == "or":
        return any(matches(f, attributes) for f in flt["filters"])
    key, expected = flt["key"], flt["value"]
    if key not in attributes:
        return False
    actual = attributes[key]
    if kind in ("in", "nin"):
        found = any(_equal(actual, v) for v in expected)
        return found if kind == "in" else not found
    if kind == "eq":
        return _equal(actual, expected)
    if kind == "ne":
        return not _equal(actual, expected)
    number = _numbers(actual, expected)
    if number is None:
        if isinstance(actual, str) and isinstance(expected, str):
            left, right = actual, expected
        else:
            return False
    else:
        left, right = number  # type: ignore[assignment]
    return {
        "gt": left > right,
        "gte": left >= right,
        "lt": left < right,
        "lte": left <= right,
    }[kind]


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)


def _numbers(a: Any, b: Any) -> tuple[float, float] | None:
    if isinstance(a, bool) or isinstance(b, bool):
        return None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a), float(b)
    return None


def lexical_score(relevance: float) -> float:
    return relevance / (1.0 + relevance)


def fuse(rankings: list[list[int]]) -> list[tuple[int, float]]:
    """Reciprocal rank fusion of several rankings of chunk ids: ``(id, score)`` best first,
    the score normalised by its maximum (``len(rankings) / (RRF_K + 1)``)."""
    totals: dict[int, float] = {}
    for ranking in rankings:
        for rank, chunk_id in enumerate(ranking, start=1):
            totals[chunk_id] = totals.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank)
    best = len(rankings) / (RRF_K + 1)
    ordered = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    return [(chunk_id, min(1.0, total / best)) for chunk_id, total in ordered]
