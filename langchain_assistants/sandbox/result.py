"""The outcome of one sandboxed execution, and the text a model should see for it."""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ExecutionResult:
    """What a cell printed, how its process ended, and what it produced.

    ``exit_code`` is the process return code (negative: killed by that signal; ``None``: not
    known). ``images`` are PNGs of the matplotlib figures left open; ``files`` are files in the
    working directory that the cell created or modified. ``timeout`` is the limit that applied
    (used to word the timeout line in ``logs``). ``oom_kills``: how many of its processes the
    kernel killed at the execution's memory limit (``memory_mb``; known where it has a
    cgroup).
    """

    stdout: str
    stderr: str
    exit_code: int | None
    timed_out: bool
    images: list[Path] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    timeout: float | None = None
    oom_kills: int = 0
    memory_mb: int | None = None

    @property
    def ok(self) -> bool:
        """True when the cell ran to completion with exit code 0."""
        return not self.timed_out and self.exit_code == 0

    @property
    def status_line(self) -> str | None:
        """One line explaining an abnormal end (timeout, crash, error exit), else None."""
        line = status_line(self.exit_code, timed_out=self.timed_out, timeout=self.timeout)
        if not self.oom_kills:
            return line
        killed = "a process" if self.oom_kills == 1 else f"{self.oom_kills} processes"
        limit = f" of {self.memory_mb} MiB" if self.memory_mb else ""
        memory = f"Out of memory: the kernel killed {killed} at the execution's memory limit{limit}"
        if line is None:
            return memory
        return line.replace(": memory limit?", "") + f". {memory}"

    @property
    def logs(self) -> str:
        """Combined text for the model: stdout, then stderr, then the status line if any."""
        parts = [
            text if text.endswith("\n") else text + "\n" for text in (self.stdout, self.stderr)
        ]
        if (line := self.status_line) is not None:
            parts.append(line + "\n")
        return "".join(part for part in parts if part.strip())


def status_line(
    exit_code: int | None, *, timed_out: bool, timeout: float | None = None
) -> str | None:
    """Describe how a process ended, or None when it exited normally with code 0."""
    if timed_out:
        return (
            f"Execution timed out after {timeout}s"
            if timeout is not None
            else "Execution timed out"
        )
    if exit_code is None:
        return "Process ended without an exit code"
    if exit_code == 0:
        return None
    if exit_code > 0:
        return f"Process exited with code {exit_code}"
    return f"Process exited with code {exit_code} ({_signal_reason(-exit_code)})"


def _signal_reason(signum: int) -> str:
    try:
        name = signal.Signals(signum).name
    except ValueError:
        return f"killed by signal {signum}"
    if signum == signal.SIGKILL:
        return f"killed by {name}: memory limit?"
    if signum == signal.SIGXCPU:
        return f"killed by {name}: CPU time limit"
    if signum in (signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT, signal.SIGILL, signal.SIGFPE):
        return f"crashed with {name}"
    return f"killed by {name}"
