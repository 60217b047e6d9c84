"""code_interpreter through real server runs: the kernel sandbox contains what an attacker's
code tries, a server without the sandbox refuses code runs, and the other backends work."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import e2b_code_interpreter as e2b
import pytest
from openai import OpenAI

from langchain_assistants.sandbox.cgroups import cgroup_manager
from langchain_assistants.server.embedded import RunningServer, start_server
from langchain_assistants.testing.cli_server import start_cli_server

from .helpers import text_of

FAKE_SECRET = "sk-fake-server-secret-1234"
ESCAPES = {
    "passwd": "print(open('/etc/passwd').read())",
    "listing": """
        import os
        for path in {paths!r}:
            try:
                print(path, os.listdir(path))
            except OSError as exc:
                print(path, type(exc).__name__)
    """,
    "write": """
        for path in ['/etc/evil', '/usr/evil', '/evil', '/tmp/{marker}']:
            try:
                open(path, 'w').write('x')
                print('WROTE', path)
            except OSError as exc:
                print('refused', path, type(exc).__name__)
    """,
    "setsid": """
        import os, subprocess, sys, time
        child = ('import time\\nwhile True:\\n    open("grow.txt", "a").write("x")\\n'
                 '    time.sleep(0.01)')
        subprocess.Popen([sys.executable, '-c', child], start_new_session=True)
        while not os.path.exists('grow.txt'):
            time.sleep(0.01)
        print('spawned')
    """,
    "cancelme": """
        import os, subprocess, sys, time
        child = ('import time\\nwhile True:\\n    open("grow.txt", "a").write("x")\\n'
                 '    time.sleep(0.01)')
        subprocess.Popen([sys.executable, '-c', child], start_new_session=True)
        time.sleep(120)
    """,
    "oom": """
        import os
        pids = []
        for _ in range(6):  # each under the 1024 MiB address-space cap, together over it
            pid = os.fork()
            if pid == 0:
                blob = bytearray(250 * 1024 * 1024)
                for i in range(0, len(blob), 4096):
                    blob[i] = 1
                os._exit(0)
            pids.append(pid)
        print([os.waitpid(pid, 0)[1] for pid in pids].count(9), 'killed')
    """,
    "proc": "import os\nprint(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))",
    "env": "import os\nprint(sorted(os.environ.items()))",
    "ctypes": """
        import ctypes, socket, struct
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
        addr = struct.pack('=H', socket.AF_INET) + struct.pack('!H', {port})
        addr += socket.inet_aton('127.0.0.1') + bytes(8)
        rc = libc.connect(fd, ctypes.c_char_p(addr), len(addr))
        print('CONNECTED' if rc == 0 else 'blocked errno', ctypes.get_errno())
    """,
    "libraries": """
        import numpy as np, pandas as pd, matplotlib
        print(pd.DataFrame({'x': np.arange(4)}).x.sum(), matplotlib.get_backend())
    """,
    "secret": "open('secret.txt', 'w').write('thread one data')",
    "syscalls": """
        import ctypes, errno, socket
        libc = ctypes.CDLL(None, use_errno=True)
        def report(name, rc):
            print(name, 'ok' if rc >= 0 else errno.errorcode[ctypes.get_errno()])
        report('ptrace', libc.ptrace(0, 0, 0, 0))
        report('unshare', libc.unshare(0x10000000))
        report('netlink', libc.socket(16, 3, 0))
        report('keyctl', libc.syscall(250, 0, -3, 0))
        report('io_uring', libc.syscall(425, 8, ctypes.create_string_buffer(120)))
        report('mount', libc.mount(b'none', b'/no/such/dir', b'tmpfs', 0, None))
    """,
}


def rules_for(codes: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "match": name,
            "turns": [
                {"tool_calls": [{"name": "code_interpreter", "args": {"input": code}}]},
                {"content": "LOGS<{last_tool_output}>"},
            ],
        }
        for name, code in codes.items()
    ]


@pytest.fixture(scope="module")
def listener() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        sock.settimeout(0.3)
        yield sock


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("contained")
    return {"db_dir": tmp / "server", "sandbox": tmp / "sandbox", "tmp": tmp}


@pytest.fixture(scope="module")
def contained(
    paths: dict[str, Path], listener: socket.socket, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A server with a fake secret in its environment and the default (sandbox) mode."""
    paths["db_dir"].mkdir()
    marker = f"ci-marker-{uuid.uuid4().hex}"
    paths["marker"] = Path("/tmp", marker)
    listing = [str(paths["db_dir"]), str(paths["sandbox"]), "/mnt", "/mnt/data/.."]
    codes = {
        name: textwrap.dedent(code)
        .replace("{paths!r}", repr(listing))
        .replace("{marker}", marker)
        .replace("{port}", str(listener.getsockname()[1]))
        for name, code in ESCAPES.items()
    }
    script = paths["tmp"] / "escapes.json"
    script.write_text(json.dumps({"rules": rules_for(codes)}))
    os.environ["LANGCHAIN_ASSISTANTS_FAKE_SECRET"] = FAKE_SECRET
    try:
        with start_server(
            db=str(paths["db_dir"] / "ci.db"),
            model=f"scripted:{script}",
            sandbox_dir=paths["sandbox"],
            code_timeout_seconds=20.0,
        ) as srv:
            yield srv
    finally:
        del os.environ["LANGCHAIN_ASSISTANTS_FAKE_SECRET"]


