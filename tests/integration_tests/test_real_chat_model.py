"""Runs on a real LangChain integration: ``--model openai:...`` builds ChatOpenAI through
``init_chat_model``; a fake chat-completions upstream on loopback stands in for the
provider, including its faults (503, a dropped stream)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from openai import OpenAI

from langchain_assistants.server.embedded import RunningServer, start_server

from .fake_upstream import fake_upstream
from .helpers import WEATHER_TOOLS, text_of


@pytest.fixture(scope="module")
def openai_backed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with pytest.MonkeyPatch.context() as mp, fake_upstream() as upstream:
        mp.setenv("OPENAI_BASE_URL", upstream)
        mp.setenv("OPENAI_API_KEY", "sk-upstream-secret")
        mp.delenv("OPENAI_API_BASE", raising=False)
        db = tmp_path_factory.mktemp("real") / "real.db"
        with start_server(db=str(db), model="openai:gpt-4o-mini") as srv:
            yield srv


def _client(srv: RunningServer) -> OpenAI:
    return OpenAI(base_url=srv.base_url, api_key="k", max_retries=0)


def test_text_run_streams_on_chat_openai(openai_backed: RunningServer) -> None:
    with _client(openai_backed) as c:
        assistant = c.beta.assistants.create(model="gpt-4o", instructions="Be kind.")
        thread = c.beta.threads.create(
            messages=[{"role": "user", "content": "hello there my friend"}]
        )
        with c.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
            deltas = [
                e.data.delta.content[0].text.value
                for e in stream
                if e.event == "thread.message.delta"
            ]  # type: ignore[union-attr]
            run = stream.current_run
    assert "".join(deltas) == "Echo: hello there my friend" and len(deltas) >= 4  # type: ignore[arg-type]
    assert run is not None and run.status == "completed"
    assert run.usage is not None and (run.usage.prompt_tokens, run.usage.completion_tokens) == (
        11,
        7,
    )


def test_function_call_round_trip_on_chat_openai(openai_backed: RunningServer) -> None:
    with _client(openai_backed) as c:
        assistant = c.beta.assistants.create(model="gpt-4o", tools=WEATHER_TOOLS)
        thread = c.beta.threads.create(messages=[{"role": "user", "content": "weather in Paris?"}])
        run = c.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        assert run.status == "requires_action" and run.required_action is not None
        (call,) = run.required_action.submit_tool_outputs.tool_calls
        assert call.function.name == "get_weather"
        assert json.loads(call.function.arguments) == {"location": "Paris"}
        done = c.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=run.id,
            thread_id=thread.id,
            tool_outputs=[{"tool_call_id": call.id, "output": "sunny"}],
        )
        assert done.status == "completed"
        assert (
            text_of(c.beta.threads.messages.list(thread.id, limit=1).data[0])
            == "The tool said: sunny"
        )


def test_upstream_503_fails_the_run_cleanly(openai_backed: RunningServer) -> None:
    with _client(openai_backed) as c:
        assistant = c.beta.assistants.create(model="gpt-4o")
        thread = c.beta.threads.create(messages=[{"role": "user", "content": "unavailable please"}])
        run = c.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        assert run.status == "failed" and run.last_error is not None
        assert "upstream overloaded" in run.last_error.message or "503" in run.last_error.message
        assert "sk-upstream-secret" not in run.last_error.message
        c.beta.threads.messages.create(thread.id, role="user", content="thread is not locked")


def test_dropped_upstream_stream_fails_run_and_closes_message(openai_backed: RunningServer) -> None:
    with _client(openai_backed) as c:
        assistant = c.beta.assistants.create(model="gpt-4o")
        thread = c.beta.threads.create(
            messages=[{"role": "user", "content": "please drop this stream now"}]
        )
        run = c.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        assert run.status == "failed"
        (message,) = c.beta.threads.messages.list(thread.id, run_id=run.id).data
        assert message.status == "incomplete"
        assert (
            message.incomplete_details is not None
            and message.incomplete_details.reason == "run_failed"
        )


def test_secrets_stay_out_of_the_logs(
    openai_backed: RunningServer, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    with _client(openai_backed) as c:
        assistant = c.beta.assistants.create(model="gpt-4o")
        thread = c.beta.threads.create(messages=[{"role": "user", "content": "unavailable again"}])
        c.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert "sk-upstream-secret" not in caplog.text


def test_run_sampling_settings_reach_the_model(openai_backed: RunningServer) -> None:
    with _client(openai_backed) as c:
        assistant = c.beta.assistants.create(model="gpt-4o", temperature=0.3)
        thread = c.beta.threads.create(messages=[{"role": "user", "content": "sampling?"}])
        run = c.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id, top_p=0.5
        )
        assert (run.temperature, run.top_p) == (0.3, 0.5)
        reply = text_of(c.beta.threads.messages.list(thread.id, limit=1).data[0])
    assert reply == "temperature=0.3 top_p=0.5"


# -- files: what the model is given (the upstream shows it back) -----------------------------


def _answer(c: OpenAI, assistant_id: str, thread_id: str) -> str:
    run = c.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    assert run.status == "completed", run.last_error
    return text_of(c.beta.threads.messages.list(thread_id, run_id=run.id).data[0])


def test_the_model_is_told_the_files_and_how_to_link_outputs(
    openai_backed: RunningServer,
) -> None:
    with OpenAI(base_url=openai_backed.base_url, api_key="k", max_retries=0) as c:
        csv = c.files.create(file=("sales.csv", b"q,amount\n1,5\n"), purpose="assistants")
        assistant = c.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}])
        thread = c.beta.threads.create(
            messages=[{"role": "user", "content": "describe your tools"}],
            tool_resources={"code_interpreter": {"file_ids": [csv.id]}},
        )
        description = _answer(c, assistant.id, thread.id)
    assert "sales.csv" in description and "working directory" in description
    assert "sandbox:/mnt/data/<name>" in description


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


def test_a_vision_upload_in_a_message_reaches_the_model_as_an_image(
    openai_backed: RunningServer,
) -> None:
    with OpenAI(base_url=openai_backed.base_url, api_key="k", max_retries=0) as c:
        image = c.files.create(file=("dot.png", PNG), purpose="vision")
        assistant = c.beta.assistants.create(model="gpt-4o")
        thread = c.beta.threads.create(
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "describe the images"},
                        {"type": "image_file", "image_file": {"file_id": image.id}},
                    ],
                }
            ]
        )
        answer = _answer(c, assistant.id, thread.id)
        assert answer == "images: data:image/png;base64,"
        with pytest.raises(openai.BadRequestError) as err:
            c.beta.threads.messages.create(
                thread.id,
                role="user",
                content=[{"type": "image_file", "image_file": {"file_id": "file-nope"}}],
            )
        assert err.value.param == "content[0].image_file.file_id"


def test_forced_file_search_on_chat_openai_cites_and_ends(openai_backed: RunningServer) -> None:
    """ChatOpenAI is forced to call file_search (``tool_choice``) on the first call only:
    the upstream obeys a forced choice every time, so forcing it again would never end."""
    with _client(openai_backed) as c:
        document = c.files.create(
            file=("ferries.md", b"The last ferry to Inchcolm leaves at 17:30."),
            purpose="assistants",
        )
        assistant = c.beta.assistants.create(model="gpt-4o", tools=[{"type": "file_search"}])
        thread = c.beta.threads.create(
            messages=[
                {
                    "role": "user",
                    "content": "last ferry Inchcolm",
                    "attachments": [{"file_id": document.id, "tools": [{"type": "file_search"}]}],
                }
            ]
        )
        run = c.beta.threads.runs.create_and_poll(
            thread_id=thread.id,
            assistant_id=assistant.id,
            tool_choice={"type": "file_search"},
        )
        assert run.status == "completed", run.last_error
        (answer,) = c.beta.threads.messages.list(thread.id, run_id=run.id).data
    # The fake model repeats the tool output, markers included: they become citations.
    assert "17:30" in text_of(answer)
    notes = answer.content[0].text.annotations  # type: ignore[union-attr]
    assert notes and {n.file_citation.file_id for n in notes} == {document.id}  # type: ignore[union-attr]
