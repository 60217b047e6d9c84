"""The fault matrix: each case injects a real fault and ends in a typed error or a recovery.

Faults are real: a chat-completions upstream that cuts its stream, a client that hangs up,
a server process SIGKILLed, a database file made immutable, a full filesystem, clients
racing, a run left waiting past its expiry, cancels racing completions, and a bounded soak
measured from /proc. The README's "Fault matrix" table lists what each case asserts.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from langchain_assistants.server.embedded import RunningServer, start_server
from langchain_assistants.server.settings import ServerSettings
from langchain_assistants.testing.postgres import PostgresCluster, start_postgres

from .fake_upstream import fake_upstream
from .faults import (
    CLI_KEY,
    checkpoint_truncate,
    cli_server,
    disk_full,
    immutable,
    integrity_check,
    postgres_stopped,
    small_filesystem,
)
from .helpers import WEATHER_TOOLS, text_of

TERMINAL = {"completed", "failed", "cancelled", "expired", "incomplete"}
RUN_ENDINGS = {f"thread.run.{s}" for s in TERMINAL}
SLOW_TEXT = "one two three four five six seven eight nine ten"


def wait_for(
    check: Callable[[], Any], what: str, timeout: float = 30.0, interval: float = 0.05
) -> Any:
    """Poll ``check`` until it returns something truthy (bounded); return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(interval)


def wait_terminal(c: OpenAI, thread_id: str, run_id: str, timeout: float = 30.0) -> Any:
    def ended() -> Any:
        run = c.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
        return run if run.status in TERMINAL else None

    return wait_for(ended, f"run {run_id} to end", timeout)


def assert_unlocked(c: OpenAI, thread_id: str) -> None:
    """A thread is unlocked when a message can be added to it."""
    c.beta.threads.messages.create(thread_id, role="user", content="still usable?")


def assert_no_open_steps(c: OpenAI, thread_id: str, run_id: str) -> None:
    steps = c.beta.threads.runs.steps.list(run_id, thread_id=thread_id).data
    assert all(s.status != "in_progress" for s in steps), [s.status for s in steps]
    messages = c.beta.threads.messages.list(thread_id, run_id=run_id).data
    assert all(m.status != "in_progress" for m in messages), [m.status for m in messages]


def write_script(path: Path, rules: list[dict[str, Any]]) -> str:
    path.write_text(json.dumps({"rules": rules}))
    return f"scripted:{path}"


# -- 1. model error mid-stream ---------------------------------------------------------


def test_model_error_mid_stream_fails_the_run_and_ends_the_stream(tmp_path: Path) -> None:
    """The upstream resets its connection after two words: the deltas already sent stay,
    the message ends incomplete, the run ``failed`` with a ``last_error``, the SSE stream
    ends with the protocol's events and the thread is free again."""
    with pytest.MonkeyPatch.context() as mp, fake_upstream() as upstream:
        mp.setenv("OPENAI_BASE_URL", upstream)
        mp.setenv("OPENAI_API_KEY", "sk-upstream-secret")
        with (
            start_server(db=str(tmp_path / "m.db"), model="openai:gpt-4o-mini") as srv,
            OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c,
        ):
            assistant = c.beta.assistants.create(model="gpt-4o")
            thread = c.beta.threads.create(
                messages=[{"role": "user", "content": "please drop this stream now"}]
            )
            with c.beta.threads.runs.stream(
                thread_id=thread.id, assistant_id=assistant.id
            ) as stream:
                events, streamed = [], ""
                for event in stream:
                    events.append(event.event)
                    if event.event == "thread.message.delta":
                        for part in event.data.delta.content or []:
                            if part.type == "text" and part.text and part.text.value:
                                streamed += part.text.value
                run = stream.current_run
            assert "thread.message.delta" in events
            assert events.index("thread.message.delta") < events.index("thread.message.incomplete")
            assert events[-1] == "thread.run.failed"  # the SDK consumes the final ``done``
            assert [e for e in events if e in RUN_ENDINGS] == ["thread.run.failed"]
            assert run is not None and run.status == "failed" and run.last_error is not None
            assert run.last_error.code == "server_error" and run.last_error.message
            assert "Traceback" not in run.last_error.message
            assert "sk-upstream-secret" not in run.last_error.message
            stored = c.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
            assert stored.status == "failed" and stored.failed_at is not None
            (message,) = c.beta.threads.messages.list(thread.id, run_id=run.id).data
            # The words already streamed stay in the message, marked incomplete.
            assert message.status == "incomplete" and message.incomplete_details is not None
            assert message.incomplete_details.reason == "run_failed"
            assert streamed and text_of(message) == streamed
            assert_no_open_steps(c, thread.id, run.id)
            assert_unlocked(c, thread.id)
            again = c.beta.threads.runs.create_and_poll(
                thread_id=thread.id, assistant_id=assistant.id
            )
            assert again.status == "completed"


