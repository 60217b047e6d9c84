"""Where the hosted ``code_interpreter`` runs its code: chosen once by ``--code-interpreter``.

* ``sandbox`` (default): the local kernel sandbox (:mod:`langchain_assistants.sandbox`,
  bubblewrap); when it cannot be set up here, runs with code_interpreter are refused.
* ``e2b``: E2B's remote sandboxes, through the same :class:`E2BBackend` as ``PythonCodeTool``
  (one remote sandbox per thread, kept while the thread is recently used).
* ``unsafe-local``: the local child process without kernel isolation (rlimits, a network
  namespace and an audit hook only): for trusted code or development.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from langchain_core.tools import ToolException

from ...sandbox import SandboxSettings, bubblewrap
from ...sandbox.plan import OUTPUT_DIRNAME
from ...tools.e2b_backend import API_KEY_ENV, E2BBackend
from ..settings import E2B, UNSAFE_LOCAL, ServerSettings

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg")
MAX_E2B_SANDBOXES = 32


@dataclass(frozen=True)
class CodeRun:
    """What one execution produced: the logs for the model, figure images, changed files."""

    logs: str
    images: list[Path] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


class CodeBackend(Protocol):
    """Runs one thread's code; ``unavailable_reason`` says why it cannot run here (or None)."""

    @property
    def description(self) -> str:
        """One line for the start-up message: the mode and what it contains."""
        ...

    def unavailable_reason(self) -> str | None: ...

    async def run(self, code: str, *, thread_id: str, workdir: Path) -> CodeRun: ...

    async def aclose(self) -> None:
        """Release what the backend holds (remote sandboxes) when the server stops."""
        ...


class LocalSandbox:
    """The local sandbox (kernel-isolated, or the unsafe local mode)."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings

    @property
    def description(self) -> str:
        if self.settings.unsafe_local:
            return "unsafe-local (NO kernel isolation: model-written code can reach this host)"
        if (reason := self.unavailable_reason()) is not None:
            return f"sandbox UNAVAILABLE, code_interpreter runs will fail: {reason}"
        return f"sandbox: {bubblewrap(self.settings.bwrap).description}"

    def unavailable_reason(self) -> str | None:
        return self.settings.unavailable_reason()

    async def run(self, code: str, *, thread_id: str, workdir: Path) -> CodeRun:
        result = await self.settings.arun(code, workdir=workdir)
        return CodeRun(result.logs, list(result.images), list(result.files))

    async def aclose(self) -> None:
        """Nothing outlives an execution here."""


class E2BSandboxes:
    """E2B remote sandboxes, one :class:`E2BBackend` per thread (least recently used go)."""

    description = "e2b (remote E2B sandboxes)"

    def __init__(self, *, timeout: float) -> None:
        self.timeout = timeout
        self._backends: OrderedDict[str, E2BBackend] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()

    def unavailable_reason(self) -> str | None:
        if importlib.util.find_spec("e2b_code_interpreter") is None:
            return (
                "--code-interpreter e2b needs the e2b-code-interpreter package: "
                "pip install 'langchain-assistants[tools]'."
            )
        if not os.environ.get(API_KEY_ENV):
            return f"--code-interpreter e2b needs the {API_KEY_ENV} environment variable."
        return None

    def backend(self, thread_id: str, workdir: Path) -> E2BBackend:
        backend = self._backends.pop(thread_id, None)
        if backend is None:
            backend = E2BBackend(timeout=self.timeout, output_dir=workdir / OUTPUT_DIRNAME)
        self._backends[thread_id] = backend
        while len(self._backends) > MAX_E2B_SANDBOXES:
            _, evicted = self._backends.popitem(last=False)
            task = asyncio.get_running_loop().create_task(evicted.aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        return backend

    async def run(self, code: str, *, thread_id: str, workdir: Path) -> CodeRun:
        try:
            result = await self.backend(thread_id, workdir).arun(code)
        except ToolException as exc:  # infrastructure (network, key): the model sees why
            return CodeRun(f"E2B error: {exc}\n")
        logs = "".join(
            text if text.endswith("\n") else text + "\n"
            for text in (result.stdout, result.stderr)
            if text
        )
        images = [Path(a) for a in result.artifacts if a.lower().endswith(_IMAGE_SUFFIXES)]
        return CodeRun(logs, images)

    async def aclose(self) -> None:
        """Kill every remote sandbox still held."""
        backends, self._backends = list(self._backends.values()), OrderedDict()
        await asyncio.gather(*(backend.aclose() for backend in backends), *self._closing)


def code_backend(settings: ServerSettings) -> CodeBackend:
    """The backend ``settings.code_interpreter`` names."""
    if settings.code_interpreter == E2B:
        return E2BSandboxes(timeout=settings.code_timeout_seconds)
    return LocalSandbox(
        SandboxSettings(
            timeout=settings.code_timeout_seconds,
            memory_mb=settings.code_memory_mb,
            bwrap=settings.code_bwrap_path,
            unsafe_local=settings.code_interpreter == UNSAFE_LOCAL,
        )
    )
