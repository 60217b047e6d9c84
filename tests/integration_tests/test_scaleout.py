"""Scale-out: several server processes on one PostgreSQL database keep one set of guarantees.

Real ``serve`` subprocesses on one throwaway PostgreSQL (``replicas.py``), a client that
sends each request to whichever process it likes: one active run per thread across
processes, a dead process's runs finished by another after its lease, a cancel reaching
the process that executes the run, tool outputs continuing (and streaming) the run on any
process, ``serve --workers``.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import OpenAI

from langchain_assistants.testing.postgres import PostgresCluster

from .helpers import WEATHER_TOOLS, text_of
from .replicas import KEY, Replica, free_port, replicas

SCRIPT = {
    "rules": [
        {"match": "slow", "turns": [{"content": "never finishes " * 5, "delay_ms": 120_000}]},
        {"match": "briefly", "turns": [{"content": "took a while", "delay_ms": 3000}]},
        {
            "match": "weather",
            "turns": [
                {"tool_calls": [{"name": "get_weather", "args": {"location": "Oslo"}}]},
                {"content": "Done: {last_tool_output}"},
            ],
        },
        {"match": "", "turns": [{"content": "fine"}]},
    ]
}
_databases = itertools.count(1)
SERVE = (sys.executable, "-m", "langchain_assistants", "serve")
AUTH = ("--api-key", KEY)


@pytest.fixture
def pg_db(postgres: PostgresCluster) -> str:
    """A fresh database on the session's PostgreSQL cluster."""
    return postgres.create_database(f"scaleout_{next(_databases)}")


@pytest.fixture
def model(tmp_path: Path) -> str:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(SCRIPT))
    return f"scripted:{path}"


def wait_for(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def status(c: OpenAI, thread_id: str, run_id: str) -> str:
    return c.beta.threads.runs.retrieve(run_id, thread_id=thread_id).status


@pytest.fixture
def three(pg_db: str, model: str, tmp_path: Path) -> Iterator[list[Replica]]:
    with replicas(pg_db, model, tmp_path, 3, extra=("--run-lease-seconds", "2")) as started:
        yield started


def test_ten_clients_racing_on_one_thread_across_processes_one_wins(
    three: list[Replica],
) -> None:
    clients = [three[i % 3].client() for i in range(10)]
    assistant = clients[0].beta.assistants.create(model="gpt-4o")
    thread = clients[0].beta.threads.create(messages=[{"role": "user", "content": "briefly"}])
    barrier = threading.Barrier(10)
    won: list[str] = []
    refused: list[str] = []
    unexpected: list[BaseException] = []

    def race(c: OpenAI) -> None:
        barrier.wait()
        try:
            won.append(c.beta.threads.runs.create(thread.id, assistant_id=assistant.id).id)
        except openai.BadRequestError as exc:
            refused.append(str(exc))
        except BaseException as exc:  # a 409/500 would land here
            unexpected.append(exc)

    racers = [threading.Thread(target=race, args=(c,)) for c in clients]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(60)
    assert unexpected == []
    assert len(won) == 1 and len(refused) == 9
    assert all("already has an active run" in message for message in refused)
    # While it runs, no process adds a message to the thread either.
    for replica in three:
        with pytest.raises(openai.BadRequestError, match="while a run"):
            replica.client().beta.threads.messages.create(thread.id, role="user", content="x")
    wait_for(lambda: status(clients[1], thread.id, won[0]) == "completed", "the run to end")
    runs = clients[2].beta.threads.runs.list(thread.id).data
    assert [r.id for r in runs] == won


def test_lease_takeover_after_sigkill(three: list[Replica]) -> None:
    a, b, c = (r.client() for r in three)
    assistant = a.beta.assistants.create(model="gpt-4o", tools=WEATHER_TOOLS)
    busy_thread = a.beta.threads.create(messages=[{"role": "user", "content": "slow"}])
    busy = a.beta.threads.runs.create(busy_thread.id, assistant_id=assistant.id)
    waiting_thread = a.beta.threads.create(messages=[{"role": "user", "content": "weather"}])
    waiting = a.beta.threads.runs.create_and_poll(
        thread_id=waiting_thread.id, assistant_id=assistant.id, poll_interval_ms=50
    )
    assert waiting.status == "requires_action"
    wait_for(lambda: status(b, busy_thread.id, busy.id) == "in_progress", "in_progress")
    three[0].kill()
    # The other processes keep serving; once the lease lapses one of them ends the run.
    wait_for(lambda: status(b, busy_thread.id, busy.id) == "failed", "the takeover")
    run = c.beta.threads.runs.retrieve(busy.id, thread_id=busy_thread.id)
    assert run.last_error is not None and "server stopped" in run.last_error.message
    message = b.beta.threads.messages.create(busy_thread.id, role="user", content="again")
    assert message.id  # unlocked
    # A waiting run belongs to no process: it survives its creator and continues anywhere.
    call = waiting.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
    done = c.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=waiting.id,
        thread_id=waiting_thread.id,
        tool_outputs=[{"tool_call_id": call.id, "output": "sunny"}],
        poll_interval_ms=50,
    )
    assert done.status == "completed"
    texts = [text_of(m) for m in b.beta.threads.messages.list(waiting_thread.id).data]
    assert texts[0] == "Done: sunny"


