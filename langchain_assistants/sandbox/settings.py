"""Reusable limits for sandboxed executions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .output import DEFAULT_MAX_OUTPUT_BYTES
from .result import ExecutionResult
from .runner import arun_python, run_python


@dataclass(frozen=True)
class SandboxSettings:
    """Timeout (seconds), memory cap (MiB) and per-stream output cap (bytes) for each run."""

    timeout: float = 30.0
    memory_mb: int = 1024
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES

    def run(self, code: str, *, workdir: Path, output_dir: Path | None = None) -> ExecutionResult:
        """:func:`run_python` with these limits."""
        return run_python(
            code,
            workdir=workdir,
            timeout=self.timeout,
            memory_mb=self.memory_mb,
            max_output_bytes=self.max_output_bytes,
            output_dir=output_dir,
        )

    async def arun(
        self, code: str, *, workdir: Path, output_dir: Path | None = None
    ) -> ExecutionResult:
        """:func:`arun_python` with these limits."""
        return await arun_python(
            code,
            workdir=workdir,
            timeout=self.timeout,
            memory_mb=self.memory_mb,
            max_output_bytes=self.max_output_bytes,
            output_dir=output_dir,
        )
