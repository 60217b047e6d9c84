"""The turn flow, driven by a fake effect executor: decisions without any server."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import httpx2
import openai
import pytest
from openai.types.beta.threads import Run

from langchain_assistants.client import (
    AssistantRunFailedError,
    AssistantThreadBusyError,
    OpenAIAssistantAction,
)
from langchain_assistants.client.flow import (
    Attempt,
    Call,
    ListAll,
    Settings,
    Sleep,
    StreamCall,
    TurnResult,
    turn,
)
from langchain_assistants.client.requests import plan_turn


def thread_busy(run_id: str = "run_c1") -> openai.BadRequestError:
    """The 400 the server answers when a run still locks the thread."""
    request = httpx2.Request("POST", "http://server/v1/threads/thread_1/runs")
    message = f"Thread thread_1 already has an active run {run_id}."
    return openai.BadRequestError(
        message, response=httpx2.Response(400, request=request), body={"message": message}
    )


def make_run(status: str, run_id: str = "run_1", **overrides: Any) -> Run:
    data: dict[str, Any] = {
        "id": run_id,
        "object": "thread.run",
        "created_at": 10**10,
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


def waiting_run(*call_ids: str) -> Run:
    return make_run(
        "requires_action",
        required_action={
            "type": "submit_tool_outputs",
            "submit_tool_outputs": {
                "tool_calls": [
                    {"id": c, "type": "function", "function": {"name": "f", "arguments": "{}"}}
                    for c in call_ids
                ]
            },
        },
    )


class Raw:
    def __init__(self, run: Run, poll_after: str | None = "5") -> None:
        self._run = run
        self.headers = {"openai-poll-after-ms": poll_after} if poll_after else {}

    def parse(self) -> Run:
        return self._run


Handler = Callable[[Any], Any]


def drive(flow: Any, handler: Handler) -> tuple[Any, list[Any]]:
    """Run a flow like the runnable's shells do; record every effect."""
    seen: list[Any] = []
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = flow.throw(error) if error is not None else flow.send(value)
        except StopIteration as stop:
            return stop.value, seen
        seen.append(effect)
        error = None
        try:
            if isinstance(effect, Attempt):
                try:
                    value = (True, handler(effect.effect))
                except Exception as e:
                    value = (False, e)
            else:
                value = handler(effect)
        except BaseException as e:
            error = e


def paths(effects: list[Any]) -> list[str]:
    out = []
    for effect in effects:
        if isinstance(effect, Attempt):
            effect = effect.effect
        out.append("sleep" if isinstance(effect, Sleep) else effect.path)
    return out


def settings(**kw: Any) -> Settings:
    return Settings(assistant_id="asst_1", **kw)


def test_streaming_new_thread_is_one_request() -> None:
    """The stream that creates the run carries its messages: nothing is listed after it."""
    streamed = SimpleNamespace(id="msg_1", run_id="run_1", role="assistant")
    other = SimpleNamespace(id="msg_0", run_id="run_0", role="assistant")

    def handler(effect: Any) -> Any:
        if isinstance(effect, StreamCall):
            assert effect.kwargs["stream"] is True
            effect.state.run = make_run("completed")
            effect.state.messages = {"msg_0": other, "msg_1": streamed}
            return effect.state
        raise AssertionError(effect)

    result, effects = drive(turn(plan_turn({"content": "hi"}, "asst_1"), settings()), handler)
    assert isinstance(result, TurnResult)
    assert result.output == [streamed]  # only the run's own messages
    assert paths(effects) == ["beta.threads.create_and_run"]


def test_submitted_outputs_still_list_the_runs_messages() -> None:
    """A submission's stream misses messages of the run made before it: list them."""

    def handler(effect: Any) -> Any:
        if isinstance(effect, StreamCall):
            effect.state.run = make_run("completed")
            return effect.state
        if isinstance(effect, ListAll):
            assert effect.kwargs == {"run_id": "run_1", "order": "asc", "limit": 100}
            return []
        raise AssertionError(effect)

    plan = plan_turn(
        {
            "tool_outputs": [{"tool_call_id": "c1", "output": "x"}],
            "run_id": "run_1",
            "thread_id": "thread_1",
        },
        "asst_1",
    )
    _, effects = drive(turn(plan, settings()), handler)
    assert paths(effects) == ["beta.threads.runs.submit_tool_outputs", "beta.threads.messages.list"]


def test_polling_honours_server_interval() -> None:
    statuses = iter(["in_progress", "in_progress", "completed"])

    def handler(effect: Any) -> Any:
        if isinstance(effect, Sleep):
            return None
        if effect.path == "beta.threads.create_and_run":
            assert "stream" not in effect.kwargs
            return make_run("queued")
        if effect.path.endswith("with_raw_response.retrieve"):
            return Raw(make_run(next(statuses)), poll_after="7")
        if isinstance(effect, ListAll):
            return []
        raise AssertionError(effect)

    _, effects = drive(
        turn(plan_turn({"content": "hi"}, "asst_1"), settings(use_streaming=False)), handler
    )
    sleeps = [e.seconds for e in effects if isinstance(e, Sleep)]
    assert sleeps == [pytest.approx(0.007)] * 2
    assert paths(effects).count("beta.threads.runs.with_raw_response.retrieve") == 3