# -- 2. client disconnecting mid-stream ------------------------------------------------


def test_client_disconnect_mid_stream_the_run_still_completes(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    model = scripted_model([{"match": "", "turns": [{"content": SLOW_TEXT, "delay_ms": 1500}]}])
    assistant = client.beta.assistants.create(model=model)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "talk"}])
    stream = client.beta.threads.runs.create(
        thread_id=thread.id, assistant_id=assistant.id, stream=True
    )
    run_id = None
    for event in stream:
        if event.event == "thread.run.created":
            run_id = event.data.id
        if event.event == "thread.message.delta":
            break
    stream.close()  # hang up mid-answer
    assert run_id is not None
    run = wait_terminal(client, thread.id, run_id)
    assert run.status == "completed"
    (message,) = client.beta.threads.messages.list(thread.id, run_id=run_id).data
    assert message.status == "completed" and text_of(message) == SLOW_TEXT
    assert_unlocked(client, thread.id)


# -- 3. server SIGKILLed ---------------------------------------------------------------


def _snapshot(c: OpenAI, thread_id: str) -> list[tuple[str, str, str]]:
    return [
        (m.id, m.role, text_of(m))
        for m in c.beta.threads.messages.list(thread_id, order="asc", limit=100).data
        if m.status != "in_progress"
    ]


def test_sigkill_during_streaming_and_restart(tmp_path: Path) -> None:
    db = tmp_path / "kill.db"
    model = write_script(
        tmp_path / "kill.json",
        [
            {"match": "slow", "turns": [{"content": SLOW_TEXT, "delay_ms": 8000}]},
            {"match": "", "turns": [{"content": "fine"}]},
        ],
    )
    with cli_server(db, model) as srv, OpenAI(base_url=srv.base_url, api_key=CLI_KEY) as c:
        assistant = c.beta.assistants.create(model="gpt-4o")
        thread = c.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
        assert (
            c.beta.threads.runs.create_and_poll(
                thread_id=thread.id, assistant_id=assistant.id
            ).status
            == "completed"
        )
        c.beta.threads.messages.create(thread.id, role="user", content="slow please")
        committed = _snapshot(c, thread.id)
        stream = c.beta.threads.runs.create(
            thread_id=thread.id, assistant_id=assistant.id, stream=True
        )
        run_id = None
        for event in stream:
            if event.event == "thread.run.created":
                run_id = event.data.id
            if event.event == "thread.message.delta":
                break
        srv.kill()  # mid-answer, no shutdown code runs
        stream.close()
    assert run_id is not None and len(committed) == 3
    with (
        start_server(db=str(db), model=model) as srv2,
        OpenAI(base_url=srv2.base_url, api_key="k", max_retries=0) as c,
    ):
        run = c.beta.threads.runs.retrieve(run_id, thread_id=thread.id)
        assert run.status == "failed" and run.last_error is not None
        assert "server stopped" in run.last_error.message
        assert _snapshot(c, thread.id)[: len(committed)] == committed  # nothing lost
        assert_no_open_steps(c, thread.id, run_id)
        assert c.beta.threads.runs.list(thread.id).data[0].status == "failed"
        assert_unlocked(c, thread.id)
        again = c.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        assert again.status == "completed"


