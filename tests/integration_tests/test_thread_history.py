"""A run's prompt is the thread as the database has it now, however it got there.

The engine keeps each thread's converted messages between runs (``engine/thread_history.py``)
and reads only what changed; these tests change threads between runs (adding, deleting,
deleting the newest and adding another, from a second server process on the same
database) and check each run's prompt. The scripted model's ``prompt_tokens`` is the
number of words in its prompt, so it shows exactly what the model was given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from openai import OpenAI

from langchain_assistants.server.embedded import RunningServer, start_server

API_KEY = "sk-history-test"
ANSWER = "ok"  # one word in the prompt of every later run


def _words(*texts: str) -> int:
    return sum(len(t.split()) for t in texts)


@pytest.fixture
def two_servers(
    tmp_path: Path, scripted_model: Callable[..., str]
) -> Iterator[tuple[OpenAI, OpenAI, str]]:
    """Two server processes' worth of engines on one SQLite file, and an assistant."""
    model = scripted_model([{"match": "", "turns": [{"content": ANSWER}] * 5}])
    db = str(tmp_path / "shared.db")
    with (
        start_server(db=db, model=model, api_key=API_KEY, sandbox_dir=tmp_path / "a") as a,
        start_server(db=db, model=model, api_key=API_KEY, sandbox_dir=tmp_path / "b") as b,
    ):
        first, second = _client(a), _client(b)
        assistant = first.beta.assistants.create(model=model)
        yield first, second, assistant.id
        first.close()
        second.close()


def _client(server: RunningServer) -> OpenAI:
    return OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0)


def _prompt_words(client: OpenAI, thread_id: str, assistant_id: str, **options: Any) -> int:
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread_id, assistant_id=assistant_id, **options
    )
    assert run.status == "completed", run.last_error
    assert run.usage is not None
    return run.usage.prompt_tokens


def test_each_run_sees_the_thread_as_stored_now(two_servers: tuple[OpenAI, OpenAI, str]) -> None:
    client, _, assistant = two_servers
    messages = client.beta.threads.messages
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "alpha beta"}])
    assert _prompt_words(client, thread.id, assistant) == _words("alpha beta")

    messages.create(thread.id, role="user", content="gamma delta epsilon")
    expected = _words("alpha beta", ANSWER, "gamma delta epsilon")
    assert _prompt_words(client, thread.id, assistant) == expected

    # Delete the first message: only the newer ones stay.
    first = messages.list(thread.id, order="asc").data[0]
    messages.delete(first.id, thread_id=thread.id)
    messages.create(thread.id, role="user", content="zeta")
    expected = _words(ANSWER, "gamma delta epsilon", ANSWER, "zeta")
    assert _prompt_words(client, thread.id, assistant) == expected

    # Delete the last run's answer and the message before it, add another: the same
    # number of messages as when the last run read them, a different newest one.
    for message in messages.list(thread.id, order="desc", limit=2).data:
        messages.delete(message.id, thread_id=thread.id)
    messages.create(thread.id, role="user", content="one two three four five")
    expected = _words(ANSWER, "gamma delta epsilon", ANSWER, "one two three four five")
    assert _prompt_words(client, thread.id, assistant) == expected


def test_changes_made_through_another_process_are_seen(
    two_servers: tuple[OpenAI, OpenAI, str],
) -> None:
    first, second, assistant = two_servers
    thread = first.beta.threads.create(
        messages=[
            {"role": "user", "content": "red green"},
            {"role": "user", "content": "blue"},
        ]
    )
    assert _prompt_words(first, thread.id, assistant) == _words("red green", "blue")
    # The second process deletes the answer and "blue" and adds another: as many messages
    # as the first process read last time, so only the newest id tells them apart.
    for message in second.beta.threads.messages.list(thread.id, order="desc", limit=2).data:
        second.beta.threads.messages.delete(message.id, thread_id=thread.id)
    second.beta.threads.messages.create(thread.id, role="user", content="cyan magenta yellow")
    expected = _words("red green", "cyan magenta yellow")
    assert _prompt_words(first, thread.id, assistant) == expected


def test_last_messages_truncation_shows_only_the_newest(
    two_servers: tuple[OpenAI, OpenAI, str],
) -> None:
    client, _, assistant = two_servers
    texts = [f"message {i} has five words" for i in range(12)]
    thread = client.beta.threads.create(messages=[{"role": "user", "content": t} for t in texts])
    truncation = {"type": "last_messages", "last_messages": 3}
    assert _prompt_words(client, thread.id, assistant, truncation_strategy=truncation) == _words(
        *texts[-3:]
    )
    # A cached full copy (from a run without truncation) is truncated the same way.
    assert _prompt_words(client, thread.id, assistant) == _words(*texts, ANSWER)
    assert _prompt_words(client, thread.id, assistant, truncation_strategy=truncation) == _words(
        texts[-1], ANSWER, ANSWER
    )
