"""Wire objects, built and checked with the ``openai`` SDK's own pydantic types.

Every object the server stores or sends passes through :func:`checked`, so a shape that
the SDK cannot parse fails here, in our tests, rather than in a user's client.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

from openai import BaseModel as SDKModel
from openai.types import FileObject
from openai.types.beta import Assistant, Thread
from openai.types.beta.threads import Message, Run
from openai.types.beta.threads.runs import RunStep

from .ids import new_id
from .schemas import AssistantCreate, MessageCreate, RunOptions

TERMINAL_RUN_STATUSES = frozenset({"cancelled", "failed", "completed", "incomplete", "expired"})
ACTIVE_RUN_STATUSES = frozenset({"queued", "in_progress", "requires_action", "cancelling"})


def now() -> int:
    return int(time.time())


def checked(model: type[SDKModel], data: dict[str, Any]) -> dict[str, Any]:
    """Validate ``data`` as the SDK type and return it with every field present."""
    return model.model_validate(data).model_dump(mode="json")


def text_block(value: str) -> dict[str, Any]:
    return {"type": "text", "text": {"value": value, "annotations": []}}


def content_blocks(content: str | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Request content (a string or content parts) as stored message content blocks."""
    if isinstance(content, str):
        return [text_block(content)]
    blocks = []
    for i, part in enumerate(content):
        kind = part.get("type")
        if kind == "text":
            blocks.append(text_block(str(part.get("text", ""))))
        elif kind in ("image_url", "image_file"):
            blocks.append({"type": kind, kind: part.get(kind)})
        else:
            from .errors import bad_request

            raise bad_request(
                f"content[{i}].type must be 'text', 'image_url' or 'image_file', got {kind!r}",
                param=f"content[{i}].type",
            )
    return blocks


def assistant_object(body: AssistantCreate) -> dict[str, Any]:
    data = body.model_dump()
    data.pop("reasoning_effort", None)
    data.update(
        id=new_id("asst"),
        object="assistant",
        created_at=now(),
        tools=body.tools or [],
        metadata=body.metadata or {},
    )
    return checked(Assistant, data)


def thread_object(*, metadata: dict[str, str] | None, tool_resources: Any) -> dict[str, Any]:
    return checked(
        Thread,
        {
            "id": new_id("thread"),
            "object": "thread",
            "created_at": now(),
            "metadata": metadata or {},
            "tool_resources": tool_resources,
        },
    )


def message_object(
    thread_id: str,
    *,
    role: str,
    content: list[dict[str, Any]],
    status: str = "completed",
    assistant_id: str | None = None,
    run_id: str | None = None,
    attachments: list[dict[str, Any]] | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    created = now()
    return checked(
        Message,
        {
            "id": new_id("msg"),
            "object": "thread.message",
            "created_at": created,
            "thread_id": thread_id,
            "role": role,
            "content": content,
            "status": status,
            "assistant_id": assistant_id,
            "run_id": run_id,
            "attachments": attachments or [],
            "metadata": metadata or {},
            "completed_at": created if status == "completed" else None,
            "incomplete_at": None,
            "incomplete_details": None,
        },
    )


def user_message(thread_id: str, body: MessageCreate) -> dict[str, Any]:
    return message_object(
        thread_id,
        role=body.role,
        content=content_blocks(body.content),
        attachments=[a.model_dump() for a in body.attachments or []],
        metadata=body.metadata,
    )


def run_object(
    thread_id: str,
    assistant: dict[str, Any],
    body: RunOptions,
    *,
    expiry_seconds: float,
) -> dict[str, Any]:
    """A queued run: the assistant's settings, overridden by the request's."""
    created = now()
    instructions = body.instructions if body.instructions is not None else assistant["instructions"]
    if additional := getattr(body, "additional_instructions", None):
        instructions = "\n\n".join(filter(None, [instructions, additional]))

    def pick(name: str) -> Any:
        value = getattr(body, name)
        return value if value is not None else assistant.get(name)

    truncation = body.truncation_strategy
    return checked(
        Run,
        {
            "id": new_id("run"),
            "object": "thread.run",
            "created_at": created,
            "thread_id": thread_id,
            "assistant_id": assistant["id"],
            "status": "queued",
            "required_action": None,
            "last_error": None,
            "expires_at": created + max(1, math.ceil(expiry_seconds)),
            "started_at": None,
            "cancelled_at": None,
            "failed_at": None,
            "completed_at": None,
            "incomplete_details": None,
            "model": pick("model"),
            "instructions": instructions or "",
            "tools": pick("tools") or [],
            "metadata": body.metadata or {},
            "usage": None,
            "temperature": pick("temperature"),
            "top_p": pick("top_p"),
            "max_prompt_tokens": body.max_prompt_tokens,
            "max_completion_tokens": body.max_completion_tokens,
            "truncation_strategy": (
                truncation.model_dump() if truncation else {"type": "auto", "last_messages": None}
            ),
            "tool_choice": body.tool_choice if body.tool_choice is not None else "auto",
            "parallel_tool_calls": (
                body.parallel_tool_calls if body.parallel_tool_calls is not None else True
            ),
            "response_format": pick("response_format") or "auto",
        },
    )


def step_object(run: dict[str, Any], step_details: dict[str, Any]) -> dict[str, Any]:
    return checked(
        RunStep,
        {
            "id": new_id("step"),
            "object": "thread.run.step",
            "created_at": now(),
            "assistant_id": run["assistant_id"],
            "thread_id": run["thread_id"],
            "run_id": run["id"],
            "type": step_details["type"],
            "status": "in_progress",
            "step_details": step_details,
            "last_error": None,
            "expired_at": None,
            "cancelled_at": None,
            "failed_at": None,
            "completed_at": None,
            "metadata": {},
            "usage": None,
        },
    )


def deleted_object(kind: str, object_id: str) -> dict[str, Any]:
    return {"id": object_id, "object": f"{kind}.deleted", "deleted": True}


def list_object(items: list[dict[str, Any]], has_more: bool) -> dict[str, Any]:
    return {
        "object": "list",
        "data": items,
        "first_id": items[0]["id"] if items else None,
        "last_id": items[-1]["id"] if items else None,
        "has_more": has_more,
    }


def new_file_id() -> str:
    """A file id in OpenAI's form, ``file-`` and 24 random characters."""
    return "file-" + new_id("x")[2:]


def file_object(
    filename: str, size: int, *, purpose: str = "assistants_output", file_id: str | None = None
) -> dict[str, Any]:
    """A stored file (an upload, or one a run produced: purpose ``assistants_output``)."""
    return checked(
        FileObject,
        {
            "id": file_id or new_file_id(),
            "object": "file",
            "bytes": size,
            "created_at": now(),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        },
    )
