"""Wire objects of vector stores, checked with the ``openai`` SDK's own types."""

from __future__ import annotations

from typing import Any

from openai.types import VectorStore, VectorStoreSearchResponse
from openai.types.vector_stores import VectorStoreFile, VectorStoreFileBatch

from ..errors import bad_request
from ..wire import checked

STATUSES = ("in_progress", "completed", "failed", "cancelled")
DAY = 86_400
MAX_ATTRIBUTES = 16


def file_counts(counts: dict[str, int]) -> dict[str, int]:
    values = {status: int(counts.get(status, 0)) for status in STATUSES}
    values["total"] = sum(values.values())
    return values


def vector_store_object(
    data: dict[str, Any], counts: dict[str, int], usage_bytes: int, now: int
) -> dict[str, Any]:
    """The stored store with its live ``file_counts``, ``usage_bytes`` and ``status``."""
    counted = file_counts(counts)
    expires_at = data.get("expires_at")
    if expires_at is not None and now >= expires_at:
        status = "expired"
    elif counted["in_progress"]:
        status = "in_progress"
    else:
        status = "completed"
    return checked(
        VectorStore, {**data, "file_counts": counted, "usage_bytes": usage_bytes, "status": status}
    )


def expiry(expires_after: Any, last_active_at: int) -> int | None:
    if expires_after is None:
        return None
    return last_active_at + int(expires_after["days"]) * DAY


def parse_expires_after(raw: Any) -> dict[str, Any] | None:
    """``{"anchor": "last_active_at", "days": 1..365}`` or 400 naming the field."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or raw.get("anchor") != "last_active_at":
        raise bad_request(
            "Invalid 'expires_after': expected {'anchor': 'last_active_at', 'days': N}.",
            param="expires_after.anchor",
        )
    days = raw.get("days")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 365:
        raise bad_request(
            f"Invalid 'expires_after.days': must be an integer from 1 to 365, got {days!r}.",
            param="expires_after.days",
        )
    return {"anchor": "last_active_at", "days": days}


def parse_attributes(raw: Any, *, param: str = "attributes") -> dict[str, str | float | bool]:
    """At most 16 keys (≤ 64 chars); values strings (≤ 512 chars), numbers or booleans."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise bad_request(f"'{param}' must be an object.", param=param)
    if len(raw) > MAX_ATTRIBUTES:
        raise bad_request(
            f"'{param}' has {len(raw)} keys; at most {MAX_ATTRIBUTES} are allowed.", param=param
        )
    for key, value in raw.items():
        if not isinstance(key, str) or len(key) > 64:
            raise bad_request(
                f"'{param}' keys must be strings of at most 64 characters.", param=param
            )
        if isinstance(value, str):
            if len(value) > 512:
                raise bad_request(
                    f"'{param}.{key}' is longer than 512 characters.", param=f"{param}.{key}"
                )
        elif not isinstance(value, (int, float, bool)):
            raise bad_request(
                f"'{param}.{key}' must be a string, number or boolean.", param=f"{param}.{key}"
            )
    return dict(raw)


def vector_store_file_object(data: dict[str, Any]) -> dict[str, Any]:
    return checked(VectorStoreFile, data)


def batch_object(
    batch_id: str, vector_store_id: str, created_at: int, counts: dict[str, int], cancelled: bool
) -> dict[str, Any]:
    counted = file_counts(counts)
    if counted["in_progress"]:
        status = "in_progress"  # also while a cancel lets running files finish
    elif cancelled:
        status = "cancelled"
    else:
        status = "completed"
    return checked(
        VectorStoreFileBatch,
        {
            "id": batch_id,
            "object": "vector_store.files_batch",
            "created_at": created_at,
            "vector_store_id": vector_store_id,
            "status": status,
            "file_counts": counted,
        },
    )


def search_result(
    file_id: str, filename: str, score: float, text: str, attributes: dict[str, Any]
) -> dict[str, Any]:
    return checked(
        VectorStoreSearchResponse,
        {
            "file_id": file_id,
            "filename": filename,
            "score": score,
            "attributes": attributes,
            "content": [{"type": "text", "text": text}],
        },
    )