def ask(srv: RunningServer, content: str, *, thread_id: str | None = None) -> dict[str, Any]:
    """Run ``content`` with code_interpreter; the run, its code logs and its thread."""
    with OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c:
        assistant = c.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}])
        if thread_id is None:
            thread_id = c.beta.threads.create().id
        c.beta.threads.messages.create(thread_id, role="user", content=content)
        run = c.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant.id)
        logs = []
        answer = ""
        if run.status == "completed":
            answer = text_of(c.beta.threads.messages.list(thread_id, run_id=run.id).data[0])
            steps = c.beta.threads.runs.steps.list(run.id, thread_id=thread_id).data
            logs = [
                out.logs
                for step in steps
                if step.step_details.type == "tool_calls"
                for call in step.step_details.tool_calls
                if call.type == "code_interpreter"
                for out in call.code_interpreter.outputs
                if out.type == "logs"
            ]
        return {"run": run, "logs": "".join(logs), "thread_id": thread_id, "answer": answer}


def test_host_passwd_is_not_readable(contained: RunningServer) -> None:
    logs = ask(contained, "passwd")["logs"]
    assert logs.startswith("sandbox:x:1000") and "root:" not in logs


def test_db_dir_sandbox_root_and_other_threads_are_invisible(
    contained: RunningServer, paths: dict[str, Path]
) -> None:
    first = ask(contained, "secret")
    assert (paths["sandbox"] / first["thread_id"] / "secret.txt").exists()
    logs = ask(contained, "listing")["logs"]
    lines = dict(line.split(" ", 1) for line in logs.splitlines())
    assert lines[str(paths["db_dir"])] == "FileNotFoundError"  # ci.db and its WAL: unseen
    assert lines[str(paths["sandbox"])] == "FileNotFoundError"  # every thread's directory
    assert lines["/mnt"] == "['data']" and lines["/mnt/data/.."] == "['data']"
    assert first["thread_id"] not in logs and "ci.db" not in logs


def test_writes_outside_the_thread_dir_fail_and_tmp_is_private(
    contained: RunningServer, paths: dict[str, Path]
) -> None:
    logs = ask(contained, "write")["logs"]
    assert logs.count("refused") == 3 and logs.count("WROTE") == 1, logs
    assert not paths["marker"].exists()


def test_setsid_child_does_not_outlive_the_execution(
    contained: RunningServer, paths: dict[str, Path]
) -> None:
    result = ask(contained, "setsid")
    # Then the note listing grow.txt, the one file the code wrote, for the user.
    assert result["logs"] == (
        "spawned\nFiles saved for the user (link them in your answer):\n"
        "sandbox:/mnt/data/grow.txt\n"
    )
    grow = paths["sandbox"] / result["thread_id"] / "grow.txt"
    time.sleep(0.3)
    size = grow.stat().st_size
    time.sleep(0.5)
    assert grow.stat().st_size == size


def test_the_model_is_told_when_the_memory_limit_killed_processes(
    contained: RunningServer,
) -> None:
    logs = ask(contained, "oom")["logs"]
    if cgroup_manager() is None:  # no cgroups here: each process alone stays under rlimits
        assert logs.startswith("0 killed"), logs
        return
    assert int(logs.split()[0]) >= 1, logs
    assert "Out of memory: the kernel killed" in logs, logs
    assert "at the execution's memory limit of 1024 MiB" in logs, logs  # the server's default