def test_failed_run_raises_typed_error_without_cancelling() -> None:
    def handler(effect: Any) -> Any:
        if isinstance(effect, StreamCall):
            effect.state.run = make_run(
                "failed", last_error={"code": "server_error", "message": "boom"}
            )
            return effect.state
        raise AssertionError(effect)

    with pytest.raises(AssistantRunFailedError, match="boom"):
        drive(turn(plan_turn({"content": "hi"}, "asst_1"), settings()), handler)


@pytest.mark.parametrize("exc", [KeyboardInterrupt(), RuntimeError("network"), SystemExit()])
def test_interrupted_stream_cancels_the_run(exc: BaseException) -> None:
    cancelled: list[str] = []

    def handler(effect: Any) -> Any:
        if isinstance(effect, StreamCall):
            effect.state.run = make_run("in_progress")
            raise exc
        if effect.path == "beta.threads.runs.cancel":
            cancelled.append(effect.args[0])
            assert effect.kwargs == {"thread_id": "thread_1"}
            return make_run("cancelled")
        raise AssertionError(effect)

    with pytest.raises(type(exc)):
        drive(turn(plan_turn({"content": "hi"}, "asst_1"), settings()), handler)
    assert cancelled == ["run_1"]


def test_no_cancel_when_disabled() -> None:
    def handler(effect: Any) -> Any:
        if isinstance(effect, StreamCall):
            effect.state.run = make_run("in_progress")
            raise RuntimeError("x")
        raise AssertionError(effect)

    with pytest.raises(RuntimeError):
        drive(
            turn(plan_turn({"content": "hi"}, "asst_1"), settings(cancel_on_error=False)), handler
        )


def test_interrupt_before_run_is_known_finds_it_on_the_thread() -> None:
    cancelled: list[str] = []

    def handler(effect: Any) -> Any:
        if effect.path == "beta.threads.runs.list":  # cleanup looks for the run it created
            return SimpleNamespace(
                data=[make_run("queued", "run_new"), make_run("completed", "run_old")]
            )
        if isinstance(effect, StreamCall):
            raise KeyboardInterrupt  # before the server named the run
        if effect.path == "beta.threads.runs.cancel":
            cancelled.append(effect.args[0])
            return None
        raise AssertionError(effect)

    with pytest.raises(KeyboardInterrupt):
        drive(
            turn(plan_turn({"content": "hi", "thread_id": "thread_1"}, "asst_1"), settings()),
            handler,
        )
    assert cancelled == ["run_new"]


def test_existing_thread_turn_is_one_request_with_the_message() -> None:
    def handler(effect: Any) -> Any:
        if isinstance(effect, StreamCall):
            assert effect.kwargs["additional_messages"][0] == {"role": "user", "content": "again"}
            effect.state.run = make_run("completed", "run_2")
            return effect.state
        raise AssertionError(effect)

    _, effects = drive(
        turn(plan_turn({"content": "again", "thread_id": "thread_1"}, "asst_1"), settings()),
        handler,
    )
    assert paths(effects) == ["beta.threads.runs.create"]


def test_busy_thread_has_its_active_run_cancelled_then_the_run_is_retried() -> None:
    attempts = iter([thread_busy(), None])

    def handler(effect: Any) -> Any:
        if isinstance(effect, Sleep):
            return None
        if effect.path == "beta.threads.runs.list":
            assert effect.args == ("thread_1",)
            assert effect.kwargs["limit"] <= 100
            return SimpleNamespace(data=[waiting_run("c1"), make_run("completed", "run_0")])
        if effect.path == "beta.threads.runs.cancel":
            return make_run("cancelling")
        if effect.path.endswith("with_raw_response.retrieve"):
            return Raw(make_run("cancelled"))
        if isinstance(effect, StreamCall):
            if refusal := next(attempts):
                raise refusal
            assert effect.kwargs["additional_messages"] == [{"role": "user", "content": "again"}]
            effect.state.run = make_run("completed", "run_2")
            return effect.state
        raise AssertionError(effect)

    _, effects = drive(
        turn(plan_turn({"content": "again", "thread_id": "thread_1"}, "asst_1"), settings()),
        handler,
    )
    assert paths(effects) == [
        "beta.threads.runs.create",
        "beta.threads.runs.list",
        "beta.threads.runs.cancel",
        "beta.threads.runs.with_raw_response.retrieve",
        "beta.threads.runs.create",
    ]


def test_other_bad_requests_are_not_retried() -> None:
    request = httpx2.Request("POST", "http://server/v1/threads/thread_1/runs")

    def handler(effect: Any) -> Any:
        if isinstance(effect, StreamCall):
            raise openai.BadRequestError(
                "Invalid value for 'temperature'",
                response=httpx2.Response(400, request=request),
                body=None,
            )
        raise AssertionError(effect)

    with pytest.raises(openai.BadRequestError, match="temperature"):
        drive(
            turn(plan_turn({"content": "x", "thread_id": "thread_1"}, "asst_1"), settings()),
            handler,
        )


