"""The code paths of seeds 001-004, unchanged but for the client's base_url."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from openai import AssistantEventHandler, AsyncAssistantEventHandler, AsyncOpenAI, OpenAI
from typing_extensions import override

from .helpers import text_of


def test_seed_001_math_tutor_streams_code_interpreter(client: OpenAI) -> None:
    assistant = client.beta.assistants.create(
        name="Math Tutor",
        instructions="You are a personal math tutor. Write and run code to answer math questions.",
        tools=[{"type": "code_interpreter"}],
        model="gpt-4-turbo",
    )
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(
        thread_id=thread.id, role="user", content="What's 10 - 4 raised to the 2.7?"
    )
    printed: list[str] = []

    class EventHandler(AssistantEventHandler):
        @override
        def on_text_created(self, text) -> None:  # type: ignore[no-untyped-def]
            printed.append("\nassistant > ")

        @override
        def on_text_delta(self, delta, snapshot):  # type: ignore[no-untyped-def]
            printed.append(delta.value)

        def on_tool_call_created(self, tool_call):  # type: ignore[no-untyped-def]
            printed.append(f"\nassistant > {tool_call.type}\n")

        def on_tool_call_delta(self, delta, snapshot):  # type: ignore[no-untyped-def]
            if delta.type == "code_interpreter":
                if delta.code_interpreter.input:
                    printed.append(delta.code_interpreter.input)
                if delta.code_interpreter.outputs:
                    printed.append("\n\noutput >")
                    for output in delta.code_interpreter.outputs:
                        if output.type == "logs":
                            printed.append(f"\n{output.logs}")

    with client.beta.threads.runs.stream(
        thread_id=thread.id,
        assistant_id=assistant.id,
        instructions="Please address the user as Jane Doe. The user has a premium account.",
        event_handler=EventHandler(),
    ) as stream:
        stream.until_done()
    transcript = "".join(printed)
    assert "assistant > code_interpreter" in transcript
    assert "print(10 - 4 ** 2.7)" in transcript
    assert "output >\n-32.22425314473263" in transcript
    assert transcript.endswith("The result is -32.22425314473263\n.")


def test_seed_002_console_chat_loop_with_create_and_poll(client: OpenAI) -> None:
    my_assistant = client.beta.assistants.create(
        instructions="You are a helpful assistant.", name="AI Assistant", model="gpt-4o"
    )
    thread = client.beta.threads.create()
    replies = []
    for user_message in ["Hi! Could you write me a python function?", "Wow! Thanks a lot!"]:
        client.beta.threads.messages.create(thread_id=thread.id, role="user", content=user_message)
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id,
            assistant_id=my_assistant.id,
            instructions="Keep responses concise and clear.",
        )
        assert run.status == "completed"
        messages = client.beta.threads.messages.list(thread_id=thread.id)
        for message in reversed(messages.data):
            if message.role == "assistant":
                replies.append(message.content[0].text.value)  # type: ignore[union-attr]
                break
    assert replies == ["Hello from the scripted model."] * 2


def test_seed_002_console_chat_loop_with_stream(client: OpenAI) -> None:
    my_assistant = client.beta.assistants.create(
        instructions="You are a helpful assistant.", name="AI Assistant", model="gpt-4o"
    )
    thread = client.beta.threads.create()
    out: list[str] = []

    class EventHandler(AssistantEventHandler):
        @override
        def on_text_created(self, text) -> None:  # type: ignore[no-untyped-def]
            out.append("\nAssistant > ")

        @override
        def on_text_delta(self, delta, snapshot):  # type: ignore[no-untyped-def]
            out.append(delta.value)

    for user_message in ["hello", "again"]:
        client.beta.threads.messages.create(thread_id=thread.id, role="user", content=user_message)
        with client.beta.threads.runs.stream(
            thread_id=thread.id,
            assistant_id=my_assistant.id,
            instructions="Keep responses concise and clear.",
            event_handler=EventHandler(),
        ) as stream:
            stream.until_done()
    assert "".join(out) == "\nAssistant > Hello from the scripted model." * 2


def test_seed_003_objects_statuses_steps_and_cleanup(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    model = scripted_model(
        [
            {
                "match": "equation",
                "turns": [
                    {
                        "tool_calls": [
                            {"name": "code_interpreter", "args": {"input": "x = (14 - 11) / 3\nx"}}
                        ]
                    },
                    {"content": "The solution is x = {last_tool_output}"},
                ],
            }
        ]
    )
    assistant = client.beta.assistants.create(
        name="Math Tutor",
        instructions="You are a personal math tutor. Write and run code to answer math questions.",
        tools=[{"type": "code_interpreter"}],
        model=model,
    )
    thread = client.beta.threads.create()
    message = client.beta.threads.messages.create(
        thread_id=thread.id,
        role="user",
        content="I need to solve the equation `3x + 11 = 14`. Can you help me?",
    )
    thread_messages = client.beta.threads.messages.list(thread.id)
    assert thread_messages.data[0].id == message.id
    run = client.beta.threads.runs.create(
        thread_id=thread.id,
        assistant_id=assistant.id,
        instructions="Please address the user as Jane Doe. The user has a premium account.",
    )
    seen = {run.status}
    while run.status in ["queued", "in_progress", "cancelling"]:
        time.sleep(0.05)
        run = client.beta.threads.runs.retrieve(thread_id=thread.id, run_id=run.id)
        seen.add(run.status)
    assert run.status == "completed" and "queued" in seen
    messages = client.beta.threads.messages.list(thread_id=thread.id, order="asc", after=message.id)
    assert [text_of(m) for m in messages.data] == ["The solution is x = 1.0\n"]
    run_steps = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id, order="asc")
    assert [s.type for s in run_steps.data] == ["tool_calls", "message_creation"]
    call = run_steps.data[0].step_details.tool_calls[0]  # type: ignore[union-attr]
    assert call.type == "code_interpreter"
    assert call.code_interpreter.input == "x = (14 - 11) / 3\nx"
    assert call.code_interpreter.outputs[0].type == "logs"
    assert call.code_interpreter.outputs[0].logs == "1.0\n"
    assert client.beta.assistants.delete(assistant_id=assistant.id).deleted
    assert client.beta.threads.delete(thread_id=thread.id).deleted


def get_weather(location: str, unit: str = "fahrenheit") -> str:
    return json.dumps({"location": location, "temperature": "72", "unit": unit})


def test_seed_004_polling_function_calling_and_persistent_thread(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    model = scripted_model(
        [
            {
                "match": "weather",
                "turns": [
                    {"tool_calls": [{"name": "get_weather", "args": {"location": "Boston, MA"}}]},
                    {"content": "Weather: {last_tool_output}"},
                ],
            },
            {"match": "^My name", "turns": [{"content": "Nice to meet you."}]},
            {"match": "", "turns": [{"content": "You said you were Sam."}]},
        ]
    )
    assistant = client.beta.assistants.create(
        name="Weather Assistant",
        instructions="You are a weather bot. Use the provided functions to answer questions.",
        model=model,
        tools=[
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Get the weather in a location",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "location": {"type": "string"},
                            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                        },
                        "required": ["location"],
                    },
                },
            }
        ],
    )
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(
        thread_id=thread.id, role="user", content="What's the weather in Boston?"
    )
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    while run.status not in ["completed", "failed"]:
        run = client.beta.threads.runs.retrieve(thread_id=thread.id, run_id=run.id)
        if run.status == "requires_action":
            tool_outputs = []
            for tool_call in run.required_action.submit_tool_outputs.tool_calls:  # type: ignore[union-attr]
                if tool_call.function.name == "get_weather":
                    args = json.loads(tool_call.function.arguments)
                    tool_outputs.append(
                        {"tool_call_id": tool_call.id, "output": get_weather(**args)}
                    )
            client.beta.threads.runs.submit_tool_outputs(
                thread_id=thread.id,
                run_id=run.id,
                tool_outputs=tool_outputs,  # type: ignore[arg-type]
            )
        time.sleep(0.05)
    assert run.status == "completed"
    messages = client.beta.threads.messages.list(thread_id=thread.id)
    assert text_of(messages.data[0]) == "Weather: " + get_weather("Boston, MA")

    # persistent thread: two turns, the second sees the first
    persistent_thread = client.beta.threads.create()
    answers = []
    for content in ["My name is Sam.", "What is my name?"]:
        client.beta.threads.messages.create(
            thread_id=persistent_thread.id, role="user", content=content
        )
        run = client.beta.threads.runs.create(
            thread_id=persistent_thread.id, assistant_id=assistant.id
        )
        while run.status != "completed":
            time.sleep(0.05)
            run = client.beta.threads.runs.retrieve(thread_id=persistent_thread.id, run_id=run.id)
        latest = client.beta.threads.messages.list(thread_id=persistent_thread.id, limit=1)
        answers.append(text_of(latest.data[0]))
    assert answers == ["Nice to meet you.", "You said you were Sam."]
    assert len(client.beta.threads.messages.list(persistent_thread.id).data) == 4


async def test_async_client_paths(async_client: AsyncOpenAI) -> None:
    assistant = await async_client.beta.assistants.create(
        name="Math Tutor", tools=[{"type": "code_interpreter"}], model="gpt-4o"
    )
    thread = await async_client.beta.threads.create()
    await async_client.beta.threads.messages.create(thread.id, role="user", content="hello")
    run = await async_client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id
    )
    assert run.status == "completed"
    await async_client.beta.threads.messages.create(
        thread.id, role="user", content="10 - 4 raised to the 2.7"
    )
    deltas: list[str] = []

    class Handler(AsyncAssistantEventHandler):
        async def on_text_delta(self, delta, snapshot) -> None:  # type: ignore[no-untyped-def]
            deltas.append(delta.value)

    async with async_client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, event_handler=Handler()
    ) as stream:
        await stream.until_done()
    assert "".join(deltas) == "The result is -32.22425314473263\n."
    page = await async_client.beta.threads.messages.list(thread.id)
    assert len(page.data) == 4
    assert (await async_client.beta.threads.delete(thread.id)).deleted
