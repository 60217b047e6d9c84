"""A deterministic, scripted LangChain chat model for tests and offline demos.

The model replies from a script instead of a network backend. A script is a list of rules;
the first rule whose ``match`` regex matches the conversation's last user message is used,
and the number of AI messages since that user message picks which of its ``turns`` to play.
The reply is therefore a pure function of the conversation: no per-instance counters, so
one model instance is safe to share between concurrent runs.

Example script (JSON file or dict)::

    {"delay_ms": 0,
     "rules": [
       {"match": "weather", "turns": [
          {"tool_calls": [{"name": "get_weather", "args": {"location": "Paris"}}]},
          {"content": "Done: {last_tool_output}"}]},
       {"match": "explode", "turns": [{"error": "model backend unavailable"}]},
       {"match": "", "turns": [{"content": "Hello.", "delay_ms": 20}]}]}
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import ToolCall, ToolCallChunk, tool_call, tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = [
    "FIRST_CITATION",
    "LAST_TOOL_OUTPUT",
    "Script",
    "ScriptRule",
    "ScriptToolCall",
    "ScriptTurn",
    "ScriptedChatModel",
    "ScriptedModelError",
    "load_script",
]

LAST_TOOL_OUTPUT = "{last_tool_output}"
# ``{last_tool_output[key]}``: one field of a tool output that is a JSON object, stripped.
_FIELD_PLACEHOLDER = re.compile(r"\{last_tool_output\[(\w+)\]\}")
#: ``{first_citation}``: the first citation marker (``【0:0†notes.md】``) of the latest tool
#: output that has one (a ``file_search`` result), so a scripted answer can cite it.
FIRST_CITATION = "{first_citation}"
_CITATION_MARKER = re.compile(r"【\d+:\d+†[^】]*】")


def fill_placeholders(content: str, last_tool_output: str, cited_output: str | None = None) -> str:
    """Replace ``{last_tool_output}``, ``{last_tool_output[key]}`` and
    ``{first_citation}`` (taken from ``cited_output``, default the last tool output);
    other braces stay."""

    def field(match: re.Match[str]) -> str:
        try:
            value = json.loads(last_tool_output)
        except json.JSONDecodeError:
            return ""
        item = value.get(match.group(1), "") if isinstance(value, dict) else ""
        return str(item).strip()

    citation = _CITATION_MARKER.search(last_tool_output if cited_output is None else cited_output)
    content = content.replace(FIRST_CITATION, citation.group(0) if citation else "")
    return _FIELD_PLACEHOLDER.sub(field, content).replace(LAST_TOOL_OUTPUT, last_tool_output)


"""Placeholder in a turn's ``content``, replaced by the latest tool result's text."""

_MAX_TEXT_CHUNKS = 8
_ARGS_FRAGMENT_CHARS = 16
_MAX_ARGS_FRAGMENTS = 8


class ScriptedModelError(RuntimeError):
    """The script says to fail (an ``error`` turn), or has no reply for the conversation."""


# --------------------------------------------------------------------------- script schema


class ScriptToolCall(BaseModel):
    """One tool call the model makes: a tool name and its JSON-object arguments."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    args: dict[str, Any] = Field(default_factory=dict)


class ScriptTurn(BaseModel):
    """One model reply: text, tool calls, both, or an error to raise."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    content: str | None = None
    tool_calls: list[ScriptToolCall] | None = Field(default=None, min_length=1)
    error: str | None = None
    delay_ms: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _check_kind(self) -> ScriptTurn:
        """Reject turns that say nothing, or that both fail and reply."""
        if self.content is None and self.tool_calls is None and self.error is None:
            raise ValueError("a turn needs at least one of 'content', 'tool_calls' or 'error'")
        if self.error is not None and (self.content is not None or self.tool_calls is not None):
            raise ValueError("an 'error' turn cannot also have 'content' or 'tool_calls'")
        return self


class ScriptRule(BaseModel):
    """Turns to play when ``match`` (a regex, ``re.search``) matches the last user message."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    match: str
    turns: list[ScriptTurn] = Field(min_length=1)

    @field_validator("match")
    @classmethod
    def _check_regex(cls, value: str) -> str:
        """Fail at load time, not mid-run, on a pattern ``re`` cannot compile."""
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regex {value!r}: {exc}") from exc
        return value


