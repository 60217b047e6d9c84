"""The built-in code_interpreter: real execution, and a runaway loop, a crash, a memory bomb,
a fork bomb and a network call are contained and reported to the model as logs; the server
stays up."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import openai
import pytest
from openai import OpenAI

from langchain_assistants.server.embedded import RunningServer, start_server

from .helpers import text_of

HOSTILE = {
    "runaway": "while True:\n    pass",
    "crash": "import os\nos.abort()",
    "memory": "blob = bytearray(4 * 1024 ** 3)\nprint(len(blob))",
    "forkbomb": (
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    ),
    "network": (
        "import socket\n"
        "socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
        "print('CONNECTED')"
    ),
}


@pytest.fixture(scope="module")
def listener() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def strict_server(
    tmp_path_factory: pytest.TempPathFactory, listener: int
) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("ci")
    rules = [
        {
            "match": name,
            "turns": [
                {
                    "tool_calls": [
                        {
                            "name": "code_interpreter",
                            "args": {"input": code.replace("{port}", str(listener))},
                        }
                    ]
                },
                {"content": "LOGS<{last_tool_output}>"},
            ],
        }
        for name, code in HOSTILE.items()
    ] + [
        {
            "match": "state",
            "turns": [
                {
                    "tool_calls": [
                        {
                            "name": "code_interpreter",
                            "args": {"input": "open('kept.txt', 'w').write('42')"},
                        }
                    ]
                },
                {
                    "tool_calls": [
                        {
                            "name": "code_interpreter",
                            "args": {"input": "print(open('kept.txt').read())"},
                        }
                    ]
                },
                {"content": "LOGS<{last_tool_output}>"},
            ],
        }
    ]
    script = tmp / "hostile.json"
    script.write_text(json.dumps({"rules": rules}))
    with start_server(
        db=str(tmp / "ci.db"),
        model=f"scripted:{script}",
        code_timeout_seconds=2.0,
        code_memory_mb=512,
        sandbox_dir=tmp / "sandbox",
    ) as srv:
        yield srv


def _ask(srv: RunningServer, content: str) -> tuple[str, list[str]]:
    with OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c:
        assistant = c.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}])
        thread = c.beta.threads.create(messages=[{"role": "user", "content": content}])
        run = c.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        assert run.status == "completed", run.last_error
        answer = text_of(c.beta.threads.messages.list(thread.id, run_id=run.id).data[0])
        steps = c.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
        logs = [
            out.logs
            for step in steps
            if step.step_details.type == "tool_calls"
            for call in step.step_details.tool_calls
            if call.type == "code_interpreter"
            for out in call.code_interpreter.outputs
            if out.type == "logs"
        ]
        return answer, logs


def test_runaway_loop_times_out(strict_server: RunningServer) -> None:
    answer, logs = _ask(strict_server, "runaway")
    assert "timed out" in logs[0].lower() and answer == f"LOGS<{logs[0]}>"


def test_crash_is_reported(strict_server: RunningServer) -> None:
    _, logs = _ask(strict_server, "crash")
    assert "exited with code" in logs[0].lower() or "signal" in logs[0].lower()


def test_memory_bomb_is_contained(strict_server: RunningServer) -> None:
    _, logs = _ask(strict_server, "memory")
    assert "MemoryError" in logs[0] or "memory" in logs[0].lower()
    assert "4294967296" not in logs[0]


def test_fork_bomb_is_contained(strict_server: RunningServer) -> None:
    """The process limit holds the bomb, the timeout ends it, the server stays up."""
    _, logs = _ask(strict_server, "forkbomb")
    assert "timed out" in logs[0].lower()
    with OpenAI(base_url=strict_server.base_url, api_key="k", max_retries=0) as c:
        assert c.beta.assistants.list().object == "list"


def test_network_is_blocked(strict_server: RunningServer) -> None:
    _, logs = _ask(strict_server, "network")
    assert "CONNECTED" not in logs[0]
    assert "Error" in logs[0]


def test_working_directory_persists_per_thread(
    strict_server: RunningServer, tmp_path: Path
) -> None:
    answer, logs = _ask(strict_server, "state")
    assert logs[-1] == "42\n" and answer == "LOGS<42\n>"


def test_server_still_serves_after_hostile_code(strict_server: RunningServer) -> None:
    with OpenAI(base_url=strict_server.base_url, api_key="k", max_retries=0) as c:
        assert c.beta.assistants.list().object == "list"


def test_figures_become_image_outputs_files_and_message_images(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nprint('drawn')"
    model = scripted_model(
        [
            {
                "match": "plot",
                "turns": [
                    {"tool_calls": [{"name": "code_interpreter", "args": {"input": code}}]},
                    {"content": "Here is the plot."},
                ],
            }
        ]
    )
    assistant = client.beta.assistants.create(model=model, tools=[{"type": "code_interpreter"}])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "plot squares"}])
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        stream.until_done()
        streamed = stream.get_final_messages()
    run = client.beta.threads.runs.list(thread.id).data[0]
    step = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data[0]
    outputs = step.step_details.tool_calls[0].code_interpreter.outputs  # type: ignore[union-attr]
    assert [o.type for o in outputs] == ["logs", "image"]
    file_id = outputs[1].image.file_id  # type: ignore[union-attr]
    (message,) = client.beta.threads.messages.list(thread.id, run_id=run.id).data
    assert [b.type for b in message.content] == ["text", "image_file"]
    assert message.content[1].image_file.file_id == file_id  # type: ignore[union-attr]
    assert [b.type for b in streamed[0].content] == ["text", "image_file"]
    info = client.files.retrieve(file_id)
    assert info.purpose == "assistants_output" and info.filename.endswith(".png")
    png = client.files.content(file_id).content
    assert png.startswith(b"\x89PNG") and len(png) == info.bytes
    assert client.files.delete(file_id).deleted
    with pytest.raises(openai.NotFoundError, match="No file found"):
        client.files.content(file_id)
