"""Pure-ish planning shared by the sync and async runners: command, environment, results.

Everything except process I/O lives here, so both runners behave identically: ``prepare_run``
builds the launch (sandboxed by :mod:`.isolation`, or the unsafe local mode) and takes a
snapshot of the working directory; ``finish_run`` turns captured output and the exit status
into an :class:`ExecutionResult`.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .artifacts import Snapshot, changed_files, figure_images, snapshot_dir
from .isolation import SANDBOX_BOOTSTRAP, SANDBOX_WORKDIR, Bubblewrap, Launch, unsafe_launch
from .output import BoundedBuffer
from .result import ExecutionResult

BOOTSTRAP = Path(__file__).with_name("_bootstrap.py")
OUTPUT_DIRNAME = ".sandbox-outputs"
# After the cell's process ends, how long to wait for stray holders of its pipes.
PIPE_DRAIN_GRACE_SECONDS = 2.0
DEFAULT_MAX_PROCESSES = 64
DEFAULT_MAX_FILE_MB = 1024
MAX_OPEN_FILES = 1024


@dataclass(frozen=True)
class RunPlan:
    """Everything needed to launch one execution and interpret its outcome."""

    launch: Launch
    cwd: Path
    stdin: bytes
    run_id: str
    output_dir: Path
    timeout: float
    max_output_bytes: int
    before: Snapshot
    memory_mb: int | None = None

    def buffer(self) -> BoundedBuffer:
        """A fresh capture buffer for one of the child's output streams."""
        return BoundedBuffer(self.max_output_bytes)


def native_threads() -> int:
    """Threads native pools may use (they reserve address space per thread: keep few)."""
    return min(4, os.cpu_count() or 1)


def build_argv(*, python: str, bootstrap: str, config: dict[str, object]) -> list[str]:
    """The child's command line: isolated, unbuffered interpreter running the bootstrap."""
    return [python, "-I", "-u", bootstrap, json.dumps(config)]


def build_env(*, home: str, mplconfig: str, path: str) -> dict[str, str]:
    """A minimal environment: no secrets from the parent, headless matplotlib, UTF-8 I/O."""
    threads = str(native_threads())
    return {
        "PATH": path,
        "HOME": home,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": mplconfig,
        # Native thread pools reserve address space per thread; keep them inside RLIMIT_AS.
        "OPENBLAS_NUM_THREADS": threads,
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
    }


def child_limits(
    *, timeout: float, memory_mb: int, max_processes: int, max_file_mb: int
) -> dict[str, int]:
    """The rlimits the bootstrap applies to itself (the floor in every mode).

    CPU time allows every native thread to be busy for the whole wall-clock timeout.
    """
    return {
        "memory_mb": memory_mb,
        "cpu_seconds": math.ceil(max(timeout, 1.0) * native_threads()) + 1,
        "max_processes": max_processes,
        "max_file_bytes": max_file_mb * 1024 * 1024 if max_file_mb > 0 else 0,
        "max_open_files": MAX_OPEN_FILES,
    }


def prepare_run(
    code: str,
    *,
    workdir: Path,
    timeout: float,
    memory_mb: int,
    max_output_bytes: int,
    isolation: Bubblewrap | None,
    max_processes: int = DEFAULT_MAX_PROCESSES,
    max_file_mb: int = DEFAULT_MAX_FILE_MB,
    output_dir: Path | None = None,
    python: str | None = None,
) -> RunPlan:
    """Create the working directory if needed, snapshot it and build the launch plan.

    With ``isolation`` the code runs in the bubblewrap sandbox, seeing ``workdir`` as
    ``/mnt/data``; ``None`` means the unsafe local mode (a plain child process).
    """
    workdir = Path(workdir).expanduser().resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    out = Path(output_dir).expanduser().resolve() if output_dir else workdir / OUTPUT_DIRNAME
    run_id = uuid.uuid4().hex[:12]
    python = python or sys.executable
    before = snapshot_dir(workdir, exclude=out)
    limits = child_limits(
        timeout=timeout, memory_mb=memory_mb, max_processes=max_processes, max_file_mb=max_file_mb
    )
    if isolation is None:
        # Outside a user namespace RLIMIT_NPROC counts every process of the server's user.
        config = {**limits, "max_processes": 0, "output_dir": str(out), "run_id": run_id}
        env = build_env(
            home=str(workdir),
            mplconfig=str(Path(tempfile.gettempdir()) / "langchain-assistants-mplconfig"),
            path=os.environ.get("PATH", os.defpath),
        )
        launch = unsafe_launch(
            build_argv(python=python, bootstrap=str(BOOTSTRAP), config=config),
            env=env,
            workdir=workdir,
        )
    else:
        if not out.is_relative_to(workdir):
            raise ValueError(f"output_dir must be inside the working directory {workdir}")
        inside = PurePosixPath(SANDBOX_WORKDIR) / out.relative_to(workdir).as_posix()
        config = {**limits, "output_dir": str(inside), "run_id": run_id}
        env = build_env(
            home=SANDBOX_WORKDIR,
            mplconfig="/tmp/matplotlib",
            path=f"{os.path.dirname(python)}:/usr/local/bin:/usr/bin:/bin",
        )
        launch = isolation.launch(
            build_argv(python=python, bootstrap=SANDBOX_BOOTSTRAP, config=config),
            env=env,
            workdir=workdir,
            memory_mb=memory_mb,
            max_processes=max_processes,
            tmp_mb=memory_mb,
        )
    return RunPlan(
        launch=launch,
        cwd=workdir,
        stdin=code.encode("utf-8", errors="replace"),  # lone surrogates become "?"
        run_id=run_id,
        output_dir=out,
        timeout=timeout,
        max_output_bytes=max_output_bytes,
        before=before,
        memory_mb=memory_mb,
    )


def finish_run(
    plan: RunPlan,
    *,
    stdout: BoundedBuffer,
    stderr: BoundedBuffer,
    exit_code: int | None,
    timed_out: bool,
) -> ExecutionResult:
    """Assemble the result: captured text, exit status, new images and changed files."""
    after = snapshot_dir(plan.cwd, exclude=plan.output_dir)
    return ExecutionResult(
        stdout=stdout.text(),
        stderr=stderr.text(),
        exit_code=plan.launch.exit_code(exit_code),
        timed_out=timed_out,
        images=figure_images(plan.output_dir, plan.run_id),
        files=changed_files(plan.before, after),
        timeout=plan.timeout,
        oom_kills=plan.launch.oom_kills,
        memory_mb=plan.memory_mb,
    )


def launch_failure(error: BaseException, *, timeout: float) -> ExecutionResult:
    """The result when the child could not even be started (never raised to the caller)."""
    return ExecutionResult(
        stdout="",
        stderr=f"Could not start the sandbox process: {error!r}\n",
        exit_code=None,
        timed_out=False,
        timeout=timeout,
    )
