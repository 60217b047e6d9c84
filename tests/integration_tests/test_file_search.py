"""file_search in runs and citations, over HTTP with the real SDK (sync and async).

The first tests run the OpenAI file-search guide's code path unchanged: a vector store
filled with ``file_batches.upload_and_poll``, an assistant with ``file_search`` and
``tool_resources``, a thread whose message attaches a file, a streamed run with an
``AssistantEventHandler`` and a final message whose ``file_citation`` annotations point
at the right file. The model is scripted: it calls ``file_search`` and cites the first
result (``{first_citation}``), so what is asserted is the server's search and citations.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import openai
import pytest
from openai import AssistantEventHandler, AsyncAssistantEventHandler, AsyncOpenAI, OpenAI
from typing_extensions import override

from .helpers import SCRIPT_FILES, WEATHER_TOOLS, text_of

INCLUDE_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"

DECOYS = {
    "goog-10k.md": "Alphabet reported revenue from advertising, cloud services and devices. "
    "Shares of class A and class C stock trade on the Nasdaq.",
    "brka-10k.md": "Berkshire Hathaway owns insurance, railroad and energy businesses. Its "
    "annual letter discusses float and underwriting results.",
}
FACT_FILE = (
    "aapl-10k.md",
    "Apple had 15,115,823,000 shares of common stock outstanding "
    "as of October 20, 2023, the filing says.",
)


def upload(name: str, text: str) -> tuple[str, io.BytesIO]:
    return (name, io.BytesIO(text.encode()))


def search_then_cite(
    query: str, answer: str = "Per the filing, {first_citation} it is so."
) -> list[dict[str, Any]]:
    return [
        {
            "match": "",
            "turns": [
                {"tool_calls": [{"name": "file_search", "args": {"query": query}}]},
                {"content": answer},
            ],
        }
    ]


class GuideHandler(AssistantEventHandler):
    """The guide's event handler, printing into ``lines`` instead of stdout."""

    def __init__(self, client: OpenAI) -> None:
        super().__init__()
        self.client = client
        self.lines: list[str] = []
        self.tool_types: list[str] = []

    @override
    def on_text_created(self, text: Any) -> None:
        self.lines.append("assistant > ")

    @override
    def on_tool_call_created(self, tool_call: Any) -> None:
        self.tool_types.append(tool_call.type)

    @override
    def on_message_done(self, message: Any) -> None:
        message_content = message.content[0].text
        annotations = message_content.annotations
        citations = []
        value = message_content.value
        for index, annotation in enumerate(annotations):
            value = value.replace(annotation.text, f"[{index}]")
            if file_citation := getattr(annotation, "file_citation", None):
                cited_file = self.client.files.retrieve(file_citation.file_id)
                citations.append(f"[{index}] {cited_file.filename}")
        self.lines.append(value)
        self.lines.extend(citations)


