"""One turn of an assistant, written once for sync and async.

A turn is a generator that *yields* the I/O it needs (:class:`Call`, :class:`ListAll`,
:class:`StreamCall`, :class:`Sleep`, :class:`Attempt`) and receives the results. The
runnable has two small drivers that perform these effects, one with the sync client and
one with the async client; every decision (what to send, when to poll, what to cancel,
what to return) lives here, so sync and async behave the same by construction.

Exceptions raised while performing an effect (including ``KeyboardInterrupt`` and
``asyncio.CancelledError``) are thrown back into the generator, which cancels the run it
was driving before re-raising, so the thread is never left locked.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Literal

import openai

from .errors import (
    AssistantConnectionError,
    AssistantRunTimeoutError,
    AssistantThreadBusyError,
    error_for_run,
)
from .outputs import output_for
from .requests import (
    ACTIVE_RUN_STATUSES,
    TERMINAL_RUN_STATUSES,
    TurnPlan,
    active_runs,
    poll_delay_seconds,
    required_call_ids,
    select_tool_outputs,
)
from .streaming import StreamState

__all__ = [
    "Attempt",
    "Call",
    "Deadline",
    "ListAll",
    "Settings",
    "Sleep",
    "StreamCall",
    "TurnResult",
    "cancel_active_runs",
    "turn",
]

OnActiveRun = Literal["cancel", "wait", "raise"]

#: Seconds allowed for each best-effort cleanup request (cancelling a run).
CLEANUP_TIMEOUT = 10.0
#: Calls whose stream carries a run from its creation, so every message of the run.
RUN_CREATING_CALLS = frozenset({"beta.threads.runs.create", "beta.threads.create_and_run"})
#: How many recent runs to inspect when looking for a thread's active run.
ACTIVE_RUN_LOOKUP_LIMIT = 10


# --------------------------------------------------------------------------- effects


@dataclass(frozen=True)
class Call:
    """Call ``client.<path>(*args, **kwargs)`` (awaited with the async client)."""

    path: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    timeout: float | None = None

    def call_kwargs(self) -> dict[str, Any]:
        if self.timeout is None:
            return self.kwargs
        return {**self.kwargs, "timeout": self.timeout}


@dataclass(frozen=True)
class ListAll(Call):
    """Like :class:`Call` for a list endpoint; the result is every item of every page."""


@dataclass(frozen=True)
class StreamCall(Call):
    """Call with ``stream=True``; fold each event into ``state`` (and dispatch callbacks).

    The driver raises :class:`~.errors.AssistantRunTimeoutError` once ``deadline`` passes.
    The result is ``state``.
    """

    state: StreamState = field(default_factory=StreamState)
    deadline: Deadline | None = None


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Attempt:
    """Perform ``effect``; the result is ``(True, value)`` or ``(False, exception)``."""

    effect: Call


Effect = Call | Sleep | Attempt
Flow = Generator[Effect, Any, Any]


# --------------------------------------------------------------------------- state


@dataclass
class Deadline:
    """A turn's time budget (``None``: unbounded)."""

    timeout: float | None
    start: float = field(default_factory=time.monotonic)

    def remaining(self) -> float | None:
        if self.timeout is None:
            return None
        return max(0.0, self.timeout - (time.monotonic() - self.start))

    def expired(self) -> bool:
        remaining = self.remaining()
        return remaining is not None and remaining <= 0.0

    def request_timeout(self) -> float | None:
        """Timeout for the next request: what is left of the turn (at least a little)."""
        remaining = self.remaining()
        return None if remaining is None else max(remaining, 0.05)


@dataclass
class Settings:
    """The runnable's options that shape a turn."""

    assistant_id: str
    as_agent: bool = False
    use_streaming: bool = True
    timeout: float | None = None
    on_active_run: OnActiveRun = "cancel"
    cancel_on_error: bool = True
    check_every_ms: float = 1_000.0


@dataclass
class TurnResult:
    run: Any
    output: Any


