"""Pure output building: run + messages -> Actions / Finish / SDK objects."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.agents import AgentAction, AgentFinish
from openai.types.beta.threads import Message, Run

from langchain_assistants.client import OpenAIAssistantAction, OpenAIAssistantFinish
from langchain_assistants.client.outputs import (
    actions_from_run,
    finish_from_messages,
    output_for,
    trace_metadata,
    usage_dict,
)


def make_run(**overrides: Any) -> Run:
    data: dict[str, Any] = {
        "id": "run_1",
        "object": "thread.run",
        "created_at": 0,
        "thread_id": "thread_1",
        "assistant_id": "asst_1",
        "status": "completed",
        "instructions": "",
        "model": "m",
        "parallel_tool_calls": True,
        "tools": [],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
    data.update(overrides)
    return Run.model_validate(data)


def requires_action(*calls: tuple[str, str, str]) -> Run:
    return make_run(
        status="requires_action",
        usage=None,
        required_action={
            "type": "submit_tool_outputs",
            "submit_tool_outputs": {
                "tool_calls": [
                    {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
                    for cid, name, args in calls
                ]
            },
        },
    )


def text(value: str, annotations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"type": "text", "text": {"value": value, "annotations": annotations or []}}


def make_message(
    content: list[dict[str, Any]], *, mid: str = "msg_1", run_id: str = "run_1", **kw: Any
) -> Message:
    data: dict[str, Any] = {
        "id": mid,
        "object": "thread.message",
        "created_at": 0,
        "thread_id": "thread_1",
        "role": "assistant",
        "status": "completed",
        "run_id": run_id,
        "content": content,
        "attachments": [],
    }
    data.update(kw)
    return Message.model_validate(data)


def test_actions_carry_ids_and_unwrap_single_input() -> None:
    run = requires_action(
        ("call_a", "search", '{"__arg1": "weather in SF"}'),
        ("call_b", "calc", '{"expression": "1+1"}'),
        ("call_c", "noargs", ""),
    )
    actions = actions_from_run(run)
    assert all(isinstance(a, OpenAIAssistantAction) for a in actions)
    assert all(isinstance(a, AgentAction) for a in actions)
    assert [a.tool for a in actions] == ["search", "calc", "noargs"]
    assert actions[0].tool_input == "weather in SF"
    assert actions[1].tool_input == {"expression": "1+1"}
    assert actions[2].tool_input == {}
    assert {(a.run_id, a.thread_id) for a in actions} == {("run_1", "thread_1")}
    assert [a.tool_call_id for a in actions] == ["call_a", "call_b", "call_c"]


def test_invalid_arguments_raise() -> None:
    with pytest.raises(ValueError, match="invalid JSON function arguments"):
        actions_from_run(requires_action(("c", "f", "{not json")))


def test_not_agent_returns_sdk_tool_calls() -> None:
    run = requires_action(("call_a", "f", "{}"))
    calls = output_for(run, None, as_agent=False)
    assert [c.id for c in calls] == ["call_a"]
    assert type(calls[0]).__name__ == "RequiredActionFunctionToolCall"


def test_finish_has_text_and_everything_else() -> None:
    messages = [
        make_message(
            [
                text("First."),
                {"type": "image_file", "image_file": {"file_id": "file_img"}},
                text(
                    "Download sandbox:/mnt/data/out.csv",
                    [
                        {
                            "type": "file_path",
                            "text": "sandbox:/mnt/data/out.csv",
                            "start_index": 9,
                            "end_index": 34,
                            "file_path": {"file_id": "file_csv"},
                        },
                        {
                            "type": "file_citation",
                            "text": "[1]",
                            "start_index": 0,
                            "end_index": 3,
                            "file_citation": {"file_id": "file_doc"},
                        },
                    ],
                ),
            ],
            attachments=[{"file_id": "file_att", "tools": [{"type": "code_interpreter"}]}],
        ),
        make_message([{"type": "refusal", "refusal": "No."}], mid="msg_2"),
    ]
    finish = finish_from_messages(make_run(), messages)
    assert isinstance(finish, OpenAIAssistantFinish)
    assert isinstance(finish, AgentFinish)
    values = finish.return_values
    # Non-text blocks never turn the output into a list.
    assert values["output"] == "First.\nDownload sandbox:/mnt/data/out.csv\nNo."
    assert values["thread_id"] == finish.thread_id == "thread_1"
    assert values["run_id"] == finish.run_id == "run_1"
    assert values["usage"] == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    assert [a.file_id for a in values["attachments"]] == ["file_att"]
    assert [a.type for a in values["annotations"]] == ["file_path", "file_citation"]
    assert values["files"] == [
        {"file_id": "file_img", "type": "image", "message_id": "msg_1"},
        {"file_id": "file_csv", "type": "file", "message_id": "msg_1", "filename": "out.csv"},
    ]


def test_image_only_answer_is_empty_text() -> None:
    messages = [make_message([{"type": "image_file", "image_file": {"file_id": "f"}}])]
    finish = finish_from_messages(make_run(), messages)
    assert finish.return_values["output"] == ""
    assert finish.return_values["files"][0]["type"] == "image"


def test_output_keeps_only_the_runs_assistant_messages() -> None:
    messages = [
        make_message([text("mine")], mid="m1"),
        make_message([text("other run")], mid="m2", run_id="run_0"),
        make_message([text("user input")], mid="m3", role="user"),
    ]
    assert [m.id for m in output_for(make_run(), messages, as_agent=False)] == ["m1"]
    finish = output_for(make_run(), messages, as_agent=True)
    assert finish.return_values["output"] == "mine"


def test_usage_and_trace_metadata() -> None:
    assert usage_dict(make_run(usage=None)) is None
    metadata = trace_metadata(make_run())
    assert metadata == {
        "assistant_id": "asst_1",
        "thread_id": "thread_1",
        "run_id": "run_1",
        "run_status": "completed",
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
    assert trace_metadata(None) == {}


def test_action_and_finish_are_not_lc_serializable() -> None:
    assert not OpenAIAssistantAction.is_lc_serializable()
    assert not OpenAIAssistantFinish.is_lc_serializable()


def test_finish_lists_citations_with_file_name_and_quote() -> None:
    answer = "Ada was born in 1815【0:0†ada.md】, see also【0:1†source】."
    first = answer.index("【0:0")
    second = answer.index("【0:1")
    messages = [
        make_message(
            [
                text(
                    answer,
                    [
                        {
                            "type": "file_citation",
                            "text": "【0:0†ada.md】",
                            "start_index": first,
                            "end_index": first + len("【0:0†ada.md】"),
                            "file_citation": {"file_id": "file_ada", "quote": "Born 1815."},
                        },
                        {
                            "type": "file_citation",
                            "text": "【0:1†source】",
                            "start_index": second,
                            "end_index": second + len("【0:1†source】"),
                            "file_citation": {"file_id": "file_other"},
                        },
                    ],
                )
            ]
        )
    ]
    values = finish_from_messages(make_run(), messages).return_values
    assert values["citations"] == [
        {
            "file_id": "file_ada",
            "filename": "ada.md",
            "quote": "Born 1815.",
            "text": "【0:0†ada.md】",
            "start_index": first,
            "end_index": first + len("【0:0†ada.md】"),
            "message_id": "msg_1",
        },
        {
            "file_id": "file_other",
            "filename": "source",
            "quote": None,
            "text": "【0:1†source】",
            "start_index": second,
            "end_index": second + len("【0:1†source】"),
            "message_id": "msg_1",
        },
    ]
