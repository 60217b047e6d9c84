"""Pure request building: the runnable's input dict -> keyword arguments of SDK calls.

No I/O here: these functions decide *what* to send; the runnable's sync and async shells
decide only *how* (which client, awaited or not).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.agents import AgentAction
from langchain_core.messages import BaseMessage
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel

__all__ = [
    "ACCEPTED_INPUT_KEYS",
    "ACTIVE_RUN_STATUSES",
    "TERMINAL_RUN_STATUSES",
    "TurnPlan",
    "assistant_create_params",
    "convert_tools",
    "plan_turn",
    "select_tool_outputs",
    "serialize_tool_output",
    "to_assistants_tool",
]

#: Statuses during which a run locks its thread.
ACTIVE_RUN_STATUSES = frozenset({"queued", "in_progress", "requires_action", "cancelling"})
#: Statuses after which a run never changes again.
TERMINAL_RUN_STATUSES = frozenset({"completed", "failed", "cancelled", "expired", "incomplete"})

_BUILTIN_TOOLS = ("code_interpreter", "file_search")

#: Run options taken from the input and sent as-is (``run_metadata`` is renamed ``metadata``).
RUN_OPTION_KEYS = (
    "instructions",
    "additional_instructions",
    "additional_messages",
    "model",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "temperature",
    "top_p",
    "max_prompt_tokens",
    "max_completion_tokens",
    "truncation_strategy",
    "response_format",
    "reasoning_effort",
    "run_metadata",
)

#: Every key the runnable reads from its input.
ACCEPTED_INPUT_KEYS = (
    "content",
    "thread_id",
    "run_id",
    "tool_outputs",
    "intermediate_steps",
    "message_metadata",
    "thread_metadata",
    "attachments",
    "file_ids",
    "tool_resources",
    *RUN_OPTION_KEYS,
)

# ``threads.create_and_run`` has no such parameters; a new thread that needs them is
# created first and then run.
_NOT_IN_CREATE_AND_RUN = ("additional_instructions", "additional_messages")


def _is_builtin(tool: Any) -> bool:
    return isinstance(tool, Mapping) and tool.get("type") in _BUILTIN_TOOLS


def to_assistants_tool(
    tool: Mapping[str, Any] | type[BaseModel] | Callable[..., Any] | BaseTool,
) -> dict[str, Any]:
    """One tool in the Assistants format; built-ins (code_interpreter, file_search) pass."""
    if _is_builtin(tool):
        return dict(tool)  # type: ignore[arg-type]
    return convert_to_openai_tool(tool)  # type: ignore[arg-type]


def convert_tools(tools: Iterable[Any]) -> list[dict[str, Any]]:
    """Tools in the Assistants format: BaseTools, pydantic models, functions or dicts."""
    return [to_assistants_tool(tool) for tool in tools]


def assistant_create_params(
    *,
    name: str | None,
    instructions: str | None,
    tools: Iterable[Any] | None,
    model: str,
    description: str | None = None,
    metadata: Mapping[str, str] | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    response_format: Any = None,
    tool_resources: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Keyword arguments of ``beta.assistants.create``; unset options are left out."""
    params: dict[str, Any] = {
        "model": model,
        "name": name,
        "instructions": instructions,
        "tools": convert_tools(tools or []),
        "description": description,
        "metadata": dict(metadata) if metadata is not None else None,
        "temperature": temperature,
        "top_p": top_p,
        "response_format": response_format,
        "tool_resources": dict(tool_resources) if tool_resources is not None else None,
    }
    return {k: v for k, v in params.items() if v is not None}


def _tool_choice(choice: Any) -> Any:
    """``"none" | "auto" | "required"``, a dict, or a tool name (shorthand for a function)."""
    if isinstance(choice, str) and choice not in ("none", "auto", "required"):
        if choice in _BUILTIN_TOOLS:
            return {"type": choice}
        return {"type": "function", "function": {"name": choice}}
    return choice


