"""SQLite with loadable extensions (sqlite-vec) under SQLAlchemy's aiosqlite dialect.

Some Python builds (pyenv's default, for one) compile ``sqlite3`` without extension
loading. Then the ``sqlean.py`` package's drop-in ``sqlite3`` (a current SQLite with
extension loading) is used instead; the standard module is used wherever it can load them.
"""

from __future__ import annotations

import functools
import sqlite3
from types import ModuleType
from typing import Any


def extension_capable_sqlite() -> ModuleType:
    """The standard ``sqlite3`` if it can load extensions, else ``sqlean``."""
    if hasattr(sqlite3.Connection, "enable_load_extension"):
        return sqlite3
    try:
        import sqlean
    except ImportError as exc:  # pragma: no cover - sqlean-py is a server dependency
        raise RuntimeError(
            "This Python's sqlite3 cannot load extensions (needed for sqlite-vec); "
            "install 'sqlean.py' or use a Python built with loadable SQLite extensions."
        ) from exc
    return sqlean


class _AiosqliteOver:
    """``aiosqlite`` whose connections are opened by another ``sqlite3``-compatible module."""

    def __init__(self, sqlite_module: ModuleType) -> None:
        import aiosqlite

        self._aiosqlite = aiosqlite
        self._sqlite = sqlite_module

    def connect(self, database: str, **kwargs: Any) -> Any:
        kwargs.pop("loop", None)
        iter_chunk_size = kwargs.pop("iter_chunk_size", 64)
        connector = functools.partial(self._sqlite.connect, database, **kwargs)
        return self._aiosqlite.Connection(connector, iter_chunk_size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._aiosqlite, name)


def aiosqlite_dbapi() -> Any:
    """The ``module=`` for ``create_async_engine`` that opens extension-capable connections."""
    from .sqlite_driver import one_call_dbapi

    module = extension_capable_sqlite()
    return one_call_dbapi(_AiosqliteOver(module), module)


def load_sqlite_vec(dbapi_connection: Any, _record: Any) -> None:
    """SQLAlchemy ``connect`` listener: load sqlite-vec into each new connection."""
    import sqlite_vec

    path = sqlite_vec.loadable_path()
    dbapi_connection.run_async(lambda conn: conn.enable_load_extension(True))
    try:
        dbapi_connection.run_async(lambda conn: conn.load_extension(path))
    finally:
        dbapi_connection.run_async(lambda conn: conn.enable_load_extension(False))
