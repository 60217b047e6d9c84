"""``tool_resources.file_search`` and ``file_search`` attachments, as the routes store them.

Shared by the assistant, thread, message and run routes (not a router itself):

- ``vector_store_ids`` must name existing stores, at most one per assistant or thread;
- inline ``vector_stores=[{"file_ids", "chunking_strategy"?, "metadata"?}]`` creates that
  store (a thread's expires 7 days after its last activity, as OpenAI's do) and stores
  its id in ``vector_store_ids``;
- a message attachment with the ``file_search`` tool adds its file to the thread's own
  store, created on demand the same way, so the thread's runs can search it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from openai.types.beta import Thread
from pydantic import BaseModel

from ..errors import APIError, bad_request
from ..schemas import MessageCreate
from ..store import Kind
from ..wire import checked
from .common import Services

Owner = Literal["assistant", "thread"]

#: Where a store made for a thread ends, as OpenAI does it.
THREAD_STORE_EXPIRY = {"anchor": "last_active_at", "days": 7}
PARAM = "tool_resources.file_search"


def _list_of_ids(value: Any, param: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise bad_request(f"Invalid '{param}': expected an array of ids.", param=param)
    return list(value)


async def resolve_tool_resources(
    svc: Services, tool_resources: BaseModel | dict[str, Any] | None, owner: Owner
) -> dict[str, Any] | None:
    """``tool_resources`` as stored: file_search store ids checked, inline stores created.

    Raises 400 for a malformed entry or more than one store, 404 for an unknown store.
    """
    if isinstance(tool_resources, BaseModel):  # the request's SDK-typed tool_resources
        tool_resources = tool_resources.model_dump(exclude_none=True)
    if not tool_resources or not tool_resources.get("file_search"):
        return tool_resources
    file_search = tool_resources["file_search"]
    if not isinstance(file_search, dict):
        raise bad_request(f"Invalid '{PARAM}': expected an object.", param=PARAM)
    ids = _list_of_ids(file_search.get("vector_store_ids"), f"{PARAM}.vector_store_ids")
    inline = file_search.get("vector_stores") or []
    if not isinstance(inline, list) or not all(isinstance(v, dict) for v in inline):
        raise bad_request(
            f"Invalid '{PARAM}.vector_stores': expected an array of objects.",
            param=f"{PARAM}.vector_stores",
        )
    if len(ids) + len(inline) > 1:
        raise bad_request(
            f"Invalid '{PARAM}': an {owner} can have at most 1 vector store "
            f"(vector_store_ids and vector_stores together), got {len(ids) + len(inline)}.",
            param=f"{PARAM}.vector_store_ids",
        )
    for i, store_id in enumerate(ids):
        if not await _exists(svc, store_id):
            raise APIError(
                404,
                f"No vector store found with id '{store_id}'.",
                param=f"{PARAM}.vector_store_ids[{i}]",
                code="not_found",
            )
    for i, spec in enumerate(inline):
        file_ids = _list_of_ids(spec.get("file_ids"), f"{PARAM}.vector_stores[{i}].file_ids")
        created = await svc.retrieval.create_vector_store(
            file_ids=file_ids,
            chunking_strategy=spec.get("chunking_strategy"),
            metadata=spec.get("metadata"),
            expires_after=THREAD_STORE_EXPIRY if owner == "thread" else None,
        )
        ids.append(created["id"])
    return {**tool_resources, "file_search": {"vector_store_ids": ids}}


def searchable_files(messages: Sequence[MessageCreate]) -> list[str]:
    """The files the messages attach for ``file_search``, once each, in order (their ids
    and tool types are checked by :mod:`.file_refs`)."""
    searchable: list[str] = []
    for message in messages:
        for attachment in message.attachments or []:
            types = [tool.type for tool in attachment.tools or []]
            if "file_search" in types and attachment.file_id not in searchable:
                searchable.append(attachment.file_id)
    return searchable


async def add_to_thread_store(
    svc: Services, thread: dict[str, Any], file_ids: Sequence[str], *, stored: bool = True
) -> dict[str, Any]:
    """Add files to the thread's vector store; return the thread.

    The store is created on demand, and again if the thread's store was deleted meanwhile
    (the thread then names the new one, saved unless ``stored`` is False: a thread not
    inserted yet)."""
    if not file_ids:
        return thread
    retrieval = svc.retrieval
    resources = dict(thread.get("tool_resources") or {})
    store_ids = list((resources.get("file_search") or {}).get("vector_store_ids") or [])
    if store_ids and await _exists(svc, store_ids[0]):
        for file_id in file_ids:
            await retrieval.add_file(store_ids[0], file_id)
        return thread
    created = await retrieval.create_vector_store(
        name=f"thread {thread['id']}", file_ids=list(file_ids), expires_after=THREAD_STORE_EXPIRY
    )
    resources["file_search"] = {"vector_store_ids": [created["id"]]}
    thread = checked(Thread, {**thread, "tool_resources": resources})
    if stored:
        await svc.store.save(Kind.thread, thread)
    return thread


async def _exists(svc: Services, vector_store_id: str) -> bool:
    try:
        await svc.retrieval.get_vector_store(vector_store_id)
    except APIError as exc:
        if exc.status_code == 404:
            return False
        raise
    return True
