"""file_search in a run and its citations on a real PostgreSQL (pgserver's, a dev
dependency: no OS package needed), so the run path is covered on both databases.

The whole file-search suite also runs there with ``make test-postgres PG_URL=...``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pgserver
import pytest
from openai import OpenAI

from langchain_assistants.server.embedded import start_server

from .helpers import SCRIPT_FILES
from .test_file_search import DECOYS, FACT_FILE, INCLUDE_CONTENT, search_then_cite, upload

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("pg-file-search")
    server = pgserver.get_server(tmp / "data", cleanup_mode="stop")
    server.psql("CREATE DATABASE file_search;")
    try:
        yield server.get_uri().replace("/postgres?", "/file_search?"), tmp
    finally:
        server.cleanup()


def test_cited_answer_on_postgres(
    postgres_url: tuple[str, Path], scripted_model: Callable[..., str]
) -> None:
    url, tmp = postgres_url
    with (
        start_server(
            db=url,
            sandbox_dir=tmp / "sandbox",
            files_dir=tmp / "files",
            allowed_models=SCRIPT_FILES,
        ) as srv,
        OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as client,
    ):
        store = client.vector_stores.create(name="decoys")
        client.vector_stores.file_batches.upload_and_poll(
            vector_store_id=store.id, files=[upload(n, t) for n, t in DECOYS.items()]
        )
        assistant = client.beta.assistants.create(
            model=scripted_model(search_then_cite("shares outstanding October 2023")),
            tools=[{"type": "file_search"}],
            tool_resources={"file_search": {"vector_store_ids": [store.id]}},
        )
        fact = client.files.create(file=upload(*FACT_FILE), purpose="assistants")
        thread = client.beta.threads.create(
            messages=[
                {
                    "role": "user",
                    "content": "How many AAPL shares?",
                    "attachments": [{"file_id": fact.id, "tools": [{"type": "file_search"}]}],
                }
            ]
        )
        with client.beta.threads.runs.stream(
            thread_id=thread.id, assistant_id=assistant.id, include=[INCLUDE_CONTENT]
        ) as stream:
            stream.until_done()
            (final,) = stream.get_final_messages()
            run = stream.get_final_run()
        assert run.status == "completed"
        (note,) = final.content[0].text.annotations  # type: ignore[union-attr]
        assert note.file_citation.file_id == fact.id  # type: ignore[union-attr]
        stored = client.beta.threads.messages.retrieve(final.id, thread_id=thread.id)
        assert stored.content[0].text.annotations == [note]  # type: ignore[union-attr]
        steps = client.beta.threads.runs.steps.list(
            run.id, thread_id=thread.id, include=[INCLUDE_CONTENT]
        )
        (call,) = [c for s in steps if s.type == "tool_calls" for c in s.step_details.tool_calls]  # type: ignore[union-attr]
        first = call.file_search.results[0]  # type: ignore[union-attr]
        assert first.file_id == fact.id and "15,115,823,000" in (first.content[0].text or "")  # type: ignore[index]
