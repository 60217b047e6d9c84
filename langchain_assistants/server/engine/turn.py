"""One model turn, streamed: text becomes a message, tool calls become a tool-calls step.

As chunks arrive the turn lazily creates the run step and message (so ``*.created``
events precede their deltas, as the SDK's accumulator needs) and publishes
``thread.message.delta`` / ``thread.run.step.delta`` events.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage

from ..ids import new_id
from .annotations import file_path_annotations, ordered
from .citations import CitationBook, annotation_deltas, file_citations
from .code_files import RunOutputs

if TYPE_CHECKING:
    from collections.abc import Mapping

    from langchain_core.runnables import Runnable

    from .hosted import HostedTool
    from .recorder import RunRecorder


@dataclass
class ToolCall:
    """A tool call as the API shows it; ``arguments`` is the raw JSON text.

    ``hosted`` is the server-run tool it calls (None: a function the client runs).
    """

    index: int
    id: str
    name: str
    arguments: str = ""
    hosted: HostedTool | None = field(default=None, repr=False, compare=False)

    @property
    def args(self) -> dict[str, Any]:
        try:
            value = json.loads(self.arguments or "{}")
        except json.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}

    @property
    def is_hosted(self) -> bool:
        return self.hosted is not None

    def step_entry(self) -> dict[str, Any]:
        """The call's entry in the ``tool_calls`` step before any output."""
        if self.hosted is not None:
            return self.hosted.pending_entry(self)
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments, "output": None},
        }


def chunk_text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(
        str(part.get("text", ""))
        for part in content
        if isinstance(part, dict) and part.get("type") == "text"
    )


def usage_of(message: BaseMessage | None) -> dict[str, int]:
    meta = getattr(message, "usage_metadata", None) or {}
    prompt = int(meta.get("input_tokens", 0))
    completion = int(meta.get("output_tokens", 0))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": int(meta.get("total_tokens", prompt + completion)),
    }