class Script(BaseModel):
    """A whole script: rules tried in order, and the default per-turn delay."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    delay_ms: float = Field(default=0, ge=0)
    rules: list[ScriptRule] = Field(min_length=1)


def _format_validation_error(exc: ValidationError) -> str:
    """``rules.0.turns.1: message; ...`` - names each bad field, without pydantic noise."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(item) for item in err["loc"]) or "script"
        ctx_error = (err.get("ctx") or {}).get("error")
        msg = str(ctx_error) if err["type"] == "value_error" and ctx_error else err["msg"]
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def load_script(source: str | os.PathLike[str] | Mapping[str, Any] | Script) -> Script:
    """Parse and validate a script from a JSON file path or a dict.

    Raises ``OSError`` when the file cannot be read and ``ValueError`` (naming the bad
    field, e.g. ``rules.0.turns.1``) when the script is malformed.
    """
    if isinstance(source, Script):
        return source
    where = "script"
    data: Any
    if isinstance(source, Mapping):
        data = dict(source)
    else:
        path = Path(source)
        where = f"script {str(path)!r}"
        text = path.read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"Invalid {where}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"Invalid {where}: expected a JSON object, got {type(data).__name__}")
    try:
        return Script.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"Invalid {where}: {_format_validation_error(exc)}") from None


# --------------------------------------------------------------------------- reply planning


def _content_text(content: str | list[str | dict[str, Any]]) -> str:
    """Text of a message's content: the string, or its text parts concatenated."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif block.get("type") == "text" and isinstance(block.get("text"), str):
            parts.append(block["text"])
    return "".join(parts)


def _word_count(text: str) -> int:
    return len(text.split())


def _args_json(args: Mapping[str, Any]) -> str:
    return json.dumps(args, ensure_ascii=False)


def _prompt_tokens(messages: Sequence[BaseMessage]) -> int:
    """Deterministic stand-in for prompt tokens: whitespace-separated words, at least 1."""
    words = 0
    for message in messages:
        words += _word_count(_content_text(message.content))
        if isinstance(message, AIMessage):
            words += sum(_word_count(_args_json(call["args"])) for call in message.tool_calls)
    return max(1, words)


def _call_id(rule_index: int, turn_index: int, call_index: int, conversation_len: int) -> str:
    """Deterministic tool-call id; unique within a conversation (its length grows per turn)."""
    key = f"{rule_index}:{turn_index}:{call_index}:{conversation_len}"
    return "call_" + hashlib.sha256(key.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class _Reply:
    """What the script says to answer for one conversation."""

    content: str
    tool_calls: list[ToolCall]
    error: str | None
    delay_s: float
    usage: UsageMetadata

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.tool_calls else "stop"


def _plan(script: Script, messages: Sequence[BaseMessage]) -> _Reply:
    """Pick the rule and turn for ``messages`` and build the reply (pure function)."""
    last_user = -1
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            last_user = i
            break
    user_text = _content_text(messages[last_user].content) if last_user >= 0 else ""
    turn_index = sum(1 for m in messages[last_user + 1 :] if isinstance(m, AIMessage))

    rule_index, rule = next(
        ((i, r) for i, r in enumerate(script.rules) if re.search(r.match, user_text)),
        (-1, None),
    )
    if rule is None:
        raise ScriptedModelError(
            f"Scripted model: no rule matches the last user message {user_text[:200]!r} "
            f"(patterns: {[r.match for r in script.rules]!r})"
        )
    if turn_index >= len(rule.turns):
        raise ScriptedModelError(
            f"Scripted model: rule {rule_index} (match {rule.match!r}) has {len(rule.turns)} "
            f"turn(s) but turn {turn_index + 1} was requested: the conversation ran past "
            "the end of the script"
        )
    turn = rule.turns[turn_index]
    delay_ms = turn.delay_ms if turn.delay_ms is not None else script.delay_ms

    tool_outputs = [
        _content_text(m.content) for m in reversed(messages) if isinstance(m, ToolMessage)
    ]
    last_tool_output = tool_outputs[0] if tool_outputs else ""
    cited = next((t for t in tool_outputs if _CITATION_MARKER.search(t)), "")
    content = fill_placeholders(turn.content or "", last_tool_output, cited)
    calls = [
        tool_call(
            name=call.name,
            args=dict(call.args),
            id=_call_id(rule_index, turn_index, n, len(messages)),
        )
        for n, call in enumerate(turn.tool_calls or [])
    ]
    input_tokens = _prompt_tokens(messages)
    output_tokens = max(
        1, _word_count(content) + sum(_word_count(_args_json(c["args"])) for c in calls)
    )
    return _Reply(
        content=content,
        tool_calls=calls,
        error=turn.error,
        delay_s=delay_ms / 1000.0,
        usage=UsageMetadata(
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=input_tokens + output_tokens,
        ),
    )


def _split_text(text: str) -> list[str]:
    """Split text into at most ``_MAX_TEXT_CHUNKS`` word groups (one per word if few)."""
    words = re.findall(r"\s*\S+\s*", text) or ([text] if text else [])
    if not words:
        return []
    size = math.ceil(len(words) / _MAX_TEXT_CHUNKS)
    pieces = ["".join(words[i : i + size]) for i in range(0, len(words), size)]
    # ``\s*\S+\s*`` covers all of the text unless it is whitespace only.
    return pieces if "".join(pieces) == text else [text]


def _split_args(args_json: str) -> list[str]:
    """Split a tool call's JSON arguments into 2..``_MAX_ARGS_FRAGMENTS`` fragments."""
    count = min(_MAX_ARGS_FRAGMENTS, max(2, math.ceil(len(args_json) / _ARGS_FRAGMENT_CHARS)))
    size = max(1, math.ceil(len(args_json) / count))
    return [args_json[i : i + size] for i in range(0, len(args_json), size)]


