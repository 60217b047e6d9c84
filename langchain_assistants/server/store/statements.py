"""The store's frequent statements, each built once with bound parameters.

SQLAlchemy caches a statement's compiled SQL, but building the statement object and
computing its cache key happen on every call, and for the keyed one-row statements of a
turn they cost more than SQLite's own work. These are built once per table and per
"scoped to a project or not" and executed with a dict of values; the names of the bound
parameters (``ID``, ``PROJECT``, ...) are not column names, so an UPDATE's other keys are
the columns it sets.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import JSON, bindparam, func, insert, literal_column, or_, select, update
from sqlalchemy.dialects.postgresql import JSONB

from ..wire import ACTIVE_RUN_STATUSES
from .tables import RunRow, core

ID = "k_id"
PROJECT = "k_project"
STATUS = "k_status"
DATA = "k_data"

STOPPED_RUN_STATUSES = frozenset({"cancelled", "failed", "expired"})


def _scope(table: Any, scoped: bool) -> list[Any]:
    return [table.project == bindparam(PROJECT)] if scoped else []


@cache
def insert_row(table: Any) -> Any:
    return insert(core(table))


@cache
def data_by_id(table: Any, scoped: bool) -> Any:
    return select(table.data).where(table.id == bindparam(ID), *_scope(table, scoped))


@cache
def update_by_id(table: Any, scoped: bool) -> Any:
    """SET the columns given with the values; WHERE ``id`` (and project)."""
    return update(core(table)).where(table.id == bindparam(ID), *_scope(table, scoped))


@cache
def run_state(scoped: bool) -> Any:
    """A run's engine state: transcript, usage, hosted-tool state, project."""
    return select(RunRow.transcript, RunRow.usage, RunRow.tool_state, RunRow.project).where(
        RunRow.id == bindparam(ID), *_scope(RunRow, scoped)
    )


@cache
def save_run(scoped: bool, stopping: bool, sqlite: bool) -> Any:
    """The run's status save: allowed over the stored statuses ``run_save_allowed`` names,
    and keeping the stored ``metadata`` (another process may have changed it meanwhile;
    only ``Store.save_run_metadata`` changes it)."""
    stoppable = ACTIVE_RUN_STATUSES if stopping else ACTIVE_RUN_STATUSES - {"cancelling"}
    allowed = or_(RunRow.status == bindparam(STATUS), RunRow.status.in_(stoppable))
    if sqlite:
        stored = func.json(func.json_extract(RunRow.data, "$.metadata"))
        data = func.json_set(bindparam(DATA, type_=JSON), "$.metadata", stored)
    else:
        stored = func.coalesce(
            literal_column("runs.data -> 'metadata'"), literal_column("'null'::jsonb")
        )
        data = func.jsonb_set(bindparam(DATA, type_=JSONB), literal_column("'{metadata}'"), stored)
    return (
        update(core(RunRow))
        .where(RunRow.id == bindparam(ID), *_scope(RunRow, scoped), allowed)
        .values(data=data)
        .returning(RunRow.data)
    )
