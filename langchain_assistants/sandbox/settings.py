"""Reusable limits and isolation mode for sandboxed executions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .isolation import unavailable_reason
from .output import DEFAULT_MAX_OUTPUT_BYTES
from .plan import DEFAULT_MAX_FILE_MB, DEFAULT_MAX_PROCESSES
from .result import ExecutionResult
from .runner import arun_python, run_python


@dataclass(frozen=True)
class SandboxSettings:
    """Limits for each run: timeout (seconds), memory (MiB), per-stream output (bytes),
    processes, file size (MiB); ``bwrap`` is the bubblewrap executable, and
    ``unsafe_local=True`` opts out of kernel isolation (a plain child process)."""

    timeout: float = 30.0
    memory_mb: int = 1024
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES
    max_processes: int = DEFAULT_MAX_PROCESSES
    max_file_mb: int = DEFAULT_MAX_FILE_MB
    bwrap: str = "bwrap"
    unsafe_local: bool = False

    def unavailable_reason(self) -> str | None:
        """Why these settings cannot run code here (no kernel isolation), else None."""
        return None if self.unsafe_local else unavailable_reason(self.bwrap)

    def run(self, code: str, *, workdir: Path, output_dir: Path | None = None) -> ExecutionResult:
        """:func:`run_python` with these settings."""
        return run_python(
            code,
            workdir=workdir,
            timeout=self.timeout,
            memory_mb=self.memory_mb,
            max_output_bytes=self.max_output_bytes,
            output_dir=output_dir,
            max_processes=self.max_processes,
            max_file_mb=self.max_file_mb,
            bwrap=self.bwrap,
            unsafe_local=self.unsafe_local,
        )

    async def arun(
        self, code: str, *, workdir: Path, output_dir: Path | None = None
    ) -> ExecutionResult:
        """:func:`arun_python` with these settings."""
        return await arun_python(
            code,
            workdir=workdir,
            timeout=self.timeout,
            memory_mb=self.memory_mb,
            max_output_bytes=self.max_output_bytes,
            output_dir=output_dir,
            max_processes=self.max_processes,
            max_file_mb=self.max_file_mb,
            bwrap=self.bwrap,
            unsafe_local=self.unsafe_local,
        )
