"""A server you can watch: run log lines, quiet polling, a clean Ctrl-C during a stream,
``--version`` and bundled scripts by name — all through the real CLI in its own process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import openai
import pytest
from openai import OpenAI

import langchain_assistants
from langchain_assistants.testing.cli_server import CliServer, start_cli_server

from .helpers import text_of

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SCRIPT = {
    "rules": [
        {"match": "slow", "turns": [{"content": "word " * 200, "delay_ms": 20000}]},
        {
            "match": "compute",
            "turns": [
                {"tool_calls": [{"name": "code_interpreter", "args": {"input": "print(6 * 7)"}}]},
                {"content": "It is {last_tool_output}", "delay_ms": 300},
            ],
        },
        {"match": "", "turns": [{"content": "fine"}]},
    ]
}


@pytest.fixture
def cli_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[CliServer]:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    extra = getattr(request, "param", ())
    server = start_cli_server(
        *("--db", str(tmp_path / "watch.db"), "--model", f"scripted:{script}", *extra),
        log=tmp_path / "server.log",
    )
    try:
        yield server
    finally:
        server.kill()  # nothing to wait for: what each test checks happened already


def test_one_line_per_run_start_and_end_and_quiet_polling(cli_server: CliServer) -> None:
    with OpenAI(base_url=cli_server.base_url, api_key="k", max_retries=0) as c:
        assistant = c.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}])
        thread = c.beta.threads.create(messages=[{"role": "user", "content": "compute"}])
        run = c.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        assert run.status == "completed"
    time.sleep(0.5)  # let the log flush
    lines = cli_server.output().splitlines()
    started = [line for line in lines if f"run {run.id} started" in line]
    ended = [line for line in lines if f"run {run.id} completed" in line]
    assert len(started) == 1 and len(ended) == 1, lines
    assert f"thread={thread.id}" in ended[0] and "model=gpt-4o" in ended[0]
    assert "tools=[code_interpreter]" in ended[0] and "duration=" in ended[0]
    assert "tokens=" in ended[0]
    # The polling GETs of create_and_poll are left out; the writes are logged.
    assert not [line for line in lines if '"GET /v1/threads/' in line], lines
    assert [line for line in lines if '"POST /v1/threads/' in line]


@pytest.mark.parametrize("cli_server", [("--access-log", "full")], indirect=True)
def test_full_access_log_keeps_polling_lines(cli_server: CliServer) -> None:
    with OpenAI(base_url=cli_server.base_url, api_key="k", max_retries=0) as c:
        assistant = c.beta.assistants.create(model="gpt-4o")
        c.beta.assistants.retrieve(assistant.id)
    time.sleep(0.5)
    assert f'"GET /v1/assistants/{assistant.id} HTTP/1.1" 200' in cli_server.output()


def test_ctrl_c_during_a_stream_ends_it_with_an_error_event(cli_server: CliServer) -> None:
    with OpenAI(base_url=cli_server.base_url, api_key="k", max_retries=0) as c:
        assistant = c.beta.assistants.create(model="gpt-4o")
        thread = c.beta.threads.create(messages=[{"role": "user", "content": "slow"}])
    events: list[tuple[str, str]] = []
    body = {"assistant_id": assistant.id, "stream": True}
    url = f"{cli_server.base_url}/threads/{thread.id}/runs"
    with httpx2.stream("POST", url, json=body, timeout=60) as response:
        name = ""
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                events.append((name, line.split(":", 1)[1].strip()))
                if name == "thread.message.delta" and len(events) < 100:
                    cli_server.proc.send_signal(signal.SIGINT)  # Ctrl-C
    names = [n for n, _ in events]
    assert "thread.message.delta" in names
    assert names[-2:] == ["error", "done"], names
    error = json.loads(events[-2][1])
    assert error["code"] == "server_shutting_down" and error["message"]
    assert cli_server.proc.wait(30) == 0
    output = cli_server.output()
    assert "ASGI callable returned without completing response" not in output
    assert "Traceback" not in output


def test_version_flag_and_attribute() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "langchain_assistants", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"langchain-assistants {langchain_assistants.__version__}"
    assert langchain_assistants.__version__[0].isdigit()


def test_bundled_scripts_by_name(tmp_path: Path) -> None:
    from langchain_assistants.server.embedded import start_server

    with (
        start_server(model="scripted:demo") as srv,
        OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c,
    ):
        assistant = c.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}])
        thread = c.beta.threads.create(
            messages=[{"role": "user", "content": "What's 10 - 4 raised to the 2.7"}]
        )
        run = c.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        assert run.status == "completed"
        answer = c.beta.threads.messages.list(thread.id, run_id=run.id).data[0]
        assert "-32.22425314473263" in text_of(answer)
        # Not a bundled name: a file, refused by default; the answer lists the bundled ones.
        with pytest.raises(openai.BadRequestError) as refused:
            c.beta.assistants.create(model="scripted:nosuchscript")
        assert refused.value.param == "model"
        assert "demo" in refused.value.message and "interpreter" in refused.value.message
