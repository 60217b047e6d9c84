"""Request-time checks of the file ids a request names: ``tool_resources.code_interpreter``,
message ``attachments`` and ``image_file`` content. An unknown id answers 400 naming it
(and the field) before anything is stored, so a run never starts with a missing file."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel

from ..engine.code_files import MAX_RESOURCE_FILES
from ..errors import bad_request
from ..schemas import Attachment, MessageCreate
from .common import Services

ATTACHMENT_TOOLS = ("code_interpreter", "file_search")


async def _check_exists(svc: Services, file_id: str, param: str) -> None:
    if await svc.files.get(file_id) is None:
        raise bad_request(f"No file found with id '{file_id}' ({param}).", param=param)


async def check_tool_resources(
    svc: Services,
    tool_resources: BaseModel | dict[str, Any] | None,
    param: str = "tool_resources",
) -> None:
    """``code_interpreter.file_ids``: a list of at most 20 ids of existing files."""
    if isinstance(tool_resources, BaseModel):  # the request's SDK-typed tool_resources
        tool_resources = tool_resources.model_dump()
    if not tool_resources:
        return
    code = tool_resources.get("code_interpreter")
    if code is None:
        return
    where = f"{param}.code_interpreter.file_ids"
    file_ids = code.get("file_ids") if isinstance(code, dict) else None
    if file_ids is None:
        return
    if not isinstance(file_ids, list) or not all(isinstance(i, str) for i in file_ids):
        raise bad_request(f"'{where}' must be a list of file ids.", param=where)
    if len(file_ids) > MAX_RESOURCE_FILES:
        raise bad_request(
            f"'{where}' can list at most {MAX_RESOURCE_FILES} files, got {len(file_ids)}.",
            param=where,
        )
    for file_id in file_ids:
        await _check_exists(svc, file_id, where)


async def check_attachments(
    svc: Services, attachments: Sequence[Attachment] | None, param: str = "attachments"
) -> None:
    """Each attachment names an existing file and only the tools files can go to."""
    for i, attachment in enumerate(attachments or []):
        for j, tool in enumerate(attachment.tools or []):
            if tool.type not in ATTACHMENT_TOOLS:
                where = f"{param}[{i}].tools[{j}].type"
                raise bad_request(
                    f"'{where}' must be 'code_interpreter' or 'file_search', got {tool.type!r}.",
                    param=where,
                )
        await _check_exists(svc, attachment.file_id, f"{param}[{i}].file_id")


async def check_message(svc: Services, message: MessageCreate, prefix: str = "") -> None:
    """A new message's attachments and ``image_file`` content blocks name existing files."""
    await check_attachments(svc, message.attachments, f"{prefix}attachments")
    if isinstance(message.content, list):
        for i, part in enumerate(message.content):
            if part["type"] == "image_file":  # the schema makes image_file.file_id a string
                where = f"{prefix}content[{i}].image_file.file_id"
                await _check_exists(svc, part["image_file"]["file_id"], where)


async def check_messages(
    svc: Services, messages: Iterable[MessageCreate] | None, param: str = "messages"
) -> None:
    for i, message in enumerate(messages or []):
        await check_message(svc, message, f"{param}[{i}].")
