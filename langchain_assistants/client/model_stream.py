"""The assistant's streamed text as a LangChain chat-model run, for standard streaming.

LangChain users watch ``astream_events`` for ``on_chat_model_stream`` events and LangGraph
users ``stream_mode="messages"``; both are fed by chat-model callbacks
(``on_chat_model_start`` / ``on_llm_new_token`` with an ``AIMessageChunk`` /
``on_llm_end``). Each assistant message of a streamed turn is reported as one such child
run of the runnable. :class:`EchoState` decides what to report from the SDK's events
(written once); :class:`SyncModelEcho` and :class:`AsyncModelEcho` only perform it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import AsyncCallbackManager, CallbackManager
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, LLMResult

__all__ = ["AsyncModelEcho", "EchoState", "SyncModelEcho"]

#: How the chat-model runs are named in traces and events.
RUN_NAME = "OpenAIAssistant"
_SERIALIZED = {"lc": 1, "type": "not_implemented", "id": ["langchain_assistants", RUN_NAME]}

#: ("start", message_id) | ("token", message_id, text) | ("end", message_id, full_text)
Op = tuple[Any, ...]


@dataclass
class EchoState:
    """Text streamed so far per assistant message; turns SDK events into report steps."""

    texts: dict[str, str] = field(default_factory=dict)
    ended: set[str] = field(default_factory=set)

    def ops(self, event: Any) -> list[Op]:
        name = getattr(event, "event", "")
        data: Any = getattr(event, "data", None)
        if name == "thread.message.delta":
            out: list[Op] = []
            for block in data.delta.content or []:
                if block.type != "text" or block.text is None or not block.text.value:
                    continue
                if data.id not in self.texts:
                    self.texts[data.id] = ""
                    out.append(("start", data.id))
                self.texts[data.id] += block.text.value
                out.append(("token", data.id, block.text.value))
            return out
        if name in ("thread.message.completed", "thread.message.incomplete"):
            return self._end(data.id)
        return []

    def _end(self, message_id: str) -> list[Op]:
        if message_id not in self.texts or message_id in self.ended:
            return []
        self.ended.add(message_id)
        return [("end", message_id, self.texts[message_id])]

    def open_ids(self) -> list[str]:
        return [m for m in self.texts if m not in self.ended]


def _chunk(message_id: str, text: str) -> ChatGenerationChunk:
    return ChatGenerationChunk(message=AIMessageChunk(content=text, id=message_id))


def _result(message_id: str, text: str) -> LLMResult:
    return LLMResult(generations=[[ChatGeneration(message=AIMessage(content=text, id=message_id))]])


class SyncModelEcho:
    """Report a streamed turn's messages to the sync callback handlers in ``callbacks``."""

    def __init__(self, callbacks: Any) -> None:
        self._manager = CallbackManager.configure(inheritable_callbacks=callbacks)
        self._state = EchoState()
        self._runs: dict[str, Any] = {}

    def feed(self, event: Any) -> None:
        for op in self._state.ops(event):
            self._perform(op)

    def _perform(self, op: Op) -> None:
        kind, message_id = op[0], op[1]
        if kind == "start":
            (run,) = self._manager.on_chat_model_start(_SERIALIZED, [[]], name=RUN_NAME)
            self._runs[message_id] = run
        elif kind == "token":
            self._runs[message_id].on_llm_new_token(op[2], chunk=_chunk(message_id, op[2]))
        else:
            self._runs.pop(message_id).on_llm_end(_result(message_id, op[2]))

    def close(self, error: BaseException | None = None) -> None:
        """End the runs still open (the stream stopped mid-message)."""
        for message_id in self._state.open_ids():
            self._state.ended.add(message_id)
            run = self._runs.pop(message_id)
            if error is None:
                run.on_llm_end(_result(message_id, self._state.texts[message_id]))
            else:
                run.on_llm_error(error)


class AsyncModelEcho:
    """Async :class:`SyncModelEcho`: the same reports through async callback managers."""

    def __init__(self, callbacks: Any) -> None:
        self._manager = AsyncCallbackManager.configure(inheritable_callbacks=callbacks)
        self._state = EchoState()
        self._runs: dict[str, Any] = {}

    async def feed(self, event: Any) -> None:
        for op in self._state.ops(event):
            await self._perform(op)

    async def _perform(self, op: Op) -> None:
        kind, message_id = op[0], op[1]
        if kind == "start":
            (run,) = await self._manager.on_chat_model_start(_SERIALIZED, [[]], name=RUN_NAME)
            self._runs[message_id] = run
        elif kind == "token":
            await self._runs[message_id].on_llm_new_token(op[2], chunk=_chunk(message_id, op[2]))
        else:
            await self._runs.pop(message_id).on_llm_end(_result(message_id, op[2]))

    async def close(self, error: BaseException | None = None) -> None:
        for message_id in self._state.open_ids():
            self._state.ended.add(message_id)
            run = self._runs.pop(message_id)
            if error is None:
                await run.on_llm_end(_result(message_id, self._state.texts[message_id]))
            else:
                await run.on_llm_error(error)
