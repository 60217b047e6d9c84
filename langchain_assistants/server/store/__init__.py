"""Durable storage of assistants, threads, messages, runs and steps (SQLAlchemy 2, async)."""

from .repository import Kind, Page, Store, StoreUnavailable

__all__ = ["Kind", "Page", "Store", "StoreUnavailable"]
