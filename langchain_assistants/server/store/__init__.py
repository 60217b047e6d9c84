"""Durable storage of assistants, threads, messages, runs and steps (SQLAlchemy 2, async)."""

from .repository import Insert, Kind, Page, RunState, Store, StoreUnavailable
from .schema import DatabaseUnavailableError, check_database

__all__ = [
    "DatabaseUnavailableError",
    "Insert",
    "Kind",
    "Page",
    "RunState",
    "Store",
    "StoreUnavailable",
    "check_database",
]
