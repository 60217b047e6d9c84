"""Schema fuzzing: schemathesis sends generated requests to every operation of the server's own
OpenAPI document (``/openapi.json``) over real HTTP and checks each answer: no 5xx, only
documented status codes and content types, bodies that match the documented schema.

The fuzzer gets a server of its own (fuzzed requests delete objects and start runs), on the
session's kind of database. Path ids and ``assistant_id`` are often replaced by ids of real
objects, so requests reach past the 404 into the handlers; the rest stay random (404 paths).
Bounded: a fixed number of examples per operation and of stateful chains, generous
per-request timeouts, no example database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from openai import OpenAI
from schemathesis import checks

from langchain_assistants.server.app import create_app
from langchain_assistants.server.embedded import RunningServer, start_server
from langchain_assistants.server.settings import ServerSettings

FIXTURES = Path(__file__).parent.parent / "fixtures"
API_KEY = "sk-fuzz"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
EXAMPLES_PER_OPERATION = 15
WORKFLOWS = 15
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@pytest.fixture(scope="module")
def fuzz_server(
    new_database: Callable[[], str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    with start_server(
        db=new_database(),
        model=f"scripted:{FIXTURES / 'default_script.json'}",
        api_key=API_KEY,
        sandbox_dir=tmp_path_factory.mktemp("fuzz-sandbox"),
        code_timeout_seconds=5.0,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def known_ids(fuzz_server: RunningServer) -> dict[str, str]:
    """Ids of real objects (a finished run with its step and messages) to aim requests at."""
    with OpenAI(base_url=fuzz_server.base_url, api_key=API_KEY, max_retries=0) as client:
        assistant = client.beta.assistants.create(model="gpt-4o", name="fuzz")
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id
        )
        assert run.status == "completed"
        step = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data[0]
        message = client.beta.threads.messages.list(thread.id).data[0]
    return {
        "assistant_id": assistant.id,
        "thread_id": thread.id,
        "run_id": run.id,
        "step_id": step.id,
        "message_id": message.id,
    }


def _documented_schema() -> dict[str, Any]:
    """The OpenAPI document the app serves, built without starting it so the test can be
    parametrized at import (schemathesis' lazy ``from_fixture`` fails on pytest 9: it sets
    ``Function._nodeid``); the first test checks the running server serves the same one."""
    return create_app(ServerSettings(db=":memory:")).openapi()


schema = schemathesis.openapi.from_dict(_documented_schema())
schema.config.generation.update(
    max_examples=EXAMPLES_PER_OPERATION,
    deterministic=True,
    database="none",
    allow_x00=True,  # NUL characters too: a 400 naming the field (server/limits.py)
    # Send our key, not generated ones: the requests are meant to reach the handlers.
    with_security_parameters=False,
)


def test_the_server_serves_the_fuzzed_document(fuzz_server: RunningServer) -> None:
    served = httpx2.get(f"{_root(fuzz_server)}/openapi.json", headers=AUTH, timeout=60).json()
    assert served == schema.raw_schema
    assert "/v1/threads/{thread_id}/runs" in served["paths"]


def _root(server: RunningServer) -> str:
    return server.base_url.removesuffix("/v1")


def aim_at_known_objects(case: Any, server: RunningServer, known: dict[str, str]) -> None:
    """Replace generated ids by real ones: always the objects the path goes through; the
    object a path ends at, and the body's ``assistant_id``, when the generated value has an
    even length (a function of the example, so Hypothesis stays deterministic). DELETE gets
    a fresh object of its own, so the known objects stay for the other operations."""
    for name, value in list((case.path_parameters or {}).items()):
        if name not in known:
            continue
        is_target = case.path.endswith(f"{{{name}}}")
        if not is_target:
            case.path_parameters[name] = known[name]
        elif len(str(value)) % 2 == 0:
            deleting = case.method.upper() == "DELETE"
            fresh = _fresh(server, name, known) if deleting else known[name]
            case.path_parameters[name] = fresh or value
    body = case.body
    generated = body.get("assistant_id") if isinstance(body, dict) else None
    if isinstance(generated, str) and len(generated) % 2 == 0:
        body["assistant_id"] = known["assistant_id"]


def _fresh(server: RunningServer, name: str, known: dict[str, str]) -> str | None:
    """A new object to delete (None when there is none to make, e.g. the thread is busy)."""
    paths = {
        "assistant_id": ("/assistants", {"model": "gpt-4o"}),
        "thread_id": ("/threads", {}),
        "message_id": (f"/threads/{known['thread_id']}/messages", {"role": "user", "content": "x"}),
    }
    if name not in paths:
        return None
    path, body = paths[name]
    answer = httpx2.post(f"{server.base_url}{path}", json=body, headers=AUTH, timeout=60)
    return str(answer.json()["id"]) if answer.status_code == 200 else None


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(
    case: Any, fuzz_server: RunningServer, known_ids: dict[str, str]
) -> None:
    aim_at_known_objects(case, fuzz_server, known_ids)
    case.call_and_validate(base_url=_root(fuzz_server), headers=AUTH, checks=CHECKS, timeout=60)


@pytest.mark.slow
def test_workflows_answer_as_documented(fuzz_server: RunningServer) -> None:
    """Stateful: chains of calls that feed ids from one answer into the next request (links
    that schemathesis infers from the document: create an assistant, then use its id, ...)."""
    root = _root(fuzz_server)

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": root, "headers": AUTH, "timeout": 60}

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Workflow.run(
        settings=settings(
            max_examples=WORKFLOWS,
            stateful_step_count=8,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
