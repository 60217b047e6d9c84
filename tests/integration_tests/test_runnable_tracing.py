"""Tracing: chain start/end/error callbacks carry the run's ids and usage; no secrets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.tracers.base import BaseTracer
from langchain_core.tracers.schemas import Run
from openai import OpenAI

from langchain_assistants.client import (
    AssistantRunFailedError,
    OpenAIAssistantRunnable,
)
from langchain_assistants.server.embedded import RunningServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RULES = [
    {"match": "explode", "turns": [{"error": "backend down"}]},
    {"match": "", "turns": [{"content": "traced answer"}]},
]


class Collector(BaseTracer):
    """Keeps every finished trace."""

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[Run] = []

    def _persist_run(self, run: Run) -> None:
        self.runs.append(run)


def make(server: RunningServer, model: str, key: str) -> OpenAIAssistantRunnable:
    client = OpenAI(base_url=server.base_url, api_key=key, max_retries=0)
    return OpenAIAssistantRunnable.create_assistant(
        name="traced", instructions="", tools=[], model=model, client=client, as_agent=True
    )


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_trace_has_run_ids_usage_and_no_key(
    server: RunningServer, scripted_model: Callable[..., str], mode: str
) -> None:
    runnable = make(server, scripted_model(RULES), server.api_key)
    tracer = Collector()
    config: Any = {"callbacks": [tracer], "metadata": {"user": "u1"}, "run_name": "assistant"}
    if mode == "sync":
        finish = await asyncio.to_thread(runnable.invoke, {"content": "hi"}, config)
    else:
        finish = await runnable.ainvoke({"content": "hi"}, config)
    [trace] = tracer.runs
    assert trace.name == "assistant"
    metadata = trace.extra["metadata"]
    assert metadata["user"] == "u1"
    assert metadata["assistant_id"] == runnable.assistant_id
    assert metadata["run_id"] == finish.run_id
    assert metadata["thread_id"] == finish.thread_id
    assert metadata["run_status"] == "completed"
    assert metadata["usage"]["total_tokens"] > 0
    assert trace.outputs is not None
    dumped = json.dumps(
        {"serialized": trace.serialized, "inputs": trace.inputs, "outputs": trace.outputs},
        default=str,
    )
    assert server.api_key not in dumped


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_error_trace_has_run_ids(
    server: RunningServer, scripted_model: Callable[..., str], mode: str
) -> None:
    runnable = make(server, scripted_model(RULES), server.api_key)
    tracer = Collector()
    with pytest.raises(AssistantRunFailedError) as info:
        if mode == "sync":
            await asyncio.to_thread(
                runnable.invoke, {"content": "explode"}, {"callbacks": [tracer]}
            )
        else:
            await runnable.ainvoke({"content": "explode"}, {"callbacks": [tracer]})
    [trace] = tracer.runs
    assert trace.error is not None and "backend down" in trace.error
    assert trace.extra["metadata"]["run_id"] == info.value.run_id
    assert trace.extra["metadata"]["run_status"] == "failed"


def test_existing_thread_id_is_in_start_metadata(
    server: RunningServer, client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    runnable = make(server, scripted_model(RULES), server.api_key)
    thread = client.beta.threads.create()
    tracer = Collector()
    runnable.invoke({"content": "hi", "thread_id": thread.id}, {"callbacks": [tracer]})
    assert tracer.runs[0].extra["metadata"]["thread_id"] == thread.id
