"""Scale-out: several server processes on one PostgreSQL database keep one set of guarantees.

Real ``serve`` subprocesses on one throwaway PostgreSQL (``replicas.py``), a client that
sends each request to whichever process it likes: one active run per thread across
processes, a dead process's runs finished by another after its lease, a cancel reaching
the process that executes the run, tool outputs continuing (and streaming) the run on any
process, ``serve --workers``.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from langchain_assistants.testing.cli_server import start_cli_server
from langchain_assistants.testing.postgres import PostgresCluster

from .helpers import WEATHER_TOOLS, text_of
from .replicas import KEY, Replica, RoundRobin, replicas

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
    # Metadata changes through another process than the executor touch nothing else.
    updated = clients[2].beta.threads.runs.update(won[0], thread_id=thread.id, metadata={"k": "v"})
    assert updated.metadata == {"k": "v"} and updated.status in ("queued", "in_progress")
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
        # A process starting meanwhile leaves the run alone: a live process owns it.
        late = Replica(pg_db, model, tmp_path / "late.log", "--run-lease-seconds", "60")
        try:
            late.wait_ready()
            assert status(late.client(), thread.id, run.id) == "in_progress"
        finally:
            late.stop()
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


def test_a_waiting_run_expires_once_whichever_process_sweeps(
    pg_db: str, model: str, tmp_path: Path
) -> None:
    extra = ("--run-expiry-seconds", "2")
    with replicas(pg_db, model, tmp_path, 3, extra=extra) as started:
        a, b, c = (r.client() for r in started)
        assistant = a.beta.assistants.create(model="gpt-4o", tools=WEATHER_TOOLS)
        thread = a.beta.threads.create(messages=[{"role": "user", "content": "weather"}])
        run = a.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=50
        )
        assert run.status == "requires_action"
        # Nobody retrieves it (which would expire it lazily): a list shows the stored run,
        # so the sweep (one process, under an advisory lock) must have ended it.
        wait_for(
            lambda: c.beta.threads.runs.list(thread.id).data[0].status == "expired", "the sweep"
        )
        steps = b.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
        assert [s.status for s in steps if s.type == "tool_calls"] == ["expired"]
        b.beta.threads.messages.create(thread.id, role="user", content="unlocked")


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
    with start_cli_server(
        *("--workers", "2", "--worker-healthcheck-seconds", "60"),
        *("--db", pg_db, "--model", model, *AUTH),
        log=tmp_path / "workers.log",
    ) as server:
        c = OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0)
        children = subprocess.run(
            ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
        ).stdout.split()
        assert len(children) >= 2  # two worker processes under the supervisor
        assistant = c.beta.assistants.create(model="gpt-4o")
        for _ in range(6):
            thread = c.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
            run = c.beta.threads.runs.create_and_poll(
                thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20
            )
            assert run.status == "completed"
        # Workers configure logging like one process does: the runs' INFO lines are there.
        deadline = time.monotonic() + 30
        while server.output().count(" completed thread=") < 6 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.output().count(" completed thread=") == 6, server.output(tail=2000)


# -- the whole picture: 100 conversations on three processes, one killed mid-run -----------

BUSY_SCRIPT = {
    "rules": [
        {"match": "slow", "turns": [{"content": "never finishes", "delay_ms": 120_000}]},
        {
            "match": "weather",
            "turns": [
                {
                    "tool_calls": [{"name": "get_weather", "args": {"location": "Oslo"}}],
                    "delay_ms": 300,
                },
                {"content": "Done: {last_tool_output}", "delay_ms": 600},
            ],
        },
        {"match": "", "turns": [{"content": "fine"}]},
    ]
}
CONVERSATIONS = 100
KILL_AFTER_RUNS = 40


class Conversations:
    """Drives the conversations through a round-robin client, retrying a request on
    another process when the one it went to is gone."""

    def __init__(self, rr: RoundRobin) -> None:
        self.rr = rr
        self.runs_created = 0
        self.kill_now = asyncio.Event()

    async def call(  # type: ignore[no-untyped-def]
        self,
        make: Callable[[AsyncOpenAI], Awaitable[Any]],
        avoid: int | None = None,
        repeat_refused: str | None = None,
    ):
        """``make(client)`` on the next live process (not ``avoid``); (index, result).

        A process that dies under a request may have committed it before its answer was
        lost, so the repeat on another process is refused with a 400. When the request is
        not idempotent, ``repeat_refused`` names that refusal: it is then the expected
        answer to a repeat (and only to a repeat), and the result is (-1, None)."""
        repeated = False
        for _ in range(6):
            index, client = self.rr.next(avoid=avoid)
            try:
                return index, await make(client)
            except openai.BadRequestError as refused:
                if repeated and repeat_refused and repeat_refused in refused.message:
                    return -1, None
                raise
            except (openai.APIConnectionError, openai.InternalServerError):
                if self.rr.replicas[index].alive:
                    raise
                repeated = True
                await asyncio.sleep(0.2)  # it died under us: the next live one
        raise AssertionError("no live process answered")

    async def settle(self, thread_id: str, run_id: str) -> Any:
        """Poll (anywhere) until the run is no longer queued or in progress."""
        deadline = time.monotonic() + 120
        while True:
            _, run = await self.call(
                lambda c: c.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
            )
            if run.status not in ("queued", "in_progress", "cancelling"):
                return run
            assert time.monotonic() < deadline, f"run {run_id} stays {run.status}"
            await asyncio.sleep(0.3)

    async def create_run(self, thread_id: str, assistant_id: str) -> tuple[int, Any]:
        made = await self.call(
            lambda c: c.beta.threads.runs.create(thread_id, assistant_id=assistant_id),
            repeat_refused="already has an active run",
        )
        if made[1] is None:  # the first attempt was committed by a process that then died
            _, page = await self.call(lambda c: c.beta.threads.runs.list(thread_id, limit=1))
            made = (-1, page.data[0])
        self.runs_created += 1
        if self.runs_created == KILL_AFTER_RUNS:
            self.kill_now.set()
        return made

    async def tool_round_trip(self, number: int, assistant_id: str) -> dict[str, Any]:
        _, thread = await self.call(
            lambda c: c.beta.threads.create(
                messages=[{"role": "user", "content": f"weather {number}"}]
            )
        )
        creator, run = await self.create_run(thread.id, assistant_id)
        run = await self.settle(thread.id, run.id)
        submitted_on = None
        if run.status == "requires_action":
            call_id = run.required_action.submit_tool_outputs.tool_calls[0].id
            outputs = [{"tool_call_id": call_id, "output": f"sunny {number}"}]
            submitted_on, _ = await self.call(
                lambda c: c.beta.threads.runs.submit_tool_outputs(
                    run.id, thread_id=thread.id, tool_outputs=outputs
                ),
                avoid=creator,
                repeat_refused="do not accept tool outputs",
            )
            submitted_on = None if submitted_on == -1 else submitted_on
            run = await self.settle(thread.id, run.id)
        return {
            "thread": thread.id,
            "run": run.id,
            "kind": "tools",
            "number": number,
            "creator": creator,
            "submitted_on": submitted_on,
        }

    async def cancelled_elsewhere(self, number: int, assistant_id: str) -> dict[str, Any]:
        _, thread = await self.call(
            lambda c: c.beta.threads.create(
                messages=[{"role": "user", "content": f"slow {number}"}]
            )
        )
        creator, run = await self.create_run(thread.id, assistant_id)
        cancelled_on, _ = await self.call(
            lambda c: c.beta.threads.runs.cancel(run.id, thread_id=thread.id),
            avoid=creator,
            repeat_refused="Cannot cancel run with status",
        )
        cancelled_on = None if cancelled_on == -1 else cancelled_on
        await self.settle(thread.id, run.id)
        return {
            "thread": thread.id,
            "run": run.id,
            "kind": "cancel",
            "number": number,
            "creator": creator,
            "cancelled_on": cancelled_on,
        }


@pytest.mark.slow
def test_hundred_conversations_on_three_processes_one_killed_mid_run(
    pg_db: str, tmp_path: Path
) -> None:
    script = tmp_path / "busy.json"
    script.write_text(json.dumps(BUSY_SCRIPT))
    extra = ("--run-lease-seconds", "5")  # slack for a loaded machine: no live lease lapses
    with replicas(pg_db, f"scripted:{script}", tmp_path, 3, extra=extra) as started:
        outcomes, final = asyncio.run(_drive(started))
    tools = [o for o in outcomes if o["kind"] == "tools"]
    statuses = {o["run"]: final[o["run"]]["status"] for o in outcomes}
    print("run statuses:", collections.Counter(statuses.values()))
    # Every run ended, none stays locked (checked in _drive by adding a message to each).
    assert set(statuses.values()) <= {"completed", "failed", "cancelled", "expired"}
    completed = [o for o in tools if statuses[o["run"]] == "completed"]
    assert len(completed) >= CONVERSATIONS // 3  # most survive; the killed one's fail
    assert any(o["submitted_on"] not in (None, o["creator"]) for o in completed)
    failed = [r for r, s in statuses.items() if s == "failed"]
    assert failed, "the killed process executed some runs"
    assert all("server stopped" in final[r]["last_error"] for r in failed)
    for o in completed:  # nothing committed is lost: the question, the answer, the check
        texts = final[o["thread"] + ":messages"]
        assert f"weather {o['number']}" in texts and f"Done: sunny {o['number']}" in texts
        assert "checked" in texts
    # A cancel through another process than the executor stopped the run there.
    cancels = [o for o in outcomes if o["kind"] == "cancel" and o["creator"] != 2]
    assert cancels and all(statuses[o["run"]] == "cancelled" for o in cancels)


async def _drive(started: list[Replica]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rr = RoundRobin(started)
    work = Conversations(rr)
    try:
        _, assistant = await work.call(
            lambda c: c.beta.assistants.create(model="gpt-4o", tools=WEATHER_TOOLS)
        )

        async def killer() -> None:
            await work.kill_now.wait()
            await asyncio.sleep(0.5)  # runs are in flight on it
            await asyncio.to_thread(started[2].kill)

        kill = asyncio.create_task(killer())
        outcomes = await asyncio.gather(
            *(
                work.cancelled_elsewhere(n, assistant.id)
                if n % 10 == 0
                else work.tool_round_trip(n, assistant.id)
                for n in range(CONVERSATIONS)
            )
        )
        await kill
        final: dict[str, Any] = {}
        for o in outcomes:
            run = await work.settle(o["thread"], o["run"])
            final[o["run"]] = {
                "status": run.status,
                "last_error": run.last_error.message if run.last_error else "",
            }
            # The thread is not locked (the dead process's runs ended after its lease).
            await work.call(
                lambda c, t=o["thread"]: c.beta.threads.messages.create(
                    t, role="user", content="checked"
                )
            )
            _, page = await work.call(
                lambda c, t=o["thread"]: c.beta.threads.messages.list(t, limit=100)
            )
            final[o["thread"] + ":messages"] = [
                block.text.value for m in page.data for block in m.content if block.type == "text"
            ]
        return list(outcomes), final
    finally:
        await rr.close()
