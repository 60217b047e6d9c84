"""Durable storage of assistants, threads, messages, runs and steps (SQLAlchemy 2, async)."""

from .repository import Kind, Page, Store
from .schema import DatabaseUnavailableError, check_database

__all__ = ["DatabaseUnavailableError", "Kind", "Page", "Store", "check_database"]