def test_sigkill_during_code_execution_and_restart(tmp_path: Path) -> None:
    db = tmp_path / "killcode.db"
    # A heartbeat in its working directory shows whether the code is still running.
    code = (
        "import pathlib, time\n"
        "for beat in range(300):\n"
        "    pathlib.Path('beat').write_text(str(beat))\n"
        "    time.sleep(0.1)\n"
    )
    model = write_script(
        tmp_path / "killcode.json",
        [
            {
                "match": "compute",
                "turns": [
                    {"tool_calls": [{"name": "code_interpreter", "args": {"input": code}}]},
                    {"content": "done: {last_tool_output}"},
                ],
            },
            {"match": "", "turns": [{"content": "fine"}]},
        ],
    )
    sandbox_root = ServerSettings(db=str(db)).sandbox_root
    with cli_server(db, model) as srv, OpenAI(base_url=srv.base_url, api_key=CLI_KEY) as c:
        assistant = c.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}])
        thread = c.beta.threads.create(messages=[{"role": "user", "content": "hello"}])
        c.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        c.beta.threads.messages.create(thread.id, role="user", content="compute something")
        committed = _snapshot(c, thread.id)
        run = c.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
        beats = wait_for(lambda: list(sandbox_root.glob("**/beat")), "the code to start")
        srv.kill()  # while the code runs
        # Nothing of the execution outlives the server: the heartbeat stops.
        last = beats[0].read_text()
        time.sleep(1.5)
        assert beats[0].read_text() == last, "the code kept running after the server died"
    with (
        start_server(db=str(db), model=model) as srv2,
        OpenAI(base_url=srv2.base_url, api_key="k", max_retries=0) as c,
    ):
        killed = c.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
        assert killed.status == "failed" and killed.last_error is not None
        steps = c.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
        assert [s.step_details.type for s in steps] == ["tool_calls"]
        assert steps[0].status == "failed"
        assert_no_open_steps(c, thread.id, run.id)
        assert _snapshot(c, thread.id) == committed  # nothing lost, nothing half-written
        assert_unlocked(c, thread.id)
        again = c.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        assert again.status == "completed"


# -- 4. the database going away and coming back ---------------------------------------


def assert_database_unavailable(call: Callable[[], Any]) -> None:
    """The request fails with 503 and the error envelope, not a 500 or a traceback."""
    with pytest.raises(openai.InternalServerError) as failure:
        call()
    error = failure.value
    assert error.status_code == 503
    assert isinstance(error.body, dict), error.body
    assert error.body["type"] == "server_error" and error.body["code"] == "database_unavailable"
    assert "database is unavailable" in error.body["message"]
    assert error.response.headers.get("retry-after") == "1"  # the SDK's retries wait for it
    assert "Traceback" not in error.response.text


def _read_or_503(c: OpenAI, thread_id: str) -> str:
    try:
        c.beta.threads.messages.list(thread_id)
    except openai.InternalServerError as error:
        return "503" if error.status_code == 503 else f"{error.status_code}: {error.body}"
    return "read"


def _status_or_503(c: OpenAI, thread_id: str, run_id: str) -> str:
    try:
        return c.beta.threads.runs.retrieve(run_id, thread_id=thread_id).status
    except openai.InternalServerError as error:
        return "503" if error.status_code == 503 else f"{error.status_code}: {error.body}"


