"""``/threads``: create (with messages), create-and-run, retrieve, modify, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from openai.types.beta import Thread, ThreadDeleted
from openai.types.beta.threads import Run

from ..engine.events import Event
from ..schemas import ThreadCreate, ThreadCreateAndRun, ThreadUpdate
from ..store import Insert, Kind
from ..wire import checked, deleted_object, thread_object, user_message
from .allowed_models import check_run_model
from .common import Services, Svc, fetch
from .file_refs import check_messages, check_tool_resources
from .openapi import documented
from .runs import launch_run
from .tool_resources import add_to_thread_store, resolve_tool_resources, searchable_files

router = APIRouter(prefix="/threads", tags=["threads"])


async def new_thread(
    svc: Services, body: ThreadCreate, tool_resources: Any = None, *, param: str = ""
) -> tuple[dict[str, Any], list[Insert]]:
    """A new thread from ``body`` and the rows that store it with its messages (the caller
    inserts them, in one transaction with whatever else the request creates)."""
    await check_tool_resources(svc, body.tool_resources, f"{param}tool_resources")
    await check_messages(svc, body.messages, f"{param}messages")
    searchable = searchable_files(body.messages or [])
    resources = await resolve_tool_resources(svc, body.tool_resources or tool_resources, "thread")
    thread = thread_object(metadata=body.metadata, tool_resources=resources)
    thread = await add_to_thread_store(svc, thread, searchable, stored=False)
    thread_id = thread["id"]
    rows: list[Insert] = [(Kind.thread, thread, {})]
    rows += [
        (Kind.message, user_message(thread_id, m), {"thread_id": thread_id})
        for m in body.messages or []
    ]
    return thread, rows


@router.post("", **documented(Thread, by_id=False, body=True))
async def create_thread(svc: Svc, body: ThreadCreate | None = None) -> dict[str, Any]:
    thread, rows = await new_thread(svc, body or ThreadCreate())
    await svc.store.insert_rows(rows)
    return thread


# Registered before "/{thread_id}" so that "runs" is not taken for a thread id.
@router.post("/runs", **documented(Run, stream=True, body=True))
async def create_thread_and_run(body: ThreadCreateAndRun, svc: Svc) -> Response:
    assistant = await fetch(svc, Kind.assistant, body.assistant_id)
    # Checked before the thread is made, so a refused model leaves no thread behind.
    check_run_model(svc, assistant, body)
    await check_tool_resources(svc, body.tool_resources)
    thread, rows = await new_thread(
        svc, body.thread or ThreadCreate(), body.tool_resources, param="thread."
    )
    created = [Event("thread.created", thread)]
    # The thread, its messages and the run: one transaction.
    return await launch_run(
        svc, thread["id"], body, first_events=created, assistant=assistant, new_thread=rows
    )


@router.get("/{thread_id}", **documented(Thread))
async def retrieve_thread(thread_id: str, svc: Svc) -> dict[str, Any]:
    return await fetch(svc, Kind.thread, thread_id)


@router.post("/{thread_id}", **documented(Thread, body=True))
async def modify_thread(thread_id: str, body: ThreadUpdate, svc: Svc) -> dict[str, Any]:
    thread = await fetch(svc, Kind.thread, thread_id)
    await check_tool_resources(svc, body.tool_resources)
    changes = body.model_dump(exclude_unset=True)
    if "tool_resources" in changes:
        changes["tool_resources"] = await resolve_tool_resources(svc, body.tool_resources, "thread")
    thread = checked(Thread, {**thread, **changes})
    await svc.store.save(Kind.thread, thread)
    return thread


@router.delete("/{thread_id}", **documented(ThreadDeleted))
async def delete_thread(thread_id: str, svc: Svc) -> dict[str, Any]:
    await fetch(svc, Kind.thread, thread_id)
    run = await svc.store.active_run(thread_id)
    if run is not None and run["status"] in ("queued", "in_progress", "cancelling"):
        await svc.engine.cancel(run)
    await svc.store.delete_thread(thread_id)
    return deleted_object("thread", thread_id)
