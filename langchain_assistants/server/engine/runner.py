"""The run engine: each run executes as an asyncio task on a LangChain chat model.

State changes go through here so that the stored objects, the published events and the
thread lock always agree. While a run's task is alive its run dict is shared ("live")
between the task and the endpoints, so a cancel and a completion cannot both win.

Several server processes may share one PostgreSQL database (see README "Scale-out"): the
thread lock is held by the database (``store/locks.py``), each executing run is leased
by its process (``engine/leases.py``, ``store/leases.py``), a cancel through another
process reaches the executor by ``LISTEN``/``NOTIFY`` (``engine/signals.py``), and tool
outputs are taken by whichever process receives them: it claims the waiting run and
executes (and streams) the rest itself, so events never need to cross processes. Run
saves never undo a stop made elsewhere (``Store.save_run``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Sequence
from typing import Any

from openai.types.beta.threads import Run
from openai.types.beta.threads.runs import RunStep

from ..errors import bad_request
from ..retrieval import Retrieval
from ..settings import ServerSettings
from ..store import Insert, Kind, Store, StoreUnavailable
from ..store import leases as run_leases
from ..store.files import FileStore
from ..store.locks import insert_unless_locked
from ..wire import ACTIVE_RUN_STATUSES, checked, now
from .code_files import CodeFiles
from .code_interpreter import CodeInterpreter
from .conversation import tool_result_entries
from .events import EventBus
from .file_search import FileSearch, public_step, wants_content
from .hosted import (
    HostedTool,
    HostedToolUnavailable,
    close_hosted,
    unavailable_reason,
)
from .leases import Found, RunLeases
from .models import ModelResolver
from .outage import until_stored
from .recorder import RunRecorder
from .run_log import log_run_end, log_run_start
from .run_loop import RunLoop, RunStopped
from .signals import RunSignals
from .thread_history import ThreadHistory

log = logging.getLogger(__name__)

SERVER_STOPPED = {
    "code": "server_error",
    "message": "The server stopped while this run was active.",
}
DATABASE_AWAY = {
    "code": "server_error",
    "message": "The database was unavailable while this run was active.",
}


def _lock_for(locks: weakref.WeakValueDictionary[str, asyncio.Lock], key: str) -> asyncio.Lock:
    lock = locks.get(key)
    if lock is None:
        lock = locks[key] = asyncio.Lock()
    return lock


def error_code(exc: BaseException) -> str:
    name = type(exc).__name__.lower()
    return "rate_limit_exceeded" if "ratelimit" in name else "server_error"


class RunEngine:
    def __init__(
        self, store: Store, settings: ServerSettings, files: FileStore, retrieval: Retrieval
    ) -> None:
        self.store = store
        self.settings = settings
        self.files = files
        self.retrieval = retrieval
        self.code_files = CodeFiles(store, files, max_file_bytes=settings.max_file_bytes)
        self.bus = EventBus()
        self.recorder = RunRecorder(store, self.bus)
        self.history = ThreadHistory(store)
        # Tools the server executes itself, by the function name the model calls.
        self.hosted: dict[str, HostedTool] = {
            tool.name: tool
            for tool in (
                CodeInterpreter(settings, self.code_files),
                FileSearch(store, retrieval),
            )
        }
        self.models = ModelResolver(settings.model, settings.allowed_models)
        self.loop = RunLoop(
            history=self.history,
            code_files=self.code_files,
            hosted=self.hosted,
            models=self.models,
            transition=self._transition,
        )
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._live: dict[str, dict[str, Any]] = {}
        # Weak: a lock lives while someone holds or awaits it, so idle ones do not pile up.
        self._run_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._thread_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        # Runs whose task is recording their end: cancelling it then would leave them active.
        self._ending: set[str] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._shutting_down = False
        # Runs this process executed but another process took over (our lease lapsed):
        # their tasks end without writing.
        self._lost: set[str] = set()
        self.leases = RunLeases(
            store, settings.run_lease_seconds, lambda: list(self._tasks), self._on_leases
        )
        self.signals = RunSignals(store.url, self._on_signal)
        self._signal_tasks: set[asyncio.Task[None]] = set()

    @property
    def owner(self) -> str:
        """This process's id on the runs it executes."""
        return self.leases.owner

    # -- lifecycle of the engine ---------------------------------------------------------

    async def startup(self) -> None:
        await self.signals.start()
        await self.recover()
        for tool in self.hosted.values():
            if reason := await asyncio.to_thread(unavailable_reason, tool):
                log.warning("%s runs will fail: %s", tool.name, reason)
        self.leases.start()
        self._sweeper = asyncio.create_task(self._sweep_expired())

    async def shutdown(self) -> None:
        """Stop running runs; they end ``failed`` (the server stopped), never stay locked."""
        self._shutting_down = True
        if self._sweeper:
            self._sweeper.cancel()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        await self.leases.stop()
        await self.signals.stop()
        with contextlib.suppress(Exception):  # e.g. E2B unreachable: nothing more to do
            await close_hosted(self.hosted)

    async def recover(self) -> None:
        """Finish runs no live process executes so no thread stays locked: on SQLite (one
        process) every active run; on PostgreSQL only runs whose lease lapsed and waiting
        runs past their expiry: runs other live processes own are theirs."""
        orphans = await run_leases.claim_orphans(
            self.store, self.owner, self.leases.lease_ms, every_active=self.store.is_sqlite
        )
        for run in orphans:
            await self._finish_orphan(run)

    async def _finish_orphan(self, run: dict[str, Any]) -> dict[str, Any]:
        """End a claimed run that lost its process (or waited past its expiry)."""
        if run["status"] == "cancelling":
            return await self._stop(run, "cancelled")
        if run["expires_at"] and run["expires_at"] <= now():
            return await self._stop(run, "expired")
        return await self._stop(run, "failed", last_error=SERVER_STOPPED)

    async def _sweep_expired(self) -> None:
        """Expire the runs this process executes when their time is up, and finish runs
        that lost their process (claimed once, by one process: ``claim_orphans``)."""
        interval = max(
            0.2,
            min(5.0, self.settings.run_expiry_seconds / 4, self.settings.run_lease_seconds / 2),
        )
        while True:
            await asyncio.sleep(interval)
            try:
                for run_id in list(self._tasks):
                    live = self._live.get(run_id)
                    if live and live.get("expires_at") and live["expires_at"] <= now():
                        await self.refresh(dict(live))
                orphans = await run_leases.claim_orphans(
                    self.store, self.owner, self.leases.lease_ms, executing=list(self._tasks)
                )
                for run in orphans:
                    await self._finish_orphan(run)
            except StoreUnavailable as error:  # keep sweeping; the next pass retries
                log.warning("expiry sweep: database unavailable (%s)", error)
            except Exception:
                log.exception("expiry sweep failed")

    # -- signals from other processes -----------------------------------------------------

    def _on_signal(self, run_id: str) -> None:
        """A run changed elsewhere (NOTIFY): re-read it if this process executes it."""
        if run_id in self._tasks:
            task = asyncio.ensure_future(self._check_signal(run_id))
            self._signal_tasks.add(task)
            task.add_done_callback(self._signal_tasks.discard)

    async def _check_signal(self, run_id: str) -> None:
        stored = await self.store.get(Kind.run, run_id)
        if stored is not None and stored["status"] == "cancelling":
            self._cancel_here(stored)

    def _cancel_here(self, cancelling: dict[str, Any]) -> None:
        """Stop the task of a run that was marked ``cancelling`` through another process."""
        task = self._tasks.get(cancelling["id"])
        live = self._live.get(cancelling["id"])
        if task is None or task.done() or live is None or live["status"] == "cancelling":
            return
        live.update(cancelling)
        self.publish(cancelling["id"], "thread.run.cancelling", cancelling)
        task.cancel()

    def _on_leases(self, found: Found) -> None:
        """What the lease renewal read back: cancels made elsewhere, runs taken over."""
        for run_id, (status, holder) in found.items():
            task = self._tasks.get(run_id)
            if task is None or task.done() or status == "requires_action":
                continue  # a paused run: its task is ending by itself
            if holder != self.owner or status not in ACTIVE_RUN_STATUSES:
                log.warning("run %s was taken over by another process; stopping here", run_id)
                self._lost.add(run_id)
                task.cancel()
            elif status == "cancelling":
                task_run = self._live.get(run_id)
                if task_run is not None:
                    self._cancel_here({**task_run, "status": "cancelling"})

    # -- thread lock and run lookup -----------------------------------------------------

    def thread_lock(self, thread_id: str) -> asyncio.Lock:
        return _lock_for(self._thread_locks, thread_id)

    async def get_run(self, run_id: str) -> dict[str, Any] | None:
        # While a run's end is being recorded (perhaps waiting out a database outage, or in
        # a transaction not yet committed) the stored run is the truth: it ends, and unlocks
        # its thread, once that is stored. So only an active live run is answered from memory.
        live = self._live.get(run_id)
        if (
            live is not None
            and run_id not in self._ending
            and live["status"] in ACTIVE_RUN_STATUSES
        ):
            return dict(live)
        run = await self.store.get(Kind.run, run_id)
        return await self.refresh(run) if run else None

    async def _current(self, run_id: str) -> dict[str, Any] | None:
        """The run as it is now, without expiring it."""
        if run_id in self._live:
            return dict(self._live[run_id])
        return await self.store.get(Kind.run, run_id)

    async def refresh(self, run: dict[str, Any]) -> dict[str, Any]:
        """Expire the run if its time is up (checked lazily and by the sweeper): where it
        executes if that is here; else if no live process holds it (a live owner expires
        it itself at its next sweep)."""
        if not (
            run["status"] in ACTIVE_RUN_STATUSES
            and run.get("expires_at")
            and run["expires_at"] <= now()
        ):
            return run
        async with _lock_for(self._run_locks, run["id"]):
            current = await self.store.get(Kind.run, run["id"])
            if current is None or current["status"] not in ACTIVE_RUN_STATUSES:
                return current or run
            task = self._tasks.get(run["id"])
            if task is None:
                return await self._release(current) or current
            if run["id"] in self._ending:
                return current  # its task is recording how it ended; do not wait for that
            self._live[run["id"]]["status"] = "expired"
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            return await self.store.get(Kind.run, run["id"]) or current

    async def _release(self, run: dict[str, Any]) -> dict[str, Any] | None:
        """Finish a run executed nowhere (its process is gone, or it waited past its
        expiry) and return it ended; None if a live process holds it."""
        claimed = await run_leases.claim_orphans(
            self.store, self.owner, self.leases.lease_ms, run_id=run["id"]
        )
        return await self._finish_orphan(claimed[0]) if claimed else None

    async def _unlocking(self, run: dict[str, Any]) -> bool:
        """Whether the active run that locks a thread could be ended now (expired, or
        orphaned by a dead process: no thread stays locked after the lease)."""
        if run["id"] in self._tasks:
            run = await self.refresh(run)
        else:
            run = await self._release(run) or run
        return run["status"] not in ACTIVE_RUN_STATUSES

    def _locked(self, thread_id: str, run: dict[str, Any], *, adding_message: bool) -> Exception:
        if adding_message:
            return bad_request(
                f"Can't add messages to {thread_id} while a run {run['id']} is active."
            )
        return bad_request(f"Thread {thread_id} already has an active run {run['id']}.")

    async def check_unlocked(self, thread_id: str, *, adding_message: bool) -> None:
        """400 (never 409) while a run of this thread is active."""
        run = await self.store.active_run(thread_id)
        if run is not None and not await self._unlocking(run):
            raise self._locked(thread_id, run, adding_message=adding_message)

    async def insert_unlocked(
        self,
        store: Store,
        thread_id: str,
        rows: list[Insert],
        *,
        adding_message: bool,
        new_thread: bool = False,
    ) -> None:
        """Insert rows into an unlocked thread in one transaction, or 400 (never 409) while
        a run of the thread is active, whichever process holds it (``store/locks.py``)."""
        blocking = await insert_unless_locked(store, thread_id, rows, new_thread=new_thread)
        if blocking is not None and await self._unlocking(blocking):
            blocking = await insert_unless_locked(store, thread_id, rows)
        if blocking is not None:
            raise self._locked(thread_id, blocking, adding_message=adding_message)

    async def add_message(self, store: Store, message: dict[str, Any]) -> None:
        thread_id = message["thread_id"]
        rows: list[Insert] = [(Kind.message, message, {"thread_id": thread_id})]
        await self.insert_unlocked(store, thread_id, rows, adding_message=True)

    async def create_run(
        self,
        store: Store,
        run: dict[str, Any],
        messages: list[dict[str, Any]],
        *,
        tool_state: dict[str, Any] | None = None,
        new_thread: Sequence[Insert] = (),
    ) -> None:
        """Store a queued run (after its additional messages) claimed by this process;
        ``start(run)`` then executes it here. ``new_thread``: the rows of a thread this
        request creates (the thread and its messages), inserted first in the same
        transaction; such a thread cannot be locked, so nothing is checked."""
        thread_id = run["thread_id"]
        rows: list[Insert] = [*new_thread]
        rows += [(Kind.message, m, {"thread_id": thread_id}) for m in messages]
        columns = {
            "thread_id": thread_id,
            "status": run["status"],
            "expires_at": run["expires_at"],
            "transcript": [],
            "usage": None,
            "tool_state": tool_state,
            "owner": self.owner,
            "lease_until": run_leases.now_ms() + self.leases.lease_ms,
        }
        rows.append((Kind.run, run, columns))
        await self.insert_unlocked(
            store, thread_id, rows, adding_message=False, new_thread=bool(new_thread)
        )

    # -- events and object updates -------------------------------------------------------

    def publish(self, run_id: str, name: str, data: dict[str, Any]) -> None:
        self.recorder.publish(run_id, name, data)

    async def _save_run(self, run: dict[str, Any], **columns: Any) -> dict[str, Any] | None:
        """Save and announce a run's new status; None if refused (it was stopped
        elsewhere meanwhile, see ``Store.save_run``)."""
        stored = await self.store.save_run(checked(Run, run), **columns)
        if stored is None:
            return None
        run = stored  # with the metadata as stored (a client may have just changed it)
        live = self._live.get(run["id"])
        if live is not None:
            live.update(run)
        self.publish(run["id"], f"thread.run.{run['status']}", run)
        with contextlib.suppress(StoreUnavailable):  # the run is stored; its log line is extra
            await log_run_end(self.store, run)
        return run

    async def _transition(
        self, run: dict[str, Any], status: str, columns: dict[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Move a live run on; raises RunStopped if it was cancelled or expired meanwhile."""
        live = self._live.get(run["id"])
        if live is not None and live["status"] in ("cancelling", "cancelled", "expired"):
            raise RunStopped
        saved = await self._save_run({**run, "status": status, **fields}, **(columns or {}))
        if saved is None:
            raise RunStopped
        return saved

    # -- starting, resuming, cancelling -------------------------------------------------

    def start(self, run: dict[str, Any]) -> None:
        """Execute a queued run in the background."""
        self._live[run["id"]] = dict(run)
        task = asyncio.create_task(self._execute(run["id"]), name=f"run {run['id']}")
        self._tasks[run["id"]] = task

        def done(finished: asyncio.Task[None]) -> None:
            # A resumed run may already have a new task: only forget our own.
            if self._tasks.get(run["id"]) is finished:
                del self._tasks[run["id"]]
                self._live.pop(run["id"], None)

        task.add_done_callback(done)

    async def submit_tool_outputs(
        self, run: dict[str, Any], outputs: list[tuple[str | None, str | None]]
    ) -> dict[str, Any]:
        """Record all outputs of a ``requires_action`` and queue the run to continue."""
        run = await self.get_run(run["id"]) or run
        async with _lock_for(self._run_locks, run["id"]):
            run = await self._current(run["id"]) or run
            if run["status"] != "requires_action":
                raise bad_request(f'Runs in status "{run["status"]}" do not accept tool outputs.')
            expected = [
                c["id"] for c in run["required_action"]["submit_tool_outputs"]["tool_calls"]
            ]
            given = {call_id: output for call_id, output in outputs if call_id is not None}
            if sorted(given) != sorted(expected) or len(outputs) != len(expected):
                raise bad_request(
                    "Expected tool outputs for call_ids "
                    f"{expected}, got {[call_id for call_id, _ in outputs]}. Submit all "
                    "outputs of this required action in one request.",
                    param="tool_outputs",
                )
            step = await self._awaiting_step(run["id"])
            calls = []
            for call in step["step_details"]["tool_calls"]:
                if call["type"] == "function" and call["id"] in given:
                    call = {
                        **call,
                        "function": {**call["function"], "output": given[call["id"]] or ""},
                    }
                calls.append(call)
            details = {"type": "tool_calls", "tool_calls": calls}
            transcript, _ = await self.store.run_state(run["id"])
            transcript += tool_result_entries([(i, given[i] or "") for i in expected])
            show = wants_content((await self.store.tool_state(run["id"])).get("include"))
            queued = checked(Run, {**run, "status": "queued", "required_action": None})
            self._live[run["id"]] = dict(queued)  # claim it before any await
            try:
                # Claim it in the database, with the step's outputs, in one transaction:
                # this process executes the rest (and streams it); a concurrent submit
                # through another process loses here and changes nothing.
                done = checked(
                    RunStep,
                    {**step, "status": "completed", "completed_at": now(), "step_details": details},
                )
                claimed = await run_leases.claim_waiting(
                    self.store, queued, self.owner, self.leases.lease_ms, transcript, done
                )
                if not claimed:
                    current = await self.store.get(Kind.run, run["id"]) or run
                    raise bad_request(
                        f'Runs in status "{current["status"]}" do not accept tool outputs.'
                    )
            except BaseException:
                self._live.pop(run["id"], None)
                raise
            self.publish(run["id"], "thread.run.step.completed", public_step(done, show))
            self.publish(run["id"], "thread.run.queued", queued)
            self.start(queued)
            return queued

    async def _awaiting_step(self, run_id: str) -> dict[str, Any]:
        """The tool-calls step whose outputs a ``requires_action`` run waits for. It is
        normally open; a submit cut short by a database outage may have stored it completed
        without queueing the run, and the retried submit must find it all the same."""
        steps = await self.store.page(Kind.step, limit=100, order="desc", run_id=run_id)
        return next(s for s in steps.items if s["type"] == "tool_calls")

    async def cancel(self, run: dict[str, Any]) -> dict[str, Any]:
        """Mark the run ``cancelling`` and stop it where it executes: here by cancelling its
        task, in another live process by notifying it, else (nobody executes it) at once."""
        run = await self.get_run(run["id"]) or run
        async with _lock_for(self._run_locks, run["id"]):
            request = await run_leases.request_cancel(
                self.store, run["id"], self.owner, self.leases.lease_ms
            )
            current = request.run if request else run
            if request is None or request.outcome == "ended":
                raise bad_request(f"Cannot cancel run with status '{current['status']}'.")
            if request.outcome in ("already", "signalled"):
                return current
            live = self._live.get(run["id"])
            if live is not None:
                live.update(current)
            self.publish(run["id"], "thread.run.cancelling", current)
            task = self._tasks.get(run["id"])
        if task is not None and not task.done():
            if run["id"] not in self._ending:  # else the task is ending it already
                task.cancel()
        else:
            await self._stop(current, "cancelled")
        return current

    # -- ending a run -------------------------------------------------------------------

    async def _stop(self, run: dict[str, Any], status: str, **fields: Any) -> dict[str, Any]:
        """End a run that will not complete; close its open steps and messages."""
        stamp = now()
        step_status = {"cancelled": "cancelled", "expired": "expired"}.get(status, "failed")
        at_field = {"cancelled": "cancelled_at", "expired": "expired_at"}.get(status, "failed_at")
        reason = {"cancelled": "run_cancelled", "expired": "run_expired"}.get(status, "run_failed")
        show = wants_content((await self.store.tool_state(run["id"])).get("include"))
        for step in await self.store.open_steps(run["id"]):
            extra = (
                {"last_error": fields["last_error"]}
                if status == "failed" and fields.get("last_error")
                else {}
            )
            await self.recorder.finish_step(
                step,
                status=step_status,
                show_result_content=show,
                **{at_field: stamp},
                **extra,
            )
        for message in await self.store.open_messages(run["id"]):
            await self.recorder.end_message_early(message, reason=reason, stamp=stamp)
        _, usage = await self.store.run_state(run["id"])
        run_at = {"cancelled": "cancelled_at", "failed": "failed_at"}.get(status)
        final = {**run, "status": status, "required_action": None, "usage": usage, **fields}
        if run_at:
            final[run_at] = stamp
        saved = await self._save_run(final, owner=None, lease_until=None)
        self.bus.close(run["id"])
        return saved or await self.store.get(Kind.run, run["id"]) or final

    # -- executing ----------------------------------------------------------------------

    async def _execute(self, run_id: str) -> None:
        run = self._live[run_id]
        if not run.get("started_at"):
            log_run_start(run)
        try:
            # What the run creates belongs to the project of the run (kept on its row).
            # Two statements, each its own transaction (on PostgreSQL one batch would
            # cost two more round trips than it saves).
            state = await self.store.engine_state(run_id)
            if state is None:  # deleted with its thread before it started
                self.recorder.close(run_id)
                return
            recorder = self.recorder.for_project(state.project)
            run = await self._transition(
                run, "in_progress", started_at=run.get("started_at") or now()
            )
            await self.loop.execute(run, recorder, state)
        except (asyncio.CancelledError, RunStopped):
            if run_id in self._lost:  # another process finished it: nothing to write
                self._lost.discard(run_id)
                self.bus.close(run_id)
                return
            await self._end(run_id, self._end_stopped, run)
        except Exception as exc:
            log.warning("run %s failed: %s: %s", run_id, type(exc).__name__, exc)
            message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if isinstance(exc, HostedToolUnavailable):
                message = str(exc)
            error = {"code": error_code(exc), "message": message[:2000]}
            if isinstance(exc, StoreUnavailable):
                error = DATABASE_AWAY
            await self._end(run_id, self._end_failed, run, error)

    async def _end(self, run_id: str, ending: Any, *args: Any) -> None:
        """Record how the run ended, waiting out a database outage; not cancellable by a
        cancel or an expiry meanwhile (only by shutdown; the next start finishes it)."""
        self._ending.add(run_id)
        try:
            await until_stored(lambda: ending(run_id, *args), what=f"ending run {run_id}")
        finally:
            self._ending.discard(run_id)

    async def _end_stopped(self, run_id: str, run: dict[str, Any]) -> None:
        status = self._live.get(run_id, run)["status"]
        stored = await self.store.get(Kind.run, run_id) or run
        if stored["status"] not in ACTIVE_RUN_STATUSES:
            self.bus.close(run_id)  # ended elsewhere (another process): end our streams
            return
        if stored["status"] == "cancelling":  # also when cancelled through another process
            await self._stop(stored, "cancelled")
        elif status == "expired":
            await self._stop(stored, "expired")
        elif self._shutting_down and status != "cancelling":
            await self._stop(stored, "failed", last_error=SERVER_STOPPED)
        else:
            await self._stop(stored, "cancelled")

    async def _end_failed(self, run_id: str, run: dict[str, Any], error: dict[str, str]) -> None:
        stored = await self.store.get(Kind.run, run_id) or run
        if stored["status"] in ACTIVE_RUN_STATUSES:
            await self._stop(stored, "failed", last_error=error)