def test_cancel_through_another_process_stops_the_run_where_it_executes(
    pg_db: str, model: str, tmp_path: Path
) -> None:
    # A long lease: the renewal (the fallback) would take 15 s, so NOTIFY must carry it.
    with replicas(pg_db, model, tmp_path, 2, extra=("--run-lease-seconds", "60")) as two:
        a, b = (r.client() for r in two)
        assistant = a.beta.assistants.create(model="gpt-4o")
        thread = a.beta.threads.create(messages=[{"role": "user", "content": "slow"}])
        run = a.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
        wait_for(lambda: status(a, thread.id, run.id) == "in_progress", "in_progress")
        cancelling = b.beta.threads.runs.cancel(run.id, thread_id=thread.id)
        assert cancelling.status == "cancelling"
        wait_for(lambda: status(b, thread.id, run.id) == "cancelled", "the cancel", timeout=10)
        assert a.beta.threads.runs.retrieve(run.id, thread_id=thread.id).cancelled_at
        with pytest.raises(openai.BadRequestError, match="Cannot cancel"):
            a.beta.threads.runs.cancel(run.id, thread_id=thread.id)


def test_tool_outputs_on_another_process_continue_and_stream_the_run(
    three: list[Replica],
) -> None:
    a, b, c = (r.client() for r in three)
    assistant = a.beta.assistants.create(model="gpt-4o", tools=WEATHER_TOOLS)
    thread = a.beta.threads.create(messages=[{"role": "user", "content": "weather"}])
    run = a.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50
    )
    call = run.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
    events: list[Any] = []
    with b.beta.threads.runs.submit_tool_outputs_stream(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "7C"}]
    ) as stream:
        events.extend(stream)
    names = [e.event for e in events]
    assert "thread.run.queued" in names and names[-1] == "thread.run.completed"
    assert "thread.message.delta" in names
    assert status(c, thread.id, run.id) == "completed"
    # Plain submits race on two processes: one continues the run, the other gets the 400.
    c.beta.threads.messages.create(thread.id, role="user", content="weather again")
    second = c.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50
    )
    call = second.required_action.submit_tool_outputs.tool_calls[0]  # type: ignore[union-attr]
    outcomes: list[str] = []

    def submit(client: OpenAI) -> None:
        try:
            client.beta.threads.runs.submit_tool_outputs(
                run_id=second.id,
                thread_id=thread.id,
                tool_outputs=[{"tool_call_id": call.id, "output": "8C"}],
            )
            outcomes.append("ok")
        except openai.BadRequestError as exc:
            outcomes.append("400" if "do not accept tool outputs" in str(exc) else str(exc))

    racers = [threading.Thread(target=submit, args=(x,)) for x in (a, b)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(60)
    assert sorted(outcomes) == ["400", "ok"]
    wait_for(lambda: status(a, thread.id, second.id) == "completed", "the second run")


def test_serve_workers_share_one_port_and_sqlite_refuses_them(
    pg_db: str, model: str, tmp_path: Path
) -> None:
    refused = subprocess.run(
        [*SERVE, "--workers", "2", "--db", str(tmp_path / "one.db"), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "SQLite serves one process" in refused.stderr
    port = free_port()
    log = (tmp_path / "workers.log").open("wb")
    proc = subprocess.Popen(
        [*SERVE, "--workers", "2", "--db", pg_db, "--port", str(port), "--model", model, *AUTH],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        c = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, max_retries=0)

        def up() -> bool:
            try:
                c.beta.assistants.list()
                return True
            except openai.APIConnectionError:
                return False

        wait_for(up, "the workers")
        children = subprocess.run(
            ["pgrep", "-P", str(proc.pid)], capture_output=True, text=True
        ).stdout.split()
        assert len(children) >= 2  # two worker processes under the supervisor
        assistant = c.beta.assistants.create(model="gpt-4o")
        for _ in range(6):
            thread = c.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
            run = c.beta.threads.runs.create_and_poll(
                thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20
            )
            assert run.status == "completed"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        log.close()
