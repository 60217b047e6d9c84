"""Durability: everything survives a restart; runs active at shutdown or crash are finished."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx2
from openai import OpenAI

from langchain_assistants.server.embedded import start_server

from .helpers import WEATHER_TOOLS, text_of

SLOW = {
    "rules": [
        {"match": "slow", "turns": [{"content": "never finishes " * 10, "delay_ms": 60000}]},
        {"match": "weather", "turns": [{"tool_calls": [{"name": "get_time", "args": {}}]}]},
        {"match": "", "turns": [{"content": "fine"}]},
    ]
}


def _script(tmp_path: Path) -> str:
    path = tmp_path / "slow.json"
    path.write_text(json.dumps(SLOW))
    return f"scripted:{path}"


def _wait_status(c: OpenAI, thread_id: str, run_id: str, status: str) -> None:
    deadline = time.monotonic() + 10
    while c.beta.threads.runs.retrieve(run_id, thread_id=thread_id).status != status:
        assert time.monotonic() < deadline, f"run never reached {status}"
        time.sleep(0.05)


def test_objects_survive_restart_and_active_runs_are_finished(
    tmp_path: Path, new_database: Callable[[], str]
) -> None:
    db = new_database()
    model = _script(tmp_path)
    with start_server(db=db, model=model) as srv, OpenAI(base_url=srv.base_url, api_key="k") as c:
        assistant = c.beta.assistants.create(model="gpt-4o", name="keeper", tools=WEATHER_TOOLS)
        done_thread = c.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
        done = c.beta.threads.runs.create_and_poll(
            thread_id=done_thread.id, assistant_id=assistant.id
        )
        waiting_thread = c.beta.threads.create(messages=[{"role": "user", "content": "weather"}])
        waiting = c.beta.threads.runs.create_and_poll(
            thread_id=waiting_thread.id, assistant_id=assistant.id
        )
        busy_thread = c.beta.threads.create(messages=[{"role": "user", "content": "slow please"}])
        busy = c.beta.threads.runs.create(thread_id=busy_thread.id, assistant_id=assistant.id)
        _wait_status(c, busy_thread.id, busy.id, "in_progress")
        assert (done.status, waiting.status) == ("completed", "requires_action")
    with start_server(db=db, model=model) as srv, OpenAI(base_url=srv.base_url, api_key="k") as c:
        assert c.beta.assistants.retrieve(assistant.id).name == "keeper"
        messages = c.beta.threads.messages.list(done_thread.id, order="asc").data
        assert [text_of(m) for m in messages] == ["hi", "fine"]
        assert c.beta.threads.runs.retrieve(done.id, thread_id=done_thread.id).status == "completed"
        assert len(c.beta.threads.runs.steps.list(done.id, thread_id=done_thread.id).data) == 1
        for thread_id, run_id in ((waiting_thread.id, waiting.id), (busy_thread.id, busy.id)):
            run = c.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
            assert run.status == "failed"
            assert run.last_error is not None and "server stopped" in run.last_error.message
            # no thread stays locked
            c.beta.threads.messages.create(thread_id, role="user", content="again")
        busy_message = c.beta.threads.messages.list(busy_thread.id, run_id=busy.id).data
        assert all(m.status == "incomplete" for m in busy_message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_cli_serve_and_recovery_after_a_crash(
    tmp_path: Path, new_database: Callable[[], str]
) -> None:
    db = new_database()
    model = _script(tmp_path)
    port = _free_port()
    env = {**os.environ, "LANGCHAIN_ASSISTANTS_API_KEY": "cli-secret"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "langchain_assistants",
            "serve",
            "--port",
            str(port),
            "--db",
            db,
            "--model",
            model,
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx2.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        base = f"http://127.0.0.1:{port}/v1"
        assert httpx2.get(f"{base}/assistants").status_code == 401  # key from the environment
        with OpenAI(base_url=base, api_key="cli-secret", max_retries=0) as c:
            assistant = c.beta.assistants.create(model="gpt-4o")
            thread = c.beta.threads.create(messages=[{"role": "user", "content": "slow"}])
            run = c.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
            _wait_status(c, thread.id, run.id, "in_progress")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # a crash: no graceful shutdown
        proc.wait(10)
    output = proc.stdout.read().decode() if proc.stdout else ""
    assert "cli-secret" not in output
    with start_server(db=db, model=model) as srv, OpenAI(base_url=srv.base_url, api_key="k") as c:
        recovered = c.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
        assert recovered.status == "failed"
        c.beta.threads.messages.create(thread.id, role="user", content="unlocked")
