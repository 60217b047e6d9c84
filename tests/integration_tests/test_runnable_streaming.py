"""Streaming: deltas arrive as LangChain custom events while the run is still going."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from langchain_classic.agents import AgentExecutor
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.tools import tool
from openai import OpenAI

from langchain_assistants.client import OpenAIAssistantFinish, OpenAIAssistantRunnable

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@tool
def get_weather(location: str) -> str:
    """Weather for a place."""
    return f"sunny in {location}"


RULES = [
    {
        "match": "weather",
        "turns": [
            {"tool_calls": [{"name": "get_weather", "args": {"location": "Paris, France"}}]},
            {"content": "It is {last_tool_output} today, enjoy it."},
        ],
    },
    {
        "match": "compute",
        "turns": [
            {"tool_calls": [{"name": "code_interpreter", "args": {"input": "print(6 * 7)"}}]},
            {"content": "The answer is {last_tool_output}"},
        ],
    },
    {"match": "", "turns": [{"content": "one two three four five six seven eight nine ten"}]},
]

CUSTOM = {
    "assistant_text_delta",
    "assistant_tool_call_delta",
    "assistant_code_interpreter_delta",
    "assistant_run_status",
}


@pytest.fixture
def agent(client: OpenAI, scripted_model: Callable[..., str]) -> OpenAIAssistantRunnable:
    return OpenAIAssistantRunnable.create_assistant(
        name="streamer",
        instructions="",
        tools=[get_weather, {"type": "code_interpreter"}],
        model=scripted_model(RULES),
        client=client,
        as_agent=True,
    )


async def custom_events(runnable: Any, inputs: dict[str, Any]) -> tuple[list[Any], Any]:
    events, output = [], None
    async for event in runnable.astream_events(inputs, version="v2"):
        if event["event"] == "on_custom_event":
            events.append(event)
        elif event["event"] == "on_chain_end" and event["name"] == runnable.get_name():
            output = event["data"]["output"]
    return events, output


async def test_text_deltas_in_astream_events(agent: OpenAIAssistantRunnable) -> None:
    events, output = await custom_events(agent, {"content": "hello"})
    assert {e["name"] for e in events} <= CUSTOM
    deltas = [e["data"] for e in events if e["name"] == "assistant_text_delta"]
    assert len(deltas) > 1
    assert "".join(d["text"] for d in deltas) == output.return_values["output"]
    assert {(d["thread_id"], d["run_id"]) for d in deltas} == {(output.thread_id, output.run_id)}
    # The first delta came before the run completed.
    names = [
        (e["name"], e["data"].get("status"))
        for e in events
        if e["name"] != "assistant_tool_call_delta"
    ]
    first_delta = names.index(("assistant_text_delta", None))
    assert names.index(("assistant_run_status", "completed")) > first_delta
    assert ("assistant_run_status", "in_progress") in names[:first_delta]


async def test_tool_call_and_code_interpreter_deltas(agent: OpenAIAssistantRunnable) -> None:
    events, actions = await custom_events(agent, {"content": "weather?"})
    calls = [e["data"] for e in events if e["name"] == "assistant_tool_call_delta"]
    assert {c["name"] for c in calls} == {"get_weather"}
    assert {c["tool_call_id"] for c in calls} == {actions[0].tool_call_id}
    assert json.loads("".join(c["arguments"] for c in calls)) == {"location": "Paris, France"}

    events, finish = await custom_events(agent, {"content": "compute it"})
    code = [e["data"] for e in events if e["name"] == "assistant_code_interpreter_delta"]
    assert "".join(c["input"] for c in code) == "print(6 * 7)"
    assert "".join(c["logs"] for c in code).strip() == "42"
    assert finish.return_values["output"].strip() == "The answer is 42"


async def test_deltas_visible_through_agent_executor(agent: OpenAIAssistantRunnable) -> None:
    executor = AgentExecutor(agent=agent, tools=[get_weather])  # type: ignore[arg-type]
    seen: dict[str, list[Any]] = {}
    final = None
    async for event in executor.astream_events({"content": "weather?"}, version="v2"):
        if event["event"] == "on_custom_event":
            seen.setdefault(event["name"], []).append(event["data"])
        if event["event"] == "on_chain_end" and event["name"] == "AgentExecutor":
            final = event["data"]["output"]
    assert final is not None
    text = "".join(d["text"] for d in seen["assistant_text_delta"])
    assert text == final["output"] == "It is sunny in Paris, France today, enjoy it."
    assert seen["assistant_tool_call_delta"]


class Recorder(BaseCallbackHandler):
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.ends: list[dict[str, Any]] = []

    def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.events.append((name, data))

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.ends.append(kwargs)


def test_sync_invoke_dispatches_to_callbacks(agent: OpenAIAssistantRunnable) -> None:
    recorder = Recorder()
    finish = agent.invoke({"content": "hello"}, {"callbacks": [recorder]})
    text = "".join(d["text"] for n, d in recorder.events if n == "assistant_text_delta")
    assert text == finish.return_values["output"]
    # Tracing: the run's ids and usage travel as metadata of the chain end.
    metadata = recorder.ends[-1]["metadata"]
    assert metadata["run_id"] == finish.run_id
    assert metadata["thread_id"] == finish.thread_id
    assert metadata["usage"]["total_tokens"] > 0


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_stream_chunks_add_up_to_invoke(agent: OpenAIAssistantRunnable, mode: str) -> None:
    if mode == "sync":
        chunks = await asyncio.to_thread(lambda: list(agent.stream({"content": "weather?"})))
    else:
        chunks = [c async for c in agent.astream({"content": "weather?"})]
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert isinstance(total, list) and total[0].tool == "get_weather"

    if mode == "sync":
        chunks = await asyncio.to_thread(lambda: list(agent.stream({"content": "hello"})))
    else:
        chunks = [c async for c in agent.astream({"content": "hello"})]
    assert len(chunks) == 1 and isinstance(chunks[0], OpenAIAssistantFinish)


async def test_polling_mode_still_answers(agent: OpenAIAssistantRunnable) -> None:
    poller = agent.model_copy(update={"use_streaming": False})
    events, output = await custom_events(poller, {"content": "hello"})
    assert events == []
    assert output.return_values["output"].startswith("one two")
