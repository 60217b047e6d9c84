"""Writes a run's steps and messages and publishes their events, in that order.

Both the engine (lifecycle) and a model turn (streamed output) record through this one
object, so a stored object and the event announcing it can never disagree. The rule:
an event is published only after the object it carries is committed. Writes that belong
together (a turn's end: its message, its step and the run) go in one ``batch()``, one
transaction, whose events are published in order once it has committed. It only calls
downward: the store and the event bus. A run's turns record through ``for_project(...)``:
what the run creates (steps, messages) belongs to the run's project.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from openai.types.beta.threads import Message
from openai.types.beta.threads.runs import RunStep

from ..store import Kind, Store
from ..wire import checked, message_object, now, step_object, text_block
from .events import EventBus
from .file_search import public_step


class RunRecorder:
    """Stores run steps and assistant messages and publishes their SSE events."""

    def __init__(self, store: Store, bus: EventBus, partial: dict[str, str] | None = None) -> None:
        self.store = store
        self.bus = bus
        # Text streamed so far into each open message (shared by the project views): a
        # message that ends early (failed, cancelled, expired run) keeps it, as the deltas
        # already announced it.
        self._partial: dict[str, str] = {} if partial is None else partial

    def for_project(self, project: str) -> RunRecorder:
        """A recorder whose inserts belong to ``project`` (the project of the run)."""
        return RunRecorder(self.store.scoped(project), self.bus, self._partial)

    def publish(self, run_id: str, name: str, data: dict[str, Any]) -> None:
        """Publish now, or once the open ``batch()`` has committed (never if it fails)."""
        self.store.after_commit(lambda: self.bus.publish(run_id, name, data))

    def close(self, run_id: str) -> None:
        """End the run's streams, after the events of the open ``batch()`` if any."""
        self.store.after_commit(lambda: self.bus.close(run_id))

    def batch(self) -> AbstractAsyncContextManager[None]:
        """One transaction for the writes inside; their events follow its commit."""
        return self.store.batch()

    @property
    def project(self) -> str | None:
        """The project this recorder's inserts belong to (None: the unscoped recorder)."""
        return self.store.project

    async def open_step(self, run: dict[str, Any], details: dict[str, Any]) -> dict[str, Any]:
        step = step_object(run, details)
        await self.store.insert(Kind.step, step, thread_id=run["thread_id"], run_id=run["id"])
        self.publish(run["id"], "thread.run.step.created", step)
        self.publish(run["id"], "thread.run.step.in_progress", step)
        return step

    async def finish_step(
        self, step: dict[str, Any], *, show_result_content: bool = False, **fields: Any
    ) -> dict[str, Any]:
        """Store the step in full; its event shows file_search result content only if the
        run's ``include[]`` asked for it."""
        step = checked(RunStep, {**step, **fields})
        await self.store.save(Kind.step, step)
        shown = public_step(step, show_result_content)
        self.publish(step["run_id"], f"thread.run.step.{step['status']}", shown)
        return step

    async def open_message(self, run: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """A new in-progress assistant message and the message-creation step announcing it."""
        message = message_object(
            run["thread_id"],
            role="assistant",
            content=[],
            status="in_progress",
            assistant_id=run["assistant_id"],
            run_id=run["id"],
        )
        details = {"type": "message_creation", "message_creation": {"message_id": message["id"]}}
        async with self.batch():
            step = await self.open_step(run, details)
            await self.store.insert(
                Kind.message, message, thread_id=run["thread_id"], run_id=run["id"]
            )
            self.publish(run["id"], "thread.message.created", message)
            self.publish(run["id"], "thread.message.in_progress", message)
        return step, message

    def text_delta(self, message: dict[str, Any], piece: str) -> None:
        """Announce a piece of an open message's text (content block 0)."""
        before = self._partial.get(message["id"], "")
        self._partial[message["id"]] = before + piece
        block: dict[str, Any] = {"index": 0, "type": "text", "text": {"value": piece}}
        if not before:
            block["text"]["annotations"] = []
        self.publish(
            message["run_id"],
            "thread.message.delta",
            {"id": message["id"], "object": "thread.message.delta", "delta": {"content": [block]}},
        )

    async def end_message_early(
        self, message: dict[str, Any], *, reason: str, stamp: int
    ) -> dict[str, Any]:
        """Store an open message as ``incomplete`` with the text streamed into it so far."""
        partial = self._partial.get(message["id"], "")
        content = [text_block(partial)] if partial else message["content"]
        message = checked(
            Message,
            {
                **message,
                "content": content,
                "status": "incomplete",
                "incomplete_at": stamp,
                "incomplete_details": {"reason": reason},
            },
        )
        await self.store.save(Kind.message, message)
        self._partial.pop(message["id"], None)  # kept until stored: a failed save is retried
        self.publish(message["run_id"], "thread.message.incomplete", message)
        return message

    async def complete_message(
        self,
        message: dict[str, Any],
        step: dict[str, Any],
        text: str,
        usage: dict[str, int] | None,
        *,
        cut_short: bool = False,
        image_ids: Sequence[str] = (),
        annotations: Sequence[dict[str, Any]] = (),
        attachments: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Store the message's final text with its annotations (and the run's figures and
        files); ``cut_short`` (a token limit) marks it incomplete."""
        self._partial.pop(message["id"], None)
        stamp = now()
        ending: dict[str, Any] = {"status": "completed", "completed_at": stamp}
        if cut_short:
            ending = {
                "status": "incomplete",
                "incomplete_at": stamp,
                "incomplete_details": {"reason": "max_tokens"},
            }
        images = [{"type": "image_file", "image_file": {"file_id": i}} for i in image_ids]
        body = text_block(text)
        body["text"]["annotations"] = list(annotations)
        message = checked(
            Message,
            {
                **message,
                **ending,
                "content": [body, *images],
                "attachments": [*message.get("attachments", []), *attachments],
            },
        )
        async with self.batch():
            await self.store.save(Kind.message, message)
            self.publish(message["run_id"], f"thread.message.{message['status']}", message)
            await self.finish_step(step, status="completed", completed_at=stamp, usage=usage)
