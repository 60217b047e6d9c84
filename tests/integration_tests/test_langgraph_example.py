"""The documented LangGraph loop (examples/langgraph_agent.py) over the bundled server."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from langchain_core.agents import AgentFinish
from langchain_core.tools import tool
from openai import OpenAI

from langchain_assistants import OpenAIAssistantRunnable

EXAMPLE = Path(__file__).parents[2] / "examples" / "langgraph_agent.py"


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("langgraph_agent", EXAMPLE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # LangGraph resolves the state's type hints through it
    spec.loader.exec_module(module)
    return module


@tool
def get_weather(location: str) -> str:
    """Weather for a place."""
    return f"sunny in {location}"


def test_graph_loops_through_tools_and_continues_a_thread(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    model = scripted_model(
        [
            {
                "match": "weather",
                "turns": [
                    {"tool_calls": [{"name": "get_weather", "args": {"location": "Oslo"}}]},
                    {"tool_calls": [{"name": "get_weather", "args": {"location": "Rome"}}]},
                    {"content": "Both: {last_tool_output}"},
                ],
            },
            {"match": "thanks", "turns": [{"content": "You're welcome."}]},
        ]
    )
    agent = OpenAIAssistantRunnable.create_assistant(
        name="graph",
        instructions="",
        tools=[get_weather],
        model=model,
        client=client,
        as_agent=True,
    )
    graph = _example().build_graph(agent, [get_weather])
    first = graph.invoke({"content": "weather in Oslo and Rome?"})["response"]
    assert isinstance(first, AgentFinish)
    assert first.return_values["output"] == "Both: sunny in Rome"
    thread_id = first.return_values["thread_id"]
    second = graph.invoke({"content": "thanks", "thread_id": thread_id})["response"]
    assert second.return_values["output"] == "You're welcome."
    assert second.return_values["thread_id"] == thread_id


def test_example_script_runs() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "10 - 4^2.7 is about -32.22425314473263." in result.stdout