def _outage_case(
    c: OpenAI, model: str, outage: Callable[[], Any], *, before: Callable[[], None]
) -> None:
    """Shared body of the outage cases: stored objects and a run active during ``outage``
    (a context manager), requests that fail with 503 and then work again."""
    assistant = c.beta.assistants.create(model=model, name="keeper")
    thread = c.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    done = c.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert done.status == "completed"
    busy = c.beta.threads.create(messages=[{"role": "user", "content": "slow"}])
    committed = {t: _snapshot(c, t) for t in (thread.id, busy.id)}
    active = c.beta.threads.runs.create(thread_id=busy.id, assistant_id=assistant.id)
    wait_for(
        lambda: c.beta.threads.messages.list(busy.id, run_id=active.id).data,
        "the active run to open its message",
    )
    before()
    with outage():
        assert_database_unavailable(
            lambda: c.beta.threads.messages.create(thread.id, role="user", content="lost?")
        )
        assert_database_unavailable(lambda: c.beta.assistants.create(model=model))
        # Reads at once make the pool open connections during the outage.
        with ThreadPoolExecutor(8) as pool:
            for outcome in pool.map(lambda _: _read_or_503(c, thread.id), range(16)):
                assert outcome in ("read", "503"), outcome
        # The active run's model finishes while the database is away: until its end is
        # stored, the run never looks ended (its thread is still locked).
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            assert _status_or_503(c, busy.id, active.id) in ("queued", "in_progress", "503")
            time.sleep(0.1)
    # Back without a restart: the active run ends, writes and runs work again.
    ended = wait_terminal(c, busy.id, active.id, timeout=60)
    assert ended.status in ("failed", "completed")
    if ended.status == "failed":
        assert ended.last_error is not None and "database" in ended.last_error.message
    assert_no_open_steps(c, busy.id, active.id)
    for message in c.beta.threads.messages.list(busy.id, run_id=active.id).data:
        assert SLOW_TEXT.startswith(text_of(message))  # what was streamed, nothing else
    assert c.beta.assistants.retrieve(assistant.id).name == "keeper"
    for thread_id, messages in committed.items():
        assert _snapshot(c, thread_id)[: len(messages)] == messages
    assert_unlocked(c, busy.id)
    for n in range(12):  # every pooled connection in turn: none kept a broken state
        c.beta.threads.messages.create(thread.id, role="user", content=f"back {n}")
    again = c.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert again.status == "completed"


OUTAGE_RULES = [
    {"match": "slow", "turns": [{"content": SLOW_TEXT, "delay_ms": 1000}]},
    {"match": "", "turns": [{"content": "fine"}]},
]


def test_sqlite_file_made_read_only_and_back(tmp_path: Path) -> None:
    db = tmp_path / "ro.db"
    model = write_script(tmp_path / "ro.json", OUTAGE_RULES)
    with (
        start_server(db=str(db), model=model) as srv,
        OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c,
    ):
        _outage_case(c, model, lambda: immutable(db), before=lambda: None)
    assert integrity_check(db) == "ok"


def test_disk_full_and_back(tmp_path: Path) -> None:
    model = write_script(tmp_path / "full.json", OUTAGE_RULES)
    with small_filesystem(tmp_path / "small", 8192) as directory:
        db = directory / "full.db"
        with (
            start_server(db=str(db), model=model, sandbox_dir=tmp_path / "sandbox") as srv,
            OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c,
        ):
            _outage_case(
                c, model, lambda: disk_full(directory), before=lambda: checkpoint_truncate(db)
            )
        assert integrity_check(db) == "ok"


def test_postgresql_restarted_under_the_server(tmp_path: Path) -> None:
    """A cluster of its own (the session's stays untouched), stopped for the outage and
    started again on the same port; the server's pool reconnects by itself."""
    model = write_script(tmp_path / "pg.json", OUTAGE_RULES)

    with (
        start_postgres() as pg,
        start_server(db=pg.url, model=model, sandbox_dir=tmp_path / "sandbox") as srv,
        OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c,
    ):
        _outage_case(c, model, lambda: postgres_stopped(pg), before=lambda: None)
        # A restart between two requests: the pooled connections are dead, yet the very
        # next request succeeds (each connection is pinged before use).
        thread = c.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
        pg.restart(mode="fast")
        assert c.beta.threads.retrieve(thread.id).id == thread.id
        c.beta.threads.messages.create(thread.id, role="user", content="after the restart")
        assert len(c.beta.threads.messages.list(thread.id).data) == 2


