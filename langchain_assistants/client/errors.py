"""Typed errors for assistant runs that end without an answer.

Every error carries the run (when known) so callers can inspect it, and a message that
says what happened and why (the server's ``last_error`` or ``incomplete_details``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import openai

__all__ = [
    "AssistantConnectionError",
    "AssistantRunCancelledError",
    "AssistantRunError",
    "AssistantRunExpiredError",
    "AssistantRunFailedError",
    "AssistantRunIncompleteError",
    "AssistantRunTimeoutError",
    "AssistantThreadBusyError",
    "error_for_run",
]


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


class AssistantRunError(ValueError):
    """Base class: an assistant run did not produce an answer.

    A ``ValueError``, like the errors the legacy ``langchain`` class raised for failed,
    expired and cancelled runs, so ``except ValueError`` keeps working after migrating.

    Attributes:
        run: The SDK ``Run`` as last seen (``None`` if the server never reported one).
        status: The run's status (``"failed"``, ``"expired"``, ...).
        last_error: The run's ``last_error`` (``code`` and ``message``), if any.
        incomplete_details: The run's ``incomplete_details`` (``reason``), if any.
        run_id: The run's id, if known.
        thread_id: The thread's id, if known.
    """

    default_status: str | None = None

    def __init__(
        self,
        message: str | None = None,
        *,
        run: Any = None,
        status: str | None = None,
        run_id: str | None = None,
        thread_id: str | None = None,
    ) -> None:
        self.run = run
        self.status = status or _get(run, "status") or self.default_status
        self.last_error = _get(run, "last_error")
        self.incomplete_details = _get(run, "incomplete_details")
        self.run_id = run_id or _get(run, "id")
        self.thread_id = thread_id or _get(run, "thread_id")
        super().__init__(message or self._describe())

    def _describe(self) -> str:
        where = f"Run {self.run_id or '<unknown>'}"
        if self.thread_id:
            where += f" on thread {self.thread_id}"
        text = f"{where} ended with status {self.status!r}"
        reason = self.reason
        return f"{text}: {reason}" if reason else f"{text}."

    @property
    def reason(self) -> str | None:
        """Why the run ended, in the server's words, if it said."""
        if self.last_error is not None:
            code = _get(self.last_error, "code")
            message = _get(self.last_error, "message")
            return f"{code}: {message}" if code else str(message)
        if self.incomplete_details is not None:
            reason = _get(self.incomplete_details, "reason")
            return f"incomplete because of {reason}" if reason else None
        return None

    def __reduce__(self) -> Any:
        return (
            _rebuild_error,
            (type(self), str(self), self.run, self.status, self.run_id, self.thread_id),
        )


def _rebuild_error(
    cls: type[AssistantRunError],
    message: str,
    run: Any,
    status: str | None,
    run_id: str | None,
    thread_id: str | None,
) -> AssistantRunError:
    return cls(message, run=run, status=status, run_id=run_id, thread_id=thread_id)


class AssistantRunFailedError(AssistantRunError):
    """The run failed (``last_error`` says why: server_error, rate_limit_exceeded, ...)."""

    default_status = "failed"


class AssistantRunExpiredError(AssistantRunError):
    """The run expired: tool outputs were not submitted before ``expires_at``."""

    default_status = "expired"

    def _describe(self) -> str:
        return (
            super()._describe().rstrip(".")
            + ". Tool outputs must be submitted before the run's expires_at."
        )


class AssistantRunCancelledError(AssistantRunError):
    """The run was cancelled (by this client, another client, or the server)."""

    default_status = "cancelled"


class AssistantRunIncompleteError(AssistantRunError):
    """The run stopped early, e.g. it hit ``max_completion_tokens`` or ``max_prompt_tokens``."""

    default_status = "incomplete"


class AssistantRunTimeoutError(AssistantRunError, TimeoutError):
    """The turn took longer than the runnable's ``timeout``; the run was cancelled."""

    def __init__(
        self,
        message: str | None = None,
        *,
        timeout: float | None = None,
        run: Any = None,
        status: str | None = None,
        run_id: str | None = None,
        thread_id: str | None = None,
    ) -> None:
        self.timeout = timeout
        super().__init__(message, run=run, status=status, run_id=run_id, thread_id=thread_id)

    def _describe(self) -> str:
        if not self.run_id:  # the request creating the run had not been answered
            return (
                f"Timed out after {self.timeout}s before the server named the run; if it was "
                "created, it could not be cancelled (its thread is unknown)."
            )
        where = f"run {self.run_id}"
        if self.thread_id:
            where += f" on thread {self.thread_id}"
        last = f" (last status {self.status!r})" if self.status else ""
        return f"Timed out after {self.timeout}s waiting for {where}{last}; it was cancelled."


class AssistantThreadBusyError(AssistantRunError):
    """The thread has an active run and ``on_active_run="raise"`` was chosen."""

    def _describe(self) -> str:
        return (
            f"Thread {self.thread_id} has an active run {self.run_id} "
            f"(status {self.status!r}). Cancel it, wait for it, or set "
            "on_active_run='cancel' or 'wait'."
        )


class AssistantConnectionError(openai.APIConnectionError):
    """The Assistants server could not be reached (wrong ``base_url``, server not running).

    Still an ``openai.APIConnectionError``; its message names the URL and what to check.
    """

    def __init__(self, cause: openai.APIConnectionError) -> None:
        url = str(cause.request.url) if cause.request is not None else "<unknown URL>"
        detail = str(cause.__cause__ or cause)
        super().__init__(
            message=(
                f"Could not reach the Assistants server at {url} ({detail}). Check that the "
                "server is running (e.g. `langchain-assistants serve`) and that the client's "
                "base_url (or OPENAI_BASE_URL) points at it, e.g. http://127.0.0.1:8000/v1."
            ),
            request=cause.request,
        )


@contextmanager
def naming_unreachable_server() -> Iterator[None]:
    """Turn the SDK's bare "Connection error." into :class:`AssistantConnectionError`."""
    try:
        yield
    except openai.APIConnectionError as exc:
        if type(exc) is not openai.APIConnectionError:
            raise  # a timeout, or already ours
        raise AssistantConnectionError(exc) from exc


_BY_STATUS: dict[str, type[AssistantRunError]] = {
    "failed": AssistantRunFailedError,
    "expired": AssistantRunExpiredError,
    "cancelled": AssistantRunCancelledError,
    "incomplete": AssistantRunIncompleteError,
}


def error_for_run(run: Any) -> AssistantRunError | None:
    """The typed error for a run that ended without an answer, else ``None``."""
    cls = _BY_STATUS.get(str(_get(run, "status")))
    return cls(run=run) if cls is not None else None
