"""Projects with their own keys, through the real SDK: every object belongs to the project of
the key that created it; another project's id answers 404 exactly like an id that never
existed (retrieve, modify, delete, lists, cursors, file content, streams, tool outputs,
cancel, steps, cross-references); lists show only the caller's objects; the keys file is
re-read at its interval and a removed key gets 401."""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI, OpenAI

from langchain_assistants.server.embedded import RunningServer, start_server

from .helpers import WEATHER_TOOLS

KEY_A = "sk-alpha-" + "a" * 24
KEY_B = "sk-beta-" + "b" * 24
SINGLE = "sk-single-" + "s" * 24
PLOT = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3], [1, 4, 9])\nprint('drawn')"
RULES = [
    {
        "match": "plot",
        "turns": [
            {"tool_calls": [{"name": "code_interpreter", "args": {"input": PLOT}}]},
            {"content": "Here is the plot."},
        ],
    },
    {
        "match": "weather",
        "turns": [
            {"tool_calls": [{"name": "get_weather", "args": {"location": "Paris"}}]},
            {"content": "Sunny."},
        ],
    },
    {"match": "", "turns": [{"content": "Hello."}]},
]


@pytest.fixture(scope="module")
def projects_server(
    tmp_path_factory: pytest.TempPathFactory, new_database: Callable[[], str]
) -> Iterator[RunningServer]:
    """Keys of projects alpha and beta, and the single key (project default); on a fresh
    database of the suite's kind (SQLite, or PostgreSQL on the PostgreSQL pass)."""
    tmp = tmp_path_factory.mktemp("projects")
    keys = tmp / "keys.txt"
    keys.write_text(f"# team keys\n{KEY_A} alpha\n\n{KEY_B}   beta\n")
    script = tmp / "script.json"
    script.write_text(json.dumps({"rules": RULES}))
    with start_server(
        db=new_database(),
        model=f"scripted:{script}",
        api_key=SINGLE,
        api_keys_file=keys,
        sandbox_dir=tmp / "sandbox",
    ) as srv:
        yield srv


def _client(srv: RunningServer, key: str) -> OpenAI:
    return OpenAI(base_url=srv.base_url, api_key=key, max_retries=0)


@dataclass
class World:
    """Objects of project alpha, made through its own key."""

    assistant: str
    thread: str
    message: str
    run: str
    step: str
    answer: str
    file: str
    waiting_thread: str
    waiting_run: str
    call_id: str


@pytest.fixture(scope="module")
def alpha(projects_server: RunningServer) -> World:
    with _client(projects_server, KEY_A) as a:
        assistant = a.beta.assistants.create(
            model="gpt-4o", tools=[{"type": "code_interpreter"}, *WEATHER_TOOLS]
        )
        thread = a.beta.threads.create(messages=[{"role": "user", "content": "plot squares"}])
        message = a.beta.threads.messages.list(thread.id).data[0]
        run = a.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
        assert run.status == "completed", run.last_error
        steps = a.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
        outputs = steps[0].step_details.tool_calls[0].code_interpreter.outputs  # type: ignore[union-attr]
        file_id = outputs[1].image.file_id  # type: ignore[union-attr]
        answer = a.beta.threads.messages.list(thread.id, run_id=run.id).data[0]
        waiting = a.beta.threads.create(messages=[{"role": "user", "content": "weather?"}])
        paused = a.beta.threads.runs.create_and_poll(
            thread_id=waiting.id, assistant_id=assistant.id
        )
        assert paused.status == "requires_action"
        assert paused.required_action is not None
        call = paused.required_action.submit_tool_outputs.tool_calls[0]
        return World(
            assistant=assistant.id,
            thread=thread.id,
            message=message.id,
            run=run.id,
            step=steps[0].id,
            answer=answer.id,
            file=file_id,
            waiting_thread=waiting.id,
            waiting_run=paused.id,
            call_id=call.id,
        )


