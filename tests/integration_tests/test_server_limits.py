"""Request limits through the real SDK: message text over 256,000 characters and NUL
characters answer 400 naming the field, bodies over ``max_request_bytes`` answer 413 while
they are read (declared or streamed), and nothing is stored by a refused request. Also: a
database made before projects existed opens and keeps its objects in project ``default``."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from langchain_assistants.server.embedded import RunningServer, start_server

LIMIT = 256_000
SMALL_BODY_LIMIT = 64 * 1024


def _bad_request(call: Any) -> dict[str, Any]:
    with pytest.raises(openai.BadRequestError) as info:
        call()
    assert info.value.status_code == 400
    body: dict[str, Any] = info.value.body  # type: ignore[assignment]
    assert body["type"] == "invalid_request_error"
    return body


# -- message text ---------------------------------------------------------------------


def test_message_text_limit_on_every_way_in(client: OpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o").id
    thread = client.beta.threads.create().id
    exact = client.beta.threads.messages.create(thread, role="user", content="x" * LIMIT)
    assert len(exact.content[0].text.value) == LIMIT  # type: ignore[union-attr]
    too_long = "y" * (LIMIT + 1)
    messages = client.beta.threads.messages
    body = _bad_request(lambda: messages.create(thread, role="user", content=too_long))
    assert body["param"] == "content" and "256000" in body["message"]
    halves = [{"type": "text", "text": "z" * (LIMIT // 2 + 1)}] * 2
    body = _bad_request(lambda: messages.create(thread, role="user", content=halves))  # type: ignore[arg-type]
    assert body["param"] == "content"
    body = _bad_request(
        lambda: client.beta.threads.create(
            messages=[{"role": "user", "content": "ok"}, {"role": "user", "content": too_long}]
        )
    )
    assert body["param"] == "messages[1].content"
    body = _bad_request(
        lambda: client.beta.threads.runs.create(
            thread,
            assistant_id=assistant,
            additional_messages=[{"role": "user", "content": too_long}],
        )
    )
    assert body["param"] == "additional_messages[0].content"
    body = _bad_request(
        lambda: client.beta.threads.create_and_run(
            assistant_id=assistant, thread={"messages": [{"role": "user", "content": too_long}]}
        )
    )
    assert body["param"] == "thread.messages[0].content"
    # Nothing of the refused requests was stored.
    assert [m.id for m in messages.list(thread)] == [exact.id]
    assert client.beta.threads.runs.list(thread).data == []


async def test_message_text_limit_async(async_client: AsyncOpenAI) -> None:
    thread = await async_client.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as info:
        await async_client.beta.threads.messages.create(
            thread.id, role="user", content="y" * (LIMIT + 1)
        )
    assert info.value.body["param"] == "content"  # type: ignore[index]


# -- NUL characters -------------------------------------------------------------------


def test_nul_characters_answer_400_naming_the_field(client: OpenAI) -> None:
    thread = client.beta.threads.create().id
    messages = client.beta.threads.messages
    cases: list[tuple[Any, str]] = [
        (lambda: messages.create(thread, role="user", content="a\x00b"), "content"),
        (
            lambda: messages.create(
                thread,
                role="user",
                content=[{"type": "text", "text": "ok"}, {"type": "text", "text": "\x00"}],
            ),
            "content[1].text",
        ),
        (lambda: client.beta.threads.create(metadata={"k": "v\x00"}), "metadata.k"),
        (lambda: client.beta.threads.create(metadata={"k\x00": "v"}), "metadata"),
        (lambda: client.beta.assistants.create(model="gpt-4o", name="n\x00"), "name"),
        (
            lambda: client.beta.threads.create(
                messages=[{"role": "user", "content": "fine"}, {"role": "user", "content": "\0"}]
            ),
            "messages[1].content",
        ),
        (lambda: messages.list(thread, after="msg_\x00"), "after"),
        (lambda: client.beta.assistants.retrieve("asst_\x00"), "assistant_id"),
    ]
    for call, param in cases:
        body = _bad_request(call)
        assert body["param"] == param
        assert "NUL" in body["message"] and param in body["message"]
    assert messages.list(thread).data == []


async def test_nul_characters_async(async_client: AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        await async_client.beta.assistants.create(model="gpt-4o", instructions="a\x00")
    assert info.value.body["param"] == "instructions"  # type: ignore[index]


# -- request body size ----------------------------------------------------------------


@pytest.fixture(scope="module")
def small_body_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("limits")
    with start_server(db=str(tmp / "limits.db"), max_request_bytes=SMALL_BODY_LIMIT) as srv:
        yield srv


def _assert_too_large(error: openai.APIStatusError) -> None:
    assert error.status_code == 413
    body: dict[str, Any] = error.body  # type: ignore[assignment]
    assert body["code"] == "request_too_large" and str(SMALL_BODY_LIMIT) in body["message"]


def test_body_over_the_limit_gets_413(small_body_server: RunningServer) -> None:
    with OpenAI(base_url=small_body_server.base_url, api_key="k", max_retries=0) as c:
        thread = c.beta.threads.create().id
        c.beta.threads.messages.create(thread, role="user", content="x" * 1000)
        for size in (SMALL_BODY_LIMIT + 1, 8 * SMALL_BODY_LIMIT):
            with pytest.raises(openai.APIStatusError) as info:
                c.beta.threads.messages.create(thread, role="user", content="x" * size)
            _assert_too_large(info.value)
        assert len(c.beta.threads.messages.list(thread).data) == 1


def test_streamed_body_is_counted_while_it_is_read(small_body_server: RunningServer) -> None:
    with OpenAI(base_url=small_body_server.base_url, api_key="k", max_retries=0) as c:
        thread = c.beta.threads.create().id
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        yield b'{"role": "user", "content": "'
        for _ in range(100):  # 100 x 8 KiB, far over the 64 KiB limit
            sent += 8192
            yield b"z" * 8192
        yield b'"}'

    url = f"{small_body_server.base_url}/threads/{thread}/messages"
    response = httpx2.post(url, content=chunks(), headers={"content-type": "application/json"})
    assert response.request.headers.get("transfer-encoding") == "chunked"  # no length given
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


async def test_body_over_the_limit_async(small_body_server: RunningServer) -> None:
    async with AsyncOpenAI(base_url=small_body_server.base_url, api_key="k", max_retries=0) as c:
        with pytest.raises(openai.APIStatusError) as info:
            await c.beta.assistants.create(model="gpt-4o", instructions="i" * SMALL_BODY_LIMIT)
        _assert_too_large(info.value)


def test_multipart_uploads_to_files_are_not_held_to_the_json_limit(
    small_body_server: RunningServer,
) -> None:
    files = {"file": ("big.txt", b"x" * (2 * SMALL_BODY_LIMIT), "text/plain")}
    response = httpx2.post(
        f"{small_body_server.base_url}/files", files=files, data={"purpose": "assistants"}
    )
    assert response.status_code != 413  # the upload route applies its own limit
    json_body = httpx2.post(
        f"{small_body_server.base_url}/files",
        json={"pad": "x" * (2 * SMALL_BODY_LIMIT)},
    )
    assert json_body.status_code == 413  # a JSON body on the same path is limited


# -- databases from before projects ----------------------------------------------------


# SQLite only (no database fixture, so not on the PostgreSQL pass): it rewrites the tables
# with the sqlite3 module to make a database of the version before projects.
def test_a_database_made_before_projects_opens_with_its_objects_in_default(
    tmp_path: Path,
) -> None:
    db = tmp_path / "old.db"
    with (
        start_server(db=str(db), api_key="sk-old") as srv,
        OpenAI(base_url=srv.base_url, api_key="sk-old", max_retries=0) as c,
    ):
        assistant = c.beta.assistants.create(model="gpt-4o", name="kept").id
        thread = c.beta.threads.create(messages=[{"role": "user", "content": "hi"}]).id
    with sqlite3.connect(db) as conn:  # make it look like a database of the previous version
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        # The tables that have a project column (retrieval's chunk and FTS tables do not).
        tables = [
            t for t in names if "project" in [r[1] for r in conn.execute(f"PRAGMA table_info({t})")]
        ]
        for table in tables:
            if "project" not in {c[1] for c in conn.execute(f"PRAGMA table_info({table})")}:
                continue  # a table without projects (file_blobs)
            conn.execute(f"DROP INDEX IF EXISTS ix_{table}_project")
            conn.execute(f"ALTER TABLE {table} DROP COLUMN project")
    keys = tmp_path / "keys.txt"
    keys.write_text("sk-new-project-key other\n")
    with start_server(db=str(db), api_key="sk-old", api_keys_file=keys) as srv:
        with OpenAI(base_url=srv.base_url, api_key="sk-old", max_retries=0) as c:
            assert c.beta.assistants.retrieve(assistant).name == "kept"
            assert len(c.beta.threads.messages.list(thread).data) == 1
        with (
            OpenAI(base_url=srv.base_url, api_key="sk-new-project-key", max_retries=0) as other,
            pytest.raises(openai.NotFoundError),
        ):
            other.beta.assistants.retrieve(assistant)
    with sqlite3.connect(db) as conn:
        for table in tables:
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            assert "project" in columns or table == "file_blobs"