@dataclass
class ModelTurn:
    """One streamed model call of a run, recorded as it arrives."""

    recorder: RunRecorder
    run: dict[str, Any]
    text: str = ""
    message: dict[str, Any] | None = None
    message_step: dict[str, Any] | None = None
    tool_step: dict[str, Any] | None = None
    calls: dict[int, ToolCall] = field(default_factory=dict)
    result: BaseMessage | None = None
    #: Figures and files made so far in this run: the answer shows the figures after its
    #: text and annotates its links to the files.
    outputs: RunOutputs = field(default_factory=RunOutputs)
    #: The tools the server runs itself, by function name.
    hosted: Mapping[str, HostedTool] = field(default_factory=dict)
    #: The run's citation markers so far; a closed message is annotated from them.
    citations: CitationBook = field(default_factory=CitationBook)
    #: Whether step events show file_search result ``content`` (the run's ``include[]``).
    show_result_content: bool = False

    async def stream(self, model: Runnable[Any, Any], prompt: list[BaseMessage]) -> None:
        """Run the model on ``prompt``, publishing deltas as they arrive."""
        total: BaseMessage | None = None
        async for chunk in model.astream(prompt):
            total = (
                chunk if total is None or not isinstance(total, AIMessageChunk) else total + chunk
            )
            if piece := chunk_text(chunk):
                await self._text_delta(piece)
            for position, part in enumerate(getattr(chunk, "tool_call_chunks", None) or []):
                await self._tool_call_delta(position, part)
        self.result = total
        if total is not None and not getattr(total, "tool_call_chunks", None):
            # A model that does not stream answers with one whole message.
            for position, call in enumerate(getattr(total, "tool_calls", None) or []):
                await self._tool_call_delta(
                    position,
                    {
                        "index": position,
                        "id": call.get("id"),
                        "name": call["name"],
                        "args": json.dumps(call["args"]),
                    },
                )

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [self.calls[i] for i in sorted(self.calls)]

    @property
    def usage(self) -> dict[str, int]:
        return usage_of(self.result)

    def ai_message(self, calls: list[ToolCall]) -> AIMessage:
        """The turn as the transcript keeps it (our call ids, the kept calls only)."""
        return AIMessage(
            content=self.text,
            tool_calls=[
                {"id": c.id, "name": c.name, "args": c.args, "type": "tool_call"} for c in calls
            ],
        )

    # -- text ---------------------------------------------------------------------------

    async def _text_delta(self, piece: str) -> None:
        if self.message is None:
            self.message_step, self.message = await self.recorder.open_message(self.run)
        self.text += piece
        self.recorder.text_delta(self.message, piece)

    async def close_message(self, usage: dict[str, int] | None, *, cut_short: bool = False) -> None:
        if self.message is not None and self.message_step is not None:
            annotations = ordered(
                file_path_annotations(self.text, self.outputs.links()),
                file_citations(self.text, self.citations),
            )
            if annotations:
                # The SDK's accumulator folds these into the text block it built from the
                # deltas, so its final message carries the same annotations as ours.
                text = {"value": "", "annotations": annotation_deltas(annotations)}
                self._publish_content_delta({"index": 0, "type": "text", "text": text})
            for offset, file_id in enumerate(self.outputs.images, start=1):
                self._publish_content_delta(
                    {"index": offset, "type": "image_file", "image_file": {"file_id": file_id}}
                )
            await self.recorder.complete_message(
                self.message,
                self.message_step,
                self.text,
                usage,
                cut_short=cut_short,
                image_ids=self.outputs.images,
                annotations=annotations,
                attachments=self.outputs.attachments(),
            )
            self.message = self.message_step = None

    def _publish_content_delta(self, block: dict[str, Any]) -> None:
        assert self.message is not None
        self.recorder.publish(
            self.run["id"],
            "thread.message.delta",
            {
                "id": self.message["id"],
                "object": "thread.message.delta",
                "delta": {"content": [block]},
            },
        )

    # -- tool calls ---------------------------------------------------------------------

    async def _tool_call_delta(self, position: int, part: Any) -> None:
        index = part.get("index")
        index = position if index is None else int(index)
        fragment = part.get("args") or ""
        call = self.calls.get(index)
        if call is None:
            await self.close_message(None)
            if self.tool_step is None:
                self.tool_step = await self.recorder.open_step(
                    self.run, {"type": "tool_calls", "tool_calls": []}
                )
            call = ToolCall(
                index=index,
                id=part.get("id") or new_id("call"),
                name=part.get("name") or "",
                hosted=self.hosted.get(part.get("name") or ""),
            )
            self.calls[index] = call
            # The first delta announces the call with empty arguments; fragments follow.
            self._publish_step_delta({"index": index, **call.step_entry()})
        call.arguments += fragment
        if fragment and not call.is_hosted:
            self._publish_step_delta(
                {"index": index, "type": "function", "function": {"arguments": fragment}}
            )

    def publish_call_delta(self, call: ToolCall, details: dict[str, Any]) -> None:
        """A step delta for a hosted call: its ``type`` key holding ``details``."""
        kind = call.step_entry()["type"]
        self._publish_step_delta({"index": call.index, "type": kind, kind: details})

    def _publish_step_delta(self, tool_call_delta: dict[str, Any]) -> None:
        assert self.tool_step is not None
        self.recorder.publish(
            self.run["id"],
            "thread.run.step.delta",
            {
                "id": self.tool_step["id"],
                "object": "thread.run.step.delta",
                "delta": {"step_details": {"type": "tool_calls", "tool_calls": [tool_call_delta]}},
            },
        )

    def publish_code_input(self, call: ToolCall) -> None:
        self._publish_step_delta(
            {
                "index": call.index,
                "type": "code_interpreter",
                "code_interpreter": {"input": str(call.args.get("input", ""))},
            }
        )

    def publish_code_outputs(self, call: ToolCall, outputs: list[dict[str, Any]]) -> None:
        indexed = [{"index": i, **output} for i, output in enumerate(outputs)]
        self._publish_step_delta(
            {
                "index": call.index,
                "type": "code_interpreter",
                "code_interpreter": {"outputs": indexed},
            }
        )
