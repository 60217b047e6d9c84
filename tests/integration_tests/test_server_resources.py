"""Assistants, threads and messages over HTTP with the official SDK: CRUD, lists, errors."""

from __future__ import annotations

import httpx2
import openai
import pytest
from openai import OpenAI
from openai.types.beta import Assistant, AssistantDeleted, Thread, ThreadDeleted
from openai.types.beta.threads import Message, MessageDeleted

from langchain_assistants.server.embedded import RunningServer


def test_assistant_crud(client: OpenAI) -> None:
    created = client.beta.assistants.create(
        name="Math Tutor",
        instructions="You are a personal math tutor.",
        tools=[{"type": "code_interpreter"}, {"type": "function", "function": {"name": "f"}}],
        model="gpt-4o",
        metadata={"team": "math"},
        temperature=0.5,
    )
    assert isinstance(created, Assistant)
    assert created.id.startswith("asst_")
    assert created.tools[0].type == "code_interpreter"
    assert created.tools[1].type == "function" and created.tools[1].function.name == "f"
    fetched = client.beta.assistants.retrieve(created.id)
    assert fetched == created
    updated = client.beta.assistants.update(created.id, name="Renamed", metadata={"v": "2"})
    assert (updated.name, updated.metadata, updated.instructions) == (
        "Renamed",
        {"v": "2"},
        "You are a personal math tutor.",
    )
    deleted = client.beta.assistants.delete(created.id)
    assert isinstance(deleted, AssistantDeleted) and deleted.deleted and deleted.id == created.id
    with pytest.raises(openai.NotFoundError) as info:
        client.beta.assistants.retrieve(created.id)
    assert info.value.status_code == 404
    assert f"No assistant found with id '{created.id}'." in info.value.message


def test_list_pagination_order_and_cursors(client: OpenAI) -> None:
    thread = client.beta.threads.create()
    ids = [
        client.beta.threads.messages.create(thread.id, role="user", content=f"m{i}").id
        for i in range(7)
    ]
    page = client.beta.threads.messages.list(thread.id, limit=3)
    assert [m.id for m in page.data] == ids[::-1][:3]  # default order is desc
    assert page.has_more is True
    assert page.first_id == ids[6] and page.last_id == ids[4]
    everything = [m.id for m in client.beta.threads.messages.list(thread.id, limit=2, order="asc")]
    assert everything == ids  # the SDK's auto-pagination follows after=last_id
    after = client.beta.threads.messages.list(thread.id, order="asc", after=ids[2], limit=2)
    assert [m.id for m in after.data] == ids[3:5] and after.has_more
    before = client.beta.threads.messages.list(thread.id, order="asc", before=ids[5], limit=2)
    assert [m.id for m in before.data] == ids[3:5]
    before_desc = client.beta.threads.messages.list(thread.id, order="desc", before=ids[2], limit=2)
    assert [m.id for m in before_desc.data] == [ids[4], ids[3]]
    last = client.beta.threads.messages.list(thread.id, order="asc", after=ids[5])
    assert [m.id for m in last.data] == [ids[6]] and last.has_more is False


def test_thread_with_messages_modify_and_delete(client: OpenAI) -> None:
    thread = client.beta.threads.create(
        messages=[
            {"role": "user", "content": "first", "metadata": {"k": "v"}},
            {"role": "user", "content": [{"type": "text", "text": "second"}]},
        ],
        metadata={"user": "jane"},
    )
    assert isinstance(thread, Thread) and thread.metadata == {"user": "jane"}
    messages = client.beta.threads.messages.list(thread.id, order="asc").data
    assert [m.content[0].text.value for m in messages] == ["first", "second"]  # type: ignore[union-attr]
    assert messages[0].metadata == {"k": "v"} and messages[0].status == "completed"
    updated = client.beta.threads.update(thread.id, metadata={"user": "john"})
    assert updated.metadata == {"user": "john"}
    message = client.beta.threads.messages.update(
        messages[0].id, thread_id=thread.id, metadata={"seen": "yes"}
    )
    assert isinstance(message, Message) and message.metadata == {"seen": "yes"}
    gone = client.beta.threads.messages.delete(messages[1].id, thread_id=thread.id)
    assert isinstance(gone, MessageDeleted) and gone.object == "thread.message.deleted"
    assert len(client.beta.threads.messages.list(thread.id).data) == 1
    deleted = client.beta.threads.delete(thread.id)
    assert isinstance(deleted, ThreadDeleted) and deleted.deleted
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.retrieve(thread.id)
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.list(thread.id)


def test_message_content_blocks_and_attachments(client: OpenAI) -> None:
    upload = client.files.create(file=("a.csv", b"a\n"), purpose="assistants")
    thread = client.beta.threads.create()
    message = client.beta.threads.messages.create(
        thread.id,
        role="user",
        content=[
            {"type": "text", "text": "look"},
            {
                "type": "image_url",
                "image_url": {"url": "https://example.com/a.png", "detail": "low"},
            },
        ],
        attachments=[{"file_id": upload.id, "tools": [{"type": "code_interpreter"}]}],
    )
    assert message.content[1].type == "image_url"
    assert message.attachments and message.attachments[0].file_id == upload.id


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
        ({"metadata": {"k" * 65: "v"}}, "metadata"),
        ({"metadata": {"k": "v" * 513}}, "metadata"),
        ({"tools": [{"type": "browser"}]}, "tools"),
        ({"temperature": 3}, "temperature"),
    ],
)
def test_validation_errors_name_the_field(client: OpenAI, kwargs: dict, param: str) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.beta.assistants.create(model="gpt-4o", **kwargs)
    assert info.value.status_code == 400
    body = info.value.body
    assert (
        isinstance(body, dict)
        and body["param"] == param
        and body["type"] == "invalid_request_error"
    )


def test_too_many_tools_rejected(client: OpenAI) -> None:
    tools = [{"type": "function", "function": {"name": f"f{i}"}} for i in range(129)]
    with pytest.raises(openai.BadRequestError, match="128"):
        client.beta.assistants.create(model="gpt-4o", tools=tools)  # type: ignore[arg-type]


def test_list_limit_bounds(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        client.beta.assistants.list(limit=101)
    with pytest.raises(openai.BadRequestError):
        client.beta.assistants.list(limit=0)


def test_auth_required_with_error_envelope(server: RunningServer) -> None:
    with (
        OpenAI(base_url=server.base_url, api_key="wrong", max_retries=0) as bad,
        pytest.raises(openai.AuthenticationError) as info,
    ):
        bad.beta.assistants.list()
    assert info.value.status_code == 401
    raw = httpx2.get(f"{server.base_url}/assistants")
    assert raw.status_code == 401
    assert set(raw.json()["error"]) == {"message", "type", "param", "code"}
    assert "sk-test-local" not in raw.text


def test_unknown_path_is_an_envelope(server: RunningServer, client: OpenAI) -> None:
    raw = httpx2.get(
        f"{server.base_url}/nothing-here", headers={"Authorization": "Bearer sk-test-local"}
    )
    assert raw.status_code == 404 and raw.json()["error"]["code"] == "not_found"


def test_routes_also_answer_without_v1_prefix(server: RunningServer) -> None:
    root = server.base_url.removesuffix("/v1")
    with OpenAI(base_url=root, api_key="sk-test-local", max_retries=0) as c:
        assert c.beta.assistants.create(model="gpt-4o").object == "assistant"
