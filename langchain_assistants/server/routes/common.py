"""What every route uses: the app's services, lookups that 404, list query parameters.

``Svc`` is scoped to the request's project: its ``store`` reads and writes only that
project's objects, so another project's id is simply not found (404, the same message as
an id that never existed) and lists show only the caller's objects.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal

import anyio
from fastapi import Depends, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from ..auth import request_project
from ..engine.events import Event
from ..engine.file_search import RESULT_CONTENT
from ..engine.runner import RunEngine
from ..errors import bad_request, not_found
from ..retrieval import Retrieval
from ..settings import ServerSettings
from ..store import Kind, Page, Store
from ..store.files import FileStore
from ..store.tables import DEFAULT_PROJECT
from ..wire import list_object


@dataclass
class Services:
    settings: ServerSettings
    store: Store
    engine: RunEngine
    retrieval: Retrieval
    files: FileStore
    project: str = DEFAULT_PROJECT


async def services(request: Request, project: Annotated[str, Depends(request_project)]) -> Services:
    """This request's services: the store, files and vector stores are views of the
    caller's project."""
    app_services: Services = request.app.state.services
    return replace(
        app_services,
        store=app_services.store.scoped(project),
        files=app_services.files.scoped(project),
        retrieval=app_services.retrieval.scoped(project),
        project=project,
    )


Svc = Annotated[Services, Depends(services)]


async def fetch(svc: Services, kind: Kind, object_id: str) -> dict[str, Any]:
    """The stored object, or 404 in the API's words."""
    obj = await svc.store.get(kind, object_id)
    if obj is None:
        raise not_found(kind.label, object_id)
    return obj


async def fetch_in_thread(
    svc: Services, kind: Kind, thread_id: str, object_id: str
) -> dict[str, Any]:
    obj = await svc.store.get(kind, object_id)
    if obj is None or obj.get("thread_id") != thread_id:
        raise not_found(kind.label, object_id)
    return obj


@dataclass(frozen=True)
class ListParams:
    limit: int
    order: str
    after: str | None
    before: str | None


async def list_params(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "desc",
    after: str | None = None,
    before: str | None = None,
) -> ListParams:
    return ListParams(limit, order, after, before)


Lister = Annotated[ListParams, Depends(list_params)]


async def include_param(
    include: Annotated[list[str] | None, Query(alias="include[]")] = None,
) -> list[str]:
    """``include[]`` of run create and step list/retrieve (the SDK sends brackets)."""
    values = list(include or [])
    for value in values:
        if value != RESULT_CONTENT:
            raise bad_request(
                f"Invalid value for 'include[]': {value!r}; the only supported value is "
                f"{RESULT_CONTENT!r}.",
                param="include[]",
            )
    return values


Include = Annotated[list[str], Depends(include_param)]


async def list_page(
    svc: Services, kind: Kind, params: ListParams, **filters: Any
) -> dict[str, Any]:
    page: Page = await svc.store.page(
        kind,
        limit=params.limit,
        order=params.order,
        after=params.after,
        before=params.before,
        **filters,
    )
    return list_object(page.items, page.has_more)


#: Sent to open streams when the server shuts down, before they end (protocol ``error``).
SHUTTING_DOWN = {
    "code": "server_shutting_down",
    "message": "The server is shutting down; this run ends 'failed'. Retrieve it (or start a "
    "new run) once the server is back.",
    "param": None,
    "type": "server_error",
}
#: Seconds a stream may take to say goodbye at shutdown before it is cut.
SHUTDOWN_GRACE_SECONDS = 2.0
_SHUTDOWN = Event("shutdown", {})


def _frame(name: str, data: str) -> bytes:
    return ServerSentEvent(data, event=name, sep=EventSourceResponse.DEFAULT_SEPARATOR).encode()


async def coalesced_frames(
    queue: asyncio.Queue[Any], first: Iterable[Event] = ()
) -> AsyncIterator[bytes]:
    """The encoded events of ``queue`` until ``None`` (then ``done``) or the shutdown
    marker (then ``error`` and ``done``), ``first`` before them. The events already
    waiting go out together, in one write: a turn's events come in bursts (a commit
    announces several), and each write wakes the client."""
    chunk = [_frame(event.name, json.dumps(event.data)) for event in first]
    while True:
        if chunk and queue.empty():
            yield b"".join(chunk)
            chunk = []
        event = queue.get_nowait() if chunk else await queue.get()
        if event is None:
            break
        if event is _SHUTDOWN:
            chunk.append(_frame("error", json.dumps(SHUTTING_DOWN)))
            break
        chunk.append(_frame(event.name, json.dumps(event.data)))
    chunk.append(_frame("done", "[DONE]"))
    yield b"".join(chunk)


def event_stream(
    svc: Services, run_id: str, queue: Any, first: Iterable[Event] = ()
) -> EventSourceResponse:
    """Server-sent events of one run until it pauses or ends, then ``done``.

    At server shutdown the stream ends with the protocol's ``error`` event and ``done``
    instead of being cut mid-response.
    """
    shutdown = anyio.Event()

    async def farewell_on_shutdown() -> None:
        await shutdown.wait()
        queue.put_nowait(_SHUTDOWN)

    async def frames() -> AsyncIterator[bytes]:
        watcher = asyncio.ensure_future(farewell_on_shutdown())
        try:
            async for chunk in coalesced_frames(queue, first):
                yield chunk
        finally:
            watcher.cancel()
            svc.engine.bus.unsubscribe(run_id, queue)

    return EventSourceResponse(
        frames(),
        ping=15,
        shutdown_event=shutdown,
        shutdown_grace_period=SHUTDOWN_GRACE_SECONDS,
    )