def _chunks(reply: _Reply) -> list[ChatGenerationChunk]:
    """The streamed form of a reply; the chunks sum to the non-streamed message."""
    messages: list[AIMessageChunk] = [
        AIMessageChunk(content=piece) for piece in _split_text(reply.content)
    ]
    for index, call in enumerate(reply.tool_calls):
        for n, fragment in enumerate(_split_args(_args_json(call["args"]))):
            chunk: ToolCallChunk = tool_call_chunk(
                name=call["name"] if n == 0 else None,
                args=fragment,
                id=call["id"] if n == 0 else None,
                index=index,
            )
            messages.append(AIMessageChunk(content="", tool_call_chunks=[chunk]))
    if not messages:
        messages.append(AIMessageChunk(content=""))
    last = messages[-1]
    messages[-1] = AIMessageChunk(
        content=last.content,
        tool_call_chunks=last.tool_call_chunks,
        usage_metadata=reply.usage,
        response_metadata={"model_name": "scripted", "finish_reason": reply.finish_reason},
        chunk_position="last",
    )
    return [ChatGenerationChunk(message=m) for m in messages]


def _result(reply: _Reply) -> ChatResult:
    message = AIMessage(
        content=reply.content,
        tool_calls=reply.tool_calls,
        usage_metadata=reply.usage,
        response_metadata={"model_name": "scripted", "finish_reason": reply.finish_reason},
    )
    return ChatResult(generations=[ChatGeneration(message=message)])


# --------------------------------------------------------------------------- the model


class ScriptedChatModel(BaseChatModel):
    """Chat model that answers from a :class:`Script`: deterministic, offline, stateless.

    Build with :meth:`from_file`, :meth:`from_dict` or ``ScriptedChatModel(script=...)``.
    Tools bound with :meth:`bind_tools` are accepted and ignored: the script decides.
    """

    script: Script
    """The parsed, validated script."""

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], **kwargs: Any) -> ScriptedChatModel:
        """Load a JSON script file (``OSError``/``ValueError`` if unreadable/malformed)."""
        return cls(script=load_script(path), **kwargs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], **kwargs: Any) -> ScriptedChatModel:
        """Build from a script dict (``ValueError`` if malformed)."""
        return cls(script=load_script(data), **kwargs)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"script": self.script.model_dump()}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | dict[str, Any] | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools like a real provider would; the script does not depend on them."""
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=formatted, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = _plan(self.script, messages)
        if reply.delay_s > 0:
            time.sleep(reply.delay_s)
        if reply.error is not None:
            raise ScriptedModelError(reply.error)
        return _result(reply)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = _plan(self.script, messages)
        if reply.delay_s > 0:
            await asyncio.sleep(reply.delay_s)
        if reply.error is not None:
            raise ScriptedModelError(reply.error)
        return _result(reply)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        reply = _plan(self.script, messages)
        if reply.error is not None:
            if reply.delay_s > 0:
                time.sleep(reply.delay_s)
            raise ScriptedModelError(reply.error)
        chunks = _chunks(reply)
        pause = reply.delay_s / len(chunks)
        for chunk in chunks:
            if pause > 0:
                time.sleep(pause)
            if run_manager is not None:
                run_manager.on_llm_new_token(_chunk_text(chunk), chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        reply = _plan(self.script, messages)
        if reply.error is not None:
            if reply.delay_s > 0:
                await asyncio.sleep(reply.delay_s)
            raise ScriptedModelError(reply.error)
        chunks = _chunks(reply)
        pause = reply.delay_s / len(chunks)
        for chunk in chunks:
            if pause > 0:
                await asyncio.sleep(pause)
            if run_manager is not None:
                await run_manager.on_llm_new_token(_chunk_text(chunk), chunk=chunk)
            yield chunk


def _chunk_text(chunk: ChatGenerationChunk) -> str:
    content = chunk.message.content
    return content if isinstance(content, str) else _content_text(content)