def test_cancelling_the_run_kills_the_execution(
    contained: RunningServer, paths: dict[str, Path]
) -> None:
    with OpenAI(base_url=contained.base_url, api_key="k", max_retries=0) as c:
        assistant = c.beta.assistants.create(model="gpt-4o", tools=[{"type": "code_interpreter"}])
        thread = c.beta.threads.create(messages=[{"role": "user", "content": "cancelme"}])
        run = c.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
        grow = paths["sandbox"] / thread.id / "grow.txt"
        for _ in range(600):
            if grow.exists():
                break
            time.sleep(0.05)
        c.beta.threads.runs.cancel(run.id, thread_id=thread.id)
        for _ in range(600):
            run = c.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
            if run.status not in ("in_progress", "cancelling"):
                break
            time.sleep(0.05)
    assert run.status == "cancelled"
    time.sleep(0.3)
    size = grow.stat().st_size
    time.sleep(0.5)
    assert grow.stat().st_size == size  # the setsid child died with the execution


def test_proc_shows_only_the_sandbox(contained: RunningServer) -> None:
    pids = json.loads(ask(contained, "proc")["logs"])
    assert len(pids) <= 3 and max(pids) <= 3  # bwrap's init and the cell, nothing of the host


def test_server_environment_does_not_leak(contained: RunningServer) -> None:
    logs = ask(contained, "env")["logs"]
    assert FAKE_SECRET not in logs and "LANGCHAIN_ASSISTANTS" not in logs
    assert "('HOME', '/mnt/data')" in logs


def test_ctypes_connect_to_the_host_fails(
    contained: RunningServer, listener: socket.socket
) -> None:
    logs = ask(contained, "ctypes")["logs"]
    assert logs.startswith("blocked"), logs
    with pytest.raises(TimeoutError):
        listener.accept()


def test_seccomp_filter_refuses_kernel_attack_surface(contained: RunningServer) -> None:
    """ptrace, a new user namespace, a netlink socket, keyrings, io_uring and mount: each
    answers the filter's errno (the kernel alone allows ptrace, netlink, keyctl and io_uring
    here, and answers ENOSPC to the user namespace and ENOENT to the mount)."""
    run = ask(contained, "syscalls")
    assert run["run"].status == "completed"
    assert run["logs"].splitlines() == [
        "ptrace EPERM",
        "unshare EPERM",
        "netlink EAFNOSUPPORT",
        "keyctl EPERM",
        "io_uring ENOSYS",
        "mount EPERM",
    ]


def test_numpy_pandas_matplotlib_are_available(contained: RunningServer) -> None:
    assert ask(contained, "libraries")["logs"].lower() == "6 agg\n"


# --- refusal, unsafe opt-in, E2B ------------------------------------------------------------


@pytest.fixture
def script(tmp_path: Path) -> str:
    path = tmp_path / "where.json"
    rules = rules_for({"where": "import os\nprint(os.getcwd())"})
    rules.append({"match": "hi", "turns": [{"content": "hello"}]})
    path.write_text(json.dumps({"rules": rules}))
    return f"scripted:{path}"


def test_without_isolation_code_runs_fail_with_a_clear_last_error(
    tmp_path: Path, script: str, caplog: pytest.LogCaptureFixture
) -> None:
    missing = str(tmp_path / "not-installed" / "bwrap")
    with start_server(model=script, sandbox_dir=tmp_path / "sb", code_bwrap_path=missing) as srv:
        result = ask(srv, "where")
        run = result["run"]
        assert run.status == "failed"
        assert run.last_error is not None and run.last_error.code == "server_error"
        message = run.last_error.message
        assert "code_interpreter is unavailable on this server" in message
        assert "bubblewrap is not installed" in message and missing in message
        assert "apt-get install bubblewrap" in message
        assert "--code-interpreter unsafe-local" in message
        assert not (tmp_path / "sb").exists()  # no code ran, no working directory made
        with OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c:  # other runs work
            assistant = c.beta.assistants.create(model=script)
            thread = c.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
            plain = c.beta.threads.runs.create_and_poll(
                thread_id=thread.id, assistant_id=assistant.id
            )
            assert plain.status == "completed"
    assert any("code_interpreter runs will fail" in r.getMessage() for r in caplog.records)


def test_a_sandbox_whose_seccomp_filter_cannot_be_loaded_refuses_code_runs(
    tmp_path: Path, script: str
) -> None:
    """bwrap on a kernel without seccomp filters (a wrapper around the real bwrap that fails
    on ``--seccomp`` as such a bwrap does): no code runs unfiltered, the run fails naming
    why and the fix."""
    real = shutil.which("bwrap")
    assert real is not None  # `make install` installs it
    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\n"
        'for arg in "$@"; do\n'
        '  [ "$arg" = --seccomp ] && { echo "bwrap: prctl(PR_SET_SECCOMP): Invalid argument" >&2;'
        " exit 1; }\n"
        "done\n"
        f'exec {real} "$@"\n'
    )
    fake.chmod(0o755)
    with start_server(model=script, sandbox_dir=tmp_path / "sb", code_bwrap_path=str(fake)) as srv:
        run = ask(srv, "where")["run"]
    assert run.status == "failed"
    assert run.last_error is not None and run.last_error.code == "server_error"
    message = run.last_error.message
    assert "code_interpreter is unavailable on this server" in message
    assert "PR_SET_SECCOMP" in message and "CONFIG_SECCOMP_FILTER" in message
    assert "--code-interpreter unsafe-local" in message
    assert not (tmp_path / "sb").exists()  # no code ran


