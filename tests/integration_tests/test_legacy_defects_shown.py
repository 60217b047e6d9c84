"""The legacy runnable's defects, shown against our server: each scenario of
``test_runnable_regressions.py`` that can be replayed on ``langchain_classic`` fails there.

These assert the legacy behaviour on purpose; if a future ``langchain_classic`` fixes one,
the matching test here fails and tells us the regression test no longer discriminates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx2
import openai
import pytest
from langchain_classic.agents import AgentExecutor
from langchain_classic.agents.openai_assistant import OpenAIAssistantRunnable as Legacy
from langchain_core.tools import tool
from openai import OpenAI

from langchain_assistants import AssistantRunFailedError, OpenAIAssistantRunnable
from langchain_assistants.server.embedded import RunningServer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RULES = [
    {"match": "secret", "turns": [{"content": "The secret is 42."}]},
    {
        "match": "weather",
        "turns": [
            {"tool_calls": [{"name": "get_weather", "args": {"location": "Oslo"}}]},
            {"content": "Done: {last_tool_output}"},
        ],
    },
    {"match": "explode", "turns": [{"error": "backend down"}]},
    {"match": "", "turns": [{"content": "hi"}]},
]


@tool
def get_weather(location: str) -> str:
    """Weather for a place."""
    return f"sunny in {location}"


def legacy(client: OpenAI, model: str, **kw: object) -> Legacy:
    return Legacy.create_assistant(
        name="legacy",
        instructions="",
        tools=[get_weather],
        model=model,
        client=client,
        check_every_ms=10,
        **kw,
    )


def ours(client: OpenAI, model: str, **kw: object) -> OpenAIAssistantRunnable:
    return OpenAIAssistantRunnable.create_assistant(
        name="ours", instructions="", tools=[get_weather], model=model, client=client, **kw
    )


def test_run_metadata_rejected_by_legacy(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    model = scripted_model(RULES)
    with pytest.raises(TypeError, match="run_metadata"):  # passed to the SDK under its own name
        legacy(client, model, as_agent=True).invoke({"content": "a", "run_metadata": {"k": "v"}})
    new = ours(client, model, as_agent=True).invoke({"content": "a", "run_metadata": {"k": "v"}})
    run = client.beta.threads.runs.retrieve(new.run_id, thread_id=new.thread_id)  # type: ignore[union-attr]
    assert run.metadata == {"k": "v"}


async def test_legacy_async_client_loses_base_url(
    server: RunningServer, scripted_model: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens here
    monkeypatch.setenv("OPENAI_API_KEY", "env-key")
    model = scripted_model(RULES)
    with OpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0) as client:
        old = legacy(client, model)
        with pytest.raises(openai.APIConnectionError):
            await old.ainvoke({"content": "hello"})
        new = ours(client, model)
        assert (await new.ainvoke({"content": "hello"}))[0].content[0].text.value == "hi"


def test_legacy_failed_run_is_an_opaque_value_error(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    model = scripted_model(RULES)
    with pytest.raises(ValueError) as info:
        legacy(client, model).invoke({"content": "explode"})
    assert not isinstance(info.value, AssistantRunFailedError)
    with pytest.raises(AssistantRunFailedError, match="backend down"):
        ours(client, model).invoke({"content": "explode"})


@pytest.fixture
def counting_client(server: RunningServer) -> Iterator[tuple[OpenAI, list[str]]]:
    paths: list[str] = []
    http = httpx2.Client(
        event_hooks={"request": [lambda r: paths.append(f"{r.method} {r.url.path}")]}
    )
    with OpenAI(base_url=server.base_url, api_key=server.api_key, http_client=http) as c:
        yield c, paths


def test_legacy_lists_the_whole_thread(
    client: OpenAI, counting_client: tuple[OpenAI, list[str]], scripted_model: Callable[..., str]
) -> None:
    counted, paths = counting_client
    model = scripted_model(RULES)
    thread = client.beta.threads.create()
    for i in range(210):
        client.beta.threads.messages.create(thread.id, role="user", content=f"filler {i}")
    message_lists = f"GET /v1/threads/{thread.id}/messages"
    old, new = legacy(counted, model, as_agent=True), ours(counted, model, as_agent=True)
    paths.clear()
    assert (
        old.invoke({"content": "secret?", "thread_id": thread.id}).return_values["output"]
        == "The secret is 42."
    )
    legacy_lists = paths.count(message_lists)
    paths.clear()
    assert (
        new.invoke({"content": "secret?", "thread_id": thread.id}).return_values["output"]
        == "The secret is 42."
    )
    assert legacy_lists >= 3  # 212+ messages paged through, 100 at a time at best
    assert paths.count(message_lists) == 0  # ours answers from the turn's own stream


def test_legacy_leaves_the_thread_locked_after_an_early_stop(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    model = scripted_model(RULES)
    for agent, stays_locked in (
        (legacy(client, model, as_agent=True), True),
        (ours(client, model, as_agent=True), False),
    ):
        thread = client.beta.threads.create()
        AgentExecutor(agent=agent, tools=[get_weather], max_iterations=1).invoke(  # type: ignore[arg-type]
            {"content": "weather?", "thread_id": thread.id}
        )
        full = AgentExecutor(agent=agent, tools=[get_weather])  # type: ignore[arg-type]
        if stays_locked:
            with pytest.raises(openai.BadRequestError, match="is active"):
                full.invoke({"content": "weather?", "thread_id": thread.id})
        else:
            assert (
                full.invoke({"content": "weather?", "thread_id": thread.id})["output"]
                == "Done: sunny in Oslo"
            )
