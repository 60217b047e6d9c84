"""Seed 000 (the LangChain "OpenAI assistants" page), snippet by snippet, on our server.

Only the import changes (``from langchain_assistants import OpenAIAssistantRunnable``), the
client points at the bundled server, and E2B / DuckDuckGo become local ``@tool`` functions
with the same shapes (a code runner returning ``{"stdout", "stderr", "artifacts"}``, a
single-input search).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.agents import AgentFinish
from langchain_core.tools import tool
from openai import OpenAI
from openai.types.beta.threads import Message

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@tool
def e2b_data_analysis(python_code: str) -> dict[str, Any]:
    """Run Python code and return its stdout, stderr and artifacts (stands in for E2B)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(python_code, {})
    return {"stdout": out.getvalue().strip(), "stderr": "", "artifacts": []}


@tool
def duckduckgo_search(query: str) -> str:
    """Search the web (stands in for DuckDuckGoSearchRun)."""
    return "San Francisco weather today: 67 °F, sunny."


tools = [e2b_data_analysis, duckduckgo_search]

INTERPRETER_RULES = [
    {
        "match": "raised to the 2.7",
        "turns": [
            {
                "tool_calls": [
                    {"name": "code_interpreter", "args": {"input": "print(10 - 4 ** 2.7)"}}
                ]
            },
            {"content": "The result of the calculation is approximately {last_tool_output}."},
        ],
    }
]

AGENT_RULES = [
    {
        "match": "weather in SF",
        "turns": [
            {"tool_calls": [{"name": "duckduckgo_search", "args": {"query": "weather in SF"}}]},
            {
                "tool_calls": [
                    {"name": "e2b_data_analysis", "args": {"python_code": "print(67 / 2.7)"}}
                ]
            },
            {"content": "67 °F divided by 2.7 is approximately {last_tool_output}."},
        ],
    },
    {
        "match": "now add 17.241",
        "turns": [
            {
                "tool_calls": [
                    {
                        "name": "e2b_data_analysis",
                        "args": {"python_code": "result = 10 - 4 ** 2.7 + 17.241\nprint(result)"},
                    }
                ]
            },
            {"content": "10 - 4^2.7 + 17.241 equals approximately {last_tool_output}"},
        ],
    },
    {
        "match": "raised to the 2.7",
        "turns": [
            {
                "tool_calls": [
                    {
                        "name": "e2b_data_analysis",
                        "args": {"python_code": "result = 10 - 4 ** 2.7\nprint(result)"},
                    }
                ]
            },
            {"content": "10 - 4^2.7 equals approximately {last_tool_output}"},
        ],
    },
]


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, server: Any) -> None:
    # The page builds clients from the environment: point them at the bundled server.
    monkeypatch.setenv("OPENAI_API_KEY", server.api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)


def execute_agent(agent, tools, input):  # type: ignore[no-untyped-def]
    # Verbatim from the page (minus the print).
    tool_map = {tool.name: tool for tool in tools}
    response = agent.invoke(input)
    while not isinstance(response, AgentFinish):
        tool_outputs = []
        for action in response:
            tool_output = tool_map[action.tool].invoke(action.tool_input)
            tool_outputs.append({"output": tool_output, "tool_call_id": action.tool_call_id})
        response = agent.invoke(
            {
                "tool_outputs": tool_outputs,
                "run_id": action.run_id,
                "thread_id": action.thread_id,
            }
        )

    return response


def test_package_root_exports_the_runnable() -> None:
    import langchain_assistants
    from langchain_assistants import client

    for name in client.__all__:
        assert getattr(langchain_assistants, name) is getattr(client, name), name


def test_using_only_openai_tools(scripted_model: Callable[..., str]) -> None:
    from langchain_assistants import OpenAIAssistantRunnable

    interpreter_assistant = OpenAIAssistantRunnable.create_assistant(
        name="langchain assistant",
        instructions="You are a personal math tutor. Write and run code to answer math questions.",
        tools=[{"type": "code_interpreter"}],
        model=scripted_model(INTERPRETER_RULES),
    )
    output = interpreter_assistant.invoke({"content": "What's 10 - 4 raised to the 2.7"})
    assert isinstance(output, list) and len(output) == 1
    message = output[0]
    assert isinstance(message, Message)
    assert message.role == "assistant"
    assert message.assistant_id == interpreter_assistant.assistant_id
    assert "-32.22425314473263" in message.content[0].text.value  # type: ignore[union-attr]


def test_agent_executor_with_arbitrary_tools(scripted_model: Callable[..., str]) -> None:
    from langchain_classic.agents import AgentExecutor

    from langchain_assistants import OpenAIAssistantRunnable

    agent = OpenAIAssistantRunnable.create_assistant(
        name="langchain assistant e2b tool",
        instructions="You are a personal math tutor. Write and run code to answer math "
        "questions. You can also search the internet.",
        tools=tools,
        model=scripted_model(AGENT_RULES),
        as_agent=True,
    )
    agent_executor = AgentExecutor(agent=agent, tools=tools)  # type: ignore[arg-type]
    result = agent_executor.invoke({"content": "What's the weather in SF today divided by 2.7"})
    assert result["content"] == "What's the weather in SF today divided by 2.7"
    assert "24.81481481481481" in result["output"]
    assert result["thread_id"].startswith("thread_")
    assert result["run_id"].startswith("run_")


def test_custom_execution_and_existing_thread(scripted_model: Callable[..., str]) -> None:
    from langchain_assistants import OpenAIAssistantRunnable

    agent = OpenAIAssistantRunnable.create_assistant(
        name="langchain assistant e2b tool",
        instructions="You are a personal math tutor. Write and run code to answer math questions.",
        tools=tools,
        model=scripted_model(AGENT_RULES),
        as_agent=True,
    )
    response = execute_agent(agent, tools, {"content": "What's 10 - 4 raised to the 2.7"})
    # The tool returned a dict; it reached the model as JSON.
    assert '"stdout": "-32.22425314473263"' in response.return_values["output"]

    next_response = execute_agent(
        agent,
        tools,
        {"content": "now add 17.241", "thread_id": response.return_values["thread_id"]},
    )
    assert "-14.983253144732629" in next_response.return_values["output"]
    assert next_response.return_values["thread_id"] == response.return_values["thread_id"]


def test_using_existing_assistant(client: OpenAI, scripted_model: Callable[..., str]) -> None:
    from langchain_assistants import OpenAIAssistantRunnable

    assistant_id = client.beta.assistants.create(
        model=scripted_model(AGENT_RULES), tools=[{"type": "code_interpreter"}]
    ).id
    agent = OpenAIAssistantRunnable(assistant_id=assistant_id, as_agent=True)
    response = execute_agent(agent, tools, {"content": "What's 10 - 4 raised to the 2.7"})
    assert "-32.22425314473263" in response.return_values["output"]
