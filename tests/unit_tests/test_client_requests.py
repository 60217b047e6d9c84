"""Pure request building: input dict -> SDK call arguments."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.agents import AgentAction
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from langchain_assistants.client import OpenAIAssistantAction
from langchain_assistants.client.requests import (
    ACCEPTED_INPUT_KEYS,
    assistant_create_params,
    convert_tools,
    plan_turn,
    poll_delay_seconds,
    select_tool_outputs,
    serialize_tool_output,
)


@tool
def get_weather(location: str) -> str:
    """Weather for a location."""
    return f"sunny in {location}"


class Calculator(BaseModel):
    """Evaluate an expression."""

    expression: str = Field(description="Python expression")


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def action(call_id: str, run_id: str = "run_1", thread_id: str = "thread_1") -> Any:
    return OpenAIAssistantAction(
        tool="t", tool_input={}, log="", tool_call_id=call_id, run_id=run_id, thread_id=thread_id
    )


RUN_OPTIONS = {
    "instructions": "be brief",
    "model": "m2",
    "tools": [get_weather, {"type": "code_interpreter"}],
    "tool_choice": "get_weather",
    "parallel_tool_calls": False,
    "temperature": 0.2,
    "top_p": 0.9,
    "max_prompt_tokens": 1000,
    "max_completion_tokens": 500,
    "truncation_strategy": {"type": "last_messages", "last_messages": 4},
    "response_format": {"type": "json_object"},
    "run_metadata": {"k": "v"},
}


def test_new_thread_is_one_create_and_run_with_everything() -> None:
    plan = plan_turn(
        {
            "content": "hi",
            "message_metadata": {"m": "1"},
            "thread_metadata": {"t": "1"},
            "attachments": [{"file_id": "file_a", "tools": [{"type": "file_search"}]}],
            "file_ids": ["file_b"],
            "tool_resources": {"code_interpreter": {"file_ids": ["file_c"]}},
            **RUN_OPTIONS,
        },
        "asst_1",
    )
    assert plan.kind == "new_thread"
    assert plan.create_and_run
    assert plan.thread == {
        "messages": [
            {
                "role": "user",
                "content": "hi",
                "attachments": [
                    {"file_id": "file_a", "tools": [{"type": "file_search"}]},
                    {"file_id": "file_b", "tools": [{"type": "code_interpreter"}]},
                ],
                "metadata": {"m": "1"},
            }
        ],
        "metadata": {"t": "1"},
        "tool_resources": {"code_interpreter": {"file_ids": ["file_c"]}},
    }
    run = plan.run
    assert run["assistant_id"] == "asst_1"
    # Legacy defect: run_metadata must be sent as the run's ``metadata``.
    assert run["metadata"] == {"k": "v"}
    assert "run_metadata" not in run
    assert run["tools"][0]["function"]["name"] == "get_weather"
    assert run["tools"][1] == {"type": "code_interpreter"}
    assert run["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    for key in (
        "instructions",
        "model",
        "parallel_tool_calls",
        "temperature",
        "top_p",
        "max_prompt_tokens",
        "max_completion_tokens",
        "truncation_strategy",
        "response_format",
    ):
        assert run[key] == RUN_OPTIONS[key], key


def test_new_thread_with_additional_instructions_creates_thread_then_run() -> None:
    plan = plan_turn(
        {
            "content": "hi",
            "additional_instructions": "extra",
            "additional_messages": [{"content": "more"}, HumanMessage("again")],
        },
        "asst_1",
    )
    assert plan.kind == "new_thread"
    assert not plan.create_and_run
    assert plan.thread is not None
    assert plan.thread["messages"] == [{"role": "user", "content": "hi"}]
    assert plan.run["additional_instructions"] == "extra"
    assert plan.run["additional_messages"] == [
        {"role": "user", "content": "more"},
        {"role": "user", "content": "again"},
    ]


def test_existing_thread_adds_message_then_runs() -> None:
    plan = plan_turn(
        {
            "content": [{"type": "text", "text": "look"}, "plain"],
            "thread_id": "thread_9",
            "attachments": [{"file_id": "f"}],
            "tool_resources": {"file_search": {"vector_store_ids": ["vs"]}},
            "additional_instructions": "x",
            **RUN_OPTIONS,
        },
        "asst_1",
    )
    assert plan.kind == "existing_thread"
    assert plan.thread_id == "thread_9"
    assert plan.message == {
        "role": "user",
        "content": [{"type": "text", "text": "look"}, {"type": "text", "text": "plain"}],
        "attachments": [{"file_id": "f"}],
    }
    assert plan.thread_update == {"tool_resources": {"file_search": {"vector_store_ids": ["vs"]}}}
    assert plan.run["metadata"] == {"k": "v"}
    assert plan.run["additional_instructions"] == "x"


@pytest.mark.parametrize("inputs", [{}, {"thread_id": "thread_1"}, {"content": None}])
def test_missing_content_names_accepted_keys(inputs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="content") as info:
        plan_turn(inputs, "asst_1")
    for key in ("content", "thread_id", "tool_outputs", "run_metadata", "attachments"):
        assert repr(key) in str(info.value)


def test_non_dict_input_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="dict input"):
        plan_turn("hello", "asst_1")  # type: ignore[arg-type]


def test_tool_outputs_are_serialized() -> None:
    plan = plan_turn(
        {
            "thread_id": "thread_1",
            "run_id": "run_1",
            "tool_outputs": [
                {"tool_call_id": "a", "output": {"stdout": "1"}},
                {"tool_call_id": "b", "output": "text"},
                {"tool_call_id": "c", "output": 3.5},
                {"tool_call_id": "d", "output": ToolMessage("from tool", tool_call_id="d")},
            ],
        },
        "asst_1",
    )
    assert plan.kind == "submit"
    assert plan.tool_outputs == [
        {"tool_call_id": "a", "output": json.dumps({"stdout": "1"})},
        {"tool_call_id": "b", "output": "text"},
        {"tool_call_id": "c", "output": "3.5"},
        {"tool_call_id": "d", "output": "from tool"},
    ]


def test_tool_outputs_need_ids() -> None:
    with pytest.raises(ValueError, match="run_id"):
        plan_turn({"thread_id": "t", "tool_outputs": []}, "asst_1")


def test_run_id_alone_resumes() -> None:
    plan = plan_turn({"thread_id": "t", "run_id": "r"}, "asst_1")
    assert (plan.kind, plan.thread_id, plan.run_id) == ("resume", "t", "r")
    with pytest.raises(ValueError, match="thread_id"):
        plan_turn({"run_id": "r"}, "asst_1")
    # A new message wins over a stale run id (e.g. a previous result fed back in).
    plan = plan_turn({"thread_id": "t", "run_id": "r", "content": "next"}, "asst_1")
    assert plan.kind == "existing_thread"


def test_intermediate_steps_continue_the_last_run() -> None:
    steps = [(action("a", "run_1"), "x"), (action("b", "run_2", "thread_2"), "y")]
    plan = plan_turn({"content": "ignored", "intermediate_steps": steps}, "asst_1")
    assert plan.kind == "submit_steps"
    assert (plan.thread_id, plan.run_id) == ("thread_2", "run_2")


def test_empty_intermediate_steps_start_a_run() -> None:
    plan = plan_turn({"content": "hi", "intermediate_steps": []}, "asst_1")
    assert plan.kind == "new_thread"


def test_select_tool_outputs_only_current_run_and_pending_calls() -> None:
    steps = [
        (action("old", "run_0"), "from an earlier run"),
        (action("a"), "first round"),
        (action("b"), {"n": 1}),
        (AgentAction(tool="_Exception", tool_input="bad", log=""), "parse error"),
        (action("c"), "retry"),
        (action("c"), "retry, latest"),
    ]
    outputs = select_tool_outputs(steps, "run_1", ["b", "c", "missing"])
    assert outputs == [
        {"tool_call_id": "b", "output": '{"n": 1}'},
        {"tool_call_id": "c", "output": "retry, latest"},
        {"tool_call_id": "missing", "output": "Error: the tool was not run for this call."},
    ]
    # Without the run's pending calls: every call of that run.
    assert [o["tool_call_id"] for o in select_tool_outputs(steps, "run_1", None)] == [
        "a",
        "b",
        "c",
    ]


def test_serialize_tool_output() -> None:
    assert serialize_tool_output("s") == "s"
    assert serialize_tool_output([1, "é"]) == '[1, "é"]'
    assert serialize_tool_output(Calculator(expression="1+1")) == '{"expression":"1+1"}'
    assert serialize_tool_output(None) == "null"
    assert serialize_tool_output({1, 2}) == '"{1, 2}"'  # unknown types via str()


def test_convert_tools_accepts_every_kind() -> None:
    converted = convert_tools(
        [
            get_weather,
            Calculator,
            add,
            {"type": "code_interpreter"},
            {"type": "file_search"},
            {"type": "function", "function": {"name": "raw", "parameters": {}}},
        ]
    )
    assert [t["type"] for t in converted] == [
        "function",
        "function",
        "function",
        "code_interpreter",
        "file_search",
        "function",
    ]
    assert [t["function"]["name"] for t in converted if t["type"] == "function"] == [
        "get_weather",
        "Calculator",
        "add",
        "raw",
    ]


def test_assistant_create_params_leave_out_unset() -> None:
    params = assistant_create_params(
        name="n",
        instructions="i",
        tools=[{"type": "code_interpreter"}],
        model="m",
        description="d",
        metadata={"a": "b"},
        temperature=0.1,
        top_p=None,
        response_format="auto",
        tool_resources={"code_interpreter": {"file_ids": []}},
    )
    assert params == {
        "model": "m",
        "name": "n",
        "instructions": "i",
        "tools": [{"type": "code_interpreter"}],
        "description": "d",
        "metadata": {"a": "b"},
        "temperature": 0.1,
        "response_format": "auto",
        "tool_resources": {"code_interpreter": {"file_ids": []}},
    }


def test_tool_choice_shorthands() -> None:
    for choice, expected in [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        ("code_interpreter", {"type": "code_interpreter"}),
        ({"type": "file_search"}, {"type": "file_search"}),
    ]:
        plan = plan_turn({"content": "x", "tool_choice": choice}, "a")
        assert plan.run["tool_choice"] == expected


def test_poll_delay_prefers_server_header_and_deadline() -> None:
    assert poll_delay_seconds("20", 0, 1000, None) == pytest.approx(0.02)
    assert poll_delay_seconds("20", 5, 1000, 0.001) == pytest.approx(0.001)
    # No header: back off from 50 ms up to check_every_ms.
    assert poll_delay_seconds(None, 0, 1000, None) == pytest.approx(0.05)
    assert poll_delay_seconds(None, 2, 1000, None) == pytest.approx(0.2)
    assert poll_delay_seconds(None, 10, 1000, None) == pytest.approx(1.0)
    assert poll_delay_seconds("garbage", 0, 1000, None) == pytest.approx(0.05)


def test_accepted_keys_cover_the_issue() -> None:
    for key in (
        "content",
        "thread_id",
        "run_id",
        "tool_outputs",
        "intermediate_steps",
        "message_metadata",
        "thread_metadata",
        "attachments",
        "file_ids",
        "tool_resources",
        "instructions",
        "additional_instructions",
        "additional_messages",
        "model",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "temperature",
        "top_p",
        "max_prompt_tokens",
        "max_completion_tokens",
        "truncation_strategy",
        "response_format",
        "run_metadata",
    ):
        assert key in ACCEPTED_INPUT_KEYS
