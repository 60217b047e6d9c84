"""``/threads/{thread_id}/runs/{run_id}/steps``: list and retrieve run steps.

Steps are stored in full; file_search result ``content`` shows only with ``include[]``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from openai.types.beta.threads.runs import RunStep

from ..engine.file_search import public_step, wants_content
from ..errors import not_found
from ..store import Kind
from .common import Include, Lister, Svc, fetch_in_thread, list_page
from .openapi import ListPage, documented

router = APIRouter(prefix="/threads/{thread_id}/runs/{run_id}/steps", tags=["run steps"])


@router.get("", **documented(ListPage[RunStep]))
async def list_steps(
    thread_id: str, run_id: str, svc: Svc, params: Lister, include: Include
) -> dict[str, Any]:
    await fetch_in_thread(svc, Kind.run, thread_id, run_id)
    page = await list_page(svc, Kind.step, params, run_id=run_id)
    show = wants_content(include)
    return {**page, "data": [public_step(step, show) for step in page["data"]]}


@router.get("/{step_id}", **documented(RunStep))
async def retrieve_step(
    thread_id: str, run_id: str, step_id: str, svc: Svc, include: Include
) -> dict[str, Any]:
    step = await fetch_in_thread(svc, Kind.step, thread_id, step_id)
    if step["run_id"] != run_id:
        raise not_found(Kind.step.label, step_id)
    return public_step(step, wants_content(include))
