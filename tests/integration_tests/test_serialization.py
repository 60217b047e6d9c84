"""Serialization: the runnable round-trips through ``dumpd``/``load`` without secrets, and
its outputs survive LangGraph checkpointing without the "unregistered type" warning."""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from langchain_core.load import dumpd, dumps, load
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from openai import OpenAI

from langchain_assistants import (
    CHECKPOINT_ALLOWLIST,
    OpenAIAssistantAction,
    OpenAIAssistantFinish,
    OpenAIAssistantRunnable,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
EXAMPLE = Path(__file__).parents[2] / "examples" / "langgraph_agent.py"


@tool
def get_weather(location: str) -> str:
    """Weather for a place."""
    return f"sunny in {location}"


def test_runnable_dumpd_and_load_round_trip_without_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "sk-never-in-the-output"
    runnable = OpenAIAssistantRunnable(
        assistant_id="asst_1",
        as_agent=True,
        timeout=42.0,
        on_active_run="wait",
        client=OpenAI(api_key=secret, base_url="http://127.0.0.1:9/v1"),
    )
    data = dumpd(runnable)
    assert data["type"] == "constructor"
    assert data["id"] == ["langchain_assistants", "OpenAIAssistantRunnable"]
    assert secret not in json.dumps(data) and secret not in dumps(runnable)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    back = load(
        data, valid_namespaces=["langchain_assistants"], allowed_objects=[OpenAIAssistantRunnable]
    )
    assert isinstance(back, OpenAIAssistantRunnable)
    assert (back.assistant_id, back.as_agent, back.timeout, back.on_active_run) == (
        "asst_1",
        True,
        42.0,
        "wait",
    )


def test_outputs_survive_langgraph_checkpointing_without_warnings(
    client: OpenAI, scripted_model: Callable[..., str], caplog: pytest.LogCaptureFixture
) -> None:
    spec = importlib.util.spec_from_file_location("langgraph_agent", EXAMPLE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    model = scripted_model(
        [
            {
                "match": "weather",
                "turns": [
                    {"tool_calls": [{"name": "get_weather", "args": {"location": "Oslo"}}]},
                    {"content": "It is {last_tool_output}."},
                ],
            }
        ]
    )
    agent = OpenAIAssistantRunnable.create_assistant(
        name="checkpointed",
        instructions="",
        tools=[get_weather],
        model=model,
        client=client,
        as_agent=True,
    )
    saver = InMemorySaver(serde=JsonPlusSerializer(allowed_msgpack_modules=CHECKPOINT_ALLOWLIST))
    graph = module.build_graph(agent, [get_weather], checkpointer=saver)
    config = {"configurable": {"thread_id": "conversation-1"}}
    caplog.set_level(logging.WARNING)
    graph.invoke({"content": "weather in Oslo?"}, config)
    history = list(graph.get_state_history(config))
    responses = [snapshot.values.get("response") for snapshot in history]
    finish = history[0].values["response"]
    assert isinstance(finish, OpenAIAssistantFinish)
    assert finish.return_values["output"] == "It is sunny in Oslo."
    actions = [r for r in responses if isinstance(r, list) and r]
    assert actions and all(isinstance(a, OpenAIAssistantAction) for a in actions[0])
    assert actions[0][0].run_id == finish.run_id
    noisy = [r.getMessage() for r in caplog.records if "unregistered" in r.getMessage().lower()]
    blocked = [r.getMessage() for r in caplog.records if "Blocked" in r.getMessage()]
    assert not noisy and not blocked
