"""The runnable with file_search: attachments and tool_resources on every input path, and
the citations its output lists (file id, file name, quoted passage)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from openai import AsyncOpenAI, OpenAI

from langchain_assistants.client import OpenAIAssistantFinish, OpenAIAssistantRunnable

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RULES = [
    {
        "match": "parrot",
        "turns": [
            {"tool_calls": [{"name": "file_search", "args": {"query": "parrot name"}}]},
            {"content": "The parrot is Quasimodo {first_citation}."},
        ],
    },
    {
        "match": "mango",
        "turns": [
            {"tool_calls": [{"name": "file_search", "args": {"query": "mango orchard"}}]},
            {"content": "The orchard has 40 trees {first_citation}."},
        ],
    },
]
PARROT = ("parrot.md", b"The lighthouse keeper's parrot is named Quasimodo.")
MANGO = ("orchard.md", b"The mango orchard behind the lighthouse has 40 trees.")


def attach(file_id: str) -> list[dict[str, Any]]:
    return [{"file_id": file_id, "tools": [{"type": "file_search"}]}]


async def turn(runnable: OpenAIAssistantRunnable, mode: str, inputs: dict[str, Any]) -> Any:
    """One turn through invoke / ainvoke / stream / astream."""
    if mode == "invoke":
        return await asyncio.to_thread(runnable.invoke, inputs)
    if mode == "ainvoke":
        return await runnable.ainvoke(inputs)
    if mode == "stream":
        chunks = await asyncio.to_thread(lambda: list(runnable.stream(inputs)))
        return chunks[-1]
    return [chunk async for chunk in runnable.astream(inputs)][-1]


def cited(finish: Any) -> list[tuple[str, str | None]]:
    assert isinstance(finish, OpenAIAssistantFinish)
    return [(c["file_id"], c["filename"]) for c in finish.return_values["citations"]]


@pytest.mark.parametrize("mode", ["invoke", "ainvoke", "stream", "astream"])
@pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "polled"])
async def test_attachments_on_new_and_existing_threads_are_searched_and_cited(
    client: OpenAI, scripted_model: Callable[..., str], mode: str, streaming: bool
) -> None:
    runnable = OpenAIAssistantRunnable.create_assistant(
        name="librarian",
        instructions="Answer from the files.",
        tools=[{"type": "file_search"}],
        model=scripted_model(RULES),
        client=client,
        as_agent=True,
        use_streaming=streaming,
    )
    parrot = client.files.create(file=PARROT, purpose="assistants").id
    first = await turn(
        runnable, mode, {"content": "What is the parrot called?", "attachments": attach(parrot)}
    )
    assert cited(first) == [(parrot, "parrot.md")]
    (citation,) = first.return_values["citations"]
    assert "Quasimodo" in citation["quote"]
    output = first.return_values["output"]
    assert output[citation["start_index"] : citation["end_index"]] == citation["text"]

    mango = client.files.create(file=MANGO, purpose="assistants").id
    second = await turn(
        runnable,
        mode,
        {
            "content": "How many mango trees?",
            "thread_id": first.thread_id,
            "attachments": attach(mango),
        },
    )
    assert second.thread_id == first.thread_id
    assert cited(second) == [(mango, "orchard.md")]
    # Both attachments went into the one vector store of the thread.
    thread = client.beta.threads.retrieve(first.thread_id)
    (store_id,) = thread.tool_resources.file_search.vector_store_ids  # type: ignore[union-attr]
    files = client.vector_stores.files.list(store_id)
    assert {f.id for f in files} == {parrot, mango}


async def test_tool_resources_on_create_assistant_and_on_threads(
    client: OpenAI, async_client: AsyncOpenAI, scripted_model: Callable[..., str]
) -> None:
    parrot = client.files.create(file=PARROT, purpose="assistants").id
    mango = client.files.create(file=MANGO, purpose="assistants").id
    parrot_store, mango_store = (client.vector_stores.create().id for _ in range(2))
    client.vector_stores.files.create_and_poll(vector_store_id=parrot_store, file_id=parrot)
    client.vector_stores.files.create_and_poll(vector_store_id=mango_store, file_id=mango)

    # acreate_assistant with tool_resources: the assistant's store is searched.
    runnable = await OpenAIAssistantRunnable.acreate_assistant(
        name="librarian",
        instructions="Answer from the files.",
        tools=[{"type": "file_search"}],
        model=scripted_model(RULES),
        client=client,
        async_client=async_client,
        tool_resources={"file_search": {"vector_store_ids": [parrot_store]}},
        as_agent=True,
    )
    finish = await runnable.ainvoke({"content": "parrot?"})
    assert cited(finish) == [(parrot, "parrot.md")]

    # tool_resources on the turn: a new thread's store, then an existing thread's.
    finish = await runnable.ainvoke(
        {
            "content": "mango?",
            "tool_resources": {"file_search": {"vector_store_ids": [mango_store]}},
        }
    )
    assert cited(finish) == [(mango, "orchard.md")]
    bare = await runnable.ainvoke({"content": "mango?", "thread_id": None})
    assert cited(bare) == []  # the assistant's store has no mango: nothing to cite
    updated = await asyncio.to_thread(
        runnable.invoke,
        {
            "content": "mango?",
            "thread_id": bare.thread_id,
            "tool_resources": {"file_search": {"vector_store_ids": [mango_store]}},
        },
    )
    assert cited(updated) == [(mango, "orchard.md")]

    # create_assistant (sync) with tool_resources, not as an agent: SDK messages carry them.
    plain = OpenAIAssistantRunnable.create_assistant(
        name="librarian",
        instructions="Answer from the files.",
        tools=[{"type": "file_search"}],
        model=scripted_model(RULES),
        client=client,
        tool_resources={"file_search": {"vector_store_ids": [parrot_store]}},
    )
    (message,) = plain.invoke({"content": "parrot?"})
    (note,) = message.content[0].text.annotations
    assert note.file_citation.file_id == parrot


async def test_file_search_results_stream_as_callback_events(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    runnable = OpenAIAssistantRunnable.create_assistant(
        name="librarian",
        instructions="Answer from the files.",
        tools=[{"type": "file_search"}],
        model=scripted_model(RULES),
        client=client,
        as_agent=True,
    )
    parrot = client.files.create(file=PARROT, purpose="assistants").id
    inputs = {"content": "parrot?", "attachments": attach(parrot)}
    deltas = [
        event["data"]
        async for event in runnable.astream_events(inputs, version="v2")
        if event["event"] == "on_custom_event" and event["name"] == "assistant_file_search_delta"
    ]
    assert deltas and deltas[0]["results"] == []  # the call is announced first
    results = deltas[-1]["results"]
    assert [(r["file_id"], r["file_name"]) for r in results] == [(parrot, "parrot.md")]
    assert {d["tool_call_id"] for d in deltas} == {deltas[0]["tool_call_id"]}
