"""Code backend on E2B's hosted code interpreter (``e2b-code-interpreter``, imported lazily).

One remote sandbox per backend and per mode (sync / async), created on first use and kept,
so variables persist between calls like in a notebook. The sandbox constructors are
injectable (``sandbox_factory`` / ``async_sandbox_factory``) so tests never touch the
network; by default they are ``Sandbox.create`` / ``AsyncSandbox.create``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import threading
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

from langchain_core.tools import ToolException
from pydantic import SecretStr

from ._tempdir import owned_tempdir
from .code_result import CodeResult

API_KEY_ENV = "E2B_API_KEY"
_INSTALL_HINT = "pip install 'langchain-assistants[tools]' (or e2b-code-interpreter)"
_IMAGE_FORMATS = (("png", "png", True), ("jpeg", "jpg", True), ("svg", "svg", False))


class E2BSandbox(Protocol):
    """What this backend uses of ``e2b_code_interpreter.Sandbox``."""

    def run_code(self, code: str, *, timeout: float | None = None) -> Any: ...

    def kill(self) -> Any: ...


class AsyncE2BSandbox(Protocol):
    """What this backend uses of ``e2b_code_interpreter.AsyncSandbox``."""

    async def run_code(self, code: str, *, timeout: float | None = None) -> Any: ...

    async def kill(self) -> Any: ...


SandboxFactory = Callable[[str], E2BSandbox]
AsyncSandboxFactory = Callable[[str], Awaitable[AsyncE2BSandbox]]


class E2BBackend:
    """Run code in an E2B cloud sandbox.

    ``api_key`` defaults to the ``E2B_API_KEY`` environment variable (read at first use).
    ``timeout`` bounds each execution; ``sandbox_timeout`` is the remote sandbox's lifetime.
    Images the code displays are saved under ``output_dir`` (a private temporary directory
    by default) and reported as artifacts.
    """

    def __init__(
        self,
        *,
        api_key: SecretStr | str | None = None,
        timeout: float = 60.0,
        sandbox_timeout: int = 300,
        output_dir: Path | str | None = None,
        sandbox_factory: SandboxFactory | None = None,
        async_sandbox_factory: AsyncSandboxFactory | None = None,
    ) -> None:
        self.api_key = SecretStr(api_key) if isinstance(api_key, str) else api_key
        self.timeout = timeout
        self.sandbox_timeout = sandbox_timeout
        self._output_dir = Path(output_dir) if output_dir is not None else None
        self._sandbox_factory = sandbox_factory or self._create_sandbox
        self._async_sandbox_factory = async_sandbox_factory or self._acreate_sandbox
        self._sandbox: E2BSandbox | None = None
        self._async_sandbox: AsyncE2BSandbox | None = None
        self._lock = threading.Lock()
        self._async_lock: asyncio.Lock | None = None

    @property
    def output_dir(self) -> Path:
        """Where displayed images are saved (created on first use)."""
        if self._output_dir is None:
            self._output_dir = owned_tempdir(self, prefix="e2b-artifacts-")
        return self._output_dir

    def resolve_api_key(self) -> str:
        """The API key to use, or a ``ToolException`` naming ``E2B_API_KEY``."""
        key = self.api_key.get_secret_value() if self.api_key else os.environ.get(API_KEY_ENV)
        if not key:
            raise ToolException(
                f"No E2B API key: pass api_key=... to E2BBackend or set the {API_KEY_ENV} "
                "environment variable."
            )
        return key

    def run(self, code: str) -> CodeResult:
        """Run ``code`` in the (lazily created) sync sandbox."""
        with self._lock:
            try:
                if self._sandbox is None:
                    self._sandbox = self._sandbox_factory(self.resolve_api_key())
                execution = self._sandbox.run_code(code, timeout=self.timeout)
            except ToolException:
                raise
            except Exception as exc:
                sandbox, self._sandbox = self._sandbox, None
                if is_execution_timeout(exc):
                    _kill_quietly(sandbox)
                    return self._timeout_result()
                raise translate_error(exc) from exc
        return execution_to_result(execution, self.output_dir)

    async def arun(self, code: str) -> CodeResult:
        """Run ``code`` in the (lazily created) async sandbox; never blocks the loop."""
        if self._async_lock is None:
            self._async_lock = asyncio.Lock()
        async with self._async_lock:
            try:
                if self._async_sandbox is None:
                    key = self.resolve_api_key()
                    self._async_sandbox = await self._async_sandbox_factory(key)
                execution = await self._async_sandbox.run_code(code, timeout=self.timeout)
            except ToolException:
                raise
            except Exception as exc:
                sandbox, self._async_sandbox = self._async_sandbox, None
                if is_execution_timeout(exc):
                    await _akill_quietly(sandbox)
                    return self._timeout_result()
                raise translate_error(exc) from exc
        return await asyncio.to_thread(execution_to_result, execution, self.output_dir)

    def close(self) -> None:
        """Kill the sync sandbox, if one was created."""
        sandbox, self._sandbox = self._sandbox, None
        _kill_quietly(sandbox)

    async def aclose(self) -> None:
        """Kill the async sandbox, if one was created."""
        sandbox, self._async_sandbox = self._async_sandbox, None
        await _akill_quietly(sandbox)

    def _timeout_result(self) -> CodeResult:
        return CodeResult(
            stdout="",
            stderr=(
                f"Execution timed out after {self.timeout}s; the E2B sandbox was discarded, "
                "so variables from earlier calls are gone.\n"
            ),
        )

    def _create_sandbox(self, api_key: str) -> E2BSandbox:
        try:
            from e2b_code_interpreter import Sandbox
        except ImportError as exc:
            raise ToolException(f"E2BBackend needs e2b-code-interpreter: {_INSTALL_HINT}") from exc
        sandbox: E2BSandbox = Sandbox.create(api_key=api_key, timeout=self.sandbox_timeout)
        return sandbox

    async def _acreate_sandbox(self, api_key: str) -> AsyncE2BSandbox:
        try:
            from e2b_code_interpreter import AsyncSandbox
        except ImportError as exc:
            raise ToolException(f"E2BBackend needs e2b-code-interpreter: {_INSTALL_HINT}") from exc
        sandbox: AsyncE2BSandbox = await AsyncSandbox.create(
            api_key=api_key, timeout=self.sandbox_timeout
        )
        return sandbox


def execution_to_result(execution: Any, output_dir: Path) -> CodeResult:
    """Map an E2B ``Execution`` to a :class:`CodeResult`, saving displayed images.

    The main result's text (a final expression's value) is appended to stdout, as the local
    sandbox prints it; an error's traceback goes to stderr.
    """
    logs = getattr(execution, "logs", None)
    stdout = "".join(getattr(logs, "stdout", None) or [])
    stderr = "".join(getattr(logs, "stderr", None) or [])
    artifacts: list[str] = []
    batch = uuid.uuid4().hex[:12]
    for index, result in enumerate(getattr(execution, "results", None) or [], start=1):
        text = getattr(result, "text", None)
        if getattr(result, "is_main_result", False) and text:
            stdout += text if text.endswith("\n") else text + "\n"
        for attribute, extension, is_base64 in _IMAGE_FORMATS:
            data = getattr(result, attribute, None)
            if data:
                path = output_dir / f"{batch}-result-{index}.{extension}"
                output_dir.mkdir(parents=True, exist_ok=True)
                if is_base64:
                    path.write_bytes(base64.b64decode(data))
                else:
                    path.write_text(data, encoding="utf-8")
                artifacts.append(str(path))
                break
    error = getattr(execution, "error", None)
    if error is not None:
        detail = getattr(error, "traceback", "") or f"{error.name}: {error.value}"
        stderr += detail if detail.endswith("\n") else detail + "\n"
    return CodeResult(stdout=stdout, stderr=stderr, artifacts=artifacts)


def is_execution_timeout(exc: BaseException) -> bool:
    """True for E2B's "the code ran too long" error (as opposed to a request timeout)."""
    timeout_errors = _e2b_errors("TimeoutException")
    return isinstance(exc, timeout_errors) and str(exc).startswith("Execution timed out")


