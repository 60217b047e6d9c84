"""Run leases in the database: which server process executes a run, and until when.

A run being executed has ``owner`` (a process id, see ``engine/leases.py``) and
``lease_until`` (epoch ms) on its row; the owner renews every lease it holds in one
statement. A run nobody executes (``requires_action``, waiting for tool outputs) has
neither. A run whose lease lapsed lost its process (killed, crashed, cut off): any process
may claim it and finish it. Every change of owner is a conditional UPDATE, so exactly one
process wins each claim; the orphan sweep also takes a PostgreSQL advisory lock so one
process scans at a time, and skips rows another transaction holds (``SKIP LOCKED``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from openai.types.beta.threads import Run
from sqlalchemy import and_, or_, select, text, update

from ..wire import ACTIVE_RUN_STATUSES, checked
from .repository import Store
from .tables import RunRow, StepRow

#: The LISTEN/NOTIFY channel on which a run's owner hears that its run changed elsewhere
#: (a cancel); the payload is the run id.
RUN_SIGNAL_CHANNEL = "langchain_assistants_runs"
#: ``pg_try_advisory_xact_lock`` key of the orphan sweep (any constant unique to us).
SWEEP_LOCK_KEY = 0x4C434153_5357  # "LCAS" "SW"


def now_ms() -> int:
    return int(time.time() * 1000)


def _lapsed(at_ms: int) -> Any:
    return or_(RunRow.lease_until.is_(None), RunRow.lease_until < at_ms)


async def renew(
    store: Store, owner: str, run_ids: list[str], lease_ms: int
) -> dict[str, tuple[str, str | None]]:
    """Extend ``owner``'s leases of ``run_ids`` (the runs it executes) and return the stored
    ``(status, owner)`` of each that still exists: a ``cancelling`` one was cancelled
    through another process, one with another owner or ended was taken over."""
    async with store.session(write=True) as s:
        await s.execute(
            update(RunRow)
            .where(
                RunRow.id.in_(run_ids),
                RunRow.owner == owner,
                RunRow.status.in_(ACTIVE_RUN_STATUSES),
            )
            .values(lease_until=now_ms() + lease_ms)
        )
        rows = await s.execute(
            select(RunRow.id, RunRow.status, RunRow.owner).where(RunRow.id.in_(run_ids))
        )
        return {str(i): (str(status), holder) for i, status, holder in rows.all()}


async def claim_waiting(
    store: Store,
    queued: dict[str, Any],
    owner: str,
    lease_ms: int,
    transcript: list[dict[str, Any]],
    step: dict[str, Any],
) -> bool:
    """Move a ``requires_action`` run to ``queued`` under ``owner`` (who then executes it)
    and store its tool step with the outputs, in one transaction: False (nothing written)
    if it is no longer waiting (another request, maybe on another process, won)."""
    async with store.session(write=True) as s:
        result = await s.execute(
            update(RunRow)
            .where(RunRow.id == queued["id"], RunRow.status == "requires_action")
            .values(
                data=queued,
                status=queued["status"],
                transcript=transcript,
                owner=owner,
                lease_until=now_ms() + lease_ms,
            )
        )
        if not getattr(result, "rowcount", 0):
            return False
        await s.execute(update(StepRow).where(StepRow.id == step["id"]).values(data=step))
        return True


async def claim_orphans(
    store: Store,
    owner: str,
    lease_ms: int,
    *,
    every_active: bool = False,
    run_id: str | None = None,
    executing: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Claim the runs to finish: active runs whose lease lapsed, and waiting ones past
    their expiry; with ``every_active`` (start-up of a single-process SQLite server) all
    active runs; with ``run_id`` only that one. ``executing``: runs the caller executes
    itself (a lease can lapse while the database was away; they are still alive). One
    process at a time sweeps (advisory lock on PostgreSQL), and rows another transaction
    holds are skipped."""
    at = now_ms()
    async with store.session(write=True) as s:
        if not store.is_sqlite and run_id is None:
            got = await s.scalar(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SWEEP_LOCK_KEY}
            )
            if not got:
                return []
        query = select(RunRow.id).where(RunRow.status.in_(ACTIVE_RUN_STATUSES))
        if run_id is not None:
            query = query.where(RunRow.id == run_id)
        if executing:
            query = query.where(RunRow.id.not_in(list(executing)))
        if not every_active:
            query = query.where(
                _lapsed(at),
                or_(
                    RunRow.status != "requires_action",
                    and_(RunRow.expires_at.is_not(None), RunRow.expires_at <= at // 1000),
                ),
            )
        ids = list((await s.scalars(query.with_for_update(skip_locked=True))).all())
        if not ids:
            return []
        rows = await s.scalars(
            update(RunRow)
            .where(RunRow.id.in_(ids))
            .values(owner=owner, lease_until=at + lease_ms)
            .returning(RunRow.data)
        )
        return [dict(r) for r in rows.all()]


@dataclass(frozen=True)
class CancelRequest:
    """What a cancel found: ``outcome`` is ``ended`` (too late), ``already`` (cancelling),
    ``mine`` (this process holds the run now: it stops it) or ``signalled`` (a live process
    executes it and was told through ``RUN_SIGNAL_CHANNEL``)."""

    run: dict[str, Any]
    outcome: str


async def request_cancel(
    store: Store, run_id: str, owner: str, lease_ms: int
) -> CancelRequest | None:
    """Mark an active run ``cancelling`` in one transaction, taking it when no live process
    executes it, else notifying its owner (delivered at commit). None: no such run."""
    at = now_ms()
    async with store.session(write=True) as s:
        row = (
            await s.execute(
                select(RunRow.data, RunRow.owner, RunRow.lease_until)
                .where(RunRow.id == run_id)
                .with_for_update()
            )
        ).one_or_none()
        if row is None:
            return None
        data, holder, lease_until = dict(row[0]), row[1], row[2]
        if data["status"] not in ACTIVE_RUN_STATUSES:
            return CancelRequest(data, "ended")
        if data["status"] == "cancelling":
            return CancelRequest(data, "already")
        cancelling = checked(Run, {**data, "status": "cancelling"})
        live_elsewhere = (
            holder is not None and holder != owner and lease_until is not None and lease_until >= at
        )
        values: dict[str, Any] = {"data": cancelling, "status": "cancelling"}
        if not live_elsewhere:
            values |= {"owner": owner, "lease_until": at + lease_ms}
        await s.execute(update(RunRow).where(RunRow.id == run_id).values(**values))
        if live_elsewhere and not store.is_sqlite:
            await s.execute(
                text("SELECT pg_notify(:channel, :run_id)"),
                {"channel": RUN_SIGNAL_CHANNEL, "run_id": run_id},
            )
        return CancelRequest(cancelling, "signalled" if live_elsewhere else "mine")