@dataclass
class _Tracker:
    """What this turn drives, so a failed turn can cancel exactly that."""

    thread_id: str | None = None
    run_id: str | None = None
    status: str | None = None
    run: Any = None
    #: The stream in flight, if any (it knows the run before we do).
    stream: StreamState | None = None
    #: Wall-clock second the turn began writing (to recognise a run we created).
    started_at: float = field(default_factory=time.time)
    wrote: bool = False
    #: Messages completed by a stream that created the run and saw it settle: the
    #: whole answer of that run, so it need not be listed again.
    answered: dict[str, Any] | None = None

    def see(self, run: Any) -> None:
        self.run = run
        self.thread_id = run.thread_id
        self.run_id = run.id
        self.status = run.status

    def current(self) -> tuple[str | None, str | None, str | None]:
        if self.stream is not None and self.stream.run is not None:
            self.see(self.stream.run)
        elif self.stream is not None and self.stream.thread_id:
            self.thread_id = self.stream.thread_id
        return self.thread_id, self.run_id, self.status


# --------------------------------------------------------------------------- helpers


def _settled(run: Any) -> bool:
    return run.status in TERMINAL_RUN_STATUSES or run.status == "requires_action"


def _timeout_error(settings: Settings, run: Any = None, **ids: Any) -> AssistantRunTimeoutError:
    return AssistantRunTimeoutError(timeout=settings.timeout, run=run, **ids)


def _poll(
    run: Any, settings: Settings, deadline: Deadline, tracker: _Tracker, *, until: Any = _settled
) -> Flow:
    """Re-read the run until ``until(run)``, waiting as the server's poll header says."""
    delay = 0.0
    attempt = 0
    while not until(run):
        if delay:
            yield Sleep(delay)
        if deadline.expired():
            raise _timeout_error(settings, run)
        response = yield Call(
            "beta.threads.runs.with_raw_response.retrieve",
            (run.id,),
            {"thread_id": run.thread_id},
            timeout=deadline.request_timeout(),
        )
        run = response.parse()
        tracker.see(run)
        delay = poll_delay_seconds(
            response.headers.get("openai-poll-after-ms"),
            attempt,
            settings.check_every_ms,
            deadline.remaining(),
        )
        attempt += 1
    return run


def _thread_busy(exc: openai.BadRequestError) -> bool:
    """The 400 the API answers when a run still locks the thread."""
    return "active run" in str(exc.message) or " is active" in str(exc.message)


def _is_stream_error(exc: BaseException) -> bool:
    """An ``error`` event inside a stream (not an HTTP status or connection problem)."""
    return isinstance(exc, openai.APIError) and not isinstance(
        exc, (openai.APIStatusError, openai.APIConnectionError)
    )


def _run_call(
    path: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    settings: Settings,
    deadline: Deadline,
    tracker: _Tracker,
) -> Flow:
    """Start or continue a run and follow it until it completes, stops or waits for tools.

    Streaming (default): one request whose events carry the whole turn. Polling: the
    request, then ``GET run`` at the pace the server asks for.
    """
    tracker.wrote = True
    if settings.use_streaming:
        state = StreamState(thread_id=tracker.thread_id)
        tracker.stream = state
        try:
            yield StreamCall(
                path,
                args,
                {**kwargs, "stream": True},
                timeout=deadline.request_timeout(),
                state=state,
                deadline=deadline,
            )
        except Exception as exc:
            if not (_is_stream_error(exc) and state.run is not None):
                raise
        tracker.current()
        tracker.stream = None
        if state.run is None:
            raise RuntimeError(f"The server's stream for {path} ended without reporting a run.")
        run = state.run
        if path in RUN_CREATING_CALLS and _settled(run):
            tracker.answered = state.messages
    else:
        run = yield Call(path, args, kwargs, timeout=deadline.request_timeout())
        tracker.see(run)
    if not _settled(run):
        run = yield from _poll(run, settings, deadline, tracker)
    return run


