"""Pooled PostgreSQL connections are checked before use when they sat idle.

A PostgreSQL restart leaves the pool's connections dead; the next statement on one would
fail. SQLAlchemy's ``pool_pre_ping`` pings before *every* checkout, which costs a round
trip per transaction (a turn makes several, and the ping was a fifth of its server CPU).
Here a connection is pinged only when it has been idle in the pool for more than
``IDLE_PING_SECONDS``: the transactions of one turn follow each other within
milliseconds and reuse the same connection (the pool hands out the most recently
returned one), while any connection that waited through a restart (which takes longer
than that) is checked, and replaced if dead, before it is used. If the server restarts
faster than that right after a connection's last use, the statement fails as a database
outage (503 with ``retry-after``) and the pool drops every connection of the old server.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

#: A pooled connection idle longer than this is pinged before it is handed out.
IDLE_PING_SECONDS = 0.1

_RETURNED = "returned_at"


def ping_idle_connections(engine: Engine) -> None:
    """Install the idle check on ``engine``'s pool (``pool_pre_ping`` stays off)."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED)
        if returned is None or time.monotonic() - returned <= IDLE_PING_SECONDS:
            return  # new, or just used
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool replaces this connection with a new one (connecting anew raises
            # the real error if the server is still away).
            raise exc.DisconnectionError() from error