def test_outage_between_the_writes_of_submit_tool_outputs(
    postgres: PostgresCluster, tmp_path: Path
) -> None:
    """The database fails the run's save after the step's outputs were stored (a trigger
    raising a connection-class error): 503, and the retried submit goes through."""
    model = write_script(
        tmp_path / "submit.json",
        [
            {
                "match": "",
                "turns": [
                    {"tool_calls": [{"name": "get_time", "args": {}}]},
                    {"content": "It is {last_tool_output}."},
                ],
            }
        ],
    )
    url = postgres.create_database("faults_submit")
    with (
        start_server(db=url, model=model, sandbox_dir=tmp_path / "sandbox") as srv,
        OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c,
    ):
        assistant = c.beta.assistants.create(model="gpt-4o", tools=WEATHER_TOOLS)
        thread = c.beta.threads.create(messages=[{"role": "user", "content": "time?"}])
        run = c.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        assert run.status == "requires_action" and run.required_action is not None
        (call,) = run.required_action.submit_tool_outputs.tool_calls
        postgres.psql(
            "CREATE FUNCTION refuse_queue() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'injected outage' USING ERRCODE = '08006'; END $$ LANGUAGE plpgsql;"
            "CREATE TRIGGER refuse_queue BEFORE UPDATE ON runs FOR EACH ROW "
            "WHEN (NEW.status = 'queued') EXECUTE FUNCTION refuse_queue();",
            dbname="faults_submit",
        )
        outputs: Any = [{"tool_call_id": call.id, "output": "noon"}]
        assert_database_unavailable(
            lambda: c.beta.threads.runs.submit_tool_outputs(
                run.id, thread_id=thread.id, tool_outputs=outputs
            )
        )
        assert c.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == (
            "requires_action"
        )
        postgres.psql("DROP TRIGGER refuse_queue ON runs", dbname="faults_submit")
        done = c.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=run.id, thread_id=thread.id, tool_outputs=outputs
        )
        assert done.status == "completed"
        assert text_of(c.beta.threads.messages.list(thread.id, limit=1).data[0]) == "It is noon."
        (tool_step,) = [
            s
            for s in c.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
            if s.step_details.type == "tool_calls"
        ]
        assert tool_step.status == "completed"


# -- 5. clients racing to start runs on one thread -------------------------------------


def test_ten_clients_race_to_start_a_run_exactly_one_wins(
    server: RunningServer, scripted_model: Callable[..., str]
) -> None:
    model = scripted_model([{"match": "", "turns": [{"content": "slow", "delay_ms": 60000}]}])
    clients = [
        OpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0) for _ in range(10)
    ]
    try:
        c = clients[0]
        assistant = c.beta.assistants.create(model=model)
        thread = c.beta.threads.create(messages=[{"role": "user", "content": "race"}])
        with ThreadPoolExecutor(10) as pool:
            for _round in range(5):
                barrier = threading.Barrier(10)

                def start(racer: OpenAI, barrier: threading.Barrier = barrier) -> Any:
                    barrier.wait(30)
                    try:
                        return racer.beta.threads.runs.create(
                            thread_id=thread.id, assistant_id=assistant.id
                        )
                    except openai.BadRequestError as exc:
                        return exc

                outcomes = list(pool.map(start, clients))
                winners = [o for o in outcomes if not isinstance(o, Exception)]
                losers = [o for o in outcomes if isinstance(o, openai.BadRequestError)]
                assert len(winners) == 1 and len(losers) == 9, outcomes
                for loser in losers:
                    assert loser.status_code == 400
                    assert "already has an active run" in loser.message
                run = winners[0]
                c.beta.threads.runs.cancel(run.id, thread_id=thread.id)
                assert wait_terminal(c, thread.id, run.id).status == "cancelled"
        assert len(c.beta.threads.runs.list(thread.id, limit=100).data) == 5
        assert_unlocked(c, thread.id)
    finally:
        for racer in clients:
            racer.close()


