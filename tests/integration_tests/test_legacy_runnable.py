"""The legacy ``langchain_classic`` OpenAIAssistantRunnable, unchanged, runs against our server."""

from __future__ import annotations

from collections.abc import Callable

from langchain_classic.agents import AgentExecutor
from langchain_classic.agents.openai_assistant import OpenAIAssistantRunnable as LegacyRunnable
from langchain_core.tools import tool
from openai import OpenAI


@tool
def get_weather(location: str) -> str:
    """Current temperature in Fahrenheit for a place."""
    return f"67 F in {location}"


def test_legacy_runnable_with_agent_executor(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    model = scripted_model(
        [
            {
                "match": "weather",
                "turns": [
                    {"tool_calls": [{"name": "get_weather", "args": {"location": "SF"}}]},
                    {"content": "It is {last_tool_output}."},
                ],
            },
        ]
    )
    agent = LegacyRunnable.create_assistant(
        name="legacy",
        instructions="You answer weather questions.",
        tools=[get_weather],
        model=model,
        client=client,
        as_agent=True,
        check_every_ms=20,
    )
    executor = AgentExecutor(agent=agent, tools=[get_weather])  # type: ignore[arg-type]
    result = executor.invoke({"content": "What's the weather in SF today?"})
    assert result["output"] == "It is 67 F in SF."
    assert result["thread_id"].startswith("thread_") and result["run_id"].startswith("run_")


def test_legacy_runnable_code_interpreter_only(client: OpenAI) -> None:
    assistant = LegacyRunnable.create_assistant(
        name="langchain assistant",
        instructions="You are a personal math tutor. Write and run code to answer math questions.",
        tools=[{"type": "code_interpreter"}],
        model="gpt-4o",
        client=client,
        check_every_ms=20,
    )
    output = assistant.invoke({"content": "What's 10 - 4 raised to the 2.7"})
    assert output[0].content[0].text.value == "The result is -32.22425314473263\n."
