"""The local Python sandbox: containment (time, memory, crashes, network, children) and I/O."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from langchain_assistants.sandbox import ExecutionResult, SandboxSettings, arun_python, run_python
from langchain_assistants.sandbox.output import BoundedBuffer


def test_last_expression_is_echoed(tmp_path: Path) -> None:
    assert run_python("10 - 4**2.7", workdir=tmp_path).stdout == "-32.22425314473263\n"
    assert run_python("print(10 - 4**2.7)", workdir=tmp_path).stdout == "-32.22425314473263\n"
    assert run_python("x = 1\nx + 1", workdir=tmp_path).stdout == "2\n"
    assert run_python("x = 1", workdir=tmp_path).stdout == ""
    assert run_python("'a'", workdir=tmp_path).stdout == "'a'\n"


def test_exception_traceback_goes_to_stderr(tmp_path: Path) -> None:
    code = "print('before')\ndef f():\n    raise ValueError('boom')\nf()"
    result = run_python(code, workdir=tmp_path)
    assert result.stdout == "before\n"
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "ValueError: boom" in result.stderr
    assert "raise ValueError('boom')" in result.stderr  # source lines of the cell are shown
    assert "_bootstrap" not in result.stderr
    assert result.logs.endswith("Process exited with code 1\n")


def test_syntax_error_and_sys_exit(tmp_path: Path) -> None:
    result = run_python("def f(:", workdir=tmp_path)
    assert "SyntaxError" in result.stderr and result.exit_code == 1
    assert run_python("import sys; sys.exit(3)", workdir=tmp_path).exit_code == 3
    assert run_python("raise SystemExit", workdir=tmp_path).exit_code == 0


def test_runaway_loop_times_out(tmp_path: Path) -> None:
    result = run_python("print('start')\nwhile True:\n    pass", workdir=tmp_path, timeout=1.0)
    assert result.timed_out
    assert result.exit_code == -signal.SIGKILL
    assert result.stdout == "start\n"  # unbuffered: output before the kill is kept
    assert result.logs.endswith("Execution timed out after 1.0s\n")


@pytest.mark.parametrize(
    ("code", "signum"),
    [
        ("import os; os.abort()", signal.SIGABRT),
        ("import ctypes; ctypes.string_at(0)", signal.SIGSEGV),
    ],
)
def test_crash_is_contained(tmp_path: Path, code: str, signum: signal.Signals) -> None:
    result = run_python(code, workdir=tmp_path)
    assert result.exit_code == -signum
    assert not result.timed_out
    assert f"crashed with {signum.name}" in result.logs


def test_memory_bomb_is_contained(tmp_path: Path) -> None:
    code = "chunks = []\nwhile True:\n    chunks.append(bytearray(16 * 1024 * 1024))"
    result = run_python(code, workdir=tmp_path, memory_mb=256, timeout=20)
    assert not result.ok
    assert not result.timed_out
    assert "MemoryError" in result.stderr or (result.exit_code or 0) < 0


def test_network_call_is_blocked(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        code = textwrap.dedent(
            f"""
            import socket
            for attempt in (
                lambda: socket.create_connection(("127.0.0.1", {port}), timeout=2),
                lambda: socket.socket().connect(("127.0.0.1", {port})),
            ):
                try:
                    attempt()
                    print("CONNECTED")
                except OSError as exc:
                    print("blocked:", type(exc).__name__, exc)
            """
        )
        result = run_python(code, workdir=tmp_path)
        server.settimeout(0.3)
        with pytest.raises(TimeoutError):
            server.accept()
    assert "CONNECTED" not in result.stdout
    assert result.stdout.count("blocked: PermissionError") == 2
    assert "Network access is disabled in this sandbox (socket.connect)" in result.stdout


def _network_namespaces_available() -> bool:
    probe = "import ctypes; raise SystemExit(ctypes.CDLL(None).unshare(0x40000000) != 0)"
    return subprocess.run([sys.executable, "-I", "-c", probe], check=False).returncode == 0


@pytest.mark.skipif(not _network_namespaces_available(), reason="needs network namespaces")
def test_network_is_blocked_for_spawned_processes(tmp_path: Path) -> None:
    """A child interpreter has no audit hook; the network namespace still cuts it off."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        inner = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)"
        code = (
            f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {inner!r}]).returncode"
        )
        result = run_python(code, workdir=tmp_path)
        server.settimeout(0.3)
        with pytest.raises(TimeoutError):
            server.accept()
    assert result.stdout.strip() == "1"
    assert "ConnectionRefusedError" in result.stderr or "OSError" in result.stderr


