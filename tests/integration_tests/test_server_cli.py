"""``python -m langchain_assistants serve`` as a real subprocess: the keys file is re-read on
SIGHUP, keys never reach the logs, and start-up problems (model, database, keys file, log
level) end with one clear line and a non-zero exit instead of a traceback."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import openai
import pytest
from openai import OpenAI

from langchain_assistants.cli import _parser, main
from langchain_assistants.testing.cli_server import CliServer, start_cli_server

KEY_A = "sk-cli-alpha-" + "1" * 20
KEY_C = "sk-cli-gamma-" + "3" * 20
SINGLE = "sk-cli-single-" + "9" * 20
WRONG = "sk-cli-wrong-" + "7" * 20
LONE = "sk-cli-lone-" + "5" * 20  # a malformed line holding only a key


def _serve(*args: str) -> list[str]:
    return [sys.executable, "-m", "langchain_assistants", "serve", *args]


@pytest.fixture
def cli_server(tmp_path: Path) -> Iterator[Callable[..., CliServer]]:
    started: list[CliServer] = []

    def start(*args: str) -> CliServer:
        server = start_cli_server(*args, log=tmp_path / f"cli-{len(started)}.log")
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _accepted(base_url: str, key: str) -> bool:
    with OpenAI(base_url=base_url, api_key=key, max_retries=0) as c:
        try:
            c.beta.assistants.list()
        except openai.AuthenticationError:
            return False
        return True


def _eventually(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.1)


def test_sighup_reloads_the_keys_file_and_keys_never_reach_the_logs(
    tmp_path: Path, cli_server: Callable[..., CliServer]
) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text(f"{KEY_A} alpha\n")
    server = cli_server(
        "--db",
        str(tmp_path / "cli.db"),
        "--api-key",
        SINGLE,
        "--api-keys",
        str(keys),
        "--api-keys-reload-seconds",
        "3600",  # only the signal can reload within the test
        "--log-level",
        "debug",
        "--max-request-bytes",
        "65536",
    )
    url = server.base_url
    with OpenAI(base_url=url, api_key=KEY_A, max_retries=0) as a:
        assistant = a.beta.assistants.create(model="gpt-4o").id
        with pytest.raises(openai.APIStatusError) as too_large:
            a.beta.assistants.create(model="gpt-4o", instructions="i" * 70_000)
        assert too_large.value.status_code == 413
    assert _accepted(url, SINGLE) and not _accepted(url, WRONG)
    keys.write_text(f"{KEY_C} alpha\n")
    assert _accepted(url, KEY_A)  # not re-read yet
    server.proc.send_signal(signal.SIGHUP)
    _eventually(lambda: _accepted(url, KEY_C))
    assert not _accepted(url, KEY_A)  # removed key: 401
    with OpenAI(base_url=url, api_key=KEY_C, max_retries=0) as c:
        assert c.beta.assistants.retrieve(assistant).id == assistant
    keys.write_text(f"{KEY_A} alpha\n{LONE}\n")  # malformed line 2: the reload fails
    server.proc.send_signal(signal.SIGHUP)
    _eventually(lambda: "not reloaded" in server.output())
    assert _accepted(url, KEY_C) and not _accepted(url, KEY_A)  # previous keys kept
    assert server.proc.poll() is None  # SIGHUP did not end the server
    server.stop()
    log = server.output()
    assert "API keys reloaded" in log and "line 2" in log
    assert "/playground" in log  # the start-up lines say where the page is
    for secret in (KEY_A, KEY_C, SINGLE, WRONG, LONE):
        assert secret not in log


def _start_failure(*args: str) -> str:
    """Run ``serve`` expecting it to refuse to start; returns its one line of stderr."""
    done = subprocess.run(_serve("--port", "0", *args), capture_output=True, text=True, timeout=120)
    assert done.returncode != 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("nosuchprovider:x", "Unable to infer model provider"),
        ("scripted:/missing.json", "No such file or directory"),
    ],
)
def test_a_model_that_cannot_be_built_stops_the_start(
    tmp_path: Path, spec: str, reason: str
) -> None:
    line = _start_failure("--db", str(tmp_path / "x.db"), "--model", spec)
    assert line.startswith("langchain-assistants: --model: ")
    assert f"'{spec}'" in line and reason in line


def test_a_malformed_keys_file_stops_the_start_without_showing_keys(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text(f"# comment\n{KEY_A} alpha\n{LONE}\n{KEY_C} bad/project\n{KEY_A} beta\n")
    line = _start_failure("--db", str(tmp_path / "x.db"), "--api-keys", str(keys))
    assert "line 3" in line and "line 4" in line and "line 5: the same key as line 2" in line
    assert KEY_A not in line and LONE not in line and KEY_C not in line


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--db", "/nonexistent-langchain-assistants-dir/x.db", "does not exist"),
        ("--db", "{a_file}/x.db", "is not a directory"),
        ("--db", "/proc/langchain-assistants.db", "unable to open database file"),
        ("--db", "postgresql://u:secretpw@127.0.0.1:1/x", "cannot open database"),
        ("--api-keys", "/nonexistent-langchain-assistants-keys.txt", "cannot read it"),
    ],
)
def test_unusable_db_or_keys_file_ends_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, expected: str
) -> None:
    """The same ``main`` as the subprocess above, run in this process to keep the suite fast."""
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    value = value.replace("{a_file}", str(a_file))
    args = [option, value] if option == "--db" else ["--db", str(tmp_path / "x.db"), option, value]
    assert main(["serve", "--port", "0", *args]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in lines[0]
    assert lines[0].startswith(f"langchain-assistants: {option}: ") and expected in lines[0]
    assert "secretpw" not in lines[0]  # a database password is never shown


def test_the_model_env_var_is_checked_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANGCHAIN_ASSISTANTS_MODEL", "nosuchprovider:y")
    assert main(["serve", "--port", "0", "--db", str(tmp_path / "x.db")]) == 2
    assert "'nosuchprovider:y'" in capsys.readouterr().err


def test_log_level_is_validated() -> None:
    done = subprocess.run(
        _serve("--log-level", "loud"), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and "invalid choice: 'loud'" in done.stderr


def test_every_flag_has_help() -> None:
    parser = _parser()
    serve = parser._subparsers._group_actions[0].choices["serve"]  # type: ignore[union-attr]
    for action in serve._actions:
        assert action.help and action.help.strip(), action.option_strings
    done = subprocess.run(_serve("--help"), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    for flag in ("--api-keys", "--api-keys-reload-seconds", "--max-request-bytes", "--log-level"):
        assert flag in done.stdout
