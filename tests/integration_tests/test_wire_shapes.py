"""Each of the 23 operations answers JSON that parses as the SDK's type, no field missing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from openai import BaseModel
from openai.types.beta import Assistant, AssistantDeleted, Thread, ThreadDeleted
from openai.types.beta.threads import Message, MessageDeleted, Run
from openai.types.beta.threads.runs import RunStep

from langchain_assistants.server.embedded import RunningServer

from .helpers import WEATHER_TOOLS


def assert_shape(model: type[BaseModel], data: dict[str, Any]) -> None:
    model.model_validate(data)
    missing = set(model.model_fields) - set(data)
    assert not missing, f"{model.__name__} is missing {sorted(missing)}"


def assert_list(model: type[BaseModel], data: dict[str, Any]) -> None:
    assert set(data) == {"object", "data", "first_id", "last_id", "has_more"}
    assert data["object"] == "list" and data["data"]
    for item in data["data"]:
        assert_shape(model, item)


@pytest.fixture
def http(server: RunningServer) -> Iterator[httpx2.Client]:
    headers = {"Authorization": "Bearer sk-test-local", "OpenAI-Beta": "assistants=v2"}
    with httpx2.Client(base_url=server.base_url, headers=headers, timeout=10) as c:
        yield c


def ok(response: httpx2.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return dict(response.json())


def wait_run(http: httpx2.Client, thread_id: str, run_id: str) -> dict[str, Any]:
    for _ in range(400):
        run = ok(http.get(f"/threads/{thread_id}/runs/{run_id}"))
        if run["status"] not in ("queued", "in_progress"):
            return run
        import time

        time.sleep(0.025)
    raise AssertionError("run did not settle")


def test_all_23_operations_have_sdk_shapes(http: httpx2.Client) -> None:
    operations = 0

    def count(data: dict[str, Any]) -> dict[str, Any]:
        nonlocal operations
        operations += 1
        return data

    # assistants (5)
    assistant = count(
        ok(http.post("/assistants", json={"model": "gpt-4o", "tools": WEATHER_TOOLS}))
    )
    assert_shape(Assistant, assistant)
    assert_list(Assistant, count(ok(http.get("/assistants"))))
    assert_shape(Assistant, count(ok(http.get(f"/assistants/{assistant['id']}"))))
    assert_shape(
        Assistant, count(ok(http.post(f"/assistants/{assistant['id']}", json={"name": "n"})))
    )
    spare = ok(http.post("/assistants", json={"model": "gpt-4o"}))
    assert_shape(AssistantDeleted, count(ok(http.delete(f"/assistants/{spare['id']}"))))

    # threads (4 + create-and-run)
    thread = count(
        ok(http.post("/threads", json={"messages": [{"role": "user", "content": "hi"}]}))
    )
    assert_shape(Thread, thread)
    tid = thread["id"]
    assert_shape(Thread, count(ok(http.get(f"/threads/{tid}"))))
    assert_shape(Thread, count(ok(http.post(f"/threads/{tid}", json={"metadata": {"a": "b"}}))))

    # messages (5)
    message = count(
        ok(http.post(f"/threads/{tid}/messages", json={"role": "user", "content": "weather?"}))
    )
    assert_shape(Message, message)
    assert_list(Message, count(ok(http.get(f"/threads/{tid}/messages"))))
    assert_shape(Message, count(ok(http.get(f"/threads/{tid}/messages/{message['id']}"))))
    assert_shape(
        Message,
        count(
            ok(http.post(f"/threads/{tid}/messages/{message['id']}", json={"metadata": {"x": "y"}}))
        ),
    )

    # runs (6): create -> requires_action -> submit -> completed; then cancel another
    run = count(ok(http.post(f"/threads/{tid}/runs", json={"assistant_id": assistant["id"]})))
    assert_shape(Run, run)
    waiting = wait_run(http, tid, run["id"])
    assert waiting["status"] == "requires_action"
    assert_shape(Run, waiting)
    calls = waiting["required_action"]["submit_tool_outputs"]["tool_calls"]
    submitted = count(
        ok(
            http.post(
                f"/threads/{tid}/runs/{run['id']}/submit_tool_outputs",
                json={"tool_outputs": [{"tool_call_id": c["id"], "output": "x"} for c in calls]},
            )
        )
    )
    assert_shape(Run, submitted)
    done = count(wait_run(http, tid, run["id"]))
    assert done["status"] == "completed"
    assert_shape(Run, done)
    assert_list(Run, count(ok(http.get(f"/threads/{tid}/runs"))))
    assert_shape(
        Run, count(ok(http.post(f"/threads/{tid}/runs/{run['id']}", json={"metadata": {"m": "1"}})))
    )

    # run steps (2)
    steps = count(ok(http.get(f"/threads/{tid}/runs/{run['id']}/steps")))
    assert_list(RunStep, steps)
    assert {s["type"] for s in steps["data"]} == {"tool_calls", "message_creation"}
    step_id = steps["data"][0]["id"]
    assert_shape(RunStep, count(ok(http.get(f"/threads/{tid}/runs/{run['id']}/steps/{step_id}"))))

    ok(http.post(f"/threads/{tid}/messages", json={"role": "user", "content": "weather again"}))
    second = ok(http.post(f"/threads/{tid}/runs", json={"assistant_id": assistant["id"]}))
    assert wait_run(http, tid, second["id"])["status"] == "requires_action"
    cancelled = count(ok(http.post(f"/threads/{tid}/runs/{second['id']}/cancel")))
    assert_shape(Run, cancelled)

    assert_shape(MessageDeleted, count(ok(http.delete(f"/threads/{tid}/messages/{message['id']}"))))
    assert_shape(ThreadDeleted, count(ok(http.delete(f"/threads/{tid}"))))

    created = count(
        ok(
            http.post(
                "/threads/runs",
                json={
                    "assistant_id": assistant["id"],
                    "thread": {"messages": [{"role": "user", "content": "hi"}]},
                },
            )
        )
    )
    assert_shape(Run, created)
    assert operations == 23


def test_stream_frames_parse_as_sdk_events(server: RunningServer, http: httpx2.Client) -> None:
    from openai.types.beta import AssistantStreamEvent
    from pydantic import TypeAdapter

    adapter: TypeAdapter[Any] = TypeAdapter(AssistantStreamEvent)
    assistant = ok(
        http.post("/assistants", json={"model": "gpt-4o", "tools": [{"type": "code_interpreter"}]})
    )
    body = {
        "assistant_id": assistant["id"],
        "stream": True,
        "thread": {"messages": [{"role": "user", "content": "10 - 4 raised to the 2.7"}]},
    }
    with http.stream("POST", "/threads/runs", json=body) as response:
        text = "".join(response.iter_text())
    names = []
    for frame in text.replace("\r\n", "\n").split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines() if ": " in line)
        if "event" not in lines or lines["event"] == "done":
            continue
        names.append(lines["event"])
        adapter.validate_python({"event": lines["event"], "data": json.loads(lines["data"])})
    assert names[0] == "thread.created" and names[-1] == "thread.run.completed"
    assert names.count("thread.run.step.created") == 2