def test_parent_environment_is_not_inherited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    result = run_python("import os; sorted(os.environ)", workdir=tmp_path)
    assert "OPENAI_API_KEY" not in result.stdout
    assert "'MPLBACKEND'" in result.stdout


def test_workdir_persists_across_calls(tmp_path: Path) -> None:
    workdir = tmp_path / "thread_1"  # created on demand
    first = run_python("open('data.txt', 'w').write('hello')\nNone", workdir=workdir)
    assert first.ok
    assert first.files == [workdir / "data.txt"]
    second = run_python("print(open('data.txt').read())", workdir=workdir)
    assert second.stdout == "hello\n"
    assert second.files == []  # only files created or modified by the call are reported


def test_output_is_truncated(tmp_path: Path) -> None:
    code = "print('A' * 200_000)\nprint('END')"
    result = run_python(code, workdir=tmp_path, max_output_bytes=4096)
    assert "output truncated" in result.stdout
    assert len(result.stdout) < 4096 + 200
    assert result.stdout.startswith("AAAA")
    assert result.stdout.endswith("END\n")  # the tail survives as well as the head


GROWER = (
    "import os, subprocess, sys\n"
    'child = \'import time\\nwhile True:\\n    open("grow.txt", "a").write("x")\\n'
    "    time.sleep(0.01)'\n"
    "subprocess.Popen([sys.executable, '-c', child], start_new_session={setsid})\n"
    "import time\n"
    "while not os.path.exists('grow.txt'):\n"
    "    time.sleep(0.01)\n"
    "print('spawned')\n"
)


def assert_stops_growing(path: Path) -> None:
    """The file a stray child kept appending to no longer grows: the child is dead."""
    time.sleep(0.3)  # the kill is asynchronous (PID namespace teardown)
    size = path.stat().st_size
    time.sleep(0.5)
    assert path.stat().st_size == size


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("setsid", [False, True])
def test_spawned_children_are_killed(tmp_path: Path, mode: str, setsid: bool) -> None:
    """Even a child in its own session (``setsid``) does not outlive the execution."""
    code = GROWER.format(setsid=setsid)
    if mode == "sync":
        result = run_python(code, workdir=tmp_path)
    else:
        result = asyncio.run(arun_python(code, workdir=tmp_path))
    assert result.stdout == "spawned\n" and result.ok, result.logs
    assert_stops_growing(tmp_path / "grow.txt")


async def test_async_timeout_and_result(tmp_path: Path) -> None:
    ok = await arun_python("print('hi')\n6 * 7", workdir=tmp_path)
    assert (ok.stdout, ok.exit_code, ok.timed_out) == ("hi\n42\n", 0, False)
    slow = await arun_python("while True:\n    pass", workdir=tmp_path, timeout=1.0)
    assert slow.timed_out and slow.exit_code == -signal.SIGKILL


async def test_async_runs_concurrently_without_blocking_the_loop(tmp_path: Path) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    task = asyncio.create_task(ticker())
    code = "import time\ntime.sleep(0.5)\nprint('{name}')"
    first, second = await asyncio.gather(
        arun_python(code.format(name="one"), workdir=tmp_path / "a"),
        arun_python(code.format(name="two"), workdir=tmp_path / "b"),
    )
    task.cancel()
    assert (first.stdout, second.stdout) == ("one\n", "two\n")
    assert first.ok and second.ok
    assert ticks >= 5  # the loop kept running while both children slept


