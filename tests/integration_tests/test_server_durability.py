"""Durability: everything survives a restart; runs active at shutdown or crash are finished."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import httpx2
from openai import OpenAI

from langchain_assistants.server.embedded import start_server
from langchain_assistants.testing.cli_server import start_cli_server

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
        finished = [(busy_thread.id, busy.id)]
        if db.startswith("postgresql"):
            # Several processes may share PostgreSQL: a run waiting for tool outputs belongs
            # to none of them (README "Scale-out"), so it survives the restart, still
            # locks its thread until it expires, and any process continues it.
            assert c.beta.threads.runs.retrieve(waiting.id, thread_id=waiting_thread.id).status == (
                "requires_action"
            )
            c.beta.threads.runs.cancel(waiting.id, thread_id=waiting_thread.id)
        else:  # one process on SQLite: whatever was active ended with the server
            finished.append((waiting_thread.id, waiting.id))
        for thread_id, run_id in finished:
            run = c.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
            assert run.status == "failed"
            assert run.last_error is not None and "server stopped" in run.last_error.message
        for thread_id in (waiting_thread.id, busy_thread.id):
            # no thread stays locked
            c.beta.threads.messages.create(thread_id, role="user", content="again")
        busy_message = c.beta.threads.messages.list(busy_thread.id, run_id=busy.id).data
        assert all(m.status == "incomplete" for m in busy_message)


def test_cli_serve_and_recovery_after_a_crash(
    tmp_path: Path, new_database: Callable[[], str]
) -> None:
    db = new_database()
    model = _script(tmp_path)
    server = start_cli_server(
        *("--db", db, "--model", model, "--log-level", "warning", "--run-lease-seconds", "1"),
        log=tmp_path / "cli.log",
        env={**os.environ, "LANGCHAIN_ASSISTANTS_API_KEY": "cli-secret"},
    )
    try:
        assert httpx2.get(f"{server.base_url}/assistants").status_code == 401  # key from env
        with OpenAI(base_url=server.base_url, api_key="cli-secret", max_retries=0) as c:
            assistant = c.beta.assistants.create(model="gpt-4o")
            thread = c.beta.threads.create(messages=[{"role": "user", "content": "slow"}])
            run = c.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
            _wait_status(c, thread.id, run.id, "in_progress")
    finally:
        server.kill()  # a crash: no graceful shutdown
    assert "cli-secret" not in server.output()
    with start_server(db=db, model=model) as srv, OpenAI(base_url=srv.base_url, api_key="k") as c:
        # SQLite: finished at start-up. PostgreSQL: another live process might own it, so
        # it is finished once the dead process's lease (1 s here) has lapsed.
        _wait_status(c, thread.id, run.id, "failed")
        c.beta.threads.messages.create(thread.id, role="user", content="unlocked")