def run_options(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Run-level options present in the input, named as the SDK names them."""
    params: dict[str, Any] = {}
    for key in RUN_OPTION_KEYS:
        if key not in inputs or inputs[key] is None:
            continue
        value = inputs[key]
        if key == "tools":
            value = convert_tools(value)
        elif key == "tool_choice":
            value = _tool_choice(value)
        elif key == "additional_messages":
            value = [_message_param(m) for m in value]
        params["metadata" if key == "run_metadata" else key] = value
    return params


def _content(content: Any) -> Any:
    """Text, or content blocks (text / image_file / image_url) in the API's format."""
    if isinstance(content, str):
        return content
    if isinstance(content, BaseMessage):
        return _content(content.content)
    if isinstance(content, Sequence):
        blocks = []
        for block in content:
            if isinstance(block, str):
                blocks.append({"type": "text", "text": block})
            elif isinstance(block, Mapping):
                blocks.append(dict(block))
            else:
                raise TypeError(f"Unsupported content block: {block!r}")
        return blocks
    raise TypeError(f"content must be a string or a list of content blocks, got {content!r}")


def _message_param(message: Any) -> dict[str, Any]:
    if isinstance(message, BaseMessage):
        role = "assistant" if message.type == "ai" else "user"
        return {"role": role, "content": _content(message.content)}
    out = dict(message)
    out.setdefault("role", "user")
    if "content" in out:
        out["content"] = _content(out["content"])
    return out


def attachments(inputs: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """``attachments`` plus the ``file_ids`` shorthand (each file for code_interpreter)."""
    items: list[dict[str, Any]] = [
        a.model_dump(exclude_none=True) if isinstance(a, BaseModel) else dict(a)
        for a in inputs.get("attachments") or []
    ]
    for file_id in inputs.get("file_ids") or []:
        items.append({"file_id": file_id, "tools": [{"type": "code_interpreter"}]})
    return items or None


def user_message(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The user's message (``content`` + attachments + ``message_metadata``)."""
    message: dict[str, Any] = {"role": "user", "content": _content(inputs["content"])}
    files = attachments(inputs)
    if files:
        message["attachments"] = files
    if inputs.get("message_metadata") is not None:
        message["metadata"] = dict(inputs["message_metadata"])
    return message


def _accepted_keys_text() -> str:
    return "Accepted input keys: " + ", ".join(repr(k) for k in ACCEPTED_INPUT_KEYS) + "."


def check_input_keys(inputs: Mapping[str, Any]) -> None:
    """Refuse keys the runnable would silently ignore (a typo such as ``threadid`` would
    otherwise start a new thread), suggesting the closest accepted key."""
    unknown = [key for key in inputs if key not in ACCEPTED_INPUT_KEYS]
    if not unknown:
        return
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(str(key), ACCEPTED_INPUT_KEYS, n=1, cutoff=0.6)
        hints.append(f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key))
    raise ValueError(
        f"Unknown input key{'s' if len(unknown) > 1 else ''} for OpenAIAssistantRunnable: "
        + ", ".join(hints)
        + ". "
        + _accepted_keys_text()
    )


def _is_empty_content(content: Any) -> bool:
    if isinstance(content, str):
        return not content.strip()
    if isinstance(content, BaseMessage):
        return _is_empty_content(content.content)
    if isinstance(content, Sequence):
        return len(content) == 0
    return False


def _missing_content_error(where: str) -> ValueError:
    return ValueError(
        f"Cannot start a run {where} without a user message: pass 'content' "
        "(text or content blocks). " + _accepted_keys_text()
    )


def serialize_tool_output(output: Any) -> str:
    """A tool's result as the string the API expects; non-strings become JSON."""
    if isinstance(output, str):
        return output
    if isinstance(output, BaseMessage):
        content = output.content
        return content if isinstance(content, str) else serialize_tool_output(content)
    if isinstance(output, BaseModel):
        return output.model_dump_json()
    try:
        return json.dumps(output, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(output)


def _tool_output_params(outputs: Iterable[Any]) -> list[dict[str, str]]:
    params = []
    for item in outputs:
        data = item.model_dump() if isinstance(item, BaseModel) else dict(item)
        params.append(
            {
                "tool_call_id": str(data["tool_call_id"]),
                "output": serialize_tool_output(data.get("output")),
            }
        )
    return params


def _assistant_steps(steps: Iterable[Any]) -> list[tuple[Any, Any]]:
    """Executor steps whose action came from an assistant run (they carry run ids)."""
    return [
        (action, observation)
        for action, observation in steps
        if isinstance(action, AgentAction) and getattr(action, "tool_call_id", None)
    ]


def select_tool_outputs(
    intermediate_steps: Iterable[tuple[Any, Any]],
    run_id: str,
    required_call_ids: Sequence[str] | None,
) -> list[dict[str, str]]:
    """Tool outputs of ``run_id`` for the calls the run is waiting for, in its order.

    AgentExecutor passes every step since it started, across runs and rounds; only the
    current run's pending calls may be submitted. The latest observation of a call wins.
    Without ``required_call_ids`` every call of ``run_id`` is sent. A pending call that
    has no observation (the executor dropped it) gets an explanatory output so the run
    can continue instead of being rejected.
    """
    latest: dict[str, str] = {}
    for action, observation in _assistant_steps(intermediate_steps):
        if action.run_id == run_id:
            latest[action.tool_call_id] = serialize_tool_output(observation)
    order = list(required_call_ids) if required_call_ids is not None else list(latest)
    return [
        {
            "tool_call_id": call_id,
            "output": latest.get(call_id, "Error: the tool was not run for this call."),
        }
        for call_id in order
    ]


TurnKind = Literal["new_thread", "existing_thread", "submit", "submit_steps", "resume"]


@dataclass
class TurnPlan:
    """What one turn sends, decided from the input alone."""

    kind: TurnKind
    thread_id: str | None = None
    run_id: str | None = None
    #: Message to add before the run (existing thread) or the new thread's body.
    message: dict[str, Any] | None = None
    thread: dict[str, Any] | None = None
    #: Whether the new thread is created with ``create_and_run`` (one request).
    create_and_run: bool = True
    #: ``threads.update`` arguments for an existing thread (tool_resources), if any.
    thread_update: dict[str, Any] | None = None
    run: dict[str, Any] = field(default_factory=dict)
    tool_outputs: list[dict[str, str]] = field(default_factory=list)
    #: Executor steps, resolved against the run's pending calls at run time.
    steps: list[tuple[Any, Any]] = field(default_factory=list)


def plan_turn(inputs: Mapping[str, Any], assistant_id: str) -> TurnPlan:
    """Decide the turn: continue a run with tool outputs, or start a run (new thread or not).

    Raises:
        ValueError: the input cannot start or continue a run (no or empty ``content``, an
            unknown key).
    """
    if not isinstance(inputs, Mapping):
        raise TypeError(
            "OpenAIAssistantRunnable takes a dict input, e.g. {'content': 'Hi'}; got "
            f"{type(inputs).__name__}."
        )
    check_input_keys(inputs)
    if inputs.get("content") is not None and _is_empty_content(inputs["content"]):
        raise ValueError(
            "'content' is empty: pass the user's message as non-empty text or content "
            "blocks (or leave 'content' out to submit tool outputs). " + _accepted_keys_text()
        )
    steps = _assistant_steps(inputs.get("intermediate_steps") or [])
    if steps:
        last, _ = steps[-1]
        return TurnPlan(
            kind="submit_steps", thread_id=last.thread_id, run_id=last.run_id, steps=steps
        )
    thread_id = inputs.get("thread_id")
    run_id = inputs.get("run_id")
    if inputs.get("tool_outputs") is not None:
        if not thread_id or not run_id:
            raise ValueError(
                "Submitting 'tool_outputs' needs the 'thread_id' and 'run_id' of the run "
                "that asked for them (an OpenAIAssistantAction carries both)."
            )
        return TurnPlan(
            kind="submit",
            thread_id=thread_id,
            run_id=run_id,
            tool_outputs=_tool_output_params(inputs["tool_outputs"]),
        )
    if run_id and inputs.get("content") is None:
        # No tool outputs and no new message: follow that run to where it stops.
        if not thread_id:
            raise ValueError("'run_id' needs the 'thread_id' of its thread.")
        return TurnPlan(kind="resume", thread_id=thread_id, run_id=run_id)

    run = {"assistant_id": assistant_id, **run_options(inputs)}
    has_content = inputs.get("content") is not None
    if not thread_id:
        if not has_content and not run.get("additional_messages"):
            raise _missing_content_error("on a new thread")
        thread: dict[str, Any] = {"messages": [user_message(inputs)] if has_content else []}
        if inputs.get("thread_metadata") is not None:
            thread["metadata"] = dict(inputs["thread_metadata"])
        if inputs.get("tool_resources") is not None:
            thread["tool_resources"] = dict(inputs["tool_resources"])
        # Otherwise: ``threads.create`` (with the user's message) then ``runs.create``, so
        # the additional messages follow the user's, as on an existing thread.
        create_and_run = not any(key in run for key in _NOT_IN_CREATE_AND_RUN)
        return TurnPlan(kind="new_thread", thread=thread, run=run, create_and_run=create_and_run)

    if not has_content and not run.get("additional_messages"):
        raise _missing_content_error(f"on thread {thread_id}")
    update = None
    if inputs.get("tool_resources") is not None:
        update = {"tool_resources": dict(inputs["tool_resources"])}
    return TurnPlan(
        kind="existing_thread",
        thread_id=thread_id,
        message=user_message(inputs) if has_content else None,
        thread_update=update,
        run=run,
    )


def required_call_ids(run: Any) -> list[str]:
    """Ids of the tool calls a ``requires_action`` run waits for."""
    action = getattr(run, "required_action", None)
    if action is None:
        return []
    return [call.id for call in action.submit_tool_outputs.tool_calls]


def active_runs(runs: Iterable[Any]) -> list[Any]:
    """Runs that still lock their thread."""
    return [run for run in runs if run.status in ACTIVE_RUN_STATUSES]


def poll_delay_seconds(
    header: str | None, attempt: int, fallback_ms: float, remaining: float | None
) -> float:
    """How long to wait before the next poll.

    The server's ``openai-poll-after-ms`` wins; without it, back off from 50 ms, doubling,
    up to ``fallback_ms``. Never past the turn's deadline.
    """
    delay_ms: float
    try:
        delay_ms = float(header) if header is not None else -1.0
    except ValueError:
        delay_ms = -1.0
    if delay_ms < 0:
        delay_ms = min(fallback_ms, 50.0 * (2**attempt))
    delay = delay_ms / 1000.0
    if remaining is not None:
        delay = max(0.0, min(delay, remaining))
    return delay