async def test_cancelling_the_caller_kills_the_process(tmp_path: Path) -> None:
    code = GROWER.format(setsid=True) + "time.sleep(60)"
    task = asyncio.create_task(arun_python(code, workdir=tmp_path, timeout=90))
    for _ in range(800):
        if (tmp_path / "grow.txt").exists():
            break
        await asyncio.sleep(0.025)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.to_thread(assert_stops_growing, tmp_path / "grow.txt")


_FAKE_PYPLOT = '''
"""Just enough of pyplot for the sandbox's figure harvesting."""
_figures = {}


class _Figure:
    def __init__(self, number):
        self.number = number

    def savefig(self, path, format=None):
        with open(path, "wb") as fh:
            fh.write(b"\\x89PNG fake figure %d" % self.number)


def figure(number=None):
    number = number or len(_figures) + 1
    return _figures.setdefault(number, _Figure(number))


def get_fignums():
    return sorted(_figures)


def close(which=None):
    _figures.clear()
'''


def test_open_figures_are_saved_as_images(tmp_path: Path) -> None:
    """Uses a stand-in ``matplotlib`` in the working dir (the cell's import path)."""
    package = tmp_path / "matplotlib"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "pyplot.py").write_text(_FAKE_PYPLOT)
    code = "import matplotlib.pyplot as plt\nplt.figure()\nplt.figure()\nNone"
    result = run_python(code, workdir=tmp_path)
    assert result.ok, result.logs
    assert [path.name.split("-", 1)[1] for path in result.images] == [
        "figure-1.png",
        "figure-2.png",
    ]
    assert all(path.read_bytes().startswith(b"\x89PNG") for path in result.images)
    assert result.files == []  # images live in the hidden output dir, not among the files


def test_real_matplotlib_figure(tmp_path: Path) -> None:
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()"
    result = run_python(code, workdir=tmp_path, timeout=60)
    assert result.ok, result.logs
    assert len(result.images) == 1
    assert result.images[0].read_bytes().startswith(b"\x89PNG")


def test_settings_run_with_their_limits(tmp_path: Path) -> None:
    settings = SandboxSettings(timeout=1.0, memory_mb=512, max_output_bytes=100)
    result = settings.run("print('x' * 1000)", workdir=tmp_path)
    assert "output truncated" in result.stdout


def test_logs_and_status_lines() -> None:
    def result(**kwargs: object) -> ExecutionResult:
        base: dict[str, object] = {"stdout": "", "stderr": "", "exit_code": 0, "timed_out": False}
        return ExecutionResult(**{**base, **kwargs})  # type: ignore[arg-type]

    assert result(stdout="out", stderr="err").logs == "out\nerr\n"
    assert result().logs == ""
    assert result(timed_out=True, exit_code=-9, timeout=5.0).logs == (
        "Execution timed out after 5.0s\n"
    )
    assert result(exit_code=-9).logs == (
        "Process exited with code -9 (killed by SIGKILL: memory limit?)\n"
    )
    assert result(stdout="a\n", exit_code=2).logs == "a\nProcess exited with code 2\n"
    assert result(exit_code=-9, oom_kills=1, memory_mb=256).logs == (
        "Process exited with code -9 (killed by SIGKILL). Out of memory: the kernel killed "
        "a process at the execution's memory limit of 256 MiB\n"
    )
    assert result(stdout="done\n", oom_kills=3).logs == (  # children killed, the cell ended
        "done\nOut of memory: the kernel killed 3 processes at the execution's memory limit\n"
    )


def test_bounded_buffer_keeps_head_and_tail() -> None:
    buffer = BoundedBuffer(8)
    for chunk in (b"abcd", b"efgh", b"ijkl"):
        buffer.write(chunk)
    assert buffer.truncated
    assert buffer.text() == "abcdef\n... [output truncated: 4 bytes omitted] ...\nkl"
    small = BoundedBuffer(100)
    small.write("héllo".encode())
    assert small.text() == "héllo" and not small.truncated


async def test_unusable_workdir_is_reported_not_raised(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file.txt"
    not_a_dir.write_text("x")
    for result in (
        run_python("1", workdir=not_a_dir),
        await arun_python("1", workdir=not_a_dir),
    ):
        assert result.exit_code is None and not result.ok
        assert "Could not start the sandbox process" in result.logs