def test_guide_code_path_streams_a_cited_answer(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    assistant = client.beta.assistants.create(
        name="Financial Analyst Assistant",
        instructions="You are an expert financial analyst. Use your knowledge base to answer "
        "questions about audited financial statements.",
        model=scripted_model(search_then_cite("shares outstanding October 2023")),
        tools=[{"type": "file_search"}],
    )
    vector_store = client.vector_stores.create(name="Financial Statements")
    file_batch = client.vector_stores.file_batches.upload_and_poll(
        vector_store_id=vector_store.id, files=[upload(n, t) for n, t in DECOYS.items()]
    )
    assert file_batch.status == "completed" and file_batch.file_counts.completed == 2
    assistant = client.beta.assistants.update(
        assistant_id=assistant.id,
        tool_resources={"file_search": {"vector_store_ids": [vector_store.id]}},
    )
    assert assistant.tool_resources.file_search.vector_store_ids == [vector_store.id]  # type: ignore[union-attr]
    message_file = client.files.create(file=upload(*FACT_FILE), purpose="assistants")
    thread = client.beta.threads.create(
        messages=[
            {
                "role": "user",
                "content": "How many shares of AAPL were outstanding at the end of October 2023?",
                "attachments": [{"file_id": message_file.id, "tools": [{"type": "file_search"}]}],
            }
        ]
    )
    # The attachment went into the thread's own store, made on demand, expiring in 7 days.
    thread_store_ids = thread.tool_resources.file_search.vector_store_ids  # type: ignore[union-attr]
    assert len(thread_store_ids) == 1 and thread_store_ids[0] != vector_store.id
    thread_store = client.vector_stores.retrieve(thread_store_ids[0])
    assert thread_store.expires_after is not None and thread_store.expires_after.days == 7

    handler = GuideHandler(client)
    with client.beta.threads.runs.stream(
        thread_id=thread.id,
        assistant_id=assistant.id,
        instructions="Please address the user as Jane Doe. The user has a premium account.",
        event_handler=handler,
    ) as stream:
        stream.until_done()
        final = stream.get_final_messages()
        run = stream.get_final_run()

    assert run.status == "completed"
    assert handler.tool_types == ["file_search"]
    assert handler.lines[-2:] == ["Per the filing, [0] it is so.", "[0] aapl-10k.md"]
    # The stream's accumulated message and the stored one carry the same citations.
    stored = client.beta.threads.messages.list(thread.id, run_id=run.id).data[0]
    assert [m.id for m in final] == [stored.id]
    streamed_notes = final[0].content[0].text.annotations  # type: ignore[union-attr]
    stored_notes = stored.content[0].text.annotations  # type: ignore[union-attr]
    assert [a.model_dump() for a in streamed_notes] == [a.model_dump() for a in stored_notes]
    (citation,) = stored_notes
    assert citation.type == "file_citation"
    assert citation.file_citation.file_id == message_file.id  # type: ignore[union-attr]
    value = text_of(stored)
    assert (
        value[citation.start_index : citation.end_index] == citation.text == "【0:0†aapl-10k.md】"
    )

    # The step: a file_search call over both stores, the fact's file first.
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc")
    (call,) = [c for s in steps if s.type == "tool_calls" for c in s.step_details.tool_calls]  # type: ignore[union-attr]
    assert call.type == "file_search"
    results = call.file_search.results  # type: ignore[union-attr]
    assert results and results[0].file_id == message_file.id
    assert {r.file_name for r in results} <= {"aapl-10k.md", *DECOYS}
    assert all(r.content is None for r in results)  # no include[]: no chunk text


class AsyncGuideHandler(AsyncAssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.tool_types: list[str] = []
        self.accumulated: list[Any] = []  # annotations folded from the deltas alone

    @override
    async def on_tool_call_created(self, tool_call: Any) -> None:
        self.tool_types.append(tool_call.type)

    @override
    async def on_message_delta(self, delta: Any, snapshot: Any) -> None:
        notes = snapshot.content[0].text.annotations or []
        # Folded deltas keep their list ``index``, as with OpenAI's streams.
        self.accumulated = [a.model_dump(exclude={"index"}) for a in notes]


async def test_guide_code_path_async(
    async_client: AsyncOpenAI, scripted_model: Callable[..., str]
) -> None:
    vector_store = await async_client.vector_stores.create(name="Financial Statements")
    batch = await async_client.vector_stores.file_batches.upload_and_poll(
        vector_store_id=vector_store.id, files=[upload(n, t) for n, t in DECOYS.items()]
    )
    assert batch.status == "completed"
    assistant = await async_client.beta.assistants.create(
        model=scripted_model(search_then_cite("shares outstanding October 2023")),
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_store_ids": [vector_store.id]}},
    )
    message_file = await async_client.files.create(file=upload(*FACT_FILE), purpose="assistants")
    thread = await async_client.beta.threads.create(
        messages=[
            {
                "role": "user",
                "content": "How many AAPL shares?",
                "attachments": [{"file_id": message_file.id, "tools": [{"type": "file_search"}]}],
            }
        ]
    )
    handler = AsyncGuideHandler()
    async with async_client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=handler
    ) as stream:
        await stream.until_done()
        final = await stream.get_final_messages()
    assert handler.tool_types == ["file_search"]
    notes = final[0].content[0].text.annotations  # type: ignore[union-attr]
    assert [(a.type, a.file_citation.file_id) for a in notes] == [  # type: ignore[union-attr]
        ("file_citation", message_file.id)
    ]
    stored = (await async_client.beta.threads.messages.list(thread.id, limit=1)).data[0]
    assert stored.id == final[0].id
    assert [a.model_dump() for a in stored.content[0].text.annotations] == [  # type: ignore[union-attr]
        a.model_dump() for a in notes
    ]
    # Before thread.message.completed replaces it, the snapshot the SDK built from the
    # deltas already holds the same annotations (a last delta carries them).
    assert handler.accumulated == [a.model_dump() for a in notes]


# --------------------------------------------------------------------------- helpers


def store_with(client: OpenAI, files: dict[str, str]) -> tuple[str, dict[str, str]]:
    """A vector store holding ``files`` (ingested); returns its id and file ids by name."""
    store = client.vector_stores.create(name="test")
    ids = {}
    for name, text in files.items():
        uploaded = client.files.create(file=upload(name, text), purpose="assistants")
        ids[name] = uploaded.id
    batch = client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id, file_ids=list(ids.values())
    )
    assert batch.file_counts.completed == len(files)
    return store.id, ids


