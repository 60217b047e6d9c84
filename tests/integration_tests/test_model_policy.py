"""Which models clients may name (``--allowed-models``): a client's ``model`` never makes the
server read a file of its choosing or spend the operator's provider keys on a model the
operator did not allow. Refusals are a 400 ``invalid_request_error`` with ``param: "model"``
at create/modify time; objects stored under a looser policy stay readable."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import OpenAI

from langchain_assistants.cli import _parser
from langchain_assistants.server.embedded import RunningServer, start_server
from langchain_assistants.testing.cli_server import start_cli_server

from .fake_upstream import fake_upstream
from .helpers import text_of

SECRET_ANSWER = "the server read a file a client named"


def write_script(path: Path, answer: str) -> str:
    path.write_text(json.dumps({"rules": [{"match": "", "turns": [{"content": answer}]}]}))
    return f"scripted:{path}"


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The operator's default model and another script file on the server's disk."""
    tmp = tmp_path_factory.mktemp("policy")
    return {
        "default": write_script(tmp / "default.json", "the operator's model answers"),
        "other": write_script(tmp / "other.json", SECRET_ANSWER),
    }


@pytest.fixture(scope="module")
def default_server(
    scripts: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A server with the default policy: no ``allowed_models``."""
    tmp = tmp_path_factory.mktemp("policy-server")
    with start_server(
        db=str(tmp / "db.sqlite"), model=scripts["default"], sandbox_dir=tmp / "sb"
    ) as srv:
        yield srv


@pytest.fixture
def c(default_server: RunningServer) -> Iterator[OpenAI]:
    with OpenAI(base_url=default_server.base_url, api_key="k", max_retries=0) as client:
        yield client


def refused(call: Callable[[], Any], model: str) -> openai.BadRequestError:
    """The call answers 400 in the OpenAI error envelope, naming ``model``."""
    with pytest.raises(openai.BadRequestError) as info:
        call()
    error = info.value
    assert error.status_code == 400
    assert isinstance(error.body, dict)
    assert set(error.body) == {"message", "type", "param", "code"}
    assert error.body["type"] == "invalid_request_error"
    assert error.param == "model" and error.code == "model_not_allowed"
    assert repr(model) in error.message and "not allowed on this server" in error.message
    return error


def run_answer(client: OpenAI, assistant_id: str, **run: Any) -> str:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hello"}])
    done = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant_id, **run
    )
    assert done.status == "completed", done.last_error
    return text_of(client.beta.threads.messages.list(thread.id, run_id=done.id).data[0])


@pytest.mark.parametrize(
    "model",
    [
        "other",  # an absolute path to a readable, valid script file
        "scripted:README.md",  # a bare name that is a file in the server's directory
        "scripted:pyproject.toml",
        "scripted:../../etc/passwd",
        "scripted:demo.json",
        "scripted:~/.netrc",
    ],
)
def test_script_files_are_refused_by_default(
    c: OpenAI, scripts: dict[str, str], model: str
) -> None:
    model = scripts.get(model, model)
    error = refused(lambda: c.beta.assistants.create(model=model, name="reader"), model)
    # The answer says what is allowed instead and how the operator opts in.
    assert "demo" in error.message and "interpreter" in error.message
    assert "--allowed-models" in error.message and "scripted:*" in error.message
    assert "reader" not in [a.name for a in c.beta.assistants.list(limit=100)]  # none stored


def test_the_default_policy_keeps_the_servers_model_names_and_provider_specs(
    c: OpenAI, scripts: dict[str, str]
) -> None:
    by_spec = c.beta.assistants.create(model=scripts["default"])  # the server's own --model
    assert run_answer(c, by_spec.id) == "the operator's model answers"
    by_name = c.beta.assistants.create(model="gpt-4o")  # not a spec: runs on --model
    assert run_answer(c, by_name.id) == "the operator's model answers"
    bundled = c.beta.assistants.create(model="scripted:demo")  # shipped with the package
    assert bundled.model == "scripted:demo"
    # Backward compatible: provider specs stay allowed unless the operator lists models.
    assert c.beta.assistants.create(model="openai:gpt-4o-mini").model == "openai:gpt-4o-mini"


def test_every_entry_point_refuses_before_storing_anything(
    c: OpenAI, scripts: dict[str, str]
) -> None:
    other = scripts["other"]
    assistant = c.beta.assistants.create(model="gpt-4o", name="kept")
    refused(lambda: c.beta.assistants.update(assistant.id, model=other), other)
    assert c.beta.assistants.retrieve(assistant.id).model == "gpt-4o"
    thread = c.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    refused(
        lambda: c.beta.threads.runs.create(
            thread_id=thread.id, assistant_id=assistant.id, model=other
        ),
        other,
    )
    refused(
        lambda: c.beta.threads.runs.create(
            thread_id=thread.id, assistant_id=assistant.id, model=other, stream=True
        ),
        other,
    )
    refused(lambda: c.beta.threads.create_and_run(assistant_id=assistant.id, model=other), other)
    refused(
        lambda: c.beta.threads.create_and_run(assistant_id=assistant.id, model=other, stream=True),
        other,
    )
    assert not c.beta.threads.runs.list(thread.id).data  # no run was made
    c.beta.threads.messages.create(thread.id, role="user", content="free")  # not locked
    done = c.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert done.status == "completed"


def test_an_allowed_list_admits_its_specs_and_globs_and_nothing_else(
    tmp_path: Path, scripts: dict[str, str]
) -> None:
    allowed_script = write_script(tmp_path / "allowed-1.json", "an allowed script answers")
    stray = write_script(tmp_path / "stray.json", SECRET_ANSWER)
    with pytest.MonkeyPatch.context() as mp, fake_upstream() as upstream:
        # The provider runs on a fake OpenAI upstream on loopback (see test_fault_matrix).
        mp.setenv("OPENAI_BASE_URL", upstream)
        mp.setenv("OPENAI_API_BASE", upstream)
        mp.setenv("OPENAI_API_KEY", "sk-operator-provider-key")
        with (
            start_server(
                db=str(tmp_path / "db.sqlite"),
                model=scripts["default"],
                allowed_models=["openai:gpt-4o*", f"scripted:{tmp_path}/allowed-*.json"],
                sandbox_dir=tmp_path / "sb",
            ) as srv,
            OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c,
        ):
            glob = c.beta.assistants.create(model="openai:gpt-4o-mini")
            assert run_answer(c, glob.id) == "Echo: hello"  # the provider glob really runs
            script = c.beta.assistants.create(model=allowed_script)
            assert run_answer(c, script.id) == "an allowed script answers"
            default = c.beta.assistants.create(model=scripts["default"])
            assert run_answer(c, default.id) == "the operator's model answers"
            assert run_answer(c, c.beta.assistants.create(model="gpt-4o").id)
            for model in ("anthropic:claude-3-5-haiku-latest", "openai:gpt-4.1", stray):
                error = refused(lambda m=model: c.beta.assistants.create(model=m), model)
                assert "openai:gpt-4o*" in error.message  # the answer lists what is allowed
                assert "sk-operator-provider-key" not in error.message
            # With a list, bundled scripts too need listing.
            refused(lambda: c.beta.assistants.create(model="scripted:demo"), "scripted:demo")
            # A run's own model is checked against the list as well.
            thread = c.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
            refused(
                lambda: c.beta.threads.runs.create(
                    thread_id=thread.id, assistant_id=glob.id, model="anthropic:claude-3-opus"
                ),
                "anthropic:claude-3-opus",
            )


def test_objects_stored_under_a_looser_policy_stay_readable(tmp_path: Path) -> None:
    db = str(tmp_path / "db.sqlite")
    script = write_script(tmp_path / "own.json", SECRET_ANSWER)
    with (
        start_server(db=db, allowed_models="scripted:*", sandbox_dir=tmp_path / "sb") as srv,
        OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c,
    ):
        assistant = c.beta.assistants.create(model=script, name="old")
        thread = c.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    with (
        start_server(db=db, model="scripted:demo", sandbox_dir=tmp_path / "sb") as srv,
        OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c,
    ):
        assert c.beta.assistants.retrieve(assistant.id).model == script
        assert assistant.id in [a.id for a in c.beta.assistants.list()]
        error = refused(
            lambda: c.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id),
            script,
        )
        assert assistant.id in error.message  # says whose model it is and what to do
        refused(lambda: c.beta.threads.create_and_run(assistant_id=assistant.id), script)
        assert not c.beta.threads.runs.list(thread.id).data
        # Other changes to the assistant still work; a run naming an allowed model runs.
        assert c.beta.assistants.update(assistant.id, name="renamed").model == script
        done = c.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id, model="gpt-4o"
        )
        assert done.status == "completed" and done.model == "gpt-4o"
        answer = text_of(c.beta.threads.messages.list(thread.id, run_id=done.id).data[0])
        assert SECRET_ANSWER not in answer
        c.beta.assistants.update(assistant.id, model="gpt-4o")
        assert run_answer(c, assistant.id) != SECRET_ANSWER


def test_cli_flag_parsing_and_help() -> None:
    parse = _parser().parse_args
    args = parse(["serve", "--allowed-models", "openai:gpt-4o*, anthropic:*,"])
    assert args.allowed_models == ["openai:gpt-4o*", "anthropic:*"]
    repeated = ["serve", "--allowed-models", "a:x", "--allowed-models", "scripted:*"]
    assert parse(repeated).allowed_models == ["a:x", "scripted:*"]
    assert parse(["serve", "--allowed-models", ""]).allowed_models == []  # only --model
    assert parse(["serve"]).allowed_models is None  # the default policy
    serve = _parser()._subparsers._group_actions[0].choices["serve"]  # type: ignore[union-attr]
    text = " ".join(serve.format_help().split())
    assert "--allowed-models SPEC[,SPEC...]" in text
    assert "'scripted:*' allows script files" in text and "never script files" in text
    assert "LANGCHAIN_ASSISTANTS_ALLOWED_MODELS" in text


def test_cli_server_applies_the_flag(tmp_path: Path) -> None:
    default = write_script(tmp_path / "default.json", "the operator's model answers")
    other = write_script(tmp_path / "other.json", "an allowed script answers")
    server = start_cli_server(
        *(
            "--db",
            str(tmp_path / "db.sqlite"),
            "--model",
            default,
            "--allowed-models",
            "scripted:*",
        ),
        log=tmp_path / "serve.log",
    )
    try:
        with OpenAI(base_url=server.base_url, api_key="k", max_retries=0) as c:
            assert run_answer(c, c.beta.assistants.create(model=other).id) == (
                "an allowed script answers"
            )
            refused(lambda: c.beta.assistants.create(model="openai:gpt-4o"), "openai:gpt-4o")
    finally:
        server.stop()
    assert "models: clients may name --model and scripted:*" in server.output()
