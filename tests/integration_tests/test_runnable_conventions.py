"""LangChain's own conventions: standard token streaming, event loops, ValueError, clear
connection errors and strict input (issue: a newcomer's first hour)."""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessageChunk
from langchain_core.tools import tool
from openai import AsyncOpenAI, OpenAI

from langchain_assistants import (
    AssistantConnectionError,
    AssistantRunFailedError,
    OpenAIAssistantFinish,
    OpenAIAssistantRunnable,
)
from langchain_assistants.server.embedded import RunningServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ANSWER = "one two three four five six seven eight"
RULES = [
    {"match": "explode", "turns": [{"error": "model backend unavailable"}]},
    {
        "match": "weather",
        "turns": [
            {"tool_calls": [{"name": "get_weather", "args": {"location": "Oslo"}}]},
            {"content": "It is {last_tool_output}."},
        ],
    },
    {"match": "", "turns": [{"content": ANSWER}]},
]
EXAMPLE = Path(__file__).parents[2] / "examples" / "langgraph_agent.py"


@tool
def get_weather(location: str) -> str:
    """Weather for a place."""
    return f"sunny in {location}"


@pytest.fixture
def assistant(client: OpenAI, scripted_model: Callable[..., str]) -> OpenAIAssistantRunnable:
    return OpenAIAssistantRunnable.create_assistant(
        name="conventions",
        instructions="",
        tools=[get_weather],
        model=scripted_model(RULES),
        client=client,
        as_agent=True,
    )


def _text(chunks: list[Any]) -> str:
    return "".join(str(c.content) for c in chunks)


async def test_astream_events_has_chat_model_stream_chunks(
    assistant: OpenAIAssistantRunnable,
) -> None:
    chunks, kinds, output = [], [], None
    async for event in assistant.astream_events({"content": "hello"}, version="v2"):
        kinds.append(event["event"])
        if event["event"] == "on_chat_model_stream":
            chunks.append(event["data"]["chunk"])
        elif event["event"] == "on_chain_end" and event["name"] == assistant.get_name():
            output = event["data"]["output"]
    assert len(chunks) > 1 and all(isinstance(c, AIMessageChunk) for c in chunks)
    assert _text(chunks) == ANSWER
    assert kinds.index("on_chat_model_start") < kinds.index("on_chat_model_stream")
    assert "on_chat_model_end" in kinds
    assert isinstance(output, OpenAIAssistantFinish)
    assert output.return_values["output"] == ANSWER


def test_sync_invoke_reports_tokens_to_chat_model_callbacks(
    assistant: OpenAIAssistantRunnable,
) -> None:
    class Tokens(BaseCallbackHandler):
        def __init__(self) -> None:
            self.chunks: list[Any] = []
            self.ended: list[Any] = []

        def on_llm_new_token(self, token: str, *, chunk: Any = None, **kwargs: Any) -> None:
            self.chunks.append(chunk.message)

        def on_llm_end(self, response: Any, **kwargs: Any) -> None:
            self.ended.append(response.generations[0][0].message.content)

    handler = Tokens()
    finish = assistant.invoke({"content": "hello"}, config={"callbacks": [handler]})
    assert isinstance(finish, OpenAIAssistantFinish)
    assert _text(handler.chunks) == ANSWER and handler.ended == [ANSWER]
    assert len({c.id for c in handler.chunks}) == 1  # one message: one id


def test_langgraph_stream_mode_messages_yields_the_answer(
    assistant: OpenAIAssistantRunnable,
) -> None:
    spec = importlib.util.spec_from_file_location("langgraph_agent", EXAMPLE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    graph = module.build_graph(assistant, [get_weather])
    chunks = [
        message
        for message, _metadata in graph.stream(
            {"content": "weather in Oslo?"}, stream_mode="messages"
        )
        if isinstance(message, AIMessageChunk)
    ]
    assert _text(chunks) == "It is sunny in Oslo."


def test_runnable_survives_two_event_loops(assistant: OpenAIAssistantRunnable) -> None:
    first = asyncio.run(assistant.ainvoke({"content": "hello"}))
    second = asyncio.run(assistant.ainvoke({"content": "hello again"}))
    assert first.return_values["output"] == second.return_values["output"] == ANSWER


async def test_user_async_client_is_kept_as_given(
    server: RunningServer, client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    async with AsyncOpenAI(base_url=server.base_url, api_key=server.api_key) as given:
        runnable = await OpenAIAssistantRunnable.acreate_assistant(
            name="given",
            instructions="",
            tools=[],
            model=scripted_model(RULES),
            client=client,
            async_client=given,
        )
        assert runnable.async_client is given
        await runnable.ainvoke({"content": "hello"})
        assert runnable.async_client is given


def test_failed_runs_are_still_value_errors(assistant: OpenAIAssistantRunnable) -> None:
    with pytest.raises(ValueError) as caught:
        assistant.invoke({"content": "explode"})
    assert isinstance(caught.value, AssistantRunFailedError)
    assert "model backend unavailable" in str(caught.value)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_server_names_the_url_and_what_to_check() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    runnable = OpenAIAssistantRunnable(
        assistant_id="asst_x", client=OpenAI(base_url=url, api_key="k", max_retries=0)
    )
    with pytest.raises(AssistantConnectionError) as caught:
        runnable.invoke({"content": "hi"})
    message = str(caught.value)
    assert url in message and "server is running" in message and "base_url" in message
    assert isinstance(caught.value, openai.APIConnectionError)
    with pytest.raises(AssistantConnectionError, match="server is running"):
        asyncio.run(runnable.ainvoke({"content": "hi"}))
    with pytest.raises(AssistantConnectionError, match=url):
        OpenAIAssistantRunnable.create_assistant(
            "n", "i", [], "gpt-4o", client=OpenAI(base_url=url, api_key="k", max_retries=0)
        )


@pytest.mark.parametrize(
    ("inputs", "named"),
    [
        ({"content": "hi", "threadid": "thread_x"}, "'thread_id'"),
        ({"contnet": "hi"}, "'content'"),
        ({"content": ""}, "'content' is empty"),
        ({"content": "   "}, "'content' is empty"),
        ({"content": []}, "'content' is empty"),
    ],
)
def test_strict_input_names_the_accepted_keys(
    assistant: OpenAIAssistantRunnable, inputs: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValueError, match="Accepted input keys") as caught:
        assistant.invoke(inputs)
    assert named in str(caught.value)