def search_assistant(client: OpenAI, model: str, store_id: str, **tool: Any) -> str:
    return client.beta.assistants.create(
        model=model,
        tools=[{"type": "file_search", **({"file_search": tool} if tool else {})}],
        tool_resources={"file_search": {"vector_store_ids": [store_id]}},
    ).id


def run_on_new_thread(client: OpenAI, assistant_id: str, content: str = "question") -> Any:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": content}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
    assert run.status == "completed", run.last_error
    return run


def search_call(client: OpenAI, run: Any, **kwargs: Any) -> Any:
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=run.thread_id, **kwargs)
    calls = [c for s in steps if s.type == "tool_calls" for c in s.step_details.tool_calls]
    assert [c.type for c in calls] == ["file_search"]
    return calls[0]


# --------------------------------------------------------------------------- retrieval


def test_the_unique_fact_among_decoys_is_found_and_cited(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    decoys = {
        f"decoy-{i:02d}.txt": f"Decoy report {i}: the committee met on a Tuesday, reviewed "
        f"budget line {i * 7} and adjourned without resolving anything of note."
        for i in range(24)
    }
    fact = "The lighthouse keeper's parrot is named Quasimodo and eats mangoes."
    store_id, ids = store_with(client, {**decoys, "keeper.txt": fact})
    model = scripted_model(search_then_cite("parrot name lighthouse keeper", "{first_citation}"))
    run = run_on_new_thread(client, search_assistant(client, model, store_id))
    call = search_call(client, run)
    assert call.file_search.results[0].file_id == ids["keeper.txt"]
    (message,) = client.beta.threads.messages.list(run.thread_id, run_id=run.id).data
    (citation,) = message.content[0].text.annotations  # type: ignore[union-attr]
    assert citation.file_citation.file_id == ids["keeper.txt"]  # type: ignore[union-attr]
    assert citation.text == "【0:0†keeper.txt】"


def test_step_results_show_chunk_content_only_with_include(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    store_id, ids = store_with(client, {"facts.md": "Quokkas live on Rottnest Island."})
    model = scripted_model(search_then_cite("quokkas island"))
    assistant_id = search_assistant(client, model, store_id)
    run = run_on_new_thread(client, assistant_id)

    plain = search_call(client, run)
    assert plain.file_search.ranking_options.ranker == "default_2024_08_21"
    assert plain.file_search.ranking_options.score_threshold == 0.0
    (result,) = plain.file_search.results
    assert (result.file_id, result.file_name, result.content) == (ids["facts.md"], "facts.md", None)
    assert 0.0 < result.score <= 1.0

    full = search_call(client, run, include=[INCLUDE_CONTENT])
    (result,) = full.file_search.results
    assert result.content and result.content[0].type == "text"
    assert "Rottnest Island" in (result.content[0].text or "")

    step = next(
        s
        for s in client.beta.threads.runs.steps.list(run.id, thread_id=run.thread_id)
        if s.type == "tool_calls"
    )
    one = client.beta.threads.runs.steps.retrieve(step.id, thread_id=run.thread_id, run_id=run.id)
    assert one.step_details.tool_calls[0].file_search.results[0].content is None  # type: ignore[union-attr]
    one = client.beta.threads.runs.steps.retrieve(
        step.id, thread_id=run.thread_id, run_id=run.id, include=[INCLUDE_CONTENT]
    )
    assert one.step_details.tool_calls[0].file_search.results[0].content  # type: ignore[union-attr]

    with pytest.raises(openai.BadRequestError, match="include"):
        client.beta.threads.runs.steps.list(
            run.id,
            thread_id=run.thread_id,
            include=["step_details.nope"],  # type: ignore[list-item]
        )


@pytest.mark.parametrize("include", [False, True])
def test_streamed_step_events_follow_the_runs_include(
    client: OpenAI, scripted_model: Callable[..., str], include: bool
) -> None:
    store_id, _ = store_with(client, {"facts.md": "Wombats produce cube-shaped droppings."})
    assistant_id = search_assistant(client, scripted_model(search_then_cite("wombats")), store_id)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "wombats?"}])
    extra = {"include": [INCLUDE_CONTENT]} if include else {}
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant_id, **extra
    ) as stream:
        stream.until_done()
        steps = stream.get_final_run_steps()
    (call,) = [c for s in steps if s.type == "tool_calls" for c in s.step_details.tool_calls]  # type: ignore[union-attr]
    (result,) = call.file_search.results  # type: ignore[union-attr]
    assert (result.content is not None) is include


