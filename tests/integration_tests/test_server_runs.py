"""Runs over HTTP: polling, streaming, function calling, locking, cancel, limits, errors."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx2
import openai
import pytest
from openai import AssistantEventHandler, OpenAI
from openai.types.beta.threads import Run

from langchain_assistants.server.embedded import RunningServer

from .helpers import WEATHER_TOOLS, assistant_with, run_messages, text_of

TERMINAL = {"completed", "failed", "cancelled", "expired", "incomplete", "requires_action"}


def test_create_run_and_poll_like_the_seeds(client: OpenAI) -> None:
    assistant = client.beta.assistants.create(
        name="AI Assistant", instructions="You are a helpful assistant.", model="gpt-4o"
    )
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(thread.id, role="user", content="Hi there")
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "queued" and run.usage is None and run.model == "gpt-4o"
    assert run.instructions == "You are a helpful assistant."
    assert run.expires_at is not None and run.expires_at >= run.created_at + 599
    deadline = time.monotonic() + 10
    while run.status in ("queued", "in_progress"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
        run = client.beta.threads.runs.retrieve(thread_id=thread.id, run_id=run.id)
    assert run.status == "completed"
    assert run.started_at and run.completed_at
    assert (
        run.usage
        and run.usage.total_tokens == run.usage.prompt_tokens + run.usage.completion_tokens > 0
    )
    messages = client.beta.threads.messages.list(thread_id=thread.id)
    assert messages.data[0].role == "assistant"
    assert text_of(messages.data[0]) == "Hello from the scripted model."
    assert messages.data[0].run_id == run.id and messages.data[0].assistant_id == assistant.id
    steps = client.beta.threads.runs.steps.list(thread_id=thread.id, run_id=run.id)
    assert [s.type for s in steps.data] == ["message_creation"]
    assert steps.data[0].status == "completed" and steps.data[0].usage is not None
    step = client.beta.threads.runs.steps.retrieve(
        steps.data[0].id, thread_id=thread.id, run_id=run.id
    )
    assert step.step_details.type == "message_creation"
    assert step.step_details.message_creation.message_id == messages.data[0].id  # type: ignore[union-attr]


def test_poll_after_header_is_small(server: RunningServer, client: OpenAI) -> None:
    assistant = assistant_with(client, "gpt-4o")
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(thread.id, role="user", content="hello")
    raw = client.beta.threads.runs.with_raw_response.create(
        thread_id=thread.id, assistant_id=assistant
    )
    run = raw.parse()
    retrieved = client.beta.threads.runs.with_raw_response.retrieve(run.id, thread_id=thread.id)
    assert int(retrieved.headers["openai-poll-after-ms"]) <= 100
    started = time.monotonic()
    final = client.beta.threads.runs.poll(run.id, thread_id=thread.id)
    assert final.status == "completed"
    assert time.monotonic() - started < 5  # not the SDK's 1 s default per poll


def test_create_and_poll_with_instructions_override(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    model = scripted_model([{"match": "", "turns": [{"content": "ok"}]}])
    assistant = assistant_with(client, model, instructions="Base.")
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(thread.id, role="user", content="hi")
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant,
        instructions="Please address the user as Jane Doe.",
        additional_instructions="Be brief.",
        metadata={"source": "test"},
    )
    assert run.status == "completed"
    assert run.instructions == "Please address the user as Jane Doe.\n\nBe brief."
    assert run.metadata == {"source": "test"}


def test_streaming_text_events_in_order(client: OpenAI) -> None:
    assistant = assistant_with(client, "gpt-4o")
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(thread.id, role="user", content="Say hi")
    deltas: list[str] = []
    created: list[str] = []

    class Handler(AssistantEventHandler):
        def on_text_created(self, text) -> None:  # type: ignore[no-untyped-def]
            created.append(text.value)

        def on_text_delta(self, delta, snapshot) -> None:  # type: ignore[no-untyped-def]
            deltas.append(delta.value)

    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant, event_handler=Handler()
    ) as stream:
        stream.until_done()
        final_run = stream.current_run
        final_messages = stream.get_final_messages()
    assert len(deltas) >= 2 and "".join(deltas) == "Hello from the scripted model."
    assert len(created) == 1  # one text block, announced once
    assert final_run is not None and final_run.status == "completed"
    assert text_of(final_messages[0]) == "Hello from the scripted model."


def test_stream_event_order_for_text(client: OpenAI) -> None:
    assistant = assistant_with(client, "gpt-4o")
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(thread.id, role="user", content="hello")
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant) as stream:
        names = [event.event for event in stream]
    collapsed = [n for i, n in enumerate(names) if i == 0 or n != names[i - 1]]
    assert collapsed == [
        "thread.run.created",
        "thread.run.queued",
        "thread.run.in_progress",
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.message.created",
        "thread.message.in_progress",
        "thread.message.delta",
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.completed",
    ]


def test_raw_sse_frames_end_with_done(server: RunningServer, client: OpenAI) -> None:
    assistant = assistant_with(client, "gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hello"}])
    with httpx2.stream(
        "POST",
        f"{server.base_url}/threads/{thread.id}/runs",
        json={"assistant_id": assistant, "stream": True},
        headers={"Authorization": "Bearer sk-test-local"},
    ) as response:
        body = "".join(response.iter_text())
    frames = [
        f for f in body.replace("\r\n", "\n").split("\n\n") if f.strip() and not f.startswith(":")
    ]
    assert all(f.startswith("event: ") for f in frames)
    assert frames[-1].splitlines() == ["event: done", "data: [DONE]"]


def _weather_run(client: OpenAI, model: str, **run_kwargs: object) -> tuple[str, Run]:
    assistant = assistant_with(client, model, tools=WEATHER_TOOLS)
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(thread.id, role="user", content="What's the weather?")
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant,
        **run_kwargs,  # type: ignore[arg-type]
    )
    return thread.id, run


def test_function_calling_requires_action_and_submit(client: OpenAI) -> None:
    thread_id, run = _weather_run(client, "gpt-4o")
    assert run.status == "requires_action" and run.required_action is not None
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "get_time"]
    assert json.loads(calls[0].function.arguments) == {"location": "Paris"}
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread_id).data
    assert steps[0].status == "in_progress" and steps[0].type == "tool_calls"
    assert steps[0].step_details.tool_calls[0].function.output is None  # type: ignore[union-attr]
    # the thread is locked while the run waits for outputs: 400, never 409
    with pytest.raises(openai.BadRequestError, match="while a run"):
        client.beta.threads.messages.create(thread_id, role="user", content="hey")
    with pytest.raises(openai.BadRequestError, match="already has an active run"):
        client.beta.threads.runs.create(thread_id=thread_id, assistant_id=run.assistant_id)
    # all outputs in one request: a partial set is refused, naming the expected ids
    with pytest.raises(openai.BadRequestError, match=calls[1].id):
        client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": calls[0].id, "output": "x"}]
        )
    final = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id,
        thread_id=thread_id,
        tool_outputs=[
            {"tool_call_id": calls[0].id, "output": "sunny"},
            {"tool_call_id": calls[1].id, "output": "noon"},
        ],
    )
    assert final.status == "completed"
    assert text_of(run_messages(client, thread_id, run.id)[0]) == "Done: noon"
    tool_step = client.beta.threads.runs.steps.retrieve(
        steps[0].id, thread_id=thread_id, run_id=run.id
    )
    assert tool_step.status == "completed"
    assert [c.function.output for c in tool_step.step_details.tool_calls] == ["sunny", "noon"]  # type: ignore[union-attr]
    with pytest.raises(openai.BadRequestError, match='status "completed" do not accept'):
        client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread_id, tool_outputs=[{"tool_call_id": calls[0].id, "output": "x"}]
        )


def test_function_calling_streamed_both_ways(client: OpenAI) -> None:
    assistant = assistant_with(client, "gpt-4o", tools=WEATHER_TOOLS)
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(thread.id, role="user", content="weather please")
    arg_deltas: dict[int, list[str]] = {}

    class Handler(AssistantEventHandler):
        def on_tool_call_delta(self, delta, snapshot) -> None:  # type: ignore[no-untyped-def]
            if delta.type == "function" and delta.function and delta.function.arguments:
                arg_deltas.setdefault(delta.index, []).append(delta.function.arguments)

    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant, event_handler=Handler()
    ) as stream:
        names = [e.event for e in stream]
        run = stream.current_run
    assert names[-1] == "thread.run.requires_action"
    assert "thread.run.step.delta" in names
    assert run is not None and run.required_action is not None
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert len(arg_deltas[0]) >= 2  # arguments arrive in fragments, as the model produces them
    assert json.loads("".join(arg_deltas[0])) == {"location": "Paris"}
    assert "".join(arg_deltas[0]) == calls[0].function.arguments
    with client.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=thread.id,
        run_id=run.id,
        tool_outputs=[{"tool_call_id": c.id, "output": f"out-{c.function.name}"} for c in calls],
    ) as stream:
        resumed = [e.event for e in stream]
        final_messages = stream.get_final_messages()
    assert resumed[0] == "thread.run.step.completed"
    assert resumed[1:3] == ["thread.run.queued", "thread.run.in_progress"]
    assert resumed[-1] == "thread.run.completed"
    assert text_of(final_messages[0]) == "Done: out-get_time"


def test_parallel_tool_calls_false_gives_one_call(client: OpenAI) -> None:
    _, run = _weather_run(client, "gpt-4o", parallel_tool_calls=False)
    assert run.parallel_tool_calls is False
    assert run.required_action is not None
    assert len(run.required_action.submit_tool_outputs.tool_calls) == 1


def test_tool_choice_none_and_echoed_options(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    model = scripted_model([{"match": "", "turns": [{"content": "plain"}]}])
    _, run = _weather_run(
        client,
        model,
        tool_choice="none",
        response_format={"type": "json_object"},
        truncation_strategy={"type": "last_messages", "last_messages": 2},
        temperature=0.2,
        top_p=0.9,
    )
    assert run.status == "completed"
    assert run.tool_choice == "none"
    assert run.response_format is not None and run.response_format.type == "json_object"  # type: ignore[union-attr]
    assert run.truncation_strategy is not None and run.truncation_strategy.last_messages == 2
    assert (run.temperature, run.top_p) == (0.2, 0.9)


def test_truncation_strategy_limits_context(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    # The scripted model reports one prompt token per word: fewer messages, fewer tokens.
    model = scripted_model([{"match": "", "turns": [{"content": "ok"}]}])
    assistant = assistant_with(client, model)
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": f"word {i} " * 20} for i in range(10)]
    )
    full = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant,
        additional_messages=[{"role": "user", "content": "q"}],
    )
    short = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant,
        additional_messages=[{"role": "user", "content": "q"}],
        truncation_strategy={"type": "last_messages", "last_messages": 1},
    )
    assert full.usage and short.usage
    assert short.usage.prompt_tokens < full.usage.prompt_tokens / 5


def test_max_completion_tokens_makes_run_incomplete(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    model = scripted_model([{"match": "", "turns": [{"content": "word " * 400}]}])
    assistant = assistant_with(client, model)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "talk"}])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant, max_completion_tokens=256
    )
    assert run.status == "incomplete"
    assert (
        run.incomplete_details is not None
        and run.incomplete_details.reason == "max_completion_tokens"
    )
    assert run.usage is not None and run.usage.completion_tokens > 256
    (message,) = client.beta.threads.messages.list(thread.id, run_id=run.id).data
    assert message.status == "incomplete"
    assert (
        message.incomplete_details is not None and message.incomplete_details.reason == "max_tokens"
    )
    with pytest.raises(openai.BadRequestError, match="max_completion_tokens"):
        client.beta.threads.runs.create(
            thread_id=thread.id, assistant_id=assistant, max_completion_tokens=10
        )


def test_max_prompt_tokens_makes_run_incomplete(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    model = scripted_model([{"match": "", "turns": [{"content": "ok"}]}])
    assistant = assistant_with(client, model)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "many words " * 200}])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant, max_prompt_tokens=256
    )
    assert run.status == "incomplete"
    assert (
        run.incomplete_details is not None and run.incomplete_details.reason == "max_prompt_tokens"
    )


def test_model_error_fails_run_and_unlocks_thread(client: OpenAI) -> None:
    assistant = assistant_with(client, "gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "please explode"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant)
    assert run.status == "failed" and run.failed_at
    assert run.last_error is not None and run.last_error.code == "server_error"
    assert "model backend unavailable" in run.last_error.message
    assert "Traceback" not in run.last_error.message and "File " not in run.last_error.message
    client.beta.threads.messages.create(thread.id, role="user", content="still usable")


def test_unknown_model_without_default_fails_clearly(new_database) -> None:  # type: ignore[no-untyped-def]
    from langchain_assistants.server.embedded import start_server

    with (
        start_server(db=new_database()) as srv,
        OpenAI(base_url=srv.base_url, api_key="any", max_retries=0) as c,
    ):
        assistant = c.beta.assistants.create(model="gpt-4o")
        thread = c.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
        run = c.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "failed" and run.last_error is not None
    assert "--model" in run.last_error.message and "gpt-4o" in run.last_error.message


def test_cancel_requires_action_run(client: OpenAI) -> None:
    thread_id, run = _weather_run(client, "gpt-4o")
    cancelling = client.beta.threads.runs.cancel(run.id, thread_id=thread_id)
    assert cancelling.status == "cancelling"
    final = client.beta.threads.runs.poll(run.id, thread_id=thread_id)
    assert final.status == "cancelled" and final.cancelled_at
    step = client.beta.threads.runs.steps.list(run.id, thread_id=thread_id).data[0]
    assert step.status == "cancelled"
    with pytest.raises(openai.BadRequestError, match="Cannot cancel run with status 'cancelled'"):
        client.beta.threads.runs.cancel(run.id, thread_id=thread_id)
    client.beta.threads.messages.create(thread_id, role="user", content="unlocked")


def test_cancel_in_progress_run_marks_message_incomplete(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    model = scripted_model([{"match": "", "turns": [{"content": "slow " * 40, "delay_ms": 4000}]}])
    assistant = assistant_with(client, model)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "go"}])
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant) as stream:
        for event in stream:
            if event.event == "thread.run.created":
                run_id = event.data.id
            if event.event == "thread.message.delta":  # mid-answer: the run is in progress
                client.beta.threads.runs.cancel(run_id, thread_id=thread.id)
                break
    final = client.beta.threads.runs.poll(run_id, thread_id=thread.id)
    assert final.status == "cancelled"
    message = client.beta.threads.messages.list(thread.id, run_id=run_id).data[0]
    assert message.status == "incomplete"
    assert (
        message.incomplete_details is not None
        and message.incomplete_details.reason == "run_cancelled"
    )


def test_runs_list_and_modify(client: OpenAI) -> None:
    assistant = assistant_with(client, "gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "a"}])
    first = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant)
    second = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant,
        additional_messages=[{"role": "user", "content": "b"}],
    )
    assert [r.id for r in client.beta.threads.runs.list(thread.id)] == [second.id, first.id]
    updated = client.beta.threads.runs.update(first.id, thread_id=thread.id, metadata={"k": "v"})
    assert updated.metadata == {"k": "v"}
    assert client.beta.threads.runs.retrieve(first.id, thread_id=thread.id).metadata == {"k": "v"}
    only = client.beta.threads.messages.list(thread.id, run_id=second.id).data
    assert len(only) == 1 and only[0].run_id == second.id


def test_additional_messages_and_create_thread_and_run(client: OpenAI) -> None:
    assistant = assistant_with(client, "gpt-4o")
    thread = client.beta.threads.create()
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant,
        additional_messages=[{"role": "user", "content": "added"}],
    )
    assert run.status == "completed"
    texts = [text_of(m) for m in client.beta.threads.messages.list(thread.id, order="asc")]
    assert texts == ["added", "Hello from the scripted model."]
    both = client.beta.threads.create_and_run_poll(
        assistant_id=assistant, thread={"messages": [{"role": "user", "content": "new"}]}
    )
    assert both.status == "completed" and both.thread_id != thread.id
    with client.beta.threads.create_and_run_stream(
        assistant_id=assistant, thread={"messages": [{"role": "user", "content": "s"}]}
    ) as stream:
        names = [e.event for e in stream]
    assert names[0] == "thread.created" and names[-1] == "thread.run.completed"


def test_unknown_ids_404(client: OpenAI) -> None:
    thread = client.beta.threads.create()
    with pytest.raises(openai.NotFoundError, match="No assistant found with id 'asst_nope'"):
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id="asst_nope")
    with pytest.raises(openai.NotFoundError, match="No run found"):
        client.beta.threads.runs.retrieve("run_nope", thread_id=thread.id)
    with pytest.raises(openai.NotFoundError, match="No thread found"):
        client.beta.threads.runs.list("thread_nope")
    with pytest.raises(openai.NotFoundError, match="No message found"):
        client.beta.threads.messages.retrieve("msg_nope", thread_id=thread.id)
    assistant = assistant_with(client, "gpt-4o")
    client.beta.threads.messages.create(thread.id, role="user", content="hi")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant)
    client.beta.threads.messages.create(thread.id, role="user", content="again")
    other = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant)
    step = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data[0]
    with pytest.raises(openai.NotFoundError, match=f"No run step found with id '{step.id}'"):
        client.beta.threads.runs.steps.retrieve(step.id, thread_id=thread.id, run_id=other.id)


def test_run_expires_and_unlocks(tmp_path, new_database) -> None:  # type: ignore[no-untyped-def]
    from langchain_assistants.server.embedded import start_server

    script = tmp_path / "s.json"
    script.write_text(
        json.dumps(
            {
                "rules": [
                    {
                        "match": "",
                        "turns": [
                            {"tool_calls": [{"name": "get_time", "args": {}}]},
                            {"content": "late"},
                        ],
                    }
                ]
            }
        )
    )
    with (
        # A few seconds, so that a loaded machine still reaches requires_action before expiry.
        start_server(db=new_database(), model=f"scripted:{script}", run_expiry_seconds=4) as srv,
        OpenAI(base_url=srv.base_url, api_key="any", max_retries=0) as c,
    ):
        assistant = c.beta.assistants.create(model="gpt-4o", tools=WEATHER_TOOLS)
        thread = c.beta.threads.create(messages=[{"role": "user", "content": "time?"}])
        run = c.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        assert run.status == "requires_action"
        assert run.expires_at is not None
        time.sleep(max(0.0, run.expires_at - time.time()) + 1.2)  # past expires_at (1 s grain)
        expired = c.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
        assert expired.status == "expired"
        call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
        with pytest.raises(openai.BadRequestError, match='status "expired" do not accept'):
            c.beta.threads.runs.submit_tool_outputs(
                run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "x"}]
            )
        assert (
            c.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data[0].status == "expired"
        )
        c.beta.threads.messages.create(thread.id, role="user", content="unlocked again")


def test_a_run_reported_ended_has_unlocked_its_thread(client: OpenAI) -> None:
    """Once retrieving a run shows it ended, its thread takes the next run at once (the end
    is answered only after it is stored)."""
    assistant = assistant_with(client, "gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "a"}])
    for _ in range(15):
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant, poll_interval_ms=1
        )
        assert run.status == "completed"
        client.beta.threads.messages.create(thread.id, role="user", content="next")