def test_unsafe_local_flag_runs_code_without_kernel_isolation(tmp_path: Path, script: str) -> None:
    missing = str(tmp_path / "not-installed" / "bwrap")
    with start_server(
        model=script,
        sandbox_dir=tmp_path / "sb",
        code_interpreter="unsafe-local",
        code_bwrap_path=missing,
    ) as srv:
        result = ask(srv, "where")
    assert result["run"].status == "completed"
    assert result["logs"] == f"{tmp_path / 'sb' / result['thread_id']}\n"  # a host path


PNG = b"\x89PNG\r\n\x1a\n fake e2b figure"


class FakeAsyncSandbox:
    """Stands in for ``e2b_code_interpreter.AsyncSandbox`` (no network here)."""

    created: list[FakeAsyncSandbox] = []

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.codes: list[str] = []
        self.killed = False

    @classmethod
    async def create(cls, api_key: str | None = None, timeout: int | None = None) -> Any:
        sandbox = cls(api_key or "")
        cls.created.append(sandbox)
        return sandbox

    async def run_code(self, code: str, *, timeout: float | None = None) -> Any:
        self.codes.append(code)
        return e2b.Execution(
            logs=e2b.Logs(stdout=[f"remote ran {len(self.codes)}\n"], stderr=[]),
            results=[e2b.Result(png=base64.b64encode(PNG).decode())],
        )

    async def kill(self) -> bool:
        self.killed = True
        return True


def test_e2b_mode_runs_code_on_the_shared_e2b_backend(
    tmp_path: Path, script: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(e2b, "AsyncSandbox", FakeAsyncSandbox)
    monkeypatch.setenv("E2B_API_KEY", "e2b_test_key")
    FakeAsyncSandbox.created.clear()
    with start_server(model=script, sandbox_dir=tmp_path / "sb", code_interpreter="e2b") as srv:
        first = ask(srv, "where")
        second = ask(srv, "where", thread_id=first["thread_id"])
        with OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c:
            run = first["run"]
            steps = c.beta.threads.runs.steps.list(run.id, thread_id=run.thread_id).data
            outputs = steps[-1].step_details.tool_calls[0].code_interpreter.outputs  # type: ignore[union-attr]
            image = next(o for o in outputs if o.type == "image")
            assert c.files.content(image.image.file_id).content == PNG  # type: ignore[union-attr]
    assert first["run"].status == "completed" and first["logs"] == "remote ran 1\n"
    assert second["logs"] == "remote ran 2\n"  # one remote sandbox per thread, kept
    assert [s.api_key for s in FakeAsyncSandbox.created] == ["e2b_test_key"]
    assert FakeAsyncSandbox.created[0].codes == ["import os\nprint(os.getcwd())"] * 2
    assert FakeAsyncSandbox.created[0].killed  # released when the server stopped


def test_e2b_mode_without_key_refuses_code_runs(
    tmp_path: Path, script: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("E2B_API_KEY", raising=False)
    with start_server(model=script, sandbox_dir=tmp_path / "sb", code_interpreter="e2b") as srv:
        run = ask(srv, "where")["run"]
    assert run.status == "failed" and "E2B_API_KEY" in run.last_error.message


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (None, "code_interpreter: sandbox: kernel sandbox ("),
        ("", "code_interpreter: sandbox UNAVAILABLE, code_interpreter runs will fail: "),
    ],
)
def test_serve_says_at_start_up_whether_the_sandbox_works(
    tmp_path: Path, path: str | None, expected: str
) -> None:
    """``serve`` prints the code_interpreter mode; without bwrap on PATH, that it is refused."""
    env = dict(os.environ)
    if path is not None:
        env["PATH"] = str(tmp_path)  # no bwrap there
    with start_cli_server(log=tmp_path / "serve.log", cwd=tmp_path, env=env) as server:
        said = server.output().splitlines()
    line = next((line for line in said if line.startswith("code_interpreter:")), "")
    assert line.startswith(expected), said
    if path is not None:
        assert "apt-get install bubblewrap" in line and "unsafe-local" in line
