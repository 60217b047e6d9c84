"""Riding out a database outage: retry storing something until the database is back.

A run whose task fails while the database is away cannot record its end; without a retry
it would stay active (its thread locked) until it expires. The engine records the end
through :func:`until_stored`, which waits with backoff until the store answers again.
Shutting the server down cancels the wait; the next start then finishes the run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ..store import StoreUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_DELAY_SECONDS = 0.1
MAX_DELAY_SECONDS = 5.0


async def until_stored(action: Callable[[], Awaitable[T]], *, what: str) -> T:
    """Run ``action`` until it does not fail with :class:`StoreUnavailable`."""
    delay = FIRST_DELAY_SECONDS
    while True:
        try:
            return await action()
        except StoreUnavailable as error:
            log.warning("%s: database unavailable (%s); retrying in %.1f s", what, error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY_SECONDS)
