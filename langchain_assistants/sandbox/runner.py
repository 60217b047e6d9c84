"""Process I/O for the sandbox: one sync and one async way to run a planned execution.

Both runners start the launch (bwrap around the bootstrap, or the bootstrap alone in the
unsafe local mode) in its own session, feed the code on stdin, drain stdout/stderr into
bounded buffers, enforce the wall-clock timeout and always kill the group at the end; in the
sandbox that also ends its PID namespace (``--die-with-parent``), so no process of the cell,
not even a ``setsid`` one, outlives it. They never raise for anything the user's code does;
:class:`IsolationUnavailable` is raised before anything runs when the sandbox cannot be set
up. All other logic lives in :mod:`.plan` and :mod:`.isolation`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Any

from .isolation import Bubblewrap, Launch, bubblewrap
from .output import DEFAULT_MAX_OUTPUT_BYTES, BoundedBuffer
from .plan import (
    DEFAULT_MAX_FILE_MB,
    DEFAULT_MAX_PROCESSES,
    PIPE_DRAIN_GRACE_SECONDS,
    finish_run,
    launch_failure,
    prepare_run,
)
from .result import ExecutionResult

_CHUNK = 64 * 1024


def kill_group(pgid: int) -> None:
    """SIGKILL every process in the group (the cell and anything it spawned)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def isolation_for(*, unsafe_local: bool, bwrap: str) -> Bubblewrap | None:
    """The probed sandbox to use, None for the unsafe local mode; raises
    :class:`IsolationUnavailable` when the sandbox was asked for but cannot be set up."""
    return None if unsafe_local else bubblewrap(bwrap)


def popen_options(launch: Launch) -> dict[str, Any]:
    """Keyword arguments for ``Popen``/``create_subprocess_exec`` shared by both runners."""
    return {
        "cwd": launch.cwd,
        "env": launch.env,
        "pass_fds": launch.pass_fds,
        "user": launch.user,
        "group": launch.user,
        "extra_groups": [] if launch.user is not None else None,
        "start_new_session": True,
    }