def translate_error(exc: BaseException) -> ToolException:
    """A clear ``ToolException`` for an infrastructure failure talking to E2B."""
    if isinstance(exc, _e2b_errors("AuthenticationException")):
        return ToolException(f"E2B rejected the API key (check {API_KEY_ENV}): {exc}")
    if isinstance(exc, _network_errors()):
        return ToolException(
            f"Could not reach E2B (network error): {exc}. Check connectivity to E2B, or use "
            "the local sandbox backend."
        )
    return ToolException(f"E2B sandbox error: {type(exc).__name__}: {exc}")


def _e2b_errors(*names: str) -> tuple[type[BaseException], ...]:
    """The named ``e2b`` exception classes, or none if the SDK is not installed."""
    try:
        import e2b
    except ImportError:
        return ()
    return tuple(getattr(e2b, name) for name in names if hasattr(e2b, name))


def _network_errors() -> tuple[type[BaseException], ...]:
    """Connection failures: OS-level, httpx transport errors and E2B request timeouts."""
    errors: tuple[type[BaseException], ...] = (OSError, TimeoutError)
    with contextlib.suppress(ImportError):
        import httpx

        errors += (httpx.TransportError,)
    return errors + _e2b_errors("TimeoutException")


def _kill_quietly(sandbox: E2BSandbox | None) -> None:
    if sandbox is not None:
        with contextlib.suppress(Exception):
            sandbox.kill()


async def _akill_quietly(sandbox: AsyncE2BSandbox | None) -> None:
    if sandbox is not None:
        with contextlib.suppress(Exception):
            await sandbox.kill()
