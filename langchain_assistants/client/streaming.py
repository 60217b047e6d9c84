"""Pure stream interpretation: Assistants server-sent events -> run state + callback events.

The runnable's shells feed each SDK event to :func:`apply_event` and dispatch what it
returns as LangChain custom events (visible in ``astream_events(version="v2")``):

- ``assistant_text_delta``: ``{thread_id, run_id, message_id, index, text}``
- ``assistant_tool_call_delta``: ``{thread_id, run_id, step_id, index, tool_call_id, name,
  arguments}`` (``arguments`` is the new fragment)
- ``assistant_code_interpreter_delta``: ``{thread_id, run_id, step_id, index, tool_call_id,
  input, logs, images}`` (``input`` is the new code fragment, ``logs`` new output text)
- ``assistant_file_search_delta``: ``{thread_id, run_id, step_id, index, tool_call_id,
  results}`` (``results``: ``[{file_id, file_name, score}]`` once the search ran)
- ``assistant_run_status``: ``{thread_id, run_id, status}`` on every run status event
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .requests import ACTIVE_RUN_STATUSES, TERMINAL_RUN_STATUSES

__all__ = [
    "CODE_INTERPRETER_DELTA",
    "FILE_SEARCH_DELTA",
    "RUN_STATUS",
    "TEXT_DELTA",
    "TOOL_CALL_DELTA",
    "StreamState",
    "apply_event",
]

TEXT_DELTA = "assistant_text_delta"
TOOL_CALL_DELTA = "assistant_tool_call_delta"
CODE_INTERPRETER_DELTA = "assistant_code_interpreter_delta"
FILE_SEARCH_DELTA = "assistant_file_search_delta"
RUN_STATUS = "assistant_run_status"

CustomEvent = tuple[str, dict[str, Any]]


@dataclass
class StreamState:
    """What the stream has told us so far; enough to resume, cancel or answer."""

    thread_id: str | None = None
    run: Any = None
    #: Messages the stream completed, by id (the answer is re-read from the server).
    messages: dict[str, Any] = field(default_factory=dict)
    #: ``error`` events the server sent (the run's terminal event follows them).
    errors: list[Any] = field(default_factory=list)
    #: (step_id, index) -> (tool_call_id, name, type), since later deltas omit them.
    _calls: dict[tuple[str, int], tuple[str | None, str | None, str]] = field(default_factory=dict)

    @property
    def run_id(self) -> str | None:
        return self.run.id if self.run is not None else None

    @property
    def status(self) -> str | None:
        return self.run.status if self.run is not None else None

    @property
    def settled(self) -> bool:
        """The run stopped: it ended, or it waits for tool outputs."""
        return self.status in TERMINAL_RUN_STATUSES or self.status == "requires_action"

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_RUN_STATUSES


def _ids(state: StreamState) -> dict[str, Any]:
    return {"thread_id": state.thread_id, "run_id": state.run_id}


def _text_deltas(state: StreamState, event: Any) -> list[CustomEvent]:
    out = []
    for block in event.data.delta.content or []:
        if block.type == "text" and block.text is not None and block.text.value:
            out.append(
                (
                    TEXT_DELTA,
                    {
                        **_ids(state),
                        "message_id": event.data.id,
                        "index": block.index,
                        "text": block.text.value,
                    },
                )
            )
    return out


def _step_deltas(state: StreamState, event: Any) -> list[CustomEvent]:
    details = event.data.delta.step_details
    if details is None or details.type != "tool_calls":
        return []
    out: list[CustomEvent] = []
    step_id = event.data.id
    for call in details.tool_calls or []:
        key = (step_id, call.index)
        known_id, known_name, _ = state._calls.get(key, (None, None, call.type))
        call_id = call.id or known_id
        if call.type == "function":
            fn = call.function
            name = (fn.name if fn is not None else None) or known_name
            state._calls[key] = (call_id, name, call.type)
            out.append(
                (
                    TOOL_CALL_DELTA,
                    {
                        **_ids(state),
                        "step_id": step_id,
                        "index": call.index,
                        "tool_call_id": call_id,
                        "name": name,
                        "arguments": (fn.arguments if fn is not None else None) or "",
                    },
                )
            )
        elif call.type == "code_interpreter":
            state._calls[key] = (call_id, "code_interpreter", call.type)
            ci = call.code_interpreter
            outputs = (ci.outputs if ci is not None else None) or []
            out.append(
                (
                    CODE_INTERPRETER_DELTA,
                    {
                        **_ids(state),
                        "step_id": step_id,
                        "index": call.index,
                        "tool_call_id": call_id,
                        "input": (ci.input if ci is not None else None) or "",
                        "logs": "".join(o.logs or "" for o in outputs if o.type == "logs"),
                        "images": [
                            o.image.file_id
                            for o in outputs
                            if o.type == "image" and o.image is not None and o.image.file_id
                        ],
                    },
                )
            )
        elif call.type == "file_search":
            state._calls[key] = (call_id, "file_search", call.type)
            details = call.file_search if isinstance(call.file_search, dict) else {}
            results = [
                {k: r.get(k) for k in ("file_id", "file_name", "score")}
                for r in details.get("results") or []
                if isinstance(r, dict)
            ]
            out.append(
                (
                    FILE_SEARCH_DELTA,
                    {
                        **_ids(state),
                        "step_id": step_id,
                        "index": call.index,
                        "tool_call_id": call_id,
                        "results": results,
                    },
                )
            )
        else:
            state._calls[key] = (call_id, call.type, call.type)
    return out


def apply_event(state: StreamState, event: Any) -> list[CustomEvent]:
    """Fold one stream event into ``state``; return the callback events it produces."""
    name: str = getattr(event, "event", "") or ""
    data: Any = getattr(event, "data", None)
    if name == "thread.created":
        state.thread_id = data.id
        return []
    if name.startswith("thread.run.") and not name.startswith("thread.run.step."):
        state.run = data
        state.thread_id = data.thread_id
        return [(RUN_STATUS, {**_ids(state), "status": data.status})]
    if name == "thread.message.delta":
        return _text_deltas(state, event)
    if name in ("thread.message.completed", "thread.message.incomplete"):
        state.messages[data.id] = data
        return []
    if name == "thread.run.step.delta":
        return _step_deltas(state, event)
    if name == "error":
        state.errors.append(data)
        return []
    return []