# -- 6. expiry during requires_action --------------------------------------------------


def test_run_expires_while_waiting_for_tool_outputs(tmp_path: Path) -> None:
    model = write_script(
        tmp_path / "expiry.json",
        [{"match": "", "turns": [{"tool_calls": [{"name": "get_time", "args": {}}]}]}],
    )
    with (
        start_server(db=str(tmp_path / "exp.db"), model=model, run_expiry_seconds=6) as srv,
        OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c,
    ):
        assistant = c.beta.assistants.create(model="gpt-4o", tools=WEATHER_TOOLS)
        thread = c.beta.threads.create(messages=[{"role": "user", "content": "time?"}])
        run = c.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        assert run.status == "requires_action" and run.required_action is not None
        (call,) = run.required_action.submit_tool_outputs.tool_calls
        expired = wait_terminal(c, thread.id, run.id, timeout=60)
        assert expired.status == "expired" and expired.required_action is None
        with pytest.raises(openai.BadRequestError) as refused:
            c.beta.threads.runs.submit_tool_outputs(
                run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "x"}]
            )
        assert refused.value.status_code == 400 and "expired" in refused.value.message
        (step,) = c.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
        assert step.status == "expired" and step.expired_at is not None
        assert_unlocked(c, thread.id)


# -- 7. cancel racing completion -------------------------------------------------------


def _cancel_later(c: OpenAI, thread_id: str, run_id: str, delay: float, results: list[Any]) -> None:
    time.sleep(delay)
    try:
        results.append(c.beta.threads.runs.cancel(run_id, thread_id=thread_id))
    except openai.BadRequestError as error:
        results.append(error)


def test_cancel_racing_completion_ends_exactly_one_way(
    client: OpenAI, scripted_model: Callable[..., str]
) -> None:
    model = scripted_model([{"match": "", "turns": [{"content": "quick answer", "delay_ms": 60}]}])
    assistant = client.beta.assistants.create(model=model)
    seen: Counter[str] = Counter()
    for round_ in range(24):
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "go"}])
        events: list[str] = []
        cancel_result: list[Any] = []
        # A run stuck in ``cancelling`` would leave this stream open: fail fast instead.
        stream = client.with_options(timeout=30).beta.threads.runs.create(
            thread_id=thread.id, assistant_id=assistant.id, stream=True
        )
        canceller = None
        run_id = ""
        for event in stream:
            events.append(event.event)
            if event.event == "thread.run.created":
                run_id = event.data.id
                delay = (round_ % 8) * 0.018  # from before the first token to after the last
                canceller = threading.Thread(
                    target=_cancel_later, args=(client, thread.id, run_id, delay, cancel_result)
                )
                canceller.start()
        assert canceller is not None
        canceller.join(30)
        endings = [e for e in events if e in RUN_ENDINGS]
        assert endings in (["thread.run.completed"], ["thread.run.cancelled"]), events
        run = wait_terminal(client, thread.id, run_id)
        assert f"thread.run.{run.status}" == endings[0]
        (answer,) = cancel_result
        messages = client.beta.threads.messages.list(thread.id, run_id=run_id).data
        if run.status == "completed":
            assert run.completed_at is not None and run.cancelled_at is None
            assert isinstance(answer, openai.BadRequestError) and answer.status_code == 400
            assert [(m.status, text_of(m)) for m in messages] == [("completed", "quick answer")]
        else:
            assert run.cancelled_at is not None and run.completed_at is None
            assert "thread.run.cancelling" in events
            for m in messages:  # cut mid-answer (a prefix), or finished just before the cancel
                assert (m.status, text_of(m)) == ("completed", "quick answer") or (
                    m.status == "incomplete" and "quick answer".startswith(text_of(m))
                )
        assert_no_open_steps(client, thread.id, run_id)
        assert_unlocked(client, thread.id)
        seen[run.status] += 1
    # Which outcome each round has depends on timing; every round was checked either way.
    print(f"cancel racing completion, 24 rounds: {dict(seen)}")


