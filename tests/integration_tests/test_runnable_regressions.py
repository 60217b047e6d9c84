"""One regression test per defect of the legacy ``langchain_classic`` runnable."""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import httpx2
import pytest
from langchain_classic.agents import AgentExecutor
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.tools import tool
from openai import AsyncOpenAI, OpenAI

from langchain_assistants.client import (
    AssistantRunError,
    OpenAIAssistantFinish,
    OpenAIAssistantRunnable,
)
from langchain_assistants.server.embedded import RunningServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DEAD_URL = "http://127.0.0.1:9/v1"  # nothing listens here


@tool
def get_weather(location: str) -> str:
    """Weather for a place."""
    return f"sunny in {location}"


RULES = [
    {"match": "secret", "turns": [{"content": "The secret is 42."}]},
    {
        "match": "weather",
        "turns": [
            {"tool_calls": [{"name": "get_weather", "args": {"location": "Oslo"}}]},
            {"content": "Done: {last_tool_output}"},
        ],
    },
    {"match": "slow", "turns": [{"content": "late", "delay_ms": 1500}]},
    {"match": "", "turns": [{"content": "hi"}]},
]


class Requests:
    """Every HTTP request a client sends: (method, path, query)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, str]]] = []

    def record(self, request: httpx2.Request) -> None:
        self.seen.append((request.method, request.url.path, dict(request.url.params)))

    async def arecord(self, request: httpx2.Request) -> None:
        self.record(request)

    def clear(self) -> None:
        self.seen.clear()


@pytest.fixture
def counted(server: RunningServer) -> Iterator[tuple[OpenAI, AsyncOpenAI, Requests]]:
    requests = Requests()
    sync = OpenAI(
        base_url=server.base_url,
        api_key=server.api_key,
        max_retries=0,
        http_client=httpx2.Client(event_hooks={"request": [requests.record]}),
    )
    asyn = AsyncOpenAI(
        base_url=server.base_url,
        api_key=server.api_key,
        max_retries=0,
        http_client=httpx2.AsyncClient(event_hooks={"request": [requests.arecord]}),
    )
    yield sync, asyn, requests
    sync.close()


def make(client: OpenAI, model: str, **kw: Any) -> OpenAIAssistantRunnable:
    return OpenAIAssistantRunnable.create_assistant(
        name="regression", instructions="", tools=[get_weather], model=model, client=client, **kw
    )


# -- run_metadata was passed to the SDK under its own name (and rejected) -----------------


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_run_metadata_is_the_runs_metadata(
    client: OpenAI, scripted_model: Callable[..., str], mode: str
) -> None:
    runnable = make(client, scripted_model(RULES), as_agent=True)
    thread = client.beta.threads.create()
    for inputs in ({"content": "a"}, {"content": "b", "thread_id": thread.id}):
        inputs = {**inputs, "run_metadata": {"source": "regression"}}
        if mode == "sync":
            finish = await asyncio.to_thread(runnable.invoke, inputs)
        else:
            finish = await runnable.ainvoke(inputs)
        run = client.beta.threads.runs.retrieve(finish.run_id, thread_id=finish.thread_id)
        assert run.metadata == {"source": "regression"}


# -- the async client was rebuilt from the API key only and lost the base URL -------------


async def test_async_client_keeps_base_url(
    server: RunningServer, scripted_model: Callable[..., str]
) -> None:
    with OpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0) as client:
        runnable = make(client, scripted_model(RULES))
        assert str(runnable.async_client.base_url) == str(client.base_url)
        assert runnable.async_client.api_key == server.api_key
        messages = await runnable.ainvoke({"content": "hello"})
        assert messages[0].content[0].text.value == "hi"


# -- async paths used the sync client and time.sleep ---------------------------------------


async def test_async_paths_never_touch_the_sync_client(
    server: RunningServer,
    async_client: AsyncOpenAI,
    scripted_model: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    created = await OpenAIAssistantRunnable.acreate_assistant(
        name="async only",
        instructions="",
        tools=[get_weather],
        model=scripted_model(RULES),
        client=OpenAI(base_url=DEAD_URL, api_key="x", max_retries=0, timeout=0.5),
        async_client=async_client,
        as_agent=True,
    )

    def no_sleep(seconds: float) -> None:
        raise AssertionError("time.sleep called from an async path")

    monkeypatch.setattr(time, "sleep", no_sleep)
    for streaming in (True, False):
        runnable = created.model_copy(update={"use_streaming": streaming})
        executor = AgentExecutor(agent=runnable, tools=[get_weather])  # type: ignore[arg-type]
        result = await executor.ainvoke({"content": "weather?"})
        assert result["output"] == "Done: sunny in Oslo"
        again = await executor.ainvoke({"content": "weather?", "thread_id": result["thread_id"]})
        assert again["output"] == "Done: sunny in Oslo"
        assert await runnable.acancel_active_runs(result["thread_id"]) == []


# -- polling slept a fixed second; now: one streaming request, or the server's pace --------


@pytest.mark.parametrize("streaming", [True, False])
def test_no_fixed_one_second_polling(
    counted: tuple[OpenAI, AsyncOpenAI, Requests],
    scripted_model: Callable[..., str],
    streaming: bool,
) -> None:
    sync, _, requests = counted
    runnable = make(sync, scripted_model(RULES), as_agent=True, use_streaming=streaming)
    assert runnable.check_every_ms == 1000  # legacy default, no longer a fixed sleep
    requests.clear()
    start = time.monotonic()
    finish = runnable.invoke({"content": "weather?"})
    finish = runnable.invoke(
        {
            "tool_outputs": [{"output": "sunny", "tool_call_id": finish[0].tool_call_id}],
            "run_id": finish[0].run_id,
            "thread_id": finish[0].thread_id,
        }
    )
    elapsed = time.monotonic() - start
    assert finish.return_values["output"] == "Done: sunny"
    assert elapsed < 0.8, elapsed
    posts = [r for r in requests.seen if r[0] == "POST"]
    assert len(posts) == 2  # create-and-run, submit
    if streaming:
        assert len(requests.seen) == 3  # + this run's messages


# -- the whole thread was listed (first page only) to find the run's messages --------------


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_long_thread_answered_with_run_messages_only(
    counted: tuple[OpenAI, AsyncOpenAI, Requests],
    client: OpenAI,
    scripted_model: Callable[..., str],
    mode: str,
) -> None:
    sync, asyn, requests = counted
    thread = client.beta.threads.create()
    for i in range(210):
        client.beta.threads.messages.create(thread.id, role="user", content=f"filler {i}")
    runnable = OpenAIAssistantRunnable(
        assistant_id=make(sync, scripted_model(RULES)).assistant_id,
        client=sync,
        async_client=asyn,
        as_agent=True,
    )
    requests.clear()
    inputs = {"content": "what is the secret?", "thread_id": thread.id}
    if mode == "sync":
        finish = await asyncio.to_thread(runnable.invoke, inputs)
    else:
        finish = await runnable.ainvoke(inputs)
    assert finish.return_values["output"] == "The secret is 42."
    # The thread's messages are never listed: the stream that ran the turn carried its answer.
    assert not [r for r in requests.seen if r[1].endswith("/messages") and r[0] == "GET"]
    # one request: the streamed run, carrying the user's message
    assert [(method, path) for method, path, _ in requests.seen] == [
        ("POST", f"/v1/threads/{thread.id}/runs")
    ]


# -- errors were an untyped ValueError("Unexpected run status ...") ----------------------


def test_failed_run_is_a_typed_error(client: OpenAI, scripted_model: Callable[..., str]) -> None:
    runnable = make(client, scripted_model([{"match": "", "turns": [{"error": "backend down"}]}]))
    with pytest.raises(AssistantRunError, match="backend down") as info:
        runnable.invoke({"content": "anything"})
    # Typed, and still a ValueError so the legacy ``except ValueError`` keeps working.
    assert type(info.value) is not ValueError and isinstance(info.value, ValueError)
    assert info.value.status == "failed"


# -- an interrupted turn left its run active and the thread locked -------------------------


class InterruptOn(BaseCallbackHandler):
    raise_error = True

    def __init__(self, status: str) -> None:
        self.status = status

    def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kwargs: Any) -> None:
        if name == "assistant_run_status" and data["status"] == self.status:
            raise KeyboardInterrupt


def test_keyboard_interrupt_cancels_the_run(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    runnable = make(client, scripted_model(RULES), as_agent=True)
    thread = client.beta.threads.create()
    with pytest.raises(KeyboardInterrupt):
        runnable.invoke(
            {"content": "slow", "thread_id": thread.id}, {"callbacks": [InterruptOn("in_progress")]}
        )
    [run] = client.beta.threads.runs.list(thread.id).data
    assert run.status in ("cancelling", "cancelled")
    runnable.on_active_run = "raise"  # nothing may be left to cancel
    for _ in range(100):
        if client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "cancelled":
            break
        time.sleep(0.01)
    finish = runnable.invoke({"content": "hello", "thread_id": thread.id})
    assert finish.return_values["output"] == "hi"


async def test_cancelled_task_cancels_the_run(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    runnable = make(client, scripted_model(RULES))
    thread = client.beta.threads.create()
    task = asyncio.ensure_future(runnable.ainvoke({"content": "slow", "thread_id": thread.id}))
    for _ in range(200):
        runs = client.beta.threads.runs.list(thread.id, limit=1).data
        if runs and runs[0].status == "in_progress":
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [run] = client.beta.threads.runs.list(thread.id).data
    assert run.status in ("cancelling", "cancelled")


async def test_executor_stopped_early_then_next_turn(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    agent = make(client, scripted_model(RULES), as_agent=True)
    stopped = AgentExecutor(agent=agent, tools=[get_weather], max_iterations=1)  # type: ignore[arg-type]
    thread = client.beta.threads.create()
    await stopped.ainvoke({"content": "weather?", "thread_id": thread.id})
    full = AgentExecutor(agent=agent, tools=[get_weather])  # type: ignore[arg-type]
    result = await full.ainvoke({"content": "weather?", "thread_id": thread.id})
    assert result["output"] == "Done: sunny in Oslo"


# -- attachments were dropped on the async path and on existing threads ---------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("existing", [False, True])
async def test_attachments_kept_on_every_path(
    client: OpenAI, scripted_model: Callable[..., str], mode: str, existing: bool
) -> None:
    runnable = make(client, scripted_model(RULES), as_agent=True)
    keep = client.files.create(file=("keep.txt", b"keep"), purpose="assistants").id
    inputs: dict[str, Any] = {
        "content": "hello",
        "attachments": [{"file_id": keep, "tools": [{"type": "code_interpreter"}]}],
    }
    if existing:
        inputs["thread_id"] = client.beta.threads.create().id
    if mode == "sync":
        finish = await asyncio.to_thread(runnable.invoke, inputs)
    else:
        finish = await runnable.ainvoke(inputs)
    [user] = [m for m in client.beta.threads.messages.list(finish.thread_id) if m.role == "user"]
    assert [a.file_id for a in user.attachments or []] == [keep]
    assert "attachments" in finish.return_values


# -- usage was not reported -----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_usage_reported(
    client: OpenAI, scripted_model: Callable[..., str], mode: str
) -> None:
    runnable = make(client, scripted_model(RULES), as_agent=True)
    if mode == "sync":
        finish = await asyncio.to_thread(runnable.invoke, {"content": "hello"})
    else:
        finish = await runnable.ainvoke({"content": "hello"})
    assert isinstance(finish, OpenAIAssistantFinish)
    run = client.beta.threads.runs.retrieve(finish.run_id, thread_id=finish.thread_id)
    assert run.usage is not None
    assert finish.return_values["usage"] == run.usage.model_dump()


# -- every beta call warned from inside the runnable ----------------------------------------


def test_no_deprecation_warnings_from_our_calls(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runnable = make(client, scripted_model(RULES), as_agent=True)
        actions = runnable.invoke({"content": "weather?"})
        runnable.invoke({"intermediate_steps": [(actions[0], "sunny")]})
        runnable.invoke({"content": "again", "thread_id": actions[0].thread_id})
        runnable.model_copy(update={"use_streaming": False}).invoke({"content": "hello"})
    assert [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)] == []