def _random(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _error(call: Callable[[], Any], *ids: str) -> tuple[type[Exception], int, dict[str, Any]]:
    """The error a call raises, with the ids it names replaced by placeholders."""
    with pytest.raises(openai.APIStatusError) as info:
        call()
    body = json.dumps(info.value.body)
    for n, object_id in enumerate(ids):
        body = body.replace(object_id, f"<id{n}>")
    return type(info.value), info.value.status_code, json.loads(body)


def _assert_like_unknown(
    call: Callable[..., Any], foreign: tuple[str, ...], unknown: tuple[str, ...]
) -> None:
    """``call(*foreign)`` fails exactly as ``call(*unknown)`` does: 404, same envelope."""
    got = _error(lambda: call(*foreign), *foreign)
    expected = _error(lambda: call(*unknown), *unknown)
    assert got == expected
    assert got[0] is openai.NotFoundError and got[1] == 404


def test_objects_of_another_project_are_not_found(
    projects_server: RunningServer, alpha: World
) -> None:
    w = alpha
    ra, rt, rm = _random("asst"), _random("thread"), _random("msg")
    rr, rs, rf = _random("run"), _random("step"), _random("file")
    with _client(projects_server, KEY_B) as b:
        own_thread = b.beta.threads.create().id
        own_assistant = b.beta.assistants.create(model="gpt-4o").id
        assistants, threads = b.beta.assistants, b.beta.threads
        messages, runs, steps = threads.messages, threads.runs, threads.runs.steps
        cases: list[tuple[Callable[..., Any], tuple[str, ...], tuple[str, ...]]] = [
            (lambda a: assistants.retrieve(a), (w.assistant,), (ra,)),
            (lambda a: assistants.update(a, name="stolen"), (w.assistant,), (ra,)),
            (lambda a: assistants.delete(a), (w.assistant,), (ra,)),
            (lambda t: threads.retrieve(t), (w.thread,), (rt,)),
            (lambda t: threads.update(t, metadata={"k": "v"}), (w.thread,), (rt,)),
            (lambda t: threads.delete(t), (w.thread,), (rt,)),
            (lambda t: messages.create(t, role="user", content="hi"), (w.thread,), (rt,)),
            (lambda t: messages.list(t), (w.thread,), (rt,)),
            (lambda t, m: messages.retrieve(m, thread_id=t), (w.thread, w.message), (rt, rm)),
            (lambda m: messages.retrieve(m, thread_id=own_thread), (w.message,), (rm,)),
            (
                lambda t, m: messages.update(m, thread_id=t, metadata={"k": "v"}),
                (w.thread, w.answer),
                (rt, rm),
            ),
            (lambda t, m: messages.delete(m, thread_id=t), (w.thread, w.message), (rt, rm)),
            (lambda t: runs.create(t, assistant_id=own_assistant), (w.thread,), (rt,)),
            (lambda a: runs.create(own_thread, assistant_id=a), (w.assistant,), (ra,)),
            (lambda a: threads.create_and_run(assistant_id=a), (w.assistant,), (ra,)),
            (lambda t: runs.list(t), (w.thread,), (rt,)),
            (lambda t, r: runs.retrieve(r, thread_id=t), (w.thread, w.run), (rt, rr)),
            (
                lambda t, r: runs.update(r, thread_id=t, metadata={"k": "v"}),
                (w.thread, w.run),
                (rt, rr),
            ),
            (
                lambda t, r: runs.cancel(r, thread_id=t),
                (w.waiting_thread, w.waiting_run),
                (rt, rr),
            ),
            (
                lambda t, r: runs.submit_tool_outputs(
                    r, thread_id=t, tool_outputs=[{"tool_call_id": w.call_id, "output": "x"}]
                ),
                (w.waiting_thread, w.waiting_run),
                (rt, rr),
            ),
            (lambda t, r: steps.list(r, thread_id=t), (w.thread, w.run), (rt, rr)),
            (
                lambda t, r, s: steps.retrieve(s, thread_id=t, run_id=r),
                (w.thread, w.run, w.step),
                (rt, rr, rs),
            ),
            (lambda f: b.files.retrieve(f), (w.file,), (rf,)),
            (lambda f: b.files.content(f), (w.file,), (rf,)),
            (lambda f: b.files.delete(f), (w.file,), (rf,)),
        ]
        for call, foreign, unknown in cases:
            _assert_like_unknown(call, foreign, unknown)
        # A cross-reference names the object that is not found, as for a random id.
        _, status, body = _error(
            lambda: runs.create(own_thread, assistant_id=w.assistant), w.assistant
        )
        assert (status, body["message"]) == (404, "No assistant found with id '<id0>'.")


def test_streams_of_another_project_are_not_found(
    projects_server: RunningServer, alpha: World
) -> None:
    w = alpha
    rt, rr = _random("thread"), _random("run")
    with _client(projects_server, KEY_B) as b:
        own_assistant = b.beta.assistants.create(model="gpt-4o").id
        runs = b.beta.threads.runs

        def stream_run(thread_id: str) -> None:
            with runs.stream(thread_id=thread_id, assistant_id=own_assistant) as stream:
                stream.until_done()

        def stream_outputs(thread_id: str, run_id: str) -> None:
            with runs.submit_tool_outputs_stream(
                run_id=run_id,
                thread_id=thread_id,
                tool_outputs=[{"tool_call_id": w.call_id, "output": "x"}],
            ) as stream:
                stream.until_done()

        def stream_new_thread(assistant_id: str) -> None:
            with b.beta.threads.create_and_run_stream(assistant_id=assistant_id) as stream:
                stream.until_done()

        _assert_like_unknown(stream_run, (w.thread,), (rt,))
        _assert_like_unknown(stream_outputs, (w.waiting_thread, w.waiting_run), (rt, rr))
        _assert_like_unknown(stream_new_thread, (w.assistant,), (_random("asst"),))


def test_failed_attempts_change_nothing_and_the_owner_still_sees_everything(
    projects_server: RunningServer, alpha: World
) -> None:
    test_objects_of_another_project_are_not_found(projects_server, alpha)
    w = alpha
    with _client(projects_server, KEY_A) as a:
        assert a.beta.assistants.retrieve(w.assistant).name is None
        assert a.beta.threads.retrieve(w.thread).metadata == {}
        ids = [m.id for m in a.beta.threads.messages.list(w.thread, order="asc")]
        assert ids == [w.message, w.answer]  # the run's answer is alpha's too
        steps = a.beta.threads.runs.steps.list(w.run, thread_id=w.thread)
        assert w.step in [s.id for s in steps]
        assert a.files.content(w.file).content.startswith(b"\x89PNG")  # the run's figure
        run = a.beta.threads.runs.retrieve(w.waiting_run, thread_id=w.waiting_thread)
        assert run.status == "requires_action"


def test_lists_show_only_own_objects_and_foreign_cursors_are_unknown(
    projects_server: RunningServer, alpha: World
) -> None:
    with _client(projects_server, KEY_B) as b, _client(projects_server, SINGLE) as d:
        mine = b.beta.assistants.create(model="gpt-4o", name="beta's").id
        listed = [x.id for x in b.beta.assistants.list(limit=100)]
        assert mine in listed and alpha.assistant not in listed
        assert alpha.file not in [f.id for f in b.files.list()]
        assert alpha.assistant not in [x.id for x in d.beta.assistants.list(limit=100)]
        assert mine not in [x.id for x in d.beta.assistants.list(limit=100)]
        for cursor in ("after", "before"):
            foreign = b.beta.assistants.list(**{cursor: alpha.assistant})  # type: ignore[arg-type]
            unknown = b.beta.assistants.list(**{cursor: _random("asst")})  # type: ignore[arg-type]
            assert (foreign.data, foreign.has_more) == (unknown.data, unknown.has_more)
    with _client(projects_server, KEY_A) as a:
        listed = [x.id for x in a.beta.assistants.list(limit=100)]
        assert alpha.assistant in listed and mine not in listed
        assert alpha.file in [f.id for f in a.files.list()]


async def test_async_client_sees_only_its_project(
    projects_server: RunningServer, alpha: World
) -> None:
    async with AsyncOpenAI(base_url=projects_server.base_url, api_key=KEY_B, max_retries=0) as b:
        with pytest.raises(openai.NotFoundError) as info:
            await b.beta.threads.messages.list(alpha.thread)
        assert info.value.body["message"] == f"No thread found with id '{alpha.thread}'."  # type: ignore[index]
        page = await b.beta.assistants.list(limit=100)
        assert alpha.assistant not in [x.id for x in page.data]
    async with AsyncOpenAI(base_url=projects_server.base_url, api_key=KEY_A, max_retries=0) as a:
        assert (await a.beta.assistants.retrieve(alpha.assistant)).id == alpha.assistant


def test_unknown_and_missing_keys_get_401(projects_server: RunningServer) -> None:
    for key in ("sk-wrong", KEY_A[:-1], KEY_A + "x"):
        with _client(projects_server, key) as c, pytest.raises(openai.AuthenticationError):
            c.beta.assistants.list()


def _eventually(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.1)


def _accepted(srv: RunningServer, key: str) -> bool:
    with _client(srv, key) as c:
        try:
            c.beta.assistants.list()
        except openai.AuthenticationError:
            return False
        return True


def test_keys_file_is_reloaded_at_its_interval(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text(f"{KEY_A} alpha\n")
    key_c = "sk-gamma-" + "c" * 24
    with start_server(
        db=str(tmp_path / "reload.db"), api_keys_file=keys, api_keys_reload_seconds=0.2
    ) as srv:
        with _client(srv, KEY_A) as a:
            assistant = a.beta.assistants.create(model="gpt-4o").id
        assert not _accepted(srv, key_c)
        keys.write_text(f"{key_c} alpha\n")  # KEY_A removed; a new key for the same project
        _eventually(lambda: _accepted(srv, key_c))
        assert not _accepted(srv, KEY_A)
        with _client(srv, key_c) as c:
            assert c.beta.assistants.retrieve(assistant).id == assistant
        with caplog.at_level(logging.WARNING, logger="langchain_assistants.server.auth"):
            keys.write_text(f"{KEY_B} beta\n{KEY_A}\n")  # malformed: the reload fails
            _eventually(lambda: "not reloaded" in caplog.text)
        assert _accepted(srv, key_c) and not _accepted(srv, KEY_B)  # previous keys kept
        assert "line 2" in caplog.text
        assert KEY_A not in caplog.text and KEY_B not in caplog.text
        keys.unlink()  # a vanished file also keeps the previous keys
        time.sleep(0.5)
        assert _accepted(srv, key_c)


def test_uploads_belong_to_the_uploading_project(projects_server: RunningServer) -> None:
    with _client(projects_server, KEY_A) as a, _client(projects_server, KEY_B) as b:
        mine = a.files.create(file=("alpha.csv", b"a,b\n"), purpose="assistants")
        for call in (
            lambda: b.files.retrieve(mine.id),
            lambda: b.files.content(mine.id),
            lambda: b.files.delete(mine.id),
        ):
            with pytest.raises(openai.NotFoundError):
                call()
        assert mine.id not in {f.id for f in b.files.list()}
        with pytest.raises(openai.BadRequestError) as err:
            b.beta.assistants.create(
                model="gpt-4o",
                tools=[{"type": "code_interpreter"}],
                tool_resources={"code_interpreter": {"file_ids": [mine.id]}},
            )
        assert mine.id in err.value.message
        assert a.files.content(mine.id).content == b"a,b\n"
        assert mine.id in {f.id for f in a.files.list(purpose="assistants")}
