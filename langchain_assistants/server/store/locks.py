"""The thread lock, held by the database: one active run per thread across server processes.

A thread is locked while one of its runs is active. Creating a run or adding a message
checks that and inserts in one transaction that first locks the thread's row
(``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the store's single writer serializes
every write already), so two processes can never both pass the check. The partial unique
index ``one_active_run_per_thread`` (``store/tables.py``) backs it: an insert that would
make a second active run fails and is answered like a lost check.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from ..wire import ACTIVE_RUN_STATUSES
from .repository import Insert, Store
from .tables import RunRow, ThreadRow

_LOCK_THREAD = select(ThreadRow.id).where(ThreadRow.id == bindparam("thread_id")).with_for_update()
_ACTIVE_RUN = (
    select(RunRow.data)
    .where(RunRow.thread_id == bindparam("thread_id"), RunRow.status.in_(ACTIVE_RUN_STATUSES))
    .order_by(RunRow.seq.desc())
    .limit(1)
)


async def insert_unless_locked(
    store: Store, thread_id: str, rows: Sequence[Insert], *, new_thread: bool = False
) -> dict[str, Any] | None:
    """Insert ``rows`` (in order) if no run of the thread is active; else insert nothing and
    return the active run that locks it. ``new_thread``: the caller creates the thread in
    this request (nobody else knows its id yet; its row may be among ``rows``), so there
    is nothing to check."""
    try:
        async with store.connection(write=True, single=new_thread and len(rows) == 1) as c:
            if not new_thread:
                await c.execute(_LOCK_THREAD, {"thread_id": thread_id})
                active = await c.scalar(_ACTIVE_RUN, {"thread_id": thread_id})
                if active is not None:
                    return dict(active)
            await store.insert_on(c, rows)
            return None
    except IntegrityError:
        # Only the one-active-run index can refuse these rows (ids are fresh).
        blocking = await store.active_run(thread_id)
        if blocking is None:
            raise
        return blocking
