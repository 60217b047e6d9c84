"""Pure-ish planning shared by the sync and async runners: command, environment, results.

Everything except process I/O lives here, so both runners behave identically: ``prepare_run``
builds the command line and takes a snapshot of the working directory; ``finish_run`` turns
captured output and the exit status into an :class:`ExecutionResult`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from .artifacts import Snapshot, changed_files, figure_images, snapshot_dir
from .output import BoundedBuffer
from .result import ExecutionResult

BOOTSTRAP = Path(__file__).with_name("_bootstrap.py")
OUTPUT_DIRNAME = ".sandbox-outputs"
# After the cell's process ends, how long to wait for stray holders of its pipes.
PIPE_DRAIN_GRACE_SECONDS = 2.0


@dataclass(frozen=True)
class RunPlan:
    """Everything needed to launch one execution and interpret its outcome."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    stdin: bytes
    run_id: str
    output_dir: Path
    timeout: float
    max_output_bytes: int
    before: Snapshot

    def buffer(self) -> BoundedBuffer:
        """A fresh capture buffer for one of the child's output streams."""
        return BoundedBuffer(self.max_output_bytes)


def build_argv(*, python: str, memory_mb: int, output_dir: Path, run_id: str) -> list[str]:
    """The child's command line: isolated, unbuffered interpreter running the bootstrap."""
    config = {"memory_mb": memory_mb, "output_dir": str(output_dir), "run_id": run_id}
    return [python, "-I", "-u", str(BOOTSTRAP), json.dumps(config)]


def build_env(workdir: Path) -> dict[str, str]:
    """A minimal environment: no secrets from the parent, headless matplotlib, UTF-8 I/O."""
    threads = str(min(4, os.cpu_count() or 1))
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(workdir),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(Path(tempfile.gettempdir()) / "langchain-assistants-mplconfig"),
        # Native thread pools reserve address space per thread; keep them inside RLIMIT_AS.
        "OPENBLAS_NUM_THREADS": threads,
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
    }


def prepare_run(
    code: str,
    *,
    workdir: Path,
    timeout: float,
    memory_mb: int,
    max_output_bytes: int,
    output_dir: Path | None = None,
    python: str | None = None,
) -> RunPlan:
    """Create the working directory if needed, snapshot it and build the launch plan."""
    workdir = Path(workdir).expanduser().resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    out = Path(output_dir).expanduser().resolve() if output_dir else workdir / OUTPUT_DIRNAME
    run_id = uuid.uuid4().hex[:12]
    return RunPlan(
        argv=build_argv(
            python=python or sys.executable, memory_mb=memory_mb, output_dir=out, run_id=run_id
        ),
        env=build_env(workdir),
        cwd=workdir,
        stdin=code.encode("utf-8", errors="replace"),  # lone surrogates become "?"
        run_id=run_id,
        output_dir=out,
        timeout=timeout,
        max_output_bytes=max_output_bytes,
        before=snapshot_dir(workdir, exclude=out),
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
        exit_code=exit_code,
        timed_out=timed_out,
        images=figure_images(plan.output_dir, plan.run_id),
        files=changed_files(plan.before, after),
        timeout=plan.timeout,
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