# -- 8. bounded soak -------------------------------------------------------------------


# The database pool may end holding a few more idle connections than after the warm-up
# (up to its size; a SQLite connection is 3 descriptors); a leak per turn or per
# conversation would add hundreds.
FD_SLACK = 10


@pytest.mark.slow
@pytest.mark.timeout(300)  # bounded inside too: 90 s warm-up, 180 s main phase at most
def test_soak_fifty_conversations_memory_and_fds_flat(tmp_path: Path) -> None:
    model = write_script(
        tmp_path / "soak.json",
        [
            {
                "match": "weather",
                "turns": [
                    {"tool_calls": [{"name": "get_weather", "args": {"location": "Paris"}}]},
                    {"content": "It is {last_tool_output}.", "delay_ms": 20},
                ],
            },
            {"match": "", "turns": [{"content": "A short answer to a question.", "delay_ms": 20}]},
        ],
    )
    with cli_server(tmp_path / "soak.db", model) as srv:

        async def conversation(c: AsyncOpenAI, assistant_id: str, turns: int) -> int:
            thread = await c.beta.threads.create()
            finished = 0
            for turn in range(turns):
                content = "weather in Paris?" if turn % 3 == 2 else f"question {turn}"
                async with c.beta.threads.runs.stream(
                    thread_id=thread.id,
                    assistant_id=assistant_id,
                    additional_messages=[{"role": "user", "content": content}],
                ) as stream:
                    await stream.until_done()
                    run = stream.current_run
                assert run is not None
                if run.status == "requires_action":
                    assert run.required_action is not None
                    calls = run.required_action.submit_tool_outputs.tool_calls
                    async with c.beta.threads.runs.submit_tool_outputs_stream(
                        run_id=run.id,
                        thread_id=thread.id,
                        tool_outputs=[{"tool_call_id": x.id, "output": "sunny"} for x in calls],
                    ) as stream:
                        await stream.until_done()
                        run = stream.current_run
                assert run is not None and run.status == "completed", run
                finished += 1
            return finished

        async def phase(turns: int, deadline_s: float) -> int:
            async with AsyncOpenAI(base_url=srv.base_url, api_key=CLI_KEY, max_retries=0) as c:
                assistant = await c.beta.assistants.create(model="gpt-4o", tools=WEATHER_TOOLS)
                done = await asyncio.wait_for(
                    asyncio.gather(*(conversation(c, assistant.id, turns) for _ in range(50))),
                    deadline_s,
                )
            return sum(done)

        def settled_fds(limit: int | None = None) -> int:
            """The fd count once the last connections have closed (bounded wait)."""
            deadline = time.monotonic() + 10
            count = srv.open_fds()
            while time.monotonic() < deadline and (limit is None or count > limit):
                time.sleep(0.2)
                count = srv.open_fds()
                if limit is None:
                    break
            return count

        assert asyncio.run(phase(3, 90)) == 150  # warm-up: pools, caches, imports
        time.sleep(1.0)
        base_rss, base_fds = srv.status_kb("VmRSS"), settled_fds()
        base_targets = srv.fd_targets()
        started = time.monotonic()
        assert asyncio.run(phase(15, 180)) == 750
        elapsed = time.monotonic() - started
        time.sleep(1.0)
        end_fds = settled_fds(base_fds + FD_SLACK)
        end_rss = srv.status_kb("VmRSS")
        end_targets = srv.fd_targets()
    print(
        f"soak: 750 turns by 50 conversations in {elapsed:.1f} s; "
        f"RSS {base_rss / 1024:.1f} -> {end_rss / 1024:.1f} MiB, fds {base_fds} -> {end_fds}"
    )
    assert end_fds <= base_fds + FD_SLACK, (base_targets, end_targets)
    assert end_rss < base_rss * 1.3, (base_rss, end_rss)
