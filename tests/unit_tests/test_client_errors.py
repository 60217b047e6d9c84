"""Typed run errors: one base class, a subclass per way a run ends without an answer."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from openai.types.beta.threads import Run

from langchain_assistants.client import (
    AssistantRunCancelledError,
    AssistantRunError,
    AssistantRunExpiredError,
    AssistantRunFailedError,
    AssistantRunIncompleteError,
    AssistantRunTimeoutError,
    AssistantThreadBusyError,
)
from langchain_assistants.client.errors import error_for_run


def make_run(status: str, **overrides: Any) -> Run:
    data: dict[str, Any] = {
        "id": "run_1",
        "object": "thread.run",
        "created_at": 0,
        "thread_id": "thread_1",
        "assistant_id": "asst_1",
        "status": status,
        "instructions": "",
        "model": "m",
        "parallel_tool_calls": True,
        "tools": [],
    }
    data.update(overrides)
    return Run.model_validate(data)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        ("failed", AssistantRunFailedError),
        ("expired", AssistantRunExpiredError),
        ("cancelled", AssistantRunCancelledError),
        ("incomplete", AssistantRunIncompleteError),
    ],
)
def test_error_for_each_status(status: str, cls: type[AssistantRunError]) -> None:
    run = make_run(status)
    error = error_for_run(run)
    assert isinstance(error, cls)
    assert isinstance(error, AssistantRunError)
    assert error.run is run
    assert error.status == status
    assert (error.run_id, error.thread_id) == ("run_1", "thread_1")
    assert status in str(error) and "run_1" in str(error)


@pytest.mark.parametrize("status", ["completed", "requires_action", "in_progress"])
def test_no_error_for_answers(status: str) -> None:
    assert error_for_run(make_run(status)) is None


def test_failed_message_says_why() -> None:
    run = make_run("failed", last_error={"code": "server_error", "message": "model exploded"})
    error = error_for_run(run)
    assert error is not None
    assert error.last_error is not None and error.last_error.code == "server_error"
    assert "server_error: model exploded" in str(error)
    assert error.reason == "server_error: model exploded"


def test_incomplete_message_says_why() -> None:
    run = make_run("incomplete", incomplete_details={"reason": "max_completion_tokens"})
    error = error_for_run(run)
    assert isinstance(error, AssistantRunIncompleteError)
    assert error.incomplete_details is not None
    assert "max_completion_tokens" in str(error)


def test_expired_message_mentions_tool_outputs() -> None:
    assert "expires_at" in str(error_for_run(make_run("expired")))


def test_timeout_is_a_timeout_error() -> None:
    error = AssistantRunTimeoutError(timeout=1.5, run=make_run("in_progress"))
    assert isinstance(error, TimeoutError)
    assert isinstance(error, AssistantRunError)
    assert "1.5" in str(error) and "run_1" in str(error)
    assert AssistantRunTimeoutError(timeout=2, thread_id="t").run is None


def test_busy_thread() -> None:
    error = AssistantThreadBusyError(run=make_run("requires_action"))
    assert "thread_1" in str(error) and "on_active_run" in str(error)


def test_errors_pickle() -> None:
    error = error_for_run(make_run("failed", last_error={"code": "server_error", "message": "x"}))
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is AssistantRunFailedError
    assert str(clone) == str(error)
    assert clone.run_id == "run_1"


def test_a_timeout_before_the_run_was_named_does_not_claim_a_cancel() -> None:
    error = AssistantRunTimeoutError(timeout=0.3)
    assert "before the server named the run" in str(error)
    assert "could not be cancelled" in str(error)
    named = AssistantRunTimeoutError(timeout=0.3, run_id="run_1", thread_id="thread_1")
    assert "run run_1 on thread thread_1" in str(named) and "it was cancelled" in str(named)