def test_max_num_results_and_score_threshold_apply(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    files = {
        f"otter-{i}.txt": "Sea otters hold hands while sleeping. " * (i + 1) + f"Note {i}."
        for i in range(5)
    }
    store_id, _ = store_with(client, files)
    model = scripted_model(search_then_cite("sea otters sleeping hands"))
    everything = search_call(
        client, run_on_new_thread(client, search_assistant(client, model, store_id))
    )
    scores = [r.score for r in everything.file_search.results]
    assert len(scores) == 5 and scores == sorted(scores, reverse=True)

    two = search_call(
        client,
        run_on_new_thread(client, search_assistant(client, model, store_id, max_num_results=2)),
    )
    assert len(two.file_search.results) == 2

    threshold = (scores[0] + scores[-1]) / 2
    above = search_call(
        client,
        run_on_new_thread(
            client,
            search_assistant(
                client, model, store_id, ranking_options={"score_threshold": threshold}
            ),
        ),
    )
    kept = [r.score for r in above.file_search.results]
    assert kept == [s for s in scores if s >= threshold] and 0 < len(kept) < 5
    assert above.file_search.ranking_options.score_threshold == threshold


@pytest.mark.parametrize(
    "file_search",
    [{"max_num_results": 0}, {"max_num_results": 51}, {"ranking_options": {"score_threshold": 2}}],
)
def test_bad_file_search_settings_are_refused(client: OpenAI, file_search: dict) -> None:
    with pytest.raises(openai.BadRequestError, match="file_search"):
        client.beta.assistants.create(
            model="gpt-4o", tools=[{"type": "file_search", "file_search": file_search}]
        )


# --------------------------------------------------------------------------- wiring


def test_unknown_or_too_many_vector_stores_are_refused(client: OpenAI) -> None:
    missing = {"file_search": {"vector_store_ids": ["vs_nowhere"]}}
    with pytest.raises(openai.NotFoundError, match="vs_nowhere"):
        client.beta.assistants.create(model="gpt-4o", tool_resources=missing)
    with pytest.raises(openai.NotFoundError, match="vs_nowhere"):
        client.beta.threads.create(tool_resources=missing)
    thread = client.beta.threads.create()
    with pytest.raises(openai.NotFoundError, match="vs_nowhere"):
        client.beta.threads.update(thread.id, tool_resources=missing)
    assistant = client.beta.assistants.create(model="gpt-4o")
    with pytest.raises(openai.NotFoundError, match="vs_nowhere"):
        client.beta.assistants.update(assistant.id, tool_resources=missing)
    a = client.vector_stores.create().id
    b = client.vector_stores.create().id
    with pytest.raises(openai.BadRequestError, match="at most 1 vector store") as info:
        client.beta.threads.create(tool_resources={"file_search": {"vector_store_ids": [a, b]}})
    assert info.value.param == "tool_resources.file_search.vector_store_ids"
    # Nothing was changed by the refused requests.
    assert client.beta.threads.retrieve(thread.id).tool_resources is None


def test_attaching_an_unknown_file_is_refused_and_stores_nothing(client: OpenAI) -> None:
    thread = client.beta.threads.create()
    bad = [{"file_id": "file-nowhere", "tools": [{"type": "file_search"}]}]
    with pytest.raises(openai.BadRequestError, match="file-nowhere"):
        client.beta.threads.messages.create(thread.id, role="user", content="x", attachments=bad)  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError, match="file-nowhere"):
        client.beta.threads.create(
            messages=[{"role": "user", "content": "x", "attachments": bad}]  # type: ignore[list-item]
        )
    assert client.beta.threads.messages.list(thread.id).data == []
    assert client.beta.threads.retrieve(thread.id).tool_resources is None


