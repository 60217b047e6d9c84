"""The three ways of running a turn that the bench compares.

- ``ours``: ``langchain_assistants.OpenAIAssistantRunnable`` (``as_agent=True``, defaults).
- ``legacy``: ``langchain_classic``'s ``OpenAIAssistantRunnable`` at its defaults
  (``check_every_ms=1000``).
- ``floor``: the raw SDK streaming helpers consumed to the end: the least a client can do.

Each contender checks its answer, so a fast wrong turn cannot pass for a fast turn.
"""

from __future__ import annotations

from typing import Any, Protocol

from langchain_classic.agents.openai_assistant import OpenAIAssistantRunnable as LegacyRunnable
from openai import AsyncOpenAI, OpenAI

from langchain_assistants import OpenAIAssistantRunnable

from .fixtures import ANSWER, TOOL_ANSWER, TOOL_OUTPUT, Assistants
from .server import CLIENT_HEADER

OURS, LEGACY, FLOOR = "ours", "legacy", "floor"
NAMES = {OURS: "ours", LEGACY: "legacy (defaults)", FLOOR: "floor (raw SSE)"}
ORDER = (OURS, LEGACY, FLOOR)


class BenchError(RuntimeError):
    """A turn did not produce the scripted answer."""


def sync_client(base_url: str, tag: str) -> OpenAI:
    return OpenAI(
        base_url=base_url,
        api_key="bench",
        max_retries=0,
        timeout=300.0,
        default_headers={CLIENT_HEADER: tag},
    )


def async_client(base_url: str, tag: str) -> AsyncOpenAI:
    return AsyncOpenAI(
        base_url=base_url,
        api_key="bench",
        max_retries=0,
        timeout=300.0,
        default_headers={CLIENT_HEADER: tag},
    )


def _expect(actual: Any, expected: str, who: str) -> None:
    if actual != expected:
        raise BenchError(f"{who}: expected {expected!r}, got {actual!r}")


def _finish_output(result: Any, who: str) -> Any:
    if not hasattr(result, "return_values"):
        raise BenchError(f"{who}: expected a finish, got {result!r}")
    return result.return_values["output"]


class SyncContender(Protocol):
    tag: str

    def new_thread_turn(self, content: str) -> None: ...

    def thread_turn(self, thread_id: str, content: str) -> None: ...

    def tool_round_trip(self, content: str) -> None: ...


class AsyncContender(Protocol):
    tag: str

    async def new_thread_turn(self, content: str) -> None: ...

    async def aclose(self) -> None: ...


# --------------------------------------------------------------------------- runnables


class RunnableContender:
    """Ours or legacy: both take the same inputs and return actions / a finish."""

    def __init__(self, tag: str, runnable: Any, tool_runnable: Any = None) -> None:
        self.tag = tag
        self.runnable = runnable
        self.tool_runnable = tool_runnable

    def new_thread_turn(self, content: str) -> None:
        result = self.runnable.invoke({"content": content})
        _expect(_finish_output(result, self.tag), ANSWER, self.tag)

    def thread_turn(self, thread_id: str, content: str) -> None:
        result = self.runnable.invoke({"content": content, "thread_id": thread_id})
        _expect(_finish_output(result, self.tag), ANSWER, self.tag)

    def tool_round_trip(self, content: str) -> None:
        actions = self.tool_runnable.invoke({"content": content})
        if not isinstance(actions, list) or not actions:
            raise BenchError(f"{self.tag}: expected tool actions, got {actions!r}")
        outputs = [{"tool_call_id": a.tool_call_id, "output": TOOL_OUTPUT} for a in actions]
        first = actions[0]
        finish = self.tool_runnable.invoke(
            {"tool_outputs": outputs, "run_id": first.run_id, "thread_id": first.thread_id}
        )
        _expect(_finish_output(finish, self.tag), TOOL_ANSWER, self.tag)


class AsyncRunnableContender:
    """``ainvoke`` of ours or legacy."""

    def __init__(self, tag: str, runnable: Any) -> None:
        self.tag = tag
        self.runnable = runnable

    async def new_thread_turn(self, content: str) -> None:
        result = await self.runnable.ainvoke({"content": content})
        _expect(_finish_output(result, self.tag), ANSWER, self.tag)

    async def aclose(self) -> None:
        await self.runnable.async_client.close()
        self.runnable.client.close()


