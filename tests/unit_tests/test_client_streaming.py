"""Pure stream interpretation: SDK stream events -> state + custom callback events."""

from __future__ import annotations

from typing import Any

from openai.types.beta import assistant_stream_event as ev
from openai.types.beta.threads import Message, MessageDeltaEvent, Run
from openai.types.beta.threads.runs import RunStepDeltaEvent

from langchain_assistants.client.streaming import (
    CODE_INTERPRETER_DELTA,
    RUN_STATUS,
    TEXT_DELTA,
    TOOL_CALL_DELTA,
    StreamState,
    apply_event,
)


def run(status: str) -> Run:
    return Run.model_validate(
        {
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
    )


def text_delta(value: str, index: int = 0) -> Any:
    return ev.ThreadMessageDelta(
        event="thread.message.delta",
        data=MessageDeltaEvent.model_validate(
            {
                "id": "msg_1",
                "object": "thread.message.delta",
                "delta": {"content": [{"index": index, "type": "text", "text": {"value": value}}]},
            }
        ),
    )


def step_delta(tool_calls: list[dict[str, Any]]) -> Any:
    return ev.ThreadRunStepDelta(
        event="thread.run.step.delta",
        data=RunStepDeltaEvent.model_validate(
            {
                "id": "step_1",
                "object": "thread.run.step.delta",
                "delta": {"step_details": {"type": "tool_calls", "tool_calls": tool_calls}},
            }
        ),
    )


def test_run_events_track_the_run_and_report_status() -> None:
    state = StreamState()
    assert apply_event(state, ev.ThreadRunCreated(event="thread.run.created", data=run("queued")))
    assert state.run_id == "run_1" and state.thread_id == "thread_1"
    assert state.active and not state.settled
    out = apply_event(
        state, ev.ThreadRunCompleted(event="thread.run.completed", data=run("completed"))
    )
    assert out == [
        (RUN_STATUS, {"thread_id": "thread_1", "run_id": "run_1", "status": "completed"})
    ]
    assert state.settled and not state.active


def test_requires_action_is_settled() -> None:
    state = StreamState()
    apply_event(
        state,
        ev.ThreadRunRequiresAction(event="thread.run.requires_action", data=run("requires_action")),
    )
    assert state.settled and state.active


def test_text_deltas_carry_ids() -> None:
    state = StreamState()
    apply_event(
        state, ev.ThreadRunInProgress(event="thread.run.in_progress", data=run("in_progress"))
    )
    assert apply_event(state, text_delta("Hel")) == [
        (
            TEXT_DELTA,
            {
                "thread_id": "thread_1",
                "run_id": "run_1",
                "message_id": "msg_1",
                "index": 0,
                "text": "Hel",
            },
        )
    ]
    assert apply_event(state, text_delta("")) == []


def test_tool_call_deltas_remember_id_and_name() -> None:
    state = StreamState(thread_id="thread_1")
    first = apply_event(
        state,
        step_delta(
            [
                {
                    "index": 0,
                    "type": "function",
                    "id": "call_1",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ]
        ),
    )
    later = apply_event(
        state, step_delta([{"index": 0, "type": "function", "function": {"arguments": '{"lo'}}])
    )
    assert first[0][0] == later[0][0] == TOOL_CALL_DELTA
    assert later[0][1] == {
        "thread_id": "thread_1",
        "run_id": None,
        "step_id": "step_1",
        "index": 0,
        "tool_call_id": "call_1",
        "name": "get_weather",
        "arguments": '{"lo',
    }


def test_code_interpreter_deltas() -> None:
    state = StreamState()
    out = apply_event(
        state,
        step_delta(
            [
                {
                    "index": 0,
                    "type": "code_interpreter",
                    "id": "call_ci",
                    "code_interpreter": {
                        "input": "print(1)",
                        "outputs": [
                            {"index": 0, "type": "logs", "logs": "1\n"},
                            {"index": 1, "type": "image", "image": {"file_id": "file_png"}},
                        ],
                    },
                }
            ]
        ),
    )
    name, data = out[0]
    assert name == CODE_INTERPRETER_DELTA
    assert data["input"] == "print(1)"
    assert data["logs"] == "1\n"
    assert data["images"] == ["file_png"]
    assert data["tool_call_id"] == "call_ci"


def test_thread_created_and_completed_messages() -> None:
    state = StreamState()
    thread = {"id": "thread_9", "object": "thread", "created_at": 0, "metadata": {}}
    apply_event(state, ev.ThreadCreated.model_validate({"event": "thread.created", "data": thread}))
    assert state.thread_id == "thread_9"
    message = Message.model_validate(
        {
            "id": "msg_1",
            "object": "thread.message",
            "created_at": 0,
            "thread_id": "thread_9",
            "role": "assistant",
            "status": "completed",
            "content": [],
        }
    )
    apply_event(state, ev.ThreadMessageCompleted(event="thread.message.completed", data=message))
    assert list(state.messages) == ["msg_1"]


def test_unknown_events_are_ignored() -> None:
    class Odd:
        event = "thread.something.new"
        data = None

    assert apply_event(StreamState(), Odd()) == []


def test_file_search_deltas_report_results() -> None:
    from langchain_assistants.client.streaming import FILE_SEARCH_DELTA

    state = StreamState()
    announced = apply_event(
        state, step_delta([{"index": 0, "type": "file_search", "id": "call_fs", "file_search": {}}])
    )
    assert announced[0][0] == FILE_SEARCH_DELTA and announced[0][1]["results"] == []
    result = {"file_id": "file_a", "file_name": "a.md", "score": 0.5}
    out = apply_event(
        state,
        step_delta([{"index": 0, "type": "file_search", "file_search": {"results": [result]}}]),
    )
    name, data = out[0]
    assert name == FILE_SEARCH_DELTA
    assert data["tool_call_id"] == "call_fs"  # remembered from the first delta
    assert data["results"] == [result]