def _clear_thread(thread_id: str, settings: Settings, deadline: Deadline) -> Flow:
    """Apply ``on_active_run`` before writing to a thread that may have an active run.

    A thread is locked while a run is queued, in progress, waiting for tool outputs or
    being cancelled (e.g. an AgentExecutor stopped mid-run). ``cancel`` cancels it and
    waits until it is cancelled, ``wait`` waits for it to end, ``raise`` raises
    :class:`~.errors.AssistantThreadBusyError`.
    """
    page = yield Call(
        "beta.threads.runs.list",
        (thread_id,),
        {"limit": ACTIVE_RUN_LOOKUP_LIMIT, "order": "desc"},
        timeout=deadline.request_timeout(),
    )
    found = active_runs(page.data)
    for run in found:
        if settings.on_active_run == "raise":
            raise AssistantThreadBusyError(run=run)
        if settings.on_active_run == "cancel" and run.status != "cancelling":
            ok, result = yield Attempt(
                Call(
                    "beta.threads.runs.cancel",
                    (run.id,),
                    {"thread_id": thread_id},
                    timeout=deadline.request_timeout(),
                )
            )
            if ok:
                run = result
            elif not isinstance(result, openai.BadRequestError):
                raise result
            # A 400 means the run ended meanwhile; re-reading it below confirms.
        # A separate tracker: if this wait times out, the other run is not ours to cancel.
        yield from _poll(
            run, settings, deadline, _Tracker(), until=lambda r: r.status not in ACTIVE_RUN_STATUSES
        )
    return found


def _drive(plan: TurnPlan, settings: Settings, deadline: Deadline, tracker: _Tracker) -> Flow:
    """Send the turn and return the run once it completes, stops or waits for tools."""
    if plan.kind in ("submit", "submit_steps", "resume"):
        assert plan.thread_id and plan.run_id
        tracker.thread_id, tracker.run_id = plan.thread_id, plan.run_id
        outputs = plan.tool_outputs
        if plan.kind != "submit":
            run = yield Call(
                "beta.threads.runs.retrieve",
                (plan.run_id,),
                {"thread_id": plan.thread_id},
                timeout=deadline.request_timeout(),
            )
            tracker.see(run)
            if plan.kind == "resume" or run.status != "requires_action":
                # Nothing to submit: follow the run to where it stops.
                if not _settled(run):
                    run = yield from _poll(run, settings, deadline, tracker)
                return run
            outputs = select_tool_outputs(plan.steps, run.id, required_call_ids(run))
        else:
            tracker.status = "requires_action"
        try:
            return (
                yield from _run_call(
                    "beta.threads.runs.submit_tool_outputs",
                    (plan.run_id,),
                    {"thread_id": plan.thread_id, "tool_outputs": outputs},
                    settings,
                    deadline,
                    tracker,
                )
            )
        except openai.BadRequestError as exc:
            # Refused, e.g. because the run expired or was cancelled meanwhile: say so.
            run = yield Call(
                "beta.threads.runs.retrieve",
                (plan.run_id,),
                {"thread_id": plan.thread_id},
                timeout=deadline.request_timeout(),
            )
            tracker.see(run)
            error = error_for_run(run)
            if error is not None:
                raise error from exc
            raise

    if plan.kind == "existing_thread":
        assert plan.thread_id
        thread_id = plan.thread_id
        tracker.thread_id = thread_id
        if plan.thread_update:
            yield Call(
                "beta.threads.update",
                (thread_id,),
                plan.thread_update,
                timeout=deadline.request_timeout(),
            )
        # The user's message travels with the run (first of its additional messages): one
        # request. Only if the thread is busy is ``on_active_run`` applied, then retried.
        run_kwargs = dict(plan.run)
        if plan.message is not None:
            run_kwargs["additional_messages"] = [
                plan.message,
                *(run_kwargs.get("additional_messages") or []),
            ]
        try:
            return (
                yield from _run_call(
                    "beta.threads.runs.create",
                    (thread_id,),
                    run_kwargs,
                    settings,
                    deadline,
                    tracker,
                )
            )
        except openai.BadRequestError as exc:
            if not _thread_busy(exc):
                raise
        tracker.wrote = False  # refused: nothing of ours is on the thread
        yield from _clear_thread(thread_id, settings, deadline)
        return (
            yield from _run_call(
                "beta.threads.runs.create", (thread_id,), run_kwargs, settings, deadline, tracker
            )
        )
    elif plan.create_and_run:
        return (
            yield from _run_call(
                "beta.threads.create_and_run",
                (),
                {"thread": plan.thread, **plan.run},
                settings,
                deadline,
                tracker,
            )
        )
    else:
        thread = yield Call(
            "beta.threads.create", (), dict(plan.thread or {}), timeout=deadline.request_timeout()
        )
        thread_id = thread.id
        tracker.thread_id = thread_id
    return (
        yield from _run_call(
            "beta.threads.runs.create", (thread_id,), dict(plan.run), settings, deadline, tracker
        )
    )


