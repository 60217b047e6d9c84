"""``/assistants``: create, list, retrieve, modify, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from openai.types.beta import Assistant, AssistantDeleted
from openai.types.beta.assistant import ToolResources

from ..schemas import AssistantCreate, AssistantUpdate
from ..store import Kind
from ..wire import assistant_object, checked, deleted_object
from .allowed_models import check_model
from .common import Lister, Svc, fetch, list_page
from .file_refs import check_tool_resources
from .openapi import ListPage, documented
from .tool_resources import resolve_tool_resources

router = APIRouter(prefix="/assistants", tags=["assistants"])


@router.post("", **documented(Assistant, by_id=False, body=True))
async def create_assistant(body: AssistantCreate, svc: Svc) -> dict[str, Any]:
    check_model(svc, body.model)
    await check_tool_resources(svc, body.tool_resources)
    resources = await resolve_tool_resources(svc, body.tool_resources, "assistant")
    body.tool_resources = None if resources is None else ToolResources.model_validate(resources)
    assistant = assistant_object(body)
    await svc.store.insert(Kind.assistant, assistant)
    return assistant


@router.get("", **documented(ListPage[Assistant], by_id=False))
async def list_assistants(svc: Svc, params: Lister) -> dict[str, Any]:
    return await list_page(svc, Kind.assistant, params)


@router.get("/{assistant_id}", **documented(Assistant))
async def retrieve_assistant(assistant_id: str, svc: Svc) -> dict[str, Any]:
    return await fetch(svc, Kind.assistant, assistant_id)


@router.post("/{assistant_id}", **documented(Assistant, body=True))
async def modify_assistant(assistant_id: str, body: AssistantUpdate, svc: Svc) -> dict[str, Any]:
    assistant = await fetch(svc, Kind.assistant, assistant_id)
    if body.model is not None:  # an unchanged stored model is kept even if now refused
        check_model(svc, body.model)
    await check_tool_resources(svc, body.tool_resources)
    changes = body.model_dump(exclude_unset=True, exclude={"reasoning_effort"})
    if "tool_resources" in changes:
        changes["tool_resources"] = await resolve_tool_resources(
            svc, body.tool_resources, "assistant"
        )
    assistant = checked(Assistant, {**assistant, **changes})
    await svc.store.save(Kind.assistant, assistant)
    return assistant


@router.delete("/{assistant_id}", **documented(AssistantDeleted))
async def delete_assistant(assistant_id: str, svc: Svc) -> dict[str, Any]:
    await fetch(svc, Kind.assistant, assistant_id)
    await svc.store.delete(Kind.assistant, assistant_id)
    return deleted_object("assistant", assistant_id)
