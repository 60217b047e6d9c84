"""The OpenAPI document describes the real shapes, and the bad input schema fuzzing found
answers 400 with the error envelope naming the field (each crashed a route with a 500)."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from openai import OpenAI

from langchain_assistants.server.app import create_app
from langchain_assistants.server.embedded import RunningServer
from langchain_assistants.server.settings import ServerSettings

API_KEY = "sk-test-local"  # the shared server's key (tests/conftest.py)

AUTH = {"Authorization": f"Bearer {API_KEY}"}


@pytest.fixture(scope="module")
def document(server: RunningServer) -> dict[str, Any]:
    answer = httpx2.get(f"{server.base_url.removesuffix('/v1')}/openapi.json", headers=AUTH)
    assert answer.status_code == 200
    return dict(answer.json())


def _ok_schema(document: dict[str, Any], path: str, method: str, media: str) -> Any:
    return document["paths"][path][method]["responses"]["200"]["content"][media]["schema"]


def test_responses_are_the_sdk_types(document: dict[str, Any]) -> None:
    json = "application/json"
    assert _ok_schema(document, "/v1/assistants", "post", json) == {
        "$ref": "#/components/schemas/Assistant"
    }
    page = _ok_schema(document, "/v1/threads/{thread_id}/messages", "get", json)["$ref"]
    page_schema = document["components"]["schemas"][page.rsplit("/", 1)[1]]
    assert set(page_schema["required"]) == {"object", "data", "first_id", "last_id", "has_more"}
    assert page_schema["properties"]["data"]["items"] == {"$ref": "#/components/schemas/Message"}
    run = "/v1/threads/{thread_id}/runs"
    assert _ok_schema(document, run, "post", json) == {"$ref": "#/components/schemas/Run"}
    events = _ok_schema(document, run, "post", "text/event-stream")
    assert {"thread.run.created", "thread.message.delta", "done"} <= set(
        events["properties"]["event"]["enum"]
    )
    retrieve = document["paths"]["/v1/threads/{thread_id}/runs/{run_id}"]["get"]
    assert "openai-poll-after-ms" in retrieve["responses"]["200"]["headers"]
    step = "/v1/threads/{thread_id}/runs/{run_id}/steps/{step_id}"
    assert _ok_schema(document, step, "get", json) == {"$ref": "#/components/schemas/RunStep"}
    content = _ok_schema(document, "/v1/files/{file_id}/content", "get", "application/octet-stream")
    assert content["format"] == "binary"


def test_errors_are_the_envelope_with_400_not_422(document: dict[str, Any]) -> None:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            for code in ("400", "401", "500"):
                schema = responses[code]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}, (code, path)
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


def test_a_route_added_without_documenting_still_lists_its_errors() -> None:
    """New routes (other modules) are fuzzed too: their errors are in the document anyway."""
    app = create_app(ServerSettings(db=":memory:"))

    @app.post("/v1/extra/{extra_id}")
    async def extra(extra_id: str) -> dict[str, str]:
        return {"id": extra_id}

    responses = app.openapi()["paths"]["/v1/extra/{extra_id}"]["post"]["responses"]
    assert sorted(responses) == ["200", "400", "401", "404", "413", "500", "503"]
    assert "ErrorEnvelope" in str(responses["404"])


def test_request_shapes_are_documented(document: dict[str, Any]) -> None:
    create = document["components"]["schemas"]["AssistantCreate"]["properties"]
    tool_kinds = {
        branch["properties"]["type"]["const"]
        for branch in create["tools"]["anyOf"][0]["items"]["oneOf"]
    }
    assert tool_kinds == {"code_interpreter", "file_search", "function"}
    assert create["metadata"]["anyOf"][0]["maxProperties"] == 16
    assert "ResponseFormatJSONSchema" in str(create["response_format"])


@pytest.fixture(scope="module")
def ids(server: RunningServer) -> dict[str, str]:
    with OpenAI(base_url=server.base_url, api_key=API_KEY, max_retries=0) as c:
        assistant = c.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}])
        thread = c.beta.threads.create()
    return {"assistant": assistant.id, "thread": thread.id}


BAD_INPUT = [
    ("/assistants", {"model": "m", "response_format": {}}, "response_format"),
    (
        "/assistants",
        {"model": "m", "tools": [{"type": "function", "function": {"name": "f", "parameters": 5}}]},
        "tools",
    ),
    ("/threads", {"tool_resources": {"code_interpreter": {"file_ids": 5}}}, "tool_resources"),
    (
        "/threads/{thread}/messages",
        {"role": "user", "content": "x", "attachments": [{"file_id": "f", "tools": [{}]}]},
        "attachments",
    ),
    (
        "/threads/{thread}/messages",
        {"role": "user", "content": [{"type": "image_url", "image_url": 5}]},
        "content",
    ),
    (
        "/threads/{thread}/runs",
        {"assistant_id": "{assistant}", "tool_choice": {"type": "function"}},
        "tool_choice",
    ),
]


@pytest.mark.parametrize(("path", "body", "param"), BAD_INPUT)
def test_bad_input_is_a_400_naming_the_field(
    server: RunningServer, ids: dict[str, str], path: str, body: dict[str, Any], param: str
) -> None:
    if body.get("assistant_id") == "{assistant}":
        body = {**body, "assistant_id": ids["assistant"]}
    url = server.base_url + path.format(**ids)
    answer = httpx2.post(url, json=body, headers=AUTH)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"].startswith(param) and param in error["message"]


def test_modify_with_null_model_and_tools_keeps_them(client: OpenAI, ids: dict[str, str]) -> None:
    url = f"{client.base_url}assistants/{ids['assistant']}"
    answer = httpx2.post(url, json={"model": None, "tools": None, "name": "renamed"}, headers=AUTH)
    assert answer.status_code == 200, answer.text
    assistant = client.beta.assistants.retrieve(ids["assistant"])
    assert (assistant.name, assistant.model) == ("renamed", "gpt-4o")
    assert [t.type for t in assistant.tools] == ["code_interpreter"]


@pytest.mark.parametrize("escaped", ["\\ud800", "x\\udfffy", "\\u0000"])
def test_text_postgresql_cannot_store_is_a_400(server: RunningServer, escaped: str) -> None:
    """An unpaired surrogate (or NUL) crashed the insert on PostgreSQL; now it is refused on
    both databases alike. A pair (an emoji) is fine."""
    url = f"{server.base_url}/assistants"
    for key, value in ((f'"{escaped}"', '"v"'), ('"k"', f'"{escaped}"')):
        raw = f'{{"model": "m", "metadata": {{{key}: {value}}}}}'
        answer = httpx2.post(url, content=raw, headers={**AUTH, "content-type": "application/json"})
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["param"].startswith("metadata")
    raw = '{"model": "m", "name": "\\ud83d\\ude00"}'
    answer = httpx2.post(url, content=raw, headers={**AUTH, "content-type": "application/json"})
    assert answer.status_code == 200 and answer.json()["name"] == "\U0001f600"