def test_inline_vector_stores_are_created_for_threads_and_assistants(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    for_assistant = client.files.create(
        file=upload("a.md", "Axolotls regrow limbs."), purpose="assistants"
    )
    for_thread = client.files.create(
        file=upload("t.md", "Tardigrades survive vacuum."), purpose="assistants"
    )
    assistant = client.beta.assistants.create(
        model=scripted_model(search_then_cite("axolotls tardigrades")),
        tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_stores": [{"file_ids": [for_assistant.id]}]}},
    )
    (assistant_store,) = assistant.tool_resources.file_search.vector_store_ids  # type: ignore[union-attr]
    assert client.vector_stores.retrieve(assistant_store).expires_after is None
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "animals?"}],
        tool_resources={
            "file_search": {
                "vector_stores": [
                    {"file_ids": [for_thread.id], "chunking_strategy": {"type": "auto"}}
                ]
            }
        },
    )
    (thread_store,) = thread.tool_resources.file_search.vector_store_ids  # type: ignore[union-attr]
    assert client.vector_stores.retrieve(thread_store).expires_after.days == 7  # type: ignore[union-attr]
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    found = {r.file_id for r in search_call(client, run).file_search.results}
    assert found == {for_assistant.id, for_thread.id}  # a run searches both stores


def test_a_run_started_right_after_an_attachment_finds_the_file(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    assistant = client.beta.assistants.create(
        model=scripted_model(search_then_cite("narwhal tusk")), tools=[{"type": "file_search"}]
    )
    thread = client.beta.threads.create()
    first = client.files.create(
        file=upload("n.md", "A narwhal tusk is a tooth."), purpose="assistants"
    )
    client.beta.threads.messages.create(
        thread.id,
        role="user",
        content="narwhals?",
        attachments=[{"file_id": first.id, "tools": [{"type": "file_search"}]}],
    )
    # No waiting here: the run waits for the thread store's ingestion before searching.
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert [r.file_id for r in search_call(client, run).file_search.results] == [first.id]

    # A second attachment (on the run's additional message) joins the same thread store.
    second = client.files.create(file=upload("m.md", "Narwhal tusk sensing."), purpose="assistants")
    store_ids = client.beta.threads.retrieve(thread.id).tool_resources.file_search.vector_store_ids  # type: ignore[union-attr]
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant.id,
        additional_messages=[
            {
                "role": "user",
                "content": "more narwhals",
                "attachments": [{"file_id": second.id, "tools": [{"type": "file_search"}]}],
            }
        ],
    )
    assert run.status == "completed"
    thread_after = client.beta.threads.retrieve(thread.id)
    assert thread_after.tool_resources.file_search.vector_store_ids == store_ids  # type: ignore[union-attr]
    assert {r.file_id for r in search_call(client, run).file_search.results} == {
        first.id,
        second.id,
    }


