"""The bundled server behind a request-counting ASGI middleware, run by uvicorn in a thread.

Each benchmark client sends an ``x-bench-client`` header; the middleware counts requests
per client and per endpoint (ids replaced by ``{id}``), so requests per turn are measured
at the server, not inferred from client code. SQLAlchemy engine events count the SQL
statements and commits the server makes.
"""

from __future__ import annotations

import re
import tempfile
import threading
import time
from collections import Counter, defaultdict
from typing import Any

import uvicorn
from sqlalchemy import event

from langchain_assistants.server import ServerSettings, create_app

CLIENT_HEADER = "x-bench-client"
_ID_SEGMENT = re.compile(r"^[a-z]+_[A-Za-z0-9]{8,}$")

ASGIApp = Any


def endpoint(method: str, path: str) -> str:
    """``POST /threads/{id}/runs`` for ``POST /v1/threads/thread_x/runs``."""
    parts = [p for p in path.split("/") if p]
    if parts and parts[0] == "v1":
        parts = parts[1:]
    return method + " /" + "/".join("{id}" if _ID_SEGMENT.match(p) else p for p in parts)


class RequestCounter:
    """ASGI middleware counting HTTP requests (by client tag and endpoint) and connections."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._counts: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._peers: defaultdict[str, set[tuple[str, int]]] = defaultdict(set)
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            tag = "untagged"
            for name, value in scope.get("headers", ()):
                if name == CLIENT_HEADER.encode():
                    tag = value.decode()
                    break
            key = endpoint(scope["method"], scope["path"])
            peer = scope.get("client")
            with self._lock:
                self._counts[tag][key] += 1
                if peer is not None:
                    self._peers[tag].add(tuple(peer))
        await self.app(scope, receive, send)

    def snapshot(self, tag: str) -> Counter[str]:
        """A copy of one client's counts so far."""
        with self._lock:
            return Counter(self._counts[tag])

    def connections(self, tag: str) -> int:
        """TCP connections one client has opened so far (distinct client address:port)."""
        with self._lock:
            return len(self._peers[tag])


class BenchServer:
    """The wrapped app on a free loopback port; ``stop()`` shuts it down."""

    def __init__(self, *, model: str, db: str | None = None) -> None:
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        if db is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix="langchain-assistants-bench-")
            db = f"{self._tmpdir.name}/assistants.db"
        self.db = db
        # The assistants name script files of their own (bench/fixtures.py): opt in to them.
        settings = ServerSettings(
            db=db, model=model, allowed_models=("scripted:*",), run_expiry_seconds=600.0
        )
        app = create_app(settings)
        self.counter = RequestCounter(app)
        self._sql = Counter[str]()
        engine = app.state.services.store.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._on_statement)
        event.listen(engine, "commit", self._on_commit)
        config = uvicorn.Config(
            self.counter,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="on",
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="bench-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30.0
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._server.should_exit = True
                raise RuntimeError("The benchmark server did not start.")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}/v1"

    def _on_statement(self, *_: Any) -> None:
        self._sql["statements"] += 1

    def _on_commit(self, *_: Any) -> None:
        self._sql["commits"] += 1

    def database_work(self) -> tuple[int, int]:
        """SQL statements executed and transactions committed so far (all clients)."""
        return self._sql["statements"], self._sql["commits"]

    def requests(self, tag: str) -> Counter[str]:
        """Requests the client tagged ``tag`` has made so far, by endpoint."""
        return self.counter.snapshot(tag)

    def connections(self, tag: str) -> int:
        return self.counter.connections(tag)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(15.0)
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self) -> BenchServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
