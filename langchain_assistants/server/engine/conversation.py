"""Pure functions: a run's stored state as the chat model's prompt, and back.

The prompt is the system message (the run's instructions), the thread's messages
(after the truncation strategy) as human/AI messages, then this run's own model turns
and tool results (its transcript).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    messages_from_dict,
    messages_to_dict,
)


def message_text(message: dict[str, Any]) -> str:
    """The text of a stored message's content blocks."""
    return "".join(
        block["text"]["value"]
        for block in message.get("content", [])
        if block.get("type") == "text"
    )


def _human_content(
    message: dict[str, Any], images: Mapping[str, str]
) -> str | list[str | dict[str, Any]]:
    blocks = message.get("content", [])
    if all(b.get("type") == "text" for b in blocks):
        return message_text(message)
    parts: list[str | dict[str, Any]] = []
    for block in blocks:
        if block["type"] == "text":
            parts.append({"type": "text", "text": block["text"]["value"]})
        elif block["type"] == "image_url":
            parts.append({"type": "image_url", "image_url": block["image_url"]})
        elif block["type"] == "image_file":
            file_id = block["image_file"]["file_id"]
            if file_id in images:
                parts.append({"type": "image_url", "image_url": {"url": images[file_id]}})
            else:  # gone, too large or not an image: tell the model what was there
                parts.append({"type": "text", "text": f"[image file {file_id}]"})
    return parts


def thread_as_messages(
    messages: list[dict[str, Any]], images: Mapping[str, str] | None = None
) -> list[BaseMessage]:
    out: list[BaseMessage] = []
    for message in messages:
        if message["role"] == "assistant":
            out.append(AIMessage(content=message_text(message)))
        else:
            out.append(HumanMessage(content=_human_content(message, images or {})))
    return out


def build_prompt(
    run: dict[str, Any], shown: list[BaseMessage], transcript: list[dict[str, Any]]
) -> list[BaseMessage]:
    """The run's instructions, the thread's ``shown`` messages (already truncated and
    converted, see ``thread_history.py``), then the run's own transcript."""
    prompt: list[BaseMessage] = []
    if run.get("instructions"):
        prompt.append(SystemMessage(content=run["instructions"]))
    prompt += shown
    prompt += messages_from_dict(transcript)
    return prompt


def transcript_entries(ai: AIMessage, tool_results: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """A model turn and the tool results answering it, as storable dicts."""
    turn: list[BaseMessage] = [AIMessage(content=ai.content, tool_calls=ai.tool_calls)]
    turn += [ToolMessage(content=output, tool_call_id=call_id) for call_id, output in tool_results]
    return messages_to_dict(turn)


def tool_result_entries(
    tool_results: list[tuple[str, str]], *, artifacts: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Tool results as storable dicts; ``artifacts`` (by call id) ride along unseen by the
    model (what a hosted call produced: files for the answer)."""
    artifacts = artifacts or {}
    return messages_to_dict(
        [
            ToolMessage(content=output, tool_call_id=call_id, artifact=artifacts.get(call_id))
            for call_id, output in tool_results
        ]
    )