def ours(base_url: str, assistants: Assistants) -> RunnableContender:
    client, aclient = sync_client(base_url, OURS), async_client(base_url, OURS)

    def make(assistant_id: str) -> OpenAIAssistantRunnable:
        return OpenAIAssistantRunnable(
            assistant_id=assistant_id, client=client, async_client=aclient, as_agent=True
        )

    return RunnableContender(OURS, make(assistants.text), make(assistants.tool))


def legacy(base_url: str, assistants: Assistants) -> RunnableContender:
    client, aclient = sync_client(base_url, LEGACY), async_client(base_url, LEGACY)

    def make(assistant_id: str) -> LegacyRunnable:
        # Both clients given: the legacy default async client would lose the base URL.
        return LegacyRunnable(
            assistant_id=assistant_id, client=client, async_client=aclient, as_agent=True
        )

    return RunnableContender(LEGACY, make(assistants.text), make(assistants.tool))


def async_ours(base_url: str, assistant_id: str) -> AsyncRunnableContender:
    runnable = OpenAIAssistantRunnable(
        assistant_id=assistant_id, async_client=async_client(base_url, OURS), as_agent=True
    )
    return AsyncRunnableContender(OURS, runnable)


def async_legacy(base_url: str, assistant_id: str) -> AsyncRunnableContender:
    runnable = LegacyRunnable(
        assistant_id=assistant_id,
        client=sync_client(base_url, LEGACY),
        async_client=async_client(base_url, LEGACY),
        as_agent=True,
    )
    return AsyncRunnableContender(LEGACY, runnable)


# --------------------------------------------------------------------------- raw SDK


def _text_of(run_messages: list[Any]) -> str:
    return "".join(
        block.text.value for m in run_messages for block in m.content if block.type == "text"
    )


class Floor:
    """The raw SDK streaming helpers, each request consumed to its end."""

    tag = FLOOR

    def __init__(self, base_url: str, assistants: Assistants) -> None:
        self.client = sync_client(base_url, FLOOR)
        self.assistants = assistants

    def new_thread_turn(self, content: str) -> None:
        with self.client.beta.threads.create_and_run_stream(
            assistant_id=self.assistants.text,
            thread={"messages": [{"role": "user", "content": content}]},
        ) as stream:
            stream.until_done()
            _expect(_text_of(stream.get_final_messages()), ANSWER, self.tag)

    def thread_turn(self, thread_id: str, content: str) -> None:
        # One request: the user's message rides on the run as an additional message.
        with self.client.beta.threads.runs.stream(
            thread_id=thread_id,
            assistant_id=self.assistants.text,
            additional_messages=[{"role": "user", "content": content}],
        ) as stream:
            stream.until_done()
            _expect(_text_of(stream.get_final_messages()), ANSWER, self.tag)

    def tool_round_trip(self, content: str) -> None:
        with self.client.beta.threads.create_and_run_stream(
            assistant_id=self.assistants.tool,
            thread={"messages": [{"role": "user", "content": content}]},
        ) as stream:
            stream.until_done()
            run = stream.get_final_run()
        if run.required_action is None:
            raise BenchError(f"floor: expected requires_action, got {run.status}")
        outputs: list[Any] = [
            {"tool_call_id": call.id, "output": TOOL_OUTPUT}
            for call in run.required_action.submit_tool_outputs.tool_calls
        ]
        with self.client.beta.threads.runs.submit_tool_outputs_stream(
            run_id=run.id, thread_id=run.thread_id, tool_outputs=outputs
        ) as stream:
            stream.until_done()
            _expect(_text_of(stream.get_final_messages()), TOOL_ANSWER, self.tag)


class AsyncFloor:
    tag = FLOOR

    def __init__(self, base_url: str, assistant_id: str) -> None:
        self.client = async_client(base_url, FLOOR)
        self.assistant_id = assistant_id

    async def new_thread_turn(self, content: str) -> None:
        async with self.client.beta.threads.create_and_run_stream(
            assistant_id=self.assistant_id,
            thread={"messages": [{"role": "user", "content": content}]},
        ) as stream:
            await stream.until_done()
            _expect(_text_of(await stream.get_final_messages()), ANSWER, self.tag)

    async def aclose(self) -> None:
        await self.client.close()
