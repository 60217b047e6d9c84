"""Code backend on the local sandbox: a kernel-isolated process per call, files persist."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from langchain_core.tools import ToolException

from ..sandbox import ExecutionResult, IsolationUnavailable, SandboxSettings
from ._tempdir import owned_tempdir
from .code_result import CodeResult


class LocalSandboxBackend:
    """Run code with :mod:`langchain_assistants.sandbox` in this backend's working directory.

    The code runs in the kernel sandbox (bubblewrap), seeing the working directory as
    ``/mnt/data``; where that sandbox cannot be set up, calls raise a ``ToolException``
    naming the reason, unless the backend is built with ``unsafe_local=True`` (a plain child
    process without kernel isolation). Without ``workdir`` a private temporary directory is
    created on first use and removed when the backend is garbage collected. Variables do not
    survive between calls; files in the working directory do.
    """

    def __init__(
        self,
        workdir: Path | str | None = None,
        *,
        settings: SandboxSettings | None = None,
        unsafe_local: bool = False,
    ) -> None:
        self.settings = settings or SandboxSettings()
        if unsafe_local:
            self.settings = dataclasses.replace(self.settings, unsafe_local=True)
        self._workdir = Path(workdir) if workdir is not None else None

    @property
    def workdir(self) -> Path:
        """The working directory code runs in (created on first use)."""
        if self._workdir is None:
            self._workdir = owned_tempdir(self, prefix="python-tool-")
        return self._workdir

    @workdir.setter
    def workdir(self, value: Path | str) -> None:
        self._workdir = Path(value)

    def run(self, code: str) -> CodeResult:
        """Run ``code`` and wait for it."""
        workdir = self.workdir
        try:
            return to_code_result(self.settings.run(code, workdir=workdir), workdir)
        except IsolationUnavailable as exc:
            raise unavailable_error(exc) from exc

    async def arun(self, code: str) -> CodeResult:
        """Run ``code`` without blocking the event loop."""
        workdir = self.workdir
        try:
            return to_code_result(await self.settings.arun(code, workdir=workdir), workdir)
        except IsolationUnavailable as exc:
            raise unavailable_error(exc) from exc


def unavailable_error(exc: IsolationUnavailable) -> ToolException:
    """The tool's error when the kernel sandbox cannot be set up, naming the opt-out."""
    return ToolException(
        f"The local code sandbox is unavailable: {exc} For PythonCodeTool, "
        "LocalSandboxBackend(unsafe_local=True) runs code without kernel isolation (unsafe)."
    )


def to_code_result(result: ExecutionResult, workdir: Path) -> CodeResult:
    """Fold the status line into stderr; artifacts are images then changed files."""
    stderr = result.stderr
    if (line := result.status_line) is not None:
        if stderr and not stderr.endswith("\n"):
            stderr += "\n"
        stderr += line + "\n"
    paths = [*result.images, *result.files]
    return CodeResult(
        stdout=result.stdout,
        stderr=stderr,
        artifacts=[_display_path(path, workdir) for path in paths],
    )


def _display_path(path: Path, workdir: Path) -> str:
    """Relative to the working directory when inside it (the code's cwd), else absolute."""
    try:
        return str(path.relative_to(workdir.resolve()))
    except ValueError:
        return str(path)
