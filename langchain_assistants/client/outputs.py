"""Pure output building: a finished run (+ its messages) -> what the runnable returns.

``as_agent=False`` returns the SDK's own objects (the run's messages, or the tool calls it
waits for); ``as_agent=True`` returns LangChain agent types that AgentExecutor understands.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from json import JSONDecodeError
from typing import Any

from langchain_core.agents import AgentAction, AgentFinish

__all__ = [
    "CHECKPOINT_ALLOWLIST",
    "OpenAIAssistantAction",
    "OpenAIAssistantFinish",
    "actions_from_run",
    "citations",
    "finish_from_messages",
    "produced_files",
    "usage_dict",
]


class OpenAIAssistantFinish(AgentFinish):
    """AgentFinish with run and thread metadata.

    ``return_values`` holds ``output`` (the answer's text), ``thread_id``, ``run_id``,
    ``usage`` (token counts), ``attachments``, ``annotations`` (citations, file paths),
    ``citations`` (the files the answer cites, see :func:`citations`) and ``files``
    (files and images the run produced, e.g. by code interpreter).
    """

    run_id: str
    thread_id: str

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """Not serializable: it refers to server-side state."""
        return False


class OpenAIAssistantAction(AgentAction):
    """AgentAction with what is needed to submit the tool's output to the waiting run."""

    tool_call_id: str
    run_id: str
    thread_id: str

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """Not serializable: it refers to server-side state."""
        return False


#: ``(module, name)`` of the agent outputs, for a LangGraph checkpoint serializer's
#: ``allowed_msgpack_modules``: state holding them then loads without LangGraph's
#: "Deserializing unregistered type" warning (and under ``LANGGRAPH_STRICT_MSGPACK``).
CHECKPOINT_ALLOWLIST: tuple[tuple[str, str], ...] = tuple(
    (cls.__module__, cls.__name__) for cls in (OpenAIAssistantAction, OpenAIAssistantFinish)
)


def usage_dict(run: Any) -> dict[str, int] | None:
    """The run's token usage as a plain dict (``None`` until the run ends)."""
    usage = getattr(run, "usage", None)
    if usage is None:
        return None
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def _parse_arguments(name: str, arguments: str) -> Any:
    try:
        args = json.loads(arguments or "{}", strict=False)
    except JSONDecodeError as e:
        msg = f"Received invalid JSON function arguments: {arguments} for function {name}"
        raise ValueError(msg) from e
    # Single-input tools get their one argument, as LangChain's function conversion names it.
    if isinstance(args, dict) and len(args) == 1 and "__arg1" in args:
        return args["__arg1"]
    return args


def actions_from_run(run: Any) -> list[OpenAIAssistantAction]:
    """One action per tool call a ``requires_action`` run waits for."""
    actions = []
    for call in run.required_action.submit_tool_outputs.tool_calls:
        tool_input = _parse_arguments(call.function.name, call.function.arguments)
        actions.append(
            OpenAIAssistantAction(
                tool=call.function.name,
                tool_input=tool_input,
                tool_call_id=call.id,
                log=f"\nInvoking: `{call.function.name}` with `{tool_input}`\n",
                run_id=run.id,
                thread_id=run.thread_id,
            )
        )
    return actions


def _text_parts(messages: Iterable[Any]) -> list[str]:
    parts = []
    for message in messages:
        for block in message.content:
            if block.type == "text":
                parts.append(block.text.value)
            elif block.type == "refusal":
                parts.append(block.refusal)
    return parts


def _annotations(messages: Iterable[Any]) -> list[Any]:
    return [
        annotation
        for message in messages
        for block in message.content
        if block.type == "text"
        for annotation in block.text.annotations or []
    ]


_MARKER_NAME = re.compile(r"†([^】]*)】$")


def citations(messages: Sequence[Any]) -> list[dict[str, Any]]:
    """The answer's ``file_citation`` annotations, one dict each, in text order.

    Each has ``file_id``, ``filename`` (from the marker ``【m:n†name】``; ``None`` if the
    marker has none), ``quote`` (the cited passage, if the server sends one), ``text``
    (the marker as it stands in the answer), ``start_index``/``end_index`` and
    ``message_id``.
    """
    found = []
    for message in messages:
        for block in message.content:
            if block.type != "text":
                continue
            for annotation in block.text.annotations or []:
                if annotation.type != "file_citation":
                    continue
                name = _MARKER_NAME.search(annotation.text or "")
                found.append(
                    {
                        "file_id": annotation.file_citation.file_id,
                        "filename": name.group(1) if name else None,
                        "quote": getattr(annotation.file_citation, "quote", None),
                        "text": annotation.text,
                        "start_index": annotation.start_index,
                        "end_index": annotation.end_index,
                        "message_id": message.id,
                    }
                )
    return found


def produced_files(messages: Sequence[Any]) -> list[dict[str, Any]]:
    """Files and images the run produced: image blocks and ``file_path`` annotations."""
    files: list[dict[str, Any]] = []
    seen: set[str] = set()

    def add(file_id: str, kind: str, message_id: str, **extra: Any) -> None:
        if file_id not in seen:
            seen.add(file_id)
            files.append({"file_id": file_id, "type": kind, "message_id": message_id, **extra})

    for message in messages:
        for block in message.content:
            if block.type == "image_file":
                add(block.image_file.file_id, "image", message.id)
            elif block.type == "text":
                for annotation in block.text.annotations or []:
                    if annotation.type == "file_path":
                        filename = annotation.text.rsplit("/", 1)[-1] or None
                        add(annotation.file_path.file_id, "file", message.id, filename=filename)
    return files


def finish_from_messages(run: Any, messages: Sequence[Any]) -> OpenAIAssistantFinish:
    """The agent's final answer: text output plus everything else the run returned."""
    return OpenAIAssistantFinish(
        return_values={
            "output": "\n".join(_text_parts(messages)),
            "thread_id": run.thread_id,
            "run_id": run.id,
            "usage": usage_dict(run),
            "attachments": [a for m in messages for a in (m.attachments or [])],
            "annotations": _annotations(messages),
            "citations": citations(messages),
            "files": produced_files(messages),
        },
        log="",
        run_id=run.id,
        thread_id=run.thread_id,
    )


def run_messages(messages: Iterable[Any], run_id: str) -> list[Any]:
    """The assistant messages a run wrote (input messages are not part of its output)."""
    return [m for m in messages if m.run_id == run_id and m.role == "assistant"]


def output_for(run: Any, messages: Sequence[Any] | None, *, as_agent: bool) -> Any:
    """The runnable's output for a run that completed or waits for tool outputs."""
    if run.status == "requires_action":
        if as_agent:
            return actions_from_run(run)
        return list(run.required_action.submit_tool_outputs.tool_calls)
    own = run_messages(messages or [], run.id)
    return finish_from_messages(run, own) if as_agent else own


def trace_metadata(run: Any) -> dict[str, Any]:
    """Run ids, status and token usage, attached to the LangChain trace."""
    if run is None:
        return {}
    metadata: dict[str, Any] = {
        "assistant_id": getattr(run, "assistant_id", None),
        "thread_id": run.thread_id,
        "run_id": run.id,
        "run_status": run.status,
    }
    usage = usage_dict(run)
    if usage is not None:
        metadata["usage"] = usage
    return metadata
