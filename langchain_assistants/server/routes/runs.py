"""``/threads/{thread_id}/runs``: create (optionally streamed), list, retrieve, modify,
cancel, submit tool outputs. Run responses carry ``openai-poll-after-ms`` so the SDK's
polling helpers wait milliseconds, not a second."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from openai.types.beta.threads import Run

from ..engine.events import Event
from ..schemas import MessageCreate, MetadataUpdate, RunCreate, RunOptions, SubmitToolOutputs
from ..store import Insert, Kind
from ..wire import checked, run_object, user_message
from .allowed_models import check_run_model
from .common import (
    Include,
    Lister,
    Services,
    Svc,
    event_stream,
    fetch,
    fetch_in_thread,
    list_page,
)
from .file_refs import check_messages
from .openapi import ListPage, documented
from .tool_resources import add_to_thread_store, searchable_files

router = APIRouter(prefix="/threads/{thread_id}/runs", tags=["runs"])


def run_response(svc: Services, run: dict[str, Any], status_code: int = 200) -> JSONResponse:
    return JSONResponse(
        run,
        status_code=status_code,
        headers={"openai-poll-after-ms": str(svc.settings.poll_after_ms)},
    )


async def launch_run(
    svc: Services,
    thread_id: str,
    body: RunOptions,
    *,
    additional_messages: list[MessageCreate] = (),  # type: ignore[assignment]
    first_events: list[Event] | None = None,
    include: list[str] = (),  # type: ignore[assignment]
    assistant: dict[str, Any] | None = None,
    new_thread: Sequence[Insert] = (),
) -> Response:
    """Create a queued run on an unlocked thread and start it; stream it if asked.
    ``assistant``: the run's assistant if the caller read it already; ``new_thread``: the
    rows of the thread this request creates, stored with the run (nothing to check)."""
    assistant = assistant or await fetch(svc, Kind.assistant, body.assistant_id)
    check_run_model(svc, assistant, body)
    searchable = searchable_files(additional_messages)
    engine = svc.engine
    async with engine.thread_lock(thread_id):
        if searchable:  # only then: create_run checks the lock itself
            await engine.check_unlocked(thread_id, adding_message=False)
            thread = await fetch(svc, Kind.thread, thread_id)
            await add_to_thread_store(svc, thread, searchable)
        run = run_object(thread_id, assistant, body, expiry_seconds=svc.settings.run_expiry_seconds)
        # One transaction: the messages and the run, or 400 if the thread is locked.
        messages = [user_message(thread_id, m) for m in additional_messages]
        await engine.create_run(
            svc.store,
            run,
            messages,
            tool_state={"include": list(include)},
            new_thread=new_thread,
        )
        if not body.stream:
            engine.start(run)
            return run_response(svc, run)
        queue = engine.bus.subscribe(run["id"])
        engine.start(run)
    first = [
        *(first_events or []),
        Event("thread.run.created", run),
        Event("thread.run.queued", run),
    ]
    return event_stream(svc, run["id"], queue, first)


@router.post("", **documented(Run, stream=True, body=True))
async def create_run(thread_id: str, body: RunCreate, svc: Svc, include: Include) -> Response:
    await fetch(svc, Kind.thread, thread_id)
    await check_messages(svc, body.additional_messages, "additional_messages")
    return await launch_run(
        svc,
        thread_id,
        body,
        additional_messages=body.additional_messages or [],
        include=include,
    )


@router.get("", **documented(ListPage[Run]))
async def list_runs(thread_id: str, svc: Svc, params: Lister) -> dict[str, Any]:
    await fetch(svc, Kind.thread, thread_id)
    return await list_page(svc, Kind.run, params, thread_id=thread_id)


async def fetch_run(svc: Services, thread_id: str, run_id: str) -> dict[str, Any]:
    await fetch_in_thread(svc, Kind.run, thread_id, run_id)
    run = await svc.engine.get_run(run_id)
    assert run is not None
    return run


@router.get("/{run_id}", **documented(Run))
async def retrieve_run(thread_id: str, run_id: str, svc: Svc) -> JSONResponse:
    return run_response(svc, await fetch_run(svc, thread_id, run_id))


@router.post("/{run_id}", **documented(Run, body=True))
async def modify_run(thread_id: str, run_id: str, body: MetadataUpdate, svc: Svc) -> JSONResponse:
    run = await fetch_run(svc, thread_id, run_id)
    if body.metadata is not None:
        checked(Run, {**run, "metadata": body.metadata})
        # Only the metadata: the run's status may be moving on in another process.
        run = await svc.store.save_run_metadata(run_id, body.metadata) or run
    return run_response(svc, run)


@router.post("/{run_id}/cancel", **documented(Run))
async def cancel_run(thread_id: str, run_id: str, svc: Svc) -> JSONResponse:
    run = await fetch_run(svc, thread_id, run_id)
    return run_response(svc, await svc.engine.cancel(run))


@router.post("/{run_id}/submit_tool_outputs", **documented(Run, stream=True, body=True))
async def submit_tool_outputs(
    thread_id: str, run_id: str, body: SubmitToolOutputs, svc: Svc
) -> Response:
    run = await fetch_run(svc, thread_id, run_id)
    outputs = [(o.tool_call_id, o.output) for o in body.tool_outputs]
    if not body.stream:
        return run_response(svc, await svc.engine.submit_tool_outputs(run, outputs))
    queue = svc.engine.bus.subscribe(run_id)
    try:
        await svc.engine.submit_tool_outputs(run, outputs)
    except BaseException:
        svc.engine.bus.unsubscribe(run_id, queue)
        raise
    return event_stream(svc, run_id, queue)