def test_citations_survive_a_requires_action_pause(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    store_id, ids = store_with(client, {"moon.md": "The Moon drifts 3.8 cm from Earth yearly."})
    model = scripted_model(
        [
            {
                "match": "",
                "turns": [
                    {
                        "tool_calls": [
                            {"name": "file_search", "args": {"query": "moon drifts earth"}},
                            {"name": "get_time", "args": {}},
                        ]
                    },
                    {"content": "At {last_tool_output}: it drifts {first_citation} away."},
                ],
            }
        ]
    )
    assistant = client.beta.assistants.create(
        model=model,
        tools=[{"type": "file_search"}, *WEATHER_TOOLS],
        tool_resources={"file_search": {"vector_store_ids": [store_id]}},
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "moon?"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action"
    (pending,) = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    assert pending.function.name == "get_time"  # file_search ran on the server
    with client.beta.threads.runs.submit_tool_outputs_stream(
        run_id=run.id,
        thread_id=thread.id,
        tool_outputs=[{"tool_call_id": pending.id, "output": "noon"}],
    ) as stream:
        stream.until_done()
        (final,) = stream.get_final_messages()
    (stored,) = client.beta.threads.messages.list(thread.id, run_id=run.id).data
    assert text_of(stored) == "At noon: it drifts 【0:0†moon.md】 away."
    for message in (final, stored):
        (note,) = message.content[0].text.annotations  # type: ignore[union-attr]
        assert note.file_citation.file_id == ids["moon.md"]  # type: ignore[union-attr]


def test_a_database_of_the_previous_version_gains_the_runs_tool_state(
    tmp_path: Any, scripted_model: Callable[..., str]
) -> None:
    """A runs table made before file_search (no tool_state column) is upgraded at start."""
    import sqlite3

    from langchain_assistants.server.embedded import start_server

    db = tmp_path / "old.db"
    with start_server(db=str(db), sandbox_dir=tmp_path / "sb"):
        pass
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE runs DROP COLUMN tool_state")
    with (
        start_server(db=str(db), sandbox_dir=tmp_path / "sb", allowed_models=SCRIPT_FILES) as srv,
        OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c,
    ):
        store_id, ids = store_with(c, {"old.md": "Old databases still search fine."})
        assistant_id = search_assistant(
            c, scripted_model(search_then_cite("old databases")), store_id
        )
        run = run_on_new_thread(c, assistant_id)
        assert search_call(c, run).file_search.results[0].file_id == ids["old.md"]
    with sqlite3.connect(db) as conn:
        assert "tool_state" in {row[1] for row in conn.execute("PRAGMA table_info(runs)")}


def test_an_attachment_after_the_threads_store_was_deleted_gets_a_new_store(
    client: OpenAI,
) -> None:
    first = client.files.create(file=upload("a.md", "first"), purpose="assistants")
    attach = [{"file_id": first.id, "tools": [{"type": "file_search"}]}]
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "x", "attachments": attach}]  # type: ignore[list-item]
    )
    (old_store,) = thread.tool_resources.file_search.vector_store_ids  # type: ignore[union-attr]
    client.vector_stores.delete(old_store)
    client.beta.threads.messages.create(thread.id, role="user", content="y", attachments=attach)  # type: ignore[arg-type]
    (new_store,) = client.beta.threads.retrieve(
        thread.id
    ).tool_resources.file_search.vector_store_ids  # type: ignore[union-attr]
    assert new_store != old_store
    assert [f.id for f in client.vector_stores.files.list(new_store)] == [first.id]
