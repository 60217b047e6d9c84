"""Runs that end without an answer raise typed errors that say why (sync and async)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.tools import tool
from openai import OpenAI

from langchain_assistants.client import (
    AssistantRunCancelledError,
    AssistantRunError,
    AssistantRunExpiredError,
    AssistantRunFailedError,
    AssistantRunIncompleteError,
    AssistantRunTimeoutError,
    OpenAIAssistantRunnable,
)
from langchain_assistants.server.embedded import RunningServer, start_server

from .helpers import SCRIPT_FILES

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RULES = [
    {"match": "explode", "turns": [{"error": "model backend unavailable"}]},
    {"match": "ramble", "turns": [{"content": " ".join(["word"] * 400)}]},
    {"match": "slow", "turns": [{"content": "finally", "delay_ms": 3000}]},
    {
        "match": "tool",
        "turns": [
            {"tool_calls": [{"name": "lookup", "args": {"key": "a"}}]},
            {"content": "got {last_tool_output}"},
        ],
    },
    {"match": "", "turns": [{"content": "fine"}]},
]


@tool
def lookup(key: str) -> str:
    """Look a key up."""
    return key.upper()


async def call(runnable: OpenAIAssistantRunnable, mode: str, inputs: dict[str, Any]) -> Any:
    if mode == "sync":
        return await asyncio.to_thread(runnable.invoke, inputs)
    return await runnable.ainvoke(inputs)


def make(client: OpenAI, model: str, **kw: Any) -> OpenAIAssistantRunnable:
    return OpenAIAssistantRunnable.create_assistant(
        name="errors", instructions="", tools=[lookup], model=model, client=client, **kw
    )


MODES = [
    pytest.param("sync", True, id="sync-stream"),
    pytest.param("async", True, id="async-stream"),
    pytest.param("sync", False, id="sync-poll"),
    pytest.param("async", False, id="async-poll"),
]


@pytest.mark.parametrize(("mode", "streaming"), MODES)
async def test_failed_run(
    client: OpenAI, scripted_model: Callable[..., str], mode: str, streaming: bool
) -> None:
    runnable = make(client, scripted_model(RULES), as_agent=True, use_streaming=streaming)
    with pytest.raises(AssistantRunFailedError) as info:
        await call(runnable, mode, {"content": "explode"})
    error = info.value
    assert isinstance(error, AssistantRunError)
    assert error.status == "failed"
    assert error.last_error is not None and error.last_error.code == "server_error"
    assert "model backend unavailable" in str(error)
    assert error.run is not None and error.run_id == error.run.id
    assert error.thread_id
    # The thread is usable again.
    finish = await call(runnable, mode, {"content": "hello", "thread_id": error.thread_id})
    assert finish.return_values["output"] == "fine"


@pytest.mark.parametrize(("mode", "streaming"), MODES)
async def test_incomplete_run(
    client: OpenAI, scripted_model: Callable[..., str], mode: str, streaming: bool
) -> None:
    runnable = make(client, scripted_model(RULES), use_streaming=streaming)
    with pytest.raises(AssistantRunIncompleteError) as info:
        await call(runnable, mode, {"content": "ramble", "max_completion_tokens": 256})
    assert info.value.incomplete_details is not None
    assert info.value.incomplete_details.reason == "max_completion_tokens"
    assert "max_completion_tokens" in str(info.value)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_run_cancelled_by_someone_else(
    client: OpenAI, scripted_model: Callable[..., str], mode: str
) -> None:
    runnable = make(client, scripted_model(RULES))
    thread = client.beta.threads.create()
    task = asyncio.ensure_future(call(runnable, mode, {"content": "slow", "thread_id": thread.id}))
    run = None
    for _ in range(200):
        runs = client.beta.threads.runs.list(thread.id, limit=1).data
        if runs and runs[0].status == "in_progress":
            run = runs[0]
            break
        await asyncio.sleep(0.01)
    assert run is not None
    client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    with pytest.raises(AssistantRunCancelledError) as info:
        await task
    assert info.value.run_id == run.id
    assert info.value.status == "cancelled"


@pytest.mark.parametrize(("mode", "streaming"), MODES)
async def test_timeout_cancels_the_run(
    client: OpenAI, scripted_model: Callable[..., str], mode: str, streaming: bool
) -> None:
    runnable = make(client, scripted_model(RULES), timeout=0.3, use_streaming=streaming)
    start = time.monotonic()
    with pytest.raises(AssistantRunTimeoutError) as info:
        await call(runnable, mode, {"content": "slow"})
    assert time.monotonic() - start < 2.0
    error = info.value
    assert isinstance(error, TimeoutError)
    assert error.thread_id and error.run_id
    run = client.beta.threads.runs.retrieve(error.run_id, thread_id=error.thread_id)
    assert run.status in ("cancelling", "cancelled")
    # The thread is not left locked.
    runnable.timeout = 10
    finish = await call(runnable, mode, {"content": "hello", "thread_id": error.thread_id})
    assert finish[0].content[0].text.value == "fine"


@pytest.fixture(scope="module")
def expiring_server(new_database: Callable[[], str]) -> Iterator[RunningServer]:
    # Runs expire after one second (the server counts whole seconds).
    with start_server(
        db=new_database(), api_key="sk-expiry", run_expiry_seconds=1, allowed_models=SCRIPT_FILES
    ) as running:
        yield running


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_expired_run(
    expiring_server: RunningServer, tmp_path: Path, mode: str, scripted_model: Callable[..., str]
) -> None:
    with OpenAI(base_url=expiring_server.base_url, api_key="sk-expiry", max_retries=0) as client:
        runnable = make(client, scripted_model(RULES), as_agent=True)
        actions = await call(runnable, mode, {"content": "use the tool"})
        action = actions[0]
        await asyncio.sleep(2.1)
        # Via AgentExecutor-style intermediate steps...
        with pytest.raises(AssistantRunExpiredError) as info:
            await call(runnable, mode, {"intermediate_steps": [(action, "A")]})
        assert info.value.run_id == action.run_id
        assert "expired" in str(info.value)
        # ...and via explicit tool outputs (the server answers 400; we say why).
        with pytest.raises(AssistantRunExpiredError):
            await call(
                runnable,
                mode,
                {
                    "tool_outputs": [{"output": "A", "tool_call_id": action.tool_call_id}],
                    "run_id": action.run_id,
                    "thread_id": action.thread_id,
                },
            )
