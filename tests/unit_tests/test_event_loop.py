"""``serve --workers`` loop: a new connection wakes one of the waiters sharing the socket.

Each waiter is a thread blocked in its own selector (its own epoll instance), as each
worker process is; one connection is made and the test counts the waiters that woke.
"""

from __future__ import annotations

import asyncio
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from langchain_assistants.server import event_loop
from langchain_assistants.server.event_loop import EPOLLEXCLUSIVE, new_event_loop

pytestmark = pytest.mark.skipif(not EPOLLEXCLUSIVE, reason="EPOLLEXCLUSIVE is Linux-only")

WAITERS = 4


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    yield sock
    sock.close()


def _woken_by_one_connection(
    listener: socket.socket, make_selector: Callable[[], selectors.BaseSelector]
) -> int:
    """How many of ``WAITERS`` blocked selectors report the listener after one connect."""
    woke: list[int] = []
    ready = threading.Barrier(WAITERS + 1)

    def wait(index: int) -> None:
        with make_selector() as selector:
            selector.register(listener, selectors.EVENT_READ)
            ready.wait()
            if selector.select(timeout=1.5):
                woke.append(index)

    threads = [threading.Thread(target=wait, args=(i,)) for i in range(WAITERS)]
    for thread in threads:
        thread.start()
    ready.wait()
    time.sleep(0.3)  # every waiter is blocked in epoll_wait by now
    with socket.create_connection(listener.getsockname()):
        for thread in threads:
            thread.join()
    return len(woke)


def test_plain_epoll_wakes_every_waiter(listener: socket.socket) -> None:
    # The behaviour the exclusive selector exists to avoid (and proof the probe works).
    assert _woken_by_one_connection(listener, selectors.EpollSelector) == WAITERS


def test_exclusive_selector_wakes_one_waiter(listener: socket.socket) -> None:
    assert _woken_by_one_connection(listener, event_loop.ExclusiveAcceptSelector) == 1


def test_other_descriptors_are_registered_as_usual() -> None:
    """Connected sockets and pipes keep ordinary registrations: read and write, modified."""
    left, right = socket.socketpair()
    with left, right, event_loop.ExclusiveAcceptSelector() as selector:
        selector.register(left, selectors.EVENT_READ)
        selector.modify(left, selectors.EVENT_READ | selectors.EVENT_WRITE)
        right.send(b"x")
        events = dict((key.fileobj, mask) for key, mask in selector.select(timeout=1))
        assert events[left] == selectors.EVENT_READ | selectors.EVENT_WRITE


def test_the_loop_serves_and_stops_serving(listener: socket.socket) -> None:
    """An asyncio server on the loop accepts connections, and closing it unregisters the
    socket (the exclusive registration is removed, never modified)."""
    loop = new_event_loop()
    fd = listener.fileno()  # the server closes the socket
    try:
        assert isinstance(loop._selector, event_loop.ExclusiveAcceptSelector)  # type: ignore[attr-defined]

        async def scenario() -> bytes:
            async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                writer.write(await reader.read(5))
                await writer.drain()
                writer.close()

            server = await asyncio.start_server(echo, sock=listener)
            host, port = listener.getsockname()
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(b"hello")
            answer = await reader.read(5)
            writer.close()
            server.close()
            await server.wait_closed()
            return answer

        assert loop.run_until_complete(scenario()) == b"hello"
        assert fd not in loop._selector.get_map()  # type: ignore[attr-defined]
    finally:
        loop.close()