def test_active_run_raise_policy() -> None:
    def handler(effect: Any) -> Any:
        if isinstance(effect, StreamCall):
            raise thread_busy()
        if effect.path == "beta.threads.runs.list":
            return SimpleNamespace(data=[waiting_run("c1")])
        raise AssertionError(effect)

    with pytest.raises(AssistantThreadBusyError):
        drive(
            turn(
                plan_turn({"content": "x", "thread_id": "thread_1"}, "asst_1"),
                settings(on_active_run="raise"),
            ),
            handler,
        )


def test_active_run_wait_policy_does_not_cancel() -> None:
    statuses = iter(["in_progress", "completed"])

    def handler(effect: Any) -> Any:
        if isinstance(effect, Sleep):
            return None
        if effect.path == "beta.threads.runs.list":
            return SimpleNamespace(data=[make_run("in_progress", "run_0")])
        if effect.path.endswith("with_raw_response.retrieve"):
            return Raw(make_run(next(statuses), "run_0"))
        if effect.path == "beta.threads.messages.create":
            return None
        if isinstance(effect, StreamCall):
            effect.state.run = make_run("completed", "run_2")
            return effect.state
        if isinstance(effect, ListAll):
            return []
        raise AssertionError(effect)

    _, effects = drive(
        turn(
            plan_turn({"content": "x", "thread_id": "thread_1"}, "asst_1"),
            settings(on_active_run="wait"),
        ),
        handler,
    )
    assert "beta.threads.runs.cancel" not in paths(effects)


def _action(call_id: str, run_id: str = "run_1") -> OpenAIAssistantAction:
    return OpenAIAssistantAction(
        tool="f", tool_input={}, log="", tool_call_id=call_id, run_id=run_id, thread_id="thread_1"
    )


def test_executor_steps_submit_only_pending_calls() -> None:
    steps = [
        (_action("old", "run_0"), "earlier run"),
        (_action("c1"), "round one"),
        (_action("c2"), {"n": 2}),
    ]
    submitted: list[Any] = []

    def handler(effect: Any) -> Any:
        if effect.path == "beta.threads.runs.retrieve":
            return waiting_run("c2")
        if isinstance(effect, StreamCall):
            assert effect.path == "beta.threads.runs.submit_tool_outputs"
            submitted.extend(effect.kwargs["tool_outputs"])
            effect.state.run = make_run("completed")
            return effect.state
        if isinstance(effect, ListAll):
            return []
        raise AssertionError(effect)

    drive(
        turn(plan_turn({"intermediate_steps": steps}, "asst_1"), settings(as_agent=True)),
        handler,
    )
    assert submitted == [{"tool_call_id": "c2", "output": '{"n": 2}'}]


def test_invalid_arguments_cancel_the_waiting_run() -> None:
    cancelled: list[str] = []

    def handler(effect: Any) -> Any:
        if isinstance(effect, StreamCall):
            effect.state.run = make_run(
                "requires_action",
                required_action={
                    "type": "submit_tool_outputs",
                    "submit_tool_outputs": {
                        "tool_calls": [
                            {
                                "id": "c",
                                "type": "function",
                                "function": {"name": "f", "arguments": "{"},
                            }
                        ]
                    },
                },
            )
            return effect.state
        if effect.path == "beta.threads.runs.cancel":
            cancelled.append(effect.args[0])
            return None
        raise AssertionError(effect)

    with pytest.raises(ValueError, match="invalid JSON"):
        drive(turn(plan_turn({"content": "x"}, "asst_1"), settings(as_agent=True)), handler)
    assert cancelled == ["run_1"]


def test_stream_error_event_then_terminal_run_is_typed() -> None:
    def handler(effect: Any) -> Any:
        if isinstance(effect, StreamCall):
            effect.state.run = make_run("in_progress")
            raise openai.APIError("model failed", request=None, body=None)  # type: ignore[arg-type]
        if effect.path.endswith("with_raw_response.retrieve"):
            return Raw(make_run("failed", last_error={"code": "server_error", "message": "m"}))
        raise AssertionError(effect)

    with pytest.raises(AssistantRunFailedError):
        drive(turn(plan_turn({"content": "x"}, "asst_1"), settings()), handler)


def test_resume_follows_an_existing_run() -> None:
    def handler(effect: Any) -> Any:
        if effect.path == "beta.threads.runs.retrieve":
            return make_run("completed")
        if isinstance(effect, ListAll):
            return []
        raise AssertionError(effect)

    result, effects = drive(
        turn(plan_turn({"thread_id": "thread_1", "run_id": "run_1"}, "asst_1"), settings()),
        handler,
    )
    assert result.run.status == "completed"
    assert paths(effects) == ["beta.threads.runs.retrieve", "beta.threads.messages.list"]


def test_call_kwargs_include_timeout() -> None:
    assert Call("p", (), {"a": 1}, timeout=2.0).call_kwargs() == {"a": 1, "timeout": 2.0}
    assert Call("p", (), {"a": 1}).call_kwargs() == {"a": 1}
