"""Concurrent ``ainvoke``s on one event loop share the runnable and never block each other."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from langchain_classic.agents import AgentExecutor
from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.tools import tool
from openai import OpenAI

from langchain_assistants.client import OpenAIAssistantRunnable

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@tool
async def slow_lookup(key: str) -> str:
    """Look a key up, slowly."""
    await asyncio.sleep(0.05)
    return f"value-{key}"


RULES = [
    {
        "match": r"lookup (\w+)",
        "turns": [
            {"tool_calls": [{"name": "slow_lookup", "args": {"key": "k"}}]},
            {"content": "Result: {last_tool_output}", "delay_ms": 150},
        ],
    },
    {"match": r"echo", "turns": [{"content": "echoed", "delay_ms": 300}]},
]


@pytest.fixture
def agent(client: OpenAI, scripted_model: Callable[..., str]) -> OpenAIAssistantRunnable:
    return OpenAIAssistantRunnable.create_assistant(
        name="concurrent",
        instructions="",
        tools=[slow_lookup],
        model=scripted_model(RULES),
        client=client,
        as_agent=True,
    )


class TurnOrder(AsyncCallbackHandler):
    """Records when each turn (a root chain run) starts and ends, in order."""

    def __init__(self) -> None:
        self.events: list[str] = []

    async def on_chain_start(self, *args: Any, parent_run_id: Any = None, **kw: Any) -> None:
        if parent_run_id is None:
            self.events.append("start")

    async def on_chain_end(self, *args: Any, parent_run_id: Any = None, **kw: Any) -> None:
        if parent_run_id is None:
            self.events.append("end")


async def test_concurrent_ainvokes_overlap(agent: OpenAIAssistantRunnable) -> None:
    order = TurnOrder()
    config: Any = {"callbacks": [order]}
    results = await asyncio.gather(
        *(agent.ainvoke({"content": f"echo {i}"}, config) for i in range(12))
    )
    assert [r.return_values["output"] for r in results] == ["echoed"] * 12
    assert len({r.thread_id for r in results}) == 12
    # Each turn waits 300 ms in the model: if a turn blocked the loop, it would end before
    # the next one started. All twelve are in flight before the first one ends.
    assert order.events == ["start"] * 12 + ["end"] * 12


async def test_concurrent_agent_executors_and_threads(agent: OpenAIAssistantRunnable) -> None:
    executor = AgentExecutor(agent=agent, tools=[slow_lookup])  # type: ignore[arg-type]
    order = TurnOrder()
    config: Any = {"callbacks": [order]}
    first = await asyncio.gather(
        *(executor.ainvoke({"content": f"lookup item{i}"}, config) for i in range(6))
    )
    assert all(r["output"] == "Result: value-k" for r in first)
    # Second turn on each thread, concurrently too.
    second = await asyncio.gather(
        *(
            executor.ainvoke({"content": "lookup again", "thread_id": r["thread_id"]}, config)
            for r in first
        )
    )
    assert [r["thread_id"] for r in second] == [r["thread_id"] for r in first]
    assert all(r["output"] == "Result: value-k" for r in second)
    # Each round's six executors were all in flight before the first of them ended.
    assert order.events == (["start"] * 6 + ["end"] * 6) * 2


async def test_loop_stays_responsive_during_a_turn(agent: OpenAIAssistantRunnable) -> None:
    ticks = 0
    done = False

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            ticks += 1
            await asyncio.sleep(0.01)

    tick_task = asyncio.ensure_future(ticker())
    await agent.ainvoke({"content": "echo"})
    done = True
    await tick_task
    assert ticks >= 15  # ~300 ms of model time, the loop kept ticking