def run_python(
    code: str,
    *,
    workdir: Path,
    timeout: float = 30.0,
    memory_mb: int = 1024,
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
    output_dir: Path | None = None,
    max_processes: int = DEFAULT_MAX_PROCESSES,
    max_file_mb: int = DEFAULT_MAX_FILE_MB,
    bwrap: str = "bwrap",
    unsafe_local: bool = False,
) -> ExecutionResult:
    """Run ``code`` in the sandbox and wait for it (blocking).

    ``unsafe_local=True`` runs it as a plain child process without kernel isolation.
    """
    isolation = isolation_for(unsafe_local=unsafe_local, bwrap=bwrap)
    launch: Launch | None = None
    try:
        plan = prepare_run(
            code,
            workdir=workdir,
            timeout=timeout,
            memory_mb=memory_mb,
            max_output_bytes=max_output_bytes,
            output_dir=output_dir,
            max_processes=max_processes,
            max_file_mb=max_file_mb,
            isolation=isolation,
        )
        launch = plan.launch
        proc = subprocess.Popen(
            launch.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            **popen_options(launch),
        )
    except OSError as exc:
        if launch is not None:
            launch.finished()
        return launch_failure(exc, timeout=timeout)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    stdout, stderr = plan.buffer(), plan.buffer()
    threads = [
        threading.Thread(target=_feed, args=(proc.stdin, plan.stdin), daemon=True),
        threading.Thread(target=_drain, args=(proc.stdout, stdout), daemon=True),
        threading.Thread(target=_drain, args=(proc.stderr, stderr), daemon=True),
    ]
    timed_out = False
    exit_code: int | None = None
    try:
        launch.started(proc.pid)
        for thread in threads:
            thread.start()
        try:
            exit_code = proc.wait(timeout=plan.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_group(proc.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                exit_code = proc.wait(timeout=PIPE_DRAIN_GRACE_SECONDS)
    finally:
        kill_group(proc.pid)
        launch.finished()
    deadline = time.monotonic() + PIPE_DRAIN_GRACE_SECONDS
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if not any(thread.is_alive() for thread in threads):
        for stream in (proc.stdout, proc.stderr):
            stream.close()
    return finish_run(plan, stdout=stdout, stderr=stderr, exit_code=exit_code, timed_out=timed_out)


def _feed(stream: IO[bytes], data: bytes) -> None:
    with contextlib.suppress(OSError, ValueError):
        stream.write(data)
    with contextlib.suppress(OSError, ValueError):
        stream.close()


def _drain(stream: IO[bytes], buffer: BoundedBuffer) -> None:
    with contextlib.suppress(OSError, ValueError):
        while chunk := os.read(stream.fileno(), _CHUNK):
            buffer.write(chunk)


async def arun_python(
    code: str,
    *,
    workdir: Path,
    timeout: float = 30.0,
    memory_mb: int = 1024,
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
    output_dir: Path | None = None,
    max_processes: int = DEFAULT_MAX_PROCESSES,
    max_file_mb: int = DEFAULT_MAX_FILE_MB,
    bwrap: str = "bwrap",
    unsafe_local: bool = False,
) -> ExecutionResult:
    """Run ``code`` in the sandbox without blocking the event loop.

    Cancelling the awaiting task kills the execution (all its processes).
    ``unsafe_local=True`` runs it as a plain child process without kernel isolation.
    """
    isolation = await asyncio.to_thread(isolation_for, unsafe_local=unsafe_local, bwrap=bwrap)
    launch: Launch | None = None
    try:
        plan = await asyncio.to_thread(
            prepare_run,
            code,
            workdir=workdir,
            timeout=timeout,
            memory_mb=memory_mb,
            max_output_bytes=max_output_bytes,
            output_dir=output_dir,
            max_processes=max_processes,
            max_file_mb=max_file_mb,
            isolation=isolation,
        )
        launch = plan.launch
        proc = await asyncio.create_subprocess_exec(
            *launch.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            **popen_options(launch),
        )
    except BaseException as exc:
        if launch is not None:
            launch.finished()
        if isinstance(exc, OSError):
            return launch_failure(exc, timeout=timeout)
        raise
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    stdout, stderr = plan.buffer(), plan.buffer()
    tasks = [
        asyncio.create_task(_afeed(proc.stdin, plan.stdin)),
        asyncio.create_task(_adrain(proc.stdout, stdout)),
        asyncio.create_task(_adrain(proc.stderr, stderr)),
    ]
    timed_out = False
    try:
        await asyncio.to_thread(launch.started, proc.pid)
        if not await _wait_exit(proc, plan.timeout):
            timed_out = True
            kill_group(proc.pid)
            await _wait_exit(proc, PIPE_DRAIN_GRACE_SECONDS)
    except BaseException:
        for task in tasks:
            task.cancel()
        raise
    finally:
        kill_group(proc.pid)
        await asyncio.to_thread(launch.finished)
    _, pending = await asyncio.wait(tasks, timeout=PIPE_DRAIN_GRACE_SECONDS)
    for task in pending:
        task.cancel()
    return await asyncio.to_thread(
        finish_run,
        plan,
        stdout=stdout,
        stderr=stderr,
        exit_code=proc.returncode,
        timed_out=timed_out,
    )


async def _wait_exit(proc: asyncio.subprocess.Process, timeout: float) -> bool:
    """Wait until the child itself has exited; True if it did within ``timeout``.

    Polls ``returncode`` instead of awaiting ``proc.wait()``, which (before Python 3.12) only
    returns once every pipe is closed, i.e. never while a stray grandchild holds one open.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.005
    while proc.returncode is None:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.05)
    return True


async def _afeed(stream: asyncio.StreamWriter, data: bytes) -> None:
    with contextlib.suppress(OSError, RuntimeError):
        stream.write(data)
        await stream.drain()
    with contextlib.suppress(OSError, RuntimeError):
        stream.close()
        await stream.wait_closed()


async def _adrain(stream: asyncio.StreamReader, buffer: BoundedBuffer) -> None:
    with contextlib.suppress(OSError):
        while chunk := await stream.read(_CHUNK):
            buffer.write(chunk)
