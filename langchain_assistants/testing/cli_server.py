"""``langchain-assistants serve`` as a real child process on a loopback port.

For tests and benchmarks that need the CLI itself rather than an in-process server: its
signals, its log, its own memory, CPU and file descriptors, a crash (SIGKILL), several
replicas. :func:`start_cli_server` starts it and waits until it answers; the returned
:class:`CliServer` knows its URL, pid and log, stops it (SIGTERM, then SIGKILL) and is a
context manager. Its output (stdout and stderr) goes to a log file, so nothing the server
prints is lost and a start-up failure can say what the server said.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

HOST = "127.0.0.1"
LOG_TAIL_CHARS = 4000

# No proxy from the environment for loopback probes.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class CliServerError(RuntimeError):
    """The server process exited or did not answer in time; the message ends with its log."""


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class CliServer:
    """One ``serve`` process in its own process group (so a kill takes its children too)."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.proc = proc
        self.port = port
        self.log = log
        #: Set by :meth:`kill` before the signal: a request it drops is not a live failure.
        self.killed = False

    @property
    def root_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible API root (``.../v1``), for ``OpenAI(base_url=...)``."""
        return f"{self.root_url}/v1"

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return not self.killed and self.proc.poll() is None

    def output(self, tail: int | None = None) -> str:
        """What the server printed so far (the last ``tail`` characters, if given)."""
        try:
            text = self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return text if tail is None else text[-tail:]

    def wait_ready(self, timeout: float = 60.0, path: str = "/health") -> None:
        """Return once ``GET path`` answers 200; raise :class:`CliServerError` (with the
        log's tail) if the process exits first or ``timeout`` seconds pass."""
        deadline = time.monotonic() + timeout
        while not self._answers(path):
            if self.proc.poll() is not None:
                self._fail(f"exited with status {self.proc.returncode} before answering")
            if time.monotonic() > deadline:
                self._fail(f"did not answer GET {path} within {timeout:.0f} s")
            time.sleep(0.1)

    def _answers(self, path: str) -> bool:
        try:
            with _OPENER.open(self.root_url + path, timeout=5) as response:
                return bool(response.status == 200)
        except (OSError, http.client.HTTPException):  # refused, reset, HTTP error, timeout
            return False

    def _fail(self, what: str) -> None:
        self.kill()
        raise CliServerError(
            f"langchain-assistants serve (pid {self.pid}, port {self.port}) {what}; "
            f"the end of its log {self.log}:\n{self.output(LOG_TAIL_CHARS)}"
        )

    def stop(self, timeout: float = 20.0) -> int | None:
        """A normal shutdown: SIGTERM, and SIGKILL if it has not ended after ``timeout``
        seconds. Returns the exit status (negative: the signal that ended it)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._kill_group()  # whatever it started and left behind
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, no shutdown code runs."""
        self.killed = True
        self._kill_group()
        self.proc.wait(10)

    def _kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def __enter__(self) -> CliServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what the operating system says about the process -------------------------------

    def status_kb(self, field: str) -> int:
        """A ``/proc/PID/status`` size in kB: ``VmRSS`` (resident now), ``VmHWM`` (peak)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
        raise CliServerError(f"no {field} in /proc/{self.pid}/status")

    def open_fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def fd_targets(self) -> list[str]:
        """What each open descriptor points at (for a failure message)."""
        targets = []
        for fd in sorted(os.listdir(f"/proc/{self.pid}/fd"), key=int):
            with contextlib.suppress(OSError):
                targets.append(os.readlink(f"/proc/{self.pid}/fd/{fd}"))
        return targets


def start_cli_server(
    *args: str,
    log: Path,
    port: int | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    wait: bool = True,
    ready_path: str = "/health",
    timeout: float = 60.0,
) -> CliServer:
    """Start ``python -m langchain_assistants serve --port PORT *args``.

    ``port`` defaults to a free loopback port (pass the old one to restart in place);
    ``env`` is the child's whole environment (default: this process's), always with
    ``PYTHONUNBUFFERED=1`` so the log is current; ``cwd`` is where it runs (``-m`` imports
    the package from there first). Output goes to ``log`` (appended). With ``wait`` it
    returns once ``ready_path`` answers 200 (see :meth:`CliServer.wait_ready`); without,
    at once, so that several can start in parallel.
    """
    port = free_port() if port is None else port
    command = [sys.executable, "-m", "langchain_assistants", "serve", "--port", str(port), *args]
    child_env = {**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=child_env,
            cwd=cwd,
            start_new_session=True,
        )
    server = CliServer(proc, port, log)
    if wait:
        server.wait_ready(timeout, ready_path)
    return server
