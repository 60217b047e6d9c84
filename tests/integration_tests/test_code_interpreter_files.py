"""Files for code_interpreter through the real SDK: tool_resources and attachments are in the
code's directory; files the code writes become stored files with ``file_path`` annotations;
figures and files survive a requires_action pause; the stream accumulator ends equal to the
stored message; unknown or too many file ids answer 400 naming them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from openai.types.beta.threads import Message

from .helpers import WEATHER_TOOLS, text_of

CI = [{"type": "code_interpreter"}]
# Ready for the sandbox that shows the directory at /mnt/data; today it is the cwd.
BASE = "import os\nbase = '/mnt/data' if os.path.isdir('/mnt/data') else '.'\n"
READ_CSV = BASE + "print(open(os.path.join(base, 'x.csv')).read().strip())"
WRITE_CSV = BASE + (
    "with open(os.path.join(base, 'report.csv'), 'w') as f:\n"
    "    f.write('city,temp\\nParis,21\\n')\n"
    "print('written')"
)
PLOT = "import matplotlib.pyplot as plt\nplt.plot([1, 2], [3, 4])\nprint('drawn')"
LINK = "sandbox:/mnt/data/report.csv"


def code_call(code: str) -> dict[str, Any]:
    return {"tool_calls": [{"name": "code_interpreter", "args": {"input": code}}]}


def echo_script(code: str) -> list[dict[str, Any]]:
    return [{"match": ".", "turns": [code_call(code), {"content": "OUT<{last_tool_output}>"}]}]


def run_and_answer(client: OpenAI, assistant_id: str, thread_id: str) -> Message:
    run = client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    assert run.status == "completed", run.last_error
    return client.beta.threads.messages.list(thread_id, run_id=run.id).data[0]


def annotations_of(message: Message) -> list[tuple[str, str, int, int, str]]:
    out = []
    for block in message.content:
        if block.type == "text":
            for a in block.text.annotations:
                assert a.type == "file_path"
                out.append((a.type, a.text, a.start_index, a.end_index, a.file_path.file_id))
    return out


def test_assistant_tool_resources_file_is_read_by_the_code(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    csv = client.files.create(file=("x.csv", b"a,b\n1,2\n"), purpose="assistants")
    assistant = client.beta.assistants.create(
        model=scripted_model(echo_script(READ_CSV)),
        tools=CI,
        tool_resources={"code_interpreter": {"file_ids": [csv.id]}},
    )
    assert assistant.tool_resources.code_interpreter.file_ids == [csv.id]  # type: ignore[union-attr]
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "read it"}])
    answer = run_and_answer(client, assistant.id, thread.id)
    assert text_of(answer) == "OUT<a,b\n1,2\n>"


def test_thread_tool_resources_and_a_deleted_file_keeps_its_copy(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    csv = client.files.create(file=("x.csv", b"thread,file\n"), purpose="assistants")
    assistant = client.beta.assistants.create(model=scripted_model(echo_script(READ_CSV)), tools=CI)
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "read it"}],
        tool_resources={"code_interpreter": {"file_ids": [csv.id]}},
    )
    assert text_of(run_and_answer(client, assistant.id, thread.id)) == "OUT<thread,file\n>"
    # Deleting the file does not reach into the copy the thread's code already has.
    assert client.files.delete(csv.id).deleted
    client.beta.threads.messages.create(thread.id, role="user", content="again")
    assert text_of(run_and_answer(client, assistant.id, thread.id)) == "OUT<thread,file\n>"


def test_attachment_with_code_interpreter(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    csv = client.files.create(file=("x.csv", b"from,attachment\n"), purpose="assistants")
    assistant = client.beta.assistants.create(model=scripted_model(echo_script(READ_CSV)), tools=CI)
    thread = client.beta.threads.create()
    message = client.beta.threads.messages.create(
        thread.id,
        role="user",
        content="read it",
        attachments=[{"file_id": csv.id, "tools": CI}],  # type: ignore[list-item]
    )
    assert message.attachments[0].file_id == csv.id  # type: ignore[index]
    assert text_of(run_and_answer(client, assistant.id, thread.id)) == "OUT<from,attachment\n>"


async def test_attachment_in_additional_messages_async(
    async_client: AsyncOpenAI, scripted_model: Callable[..., str]
) -> None:
    csv = await async_client.files.create(file=("x.csv", b"async,add\n"), purpose="assistants")
    assistant = await async_client.beta.assistants.create(
        model=scripted_model(echo_script(READ_CSV)), tools=CI
    )
    thread = await async_client.beta.threads.create()
    run = await async_client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant.id,
        additional_messages=[
            {"role": "user", "content": "read", "attachments": [{"file_id": csv.id, "tools": CI}]}  # type: ignore[list-item]
        ],
    )
    assert run.status == "completed", run.last_error
    answer = (await async_client.beta.threads.messages.list(thread.id, run_id=run.id)).data[0]
    assert text_of(answer) == "OUT<async,add\n>"


def _written_file_script() -> list[dict[str, Any]]:
    return [
        {
            "match": ".",
            "turns": [
                code_call(WRITE_CSV),
                {"content": f"Here is [the report]({LINK}). Done."},
            ],
        }
    ]


def test_written_csv_becomes_a_file_with_a_file_path_annotation(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    model = scripted_model(_written_file_script())
    assistant = client.beta.assistants.create(model=model, tools=CI)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "write"}])
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        stream.until_done()
        streamed = stream.get_final_messages()
        run = stream.current_run
    assert run is not None and run.status == "completed"
    (stored,) = client.beta.threads.messages.list(thread.id, run_id=run.id).data
    text = text_of(stored)
    ((kind, linked, start, end, file_id),) = annotations_of(stored)
    assert (kind, linked) == ("file_path", LINK) and text[start:end] == LINK
    assert [a.file_id for a in stored.attachments or []] == [file_id]
    info = client.files.retrieve(file_id)
    assert (info.purpose, info.filename) == ("assistants_output", "report.csv")
    assert client.files.content(file_id).content == b"city,temp\nParis,21\n"
    # The step's logs tell the link; the model read the same text.
    step = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data[0]
    logs = step.step_details.tool_calls[0].code_interpreter.outputs[0].logs  # type: ignore[union-attr]
    assert "written" in logs and LINK in logs
    # The SDK's stream accumulator ends with the stored content and annotations.
    final = next(m for m in streamed if m.id == stored.id)
    assert text_of(final) == text and annotations_of(final) == annotations_of(stored)
    # Client-side shape check: every stored field is one the SDK parses.
    assert json.loads(stored.model_dump_json())["content"][0]["text"]["annotations"][0][
        "file_path"
    ] == {"file_id": file_id}


def test_figures_and_files_survive_a_requires_action_pause(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    pytest.importorskip("matplotlib")
    script = [
        {
            "match": ".",
            "turns": [
                code_call(PLOT + "\n" + WRITE_CSV),
                {"tool_calls": [{"name": "get_weather", "args": {"location": "Paris"}}]},
                {"content": f"See {LINK}"},
            ],
        }
    ]
    assistant = client.beta.assistants.create(
        model=scripted_model(script), tools=[*CI, *WEATHER_TOOLS]
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "go"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action"
    (call,) = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    with client.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=thread.id, run_id=run.id, tool_outputs=[{"tool_call_id": call.id, "output": "21"}]
    ) as stream:
        stream.until_done()
        streamed = stream.get_final_messages()
    (answer,) = client.beta.threads.messages.list(thread.id, run_id=run.id).data
    assert [b.type for b in answer.content] == ["text", "image_file"]
    ((_, linked, _, _, file_id),) = annotations_of(answer)
    assert linked == LINK and client.files.content(file_id).content.startswith(b"city")
    image_id = answer.content[1].image_file.file_id  # type: ignore[union-attr]
    assert client.files.content(image_id).content.startswith(b"\x89PNG")
    final = next(m for m in streamed if m.id == answer.id)
    assert [b.type for b in final.content] == ["text", "image_file"]
    assert annotations_of(final) == annotations_of(answer)


@pytest.mark.parametrize("where", ["assistant", "thread", "message", "run", "create_and_run"])
def test_unknown_file_id_is_400_naming_it(client: OpenAI, where: str) -> None:
    missing = "file-doesnotexist"
    resources: Any = {"code_interpreter": {"file_ids": [missing]}}
    attachment: Any = [{"file_id": missing, "tools": CI}]
    assistant = client.beta.assistants.create(model="gpt-4o", tools=CI)
    thread = client.beta.threads.create()
    before = len(client.beta.threads.messages.list(thread.id).data)
    with pytest.raises(openai.BadRequestError) as err:
        if where == "assistant":
            client.beta.assistants.create(model="gpt-4o", tools=CI, tool_resources=resources)
        elif where == "thread":
            client.beta.threads.create(tool_resources=resources)
        elif where == "message":
            client.beta.threads.messages.create(
                thread.id, role="user", content="x", attachments=attachment
            )
        elif where == "run":
            client.beta.threads.runs.create(
                thread.id,
                assistant_id=assistant.id,
                additional_messages=[{"role": "user", "content": "x", "attachments": attachment}],
            )
        else:
            client.beta.threads.create_and_run(
                assistant_id=assistant.id,
                thread={"messages": [{"role": "user", "content": "x", "attachments": attachment}]},
            )
    assert missing in err.value.message and err.value.param
    assert len(client.beta.threads.messages.list(thread.id).data) == before
    assert not client.beta.threads.runs.list(thread.id).data


def test_more_than_20_code_interpreter_files_is_400(client: OpenAI) -> None:
    ids = [
        client.files.create(file=(f"f{i}.txt", b"x"), purpose="assistants").id for i in range(21)
    ]
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.assistants.create(
            model="gpt-4o", tools=CI, tool_resources={"code_interpreter": {"file_ids": ids}}
        )
    assert err.value.param == "tool_resources.code_interpreter.file_ids"
    ok = client.beta.assistants.create(
        model="gpt-4o", tools=CI, tool_resources={"code_interpreter": {"file_ids": ids[:20]}}
    )
    assert len(ok.tool_resources.code_interpreter.file_ids) == 20  # type: ignore[union-attr, arg-type]


def test_links_the_code_leaves_are_not_followed(
    client: OpenAI, scripted_model: Callable[..., str], tmp_path: Path
) -> None:
    secret = tmp_path / "host-secret.txt"
    secret.write_text("host only")
    code = (
        "import os\n"
        f"os.symlink({str(secret)!r}, 'leak.txt')\n"
        "os.symlink('real.txt', 'alias.txt')\n"
        "open('real.txt', 'w').write('mine')\n"
        "print('linked')"
    )
    assistant = client.beta.assistants.create(model=scripted_model(echo_script(code)), tools=CI)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "link"}])
    answer = run_and_answer(client, assistant.id, thread.id)
    assert "sandbox:/mnt/data/real.txt" in text_of(answer)
    assert "leak.txt" not in text_of(answer) and "alias.txt" not in text_of(answer)
    (attached,) = answer.attachments or []
    assert client.files.content(attached.file_id).content == b"mine"