def _abort(tracker: _Tracker) -> Flow:
    """Best effort: cancel the run this turn was driving, if it still locks its thread."""
    thread_id, run_id, status = tracker.current()
    if not thread_id:
        return
    targets: list[str] = []
    if run_id and (status is None or status in ACTIVE_RUN_STATUSES) and status != "cancelling":
        targets.append(run_id)
    elif run_id is None and tracker.wrote:
        # Interrupted before the server named the run: find the one we just created.
        ok, page = yield Attempt(
            Call(
                "beta.threads.runs.list",
                (thread_id,),
                {"limit": ACTIVE_RUN_LOOKUP_LIMIT, "order": "desc"},
                timeout=CLEANUP_TIMEOUT,
            )
        )
        if ok:
            targets = [
                run.id
                for run in active_runs(page.data)
                if run.created_at >= int(tracker.started_at) - 1 and run.status != "cancelling"
            ]
    for target in targets:
        yield Attempt(
            Call(
                "beta.threads.runs.cancel",
                (target,),
                {"thread_id": thread_id},
                timeout=CLEANUP_TIMEOUT,
            )
        )


def turn(plan: TurnPlan, settings: Settings) -> Flow:
    """Run one turn of ``plan``; return a :class:`TurnResult`.

    Raises:
        AssistantRunError: subclasses for failed, expired, cancelled, incomplete runs,
            for a timeout, and for a busy thread (``on_active_run="raise"``).
    """
    deadline = Deadline(settings.timeout)
    tracker = _Tracker()
    try:
        run = yield from _drive(plan, settings, deadline, tracker)
        error = error_for_run(run)
        if error is not None:
            raise error
        messages = None
        if run.status == "completed" and tracker.answered is not None:
            # The stream that created the run delivered its messages already.
            messages = [m for m in tracker.answered.values() if m.run_id == run.id]
        elif run.status == "completed":
            # Only this run's messages: never the whole thread.
            messages = yield ListAll(
                "beta.threads.messages.list",
                (run.thread_id,),
                {"run_id": run.id, "order": "asc", "limit": 100},
                timeout=deadline.request_timeout(),
            )
        return TurnResult(run=run, output=output_for(run, messages, as_agent=settings.as_agent))
    except GeneratorExit:
        raise  # the flow was closed: no more effects may be yielded
    except BaseException as exc:
        if settings.cancel_on_error:
            yield from _abort(tracker)
        if isinstance(exc, openai.APITimeoutError) and deadline.expired():
            thread_id, run_id, _ = tracker.current()
            raise _timeout_error(settings, tracker.run, run_id=run_id, thread_id=thread_id) from exc
        if type(exc) is openai.APIConnectionError:  # not a timeout: the server is not there
            raise AssistantConnectionError(exc) from exc
        raise


def cancel_active_runs(thread_id: str, settings: Settings) -> Flow:
    """Cancel every active run of a thread and wait until none is left; return them."""
    cancel = Settings(
        assistant_id=settings.assistant_id,
        timeout=settings.timeout,
        on_active_run="cancel",
        check_every_ms=settings.check_every_ms,
    )
    return (yield from _clear_thread(thread_id, cancel, Deadline(settings.timeout)))
