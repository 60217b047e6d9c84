"""In-process servers on ChatOpenAI (``--model openai:...``), one after another in one
process: each reaches its own upstream. langchain-openai caches one async HTTP client per
base URL for the whole process, whose pooled connections belong to the first server's
event loop; the server gives its ChatOpenAI clients of its own (``engine/models.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from openai import OpenAI

from langchain_assistants.server.embedded import start_server

from .fake_upstream import fake_upstream
from .helpers import text_of


def _one_run(db: Path, tag: str) -> tuple[str, str]:
    """A server of its own on ``db``: one run's status and its answer (or error)."""
    with (
        start_server(db=str(db), model="openai:gpt-4o-mini") as srv,
        OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c,
    ):
        assistant = c.beta.assistants.create(model="gpt-4o")
        thread = c.beta.threads.create(messages=[{"role": "user", "content": f"hello {tag}"}])
        run = c.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        last = c.beta.threads.messages.list(thread.id, limit=1).data[0]
        return run.status, (run.last_error.message if run.last_error else text_of(last))


@pytest.mark.parametrize("same_upstream", [True, False])
def test_a_server_restarted_in_the_same_process_reaches_its_upstream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, same_upstream: bool
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-upstream-secret")
    monkeypatch.delenv("OPENAI_API_BASE", raising=False)
    with fake_upstream() as first:
        monkeypatch.setenv("OPENAI_BASE_URL", first)
        assert _one_run(tmp_path / "a.db", "one") == ("completed", "Echo: hello one")
        if same_upstream:
            assert _one_run(tmp_path / "b.db", "two") == ("completed", "Echo: hello two")
    if not same_upstream:
        with fake_upstream() as second:
            monkeypatch.setenv("OPENAI_BASE_URL", second)
            assert _one_run(tmp_path / "c.db", "three") == ("completed", "Echo: hello three")
