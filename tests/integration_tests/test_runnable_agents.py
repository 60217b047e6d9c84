"""The runnable as an agent: AgentExecutor (sync/async), tool errors, early stops, policies."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from langchain_classic.agents import AgentExecutor
from langchain_core.agents import AgentFinish
from langchain_core.tools import ToolException, tool
from openai import OpenAI

from langchain_assistants.client import (
    AssistantThreadBusyError,
    OpenAIAssistantAction,
    OpenAIAssistantRunnable,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@tool
def get_weather(location: str) -> str:
    """Weather for a place."""
    return f"sunny in {location}"


@tool
def get_time() -> str:
    """The time."""
    return "noon"


@tool
def stats(numbers: list[float]) -> dict[str, Any]:
    """Summary statistics (returns a dict, not a string)."""
    return {"count": len(numbers), "total": sum(numbers)}


@tool
def flaky(x: str) -> str:
    """Always fails."""
    raise ToolException(f"flaky tool failed on {x}")


flaky.handle_tool_error = True

TOOLS = [get_weather, get_time, stats, flaky]

RULES = [
    {
        "match": "weather",
        "turns": [
            {
                "tool_calls": [
                    {"name": "get_weather", "args": {"location": "Paris"}},
                    {"name": "get_time", "args": {}},
                ]
            },
            {"tool_calls": [{"name": "get_weather", "args": {"location": "Rome"}}]},
            {"content": "Done: {last_tool_output}"},
        ],
    },
    {
        "match": "stats",
        "turns": [
            {"tool_calls": [{"name": "stats", "args": {"numbers": [1, 2, 3.5]}}]},
            {"content": "{last_tool_output}"},
        ],
    },
    {
        "match": "flaky",
        "turns": [
            {"tool_calls": [{"name": "flaky", "args": {"x": "input"}}]},
            {"content": "Observed: {last_tool_output}"},
        ],
    },
    {
        "match": "unknown tool",
        "turns": [
            {"tool_calls": [{"name": "not_a_tool", "args": {"a": 1}}]},
            {"content": "Observed: {last_tool_output}"},
        ],
    },
    {"match": "slow", "turns": [{"content": "slow answer", "delay_ms": 400}]},
    {"match": "", "turns": [{"content": "plain answer"}]},
]


@pytest.fixture
def agent(client: OpenAI, scripted_model: Callable[..., str]) -> OpenAIAssistantRunnable:
    return OpenAIAssistantRunnable.create_assistant(
        name="agent",
        instructions="Use tools.",
        tools=TOOLS,
        model=scripted_model(RULES),
        client=client,
        as_agent=True,
    )


async def run_executor(executor: AgentExecutor, mode: str, inputs: dict[str, Any]) -> Any:
    if mode == "sync":
        return await asyncio.to_thread(executor.invoke, inputs)
    return await executor.ainvoke(inputs)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_parallel_calls_and_two_rounds_in_one_run(
    agent: OpenAIAssistantRunnable, client: OpenAI, mode: str
) -> None:
    executor = AgentExecutor(agent=agent, tools=TOOLS, return_intermediate_steps=True)  # type: ignore[arg-type]
    result = await run_executor(executor, mode, {"content": "weather please"})
    assert result["output"] == "Done: sunny in Rome"
    steps = result["intermediate_steps"]
    assert [a.tool for a, _ in steps] == ["get_weather", "get_time", "get_weather"]
    # All rounds belong to one run; each round submitted only its own pending calls.
    assert {a.run_id for a, _ in steps} == {result["run_id"]}
    run_steps = client.beta.threads.runs.steps.list(
        result["run_id"], thread_id=result["thread_id"], order="asc"
    )
    outputs = [
        call.function.output
        for step in run_steps
        if step.step_details.type == "tool_calls"
        for call in step.step_details.tool_calls  # type: ignore[union-attr]
        if call.type == "function"
    ]
    assert outputs == ["sunny in Paris", "noon", "sunny in Rome"]
    assert result["usage"]["total_tokens"] > 0


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_non_string_outputs_are_json(agent: OpenAIAssistantRunnable, mode: str) -> None:
    executor = AgentExecutor(agent=agent, tools=TOOLS)  # type: ignore[arg-type]
    result = await run_executor(executor, mode, {"content": "stats please"})
    assert json.loads(result["output"]) == {"count": 3, "total": 6.5}


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_tool_errors_go_back_to_the_model(agent: OpenAIAssistantRunnable, mode: str) -> None:
    executor = AgentExecutor(agent=agent, tools=TOOLS)  # type: ignore[arg-type]
    result = await run_executor(executor, mode, {"content": "flaky please"})
    assert result["output"] == "Observed: flaky tool failed on input"
    result = await run_executor(executor, mode, {"content": "unknown tool please"})
    assert result["output"].startswith("Observed: not_a_tool is not a valid tool")


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_early_stop_leaves_thread_usable(
    agent: OpenAIAssistantRunnable, client: OpenAI, mode: str
) -> None:
    executor = AgentExecutor(agent=agent, tools=TOOLS, max_iterations=1)  # type: ignore[arg-type]
    stopped = await run_executor(executor, mode, {"content": "weather please"})
    assert "stopped" in stopped["output"].lower()
    thread = client.beta.threads.create()
    stopped = await run_executor(
        executor, mode, {"content": "weather please", "thread_id": thread.id}
    )
    [abandoned] = client.beta.threads.runs.list(thread.id).data
    assert abandoned.status == "requires_action"  # the executor gave up mid-run

    # Next turn on the same thread: the runnable cancels the abandoned run first.
    full = AgentExecutor(agent=agent, tools=TOOLS)  # type: ignore[arg-type]
    result = await run_executor(full, mode, {"content": "hello", "thread_id": thread.id})
    assert result["output"] == "plain answer"
    runs = {r.id: r.status for r in client.beta.threads.runs.list(thread.id)}
    assert runs[abandoned.id] == "cancelled"


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_on_active_run_raise_and_wait(
    client: OpenAI, scripted_model: Callable[..., str], mode: str
) -> None:
    model = scripted_model(RULES)
    strict = OpenAIAssistantRunnable.create_assistant(
        name="strict",
        instructions="",
        tools=TOOLS,
        model=model,
        client=client,
        as_agent=True,
        on_active_run="raise",
    )
    actions = strict.invoke({"content": "weather please"})
    thread_id = actions[0].thread_id
    if mode == "sync":
        with pytest.raises(AssistantThreadBusyError) as info:
            strict.invoke({"content": "hello", "thread_id": thread_id})
    else:
        with pytest.raises(AssistantThreadBusyError) as info:
            await strict.ainvoke({"content": "hello", "thread_id": thread_id})
    assert info.value.run_id == actions[0].run_id
    assert info.value.status == "requires_action"

    # "wait": a slow run in progress on the thread finishes, then our turn runs.
    patient = OpenAIAssistantRunnable(
        assistant_id=strict.assistant_id, client=client, as_agent=True, on_active_run="wait"
    )
    assert strict.cancel_active_runs(thread_id)[0].id == actions[0].run_id
    slow = asyncio.ensure_future(patient.ainvoke({"content": "slow", "thread_id": thread_id}))
    for _ in range(200):
        runs = client.beta.threads.runs.list(thread_id, limit=1).data
        if runs and runs[0].status == "in_progress":
            break
        await asyncio.sleep(0.01)
    if mode == "sync":
        second = await asyncio.to_thread(
            patient.invoke, {"content": "hello", "thread_id": thread_id}
        )
    else:
        second = await patient.ainvoke({"content": "hello", "thread_id": thread_id})
    first = await slow
    assert first.return_values["output"] == "slow answer"
    assert second.return_values["output"] == "plain answer"


async def test_custom_async_execution_loop(agent: OpenAIAssistantRunnable) -> None:
    tool_map = {t.name: t for t in TOOLS}
    response = await agent.ainvoke({"content": "weather please"})
    rounds = 0
    while not isinstance(response, AgentFinish):
        rounds += 1
        assert all(isinstance(a, OpenAIAssistantAction) for a in response)
        outputs = [
            {"output": await tool_map[a.tool].ainvoke(a.tool_input), "tool_call_id": a.tool_call_id}
            for a in response
        ]
        response = await agent.ainvoke(
            {
                "tool_outputs": outputs,
                "run_id": response[0].run_id,
                "thread_id": response[0].thread_id,
            }
        )
    assert rounds == 2
    assert response.return_values["output"] == "Done: sunny in Rome"


async def test_intermediate_steps_from_earlier_runs_are_ignored(
    agent: OpenAIAssistantRunnable,
) -> None:
    earlier = await agent.ainvoke({"content": "stats please"})
    finish = await agent.ainvoke({"intermediate_steps": [(earlier[0], {"count": 0, "total": 0})]})
    current = await agent.ainvoke({"content": "weather please"})
    # Steps accumulate across runs: only the current run's pending calls are submitted.
    steps = [(earlier[0], "stale"), *[(a, f"out-{a.tool}") for a in current]]
    nxt = await agent.ainvoke({"intermediate_steps": steps})
    assert [a.tool for a in nxt] == ["get_weather"]
    steps += [(nxt[0], "final")]
    done = await agent.ainvoke({"intermediate_steps": steps})
    assert done.return_values["output"] == "Done: final"
    assert json.loads(finish.return_values["output"]) == {"count": 0, "total": 0}
