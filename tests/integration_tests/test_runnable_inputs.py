"""Every input key reaches the server on every path (new thread, existing thread, tool
outputs), sync and async, streaming and polling."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.tools import tool
from openai import OpenAI
from pydantic import BaseModel

from langchain_assistants.client import (
    OpenAIAssistantAction,
    OpenAIAssistantFinish,
    OpenAIAssistantRunnable,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@tool
def lookup(key: str) -> str:
    """Look a key up."""
    return f"value-of-{key}"


RULES = [
    {
        "match": "use the tool",
        "turns": [
            {"tool_calls": [{"name": "lookup", "args": {"key": "k1"}}]},
            {"content": "Tool said {last_tool_output}"},
        ],
    },
    {"match": "", "turns": [{"content": "ok"}]},
]

RUN_OPTIONS: dict[str, Any] = {
    "instructions": "Override instructions.",
    "tool_choice": "auto",
    "parallel_tool_calls": False,
    "temperature": 0.3,
    "top_p": 0.8,
    "max_prompt_tokens": 5000,
    "max_completion_tokens": 4000,
    "truncation_strategy": {"type": "last_messages", "last_messages": 10},
    "response_format": {"type": "text"},
    "run_metadata": {"purpose": "inputs-test"},
}


async def call(runnable: OpenAIAssistantRunnable, mode: str, inputs: dict[str, Any]) -> Any:
    if mode == "sync":
        return await asyncio.to_thread(runnable.invoke, inputs)
    return await runnable.ainvoke(inputs)


MODES = [
    pytest.param("sync", True, id="sync-stream"),
    pytest.param("async", True, id="async-stream"),
    pytest.param("sync", False, id="sync-poll"),
    pytest.param("async", False, id="async-poll"),
]


def make_runnable(
    client: OpenAI, scripted_model: Callable[..., str], streaming: bool
) -> OpenAIAssistantRunnable:
    return OpenAIAssistantRunnable.create_assistant(
        name="inputs",
        instructions="Assistant instructions.",
        tools=[lookup, {"type": "code_interpreter"}],
        model=scripted_model(RULES),
        client=client,
        as_agent=True,
        use_streaming=streaming,
    )


def check_run(client: OpenAI, finish: OpenAIAssistantFinish, model: str | None = None) -> Any:
    run = client.beta.threads.runs.retrieve(
        finish.return_values["run_id"], thread_id=finish.thread_id
    )
    assert run.metadata == {"purpose": "inputs-test"}
    assert run.parallel_tool_calls is False
    assert run.temperature == pytest.approx(0.3)
    assert run.top_p == pytest.approx(0.8)
    assert run.max_prompt_tokens == 5000
    assert run.max_completion_tokens == 4000
    assert run.truncation_strategy is not None
    assert run.truncation_strategy.last_messages == 10
    assert run.tool_choice == "auto"
    assert run.response_format is not None
    if model is not None:
        assert run.model == model
    return run


@pytest.fixture
def fid(client: OpenAI) -> Callable[[str], str]:
    """The id of an uploaded file per name (attachments and tool_resources must exist)."""
    made: dict[str, str] = {}

    def make(name: str) -> str:
        if name not in made:
            made[name] = client.files.create(file=(f"{name}.txt", b"x"), purpose="assistants").id
        return made[name]

    return make


def user_messages(client: OpenAI, thread_id: str) -> list[Any]:
    return [
        m
        for m in client.beta.threads.messages.list(thread_id, order="asc", limit=100)
        if m.role == "user"
    ]


@pytest.mark.parametrize(("mode", "streaming"), MODES)
async def test_new_thread_takes_every_input(
    client: OpenAI,
    fid: Callable[[str], str],
    scripted_model: Callable[..., str],
    mode: str,
    streaming: bool,
) -> None:
    runnable = make_runnable(client, scripted_model, streaming)
    override_model = scripted_model(RULES)
    finish = await call(
        runnable,
        mode,
        {
            "content": [{"type": "text", "text": "hello there"}],
            "message_metadata": {"m": "1"},
            "thread_metadata": {"t": "1"},
            "attachments": [{"file_id": fid("file_att"), "tools": [{"type": "file_search"}]}],
            "file_ids": [fid("file_short")],
            "tool_resources": {"code_interpreter": {"file_ids": [fid("file_res")]}},
            "model": override_model,
            "tools": [lookup],
            **RUN_OPTIONS,
        },
    )
    assert isinstance(finish, OpenAIAssistantFinish)
    assert finish.return_values["output"] == "ok"
    run = check_run(client, finish, model=override_model)
    assert run.instructions == "Override instructions."
    assert [t.type for t in run.tools] == ["function"]

    thread = client.beta.threads.retrieve(finish.thread_id)
    assert thread.metadata == {"t": "1"}
    assert thread.tool_resources is not None
    assert thread.tool_resources.code_interpreter is not None
    assert thread.tool_resources.code_interpreter.file_ids == [fid("file_res")]

    [message] = user_messages(client, finish.thread_id)
    assert message.metadata == {"m": "1"}
    assert message.content[0].text.value == "hello there"  # type: ignore[union-attr]
    assert [(a.file_id, a.tools[0].type) for a in message.attachments or []] == [  # type: ignore[index]
        (fid("file_att"), "file_search"),
        (fid("file_short"), "code_interpreter"),
    ]


@pytest.mark.parametrize(("mode", "streaming"), MODES)
async def test_new_thread_with_additional_instructions_and_messages(
    client: OpenAI,
    fid: Callable[[str], str],
    scripted_model: Callable[..., str],
    mode: str,
    streaming: bool,
) -> None:
    runnable = make_runnable(client, scripted_model, streaming)
    finish = await call(
        runnable,
        mode,
        {
            "content": "first",
            "attachments": [{"file_id": fid("file_a"), "tools": [{"type": "code_interpreter"}]}],
            "thread_metadata": {"t": "2"},
            "additional_instructions": "Also be kind.",
            "additional_messages": [{"role": "user", "content": "second"}],
            "run_metadata": {"purpose": "inputs-test"},
        },
    )
    run = client.beta.threads.runs.retrieve(finish.run_id, thread_id=finish.thread_id)
    assert run.instructions == "Assistant instructions.\n\nAlso be kind."
    assert run.metadata == {"purpose": "inputs-test"}
    assert client.beta.threads.retrieve(finish.thread_id).metadata == {"t": "2"}
    messages = user_messages(client, finish.thread_id)
    assert [m.content[0].text.value for m in messages] == ["first", "second"]  # type: ignore[union-attr]
    assert messages[0].attachments and messages[0].attachments[0].file_id == fid("file_a")


@pytest.mark.parametrize(("mode", "streaming"), MODES)
async def test_existing_thread_takes_every_input(
    client: OpenAI,
    fid: Callable[[str], str],
    scripted_model: Callable[..., str],
    mode: str,
    streaming: bool,
) -> None:
    runnable = make_runnable(client, scripted_model, streaming)
    thread = client.beta.threads.create()
    finish = await call(
        runnable,
        mode,
        {
            "content": "hello",
            "thread_id": thread.id,
            "message_metadata": {"m": "2"},
            "attachments": [{"file_id": fid("file_x"), "tools": [{"type": "code_interpreter"}]}],
            "file_ids": [fid("file_y")],
            "tool_resources": {"code_interpreter": {"file_ids": [fid("file_z")]}},
            "additional_instructions": "Extra.",
            "additional_messages": [{"role": "user", "content": "and more"}],
            **{k: v for k, v in RUN_OPTIONS.items() if k != "instructions"},
        },
    )
    assert finish.thread_id == thread.id
    run = check_run(client, finish)
    assert run.instructions == "Assistant instructions.\n\nExtra."
    updated = client.beta.threads.retrieve(thread.id)
    assert updated.tool_resources is not None
    assert updated.tool_resources.code_interpreter is not None
    assert updated.tool_resources.code_interpreter.file_ids == [fid("file_z")]
    messages = user_messages(client, thread.id)
    assert [m.content[0].text.value for m in messages] == ["hello", "and more"]  # type: ignore[union-attr]
    assert messages[0].metadata == {"m": "2"}
    assert [a.file_id for a in messages[0].attachments or []] == [fid("file_x"), fid("file_y")]


@pytest.mark.parametrize(("mode", "streaming"), MODES)
async def test_tool_outputs_path(
    client: OpenAI, scripted_model: Callable[..., str], mode: str, streaming: bool
) -> None:
    runnable = make_runnable(client, scripted_model, streaming)
    actions = await call(runnable, mode, {"content": "please use the tool"})
    assert isinstance(actions, list) and len(actions) == 1
    [action] = actions
    assert isinstance(action, OpenAIAssistantAction)
    assert (action.tool, action.tool_input) == ("lookup", {"key": "k1"})
    finish = await call(
        runnable,
        mode,
        {
            "tool_outputs": [
                {"output": lookup.invoke(action.tool_input), "tool_call_id": action.tool_call_id}
            ],
            "run_id": action.run_id,
            "thread_id": action.thread_id,
        },
    )
    assert finish.return_values["output"] == "Tool said value-of-k1"
    assert finish.run_id == action.run_id


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_not_as_agent_returns_sdk_objects(
    client: OpenAI, scripted_model: Callable[..., str], mode: str
) -> None:
    runnable = OpenAIAssistantRunnable.create_assistant(
        name="raw",
        instructions="",
        tools=[lookup],
        model=scripted_model(RULES),
        client=client,
    )
    thread = client.beta.threads.create()
    calls = await call(runnable, mode, {"content": "please use the tool", "thread_id": thread.id})
    assert type(calls[0]).__name__ == "RequiredActionFunctionToolCall"
    assert calls[0].function.name == "lookup"
    run = client.beta.threads.runs.list(thread.id, limit=1).data[0]
    assert run.status == "requires_action"
    messages = await call(
        runnable,
        mode,
        {
            "tool_outputs": [{"output": "v", "tool_call_id": calls[0].id}],
            "run_id": run.id,
            "thread_id": thread.id,
        },
    )
    assert [type(m).__name__ for m in messages] == ["Message"]
    assert messages[0].run_id == run.id
    assert messages[0].content[0].text.value == "Tool said v"


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_missing_content_is_a_clear_error(
    client: OpenAI, scripted_model: Callable[..., str], mode: str
) -> None:
    runnable = make_runnable(client, scripted_model, True)
    with pytest.raises(ValueError, match="pass 'content'") as info:
        await call(runnable, mode, {"thread_metadata": {"a": "b"}})
    assert "'thread_id'" in str(info.value) and "'tool_outputs'" in str(info.value)


class Answer(BaseModel):
    """A structured answer."""

    text: str


def shout(text: str) -> str:
    """Shout the text."""
    return text.upper()


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_create_assistant_takes_every_option(
    client: OpenAI, fid: Callable[[str], str], scripted_model: Callable[..., str], mode: str
) -> None:
    kwargs: dict[str, Any] = {
        "name": "full",
        "instructions": "Be helpful.",
        "tools": [lookup, Answer, shout, {"type": "code_interpreter"}, {"type": "file_search"}],
        "model": scripted_model(RULES),
        "client": client,
        "description": "An assistant with every option",
        "metadata": {"team": "qa"},
        "temperature": 0.4,
        "top_p": 0.7,
        "response_format": "auto",
        "tool_resources": {"code_interpreter": {"file_ids": [fid("file_1")]}},
        "as_agent": True,
        "timeout": 30,
    }
    if mode == "sync":
        runnable = OpenAIAssistantRunnable.create_assistant(**kwargs)
    else:
        runnable = await OpenAIAssistantRunnable.acreate_assistant(**kwargs)
    assert runnable.as_agent and runnable.timeout == 30
    assistant = client.beta.assistants.retrieve(runnable.assistant_id)
    assert assistant.name == "full"
    assert assistant.instructions == "Be helpful."
    assert assistant.description == "An assistant with every option"
    assert assistant.metadata == {"team": "qa"}
    assert assistant.temperature == pytest.approx(0.4)
    assert assistant.top_p == pytest.approx(0.7)
    assert [t.type for t in assistant.tools] == [
        "function",
        "function",
        "function",
        "code_interpreter",
        "file_search",
    ]
    assert [t.function.name for t in assistant.tools if t.type == "function"] == [
        "lookup",
        "Answer",
        "shout",
    ]
    assert assistant.tool_resources is not None
    assert assistant.tool_resources.code_interpreter is not None
    assert assistant.tool_resources.code_interpreter.file_ids == [fid("file_1")]
