"""``/threads/{thread_id}/messages``: create, list (filter ``run_id``), retrieve, modify, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from openai.types.beta.threads import Message, MessageDeleted

from ..schemas import MessageCreate, MetadataUpdate
from ..store import Kind
from ..wire import checked, deleted_object, user_message
from .common import Lister, Svc, fetch, fetch_in_thread, list_page
from .file_refs import check_message
from .openapi import ListPage, documented
from .tool_resources import add_to_thread_store, searchable_files

router = APIRouter(prefix="/threads/{thread_id}/messages", tags=["messages"])


@router.post("", **documented(Message, body=True))
async def create_message(thread_id: str, body: MessageCreate, svc: Svc) -> dict[str, Any]:
    await fetch(svc, Kind.thread, thread_id)
    await check_message(svc, body)
    searchable = searchable_files([body])
    async with svc.engine.thread_lock(thread_id):
        await svc.engine.check_unlocked(thread_id, adding_message=True)
        thread = await fetch(svc, Kind.thread, thread_id)
        await add_to_thread_store(svc, thread, searchable)
        message = user_message(thread_id, body)
        await svc.store.insert(Kind.message, message, thread_id=thread_id)
    return message


@router.get("", **documented(ListPage[Message]))
async def list_messages(
    thread_id: str, svc: Svc, params: Lister, run_id: str | None = None
) -> dict[str, Any]:
    await fetch(svc, Kind.thread, thread_id)
    return await list_page(svc, Kind.message, params, thread_id=thread_id, run_id=run_id)


@router.get("/{message_id}", **documented(Message))
async def retrieve_message(thread_id: str, message_id: str, svc: Svc) -> dict[str, Any]:
    return await fetch_in_thread(svc, Kind.message, thread_id, message_id)


@router.post("/{message_id}", **documented(Message, body=True))
async def modify_message(
    thread_id: str, message_id: str, body: MetadataUpdate, svc: Svc
) -> dict[str, Any]:
    message = await fetch_in_thread(svc, Kind.message, thread_id, message_id)
    if body.metadata is not None:
        message = checked(Message, {**message, "metadata": body.metadata})
        await svc.store.save(Kind.message, message)
    return message


@router.delete("/{message_id}", **documented(MessageDeleted))
async def delete_message(thread_id: str, message_id: str, svc: Svc) -> dict[str, Any]:
    await fetch_in_thread(svc, Kind.message, thread_id, message_id)
    await svc.store.delete(Kind.message, message_id)
    return deleted_object("thread.message", message_id)
