"""Run the server inside this process, in a background thread, on a free loopback port.

Tests, notebooks and the demo use it::

    with start_server(model="scripted:demo") as server:
        client = OpenAI(base_url=server.base_url, api_key=server.api_key)

Tests that give assistants their own script files opt in to them:
``start_server(allowed_models=["scripted:*"])`` (see ``engine/model_policy.py``).
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from langchain_core.embeddings import Embeddings
from pydantic import SecretStr

from .app import create_app
from .settings import ServerSettings, model_patterns


@dataclass
class RunningServer:
    """A server running in a background thread; ``stop()`` shuts it down cleanly."""

    base_url: str
    api_key: str
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _tmpdir: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_server(
    *,
    db: str | None = None,
    model: str | None = None,
    allowed_models: str | Sequence[str] | None = None,
    api_key: str | None = None,
    api_keys_file: str | Path | None = None,
    run_expiry_seconds: float = 600.0,
    host: str = "127.0.0.1",
    port: int = 0,
    startup_timeout: float = 30.0,
    embeddings: str | Embeddings | None = None,
    **settings: Any,
) -> RunningServer:
    """Start the server and return once it accepts requests.

    ``db`` defaults to a SQLite file in a temporary directory removed at ``stop()``;
    ``port=0`` picks a free port. ``allowed_models`` (specs and globs such as
    ``"scripted:*"``, ``"openai:gpt-4o*"``) is the ``--allowed-models`` policy: what clients
    may name besides ``model``; None is the default policy. Without ``api_key`` the server
    accepts any key and the returned ``api_key`` is a placeholder for clients that require one.
    ``api_keys_file`` (``KEY PROJECT`` lines) gives each key its own project; it is
    re-read every ``api_keys_reload_seconds`` (SIGHUP reaches only a CLI server).
    Other keyword arguments are :class:`ServerSettings` fields.
    ``embeddings`` (a spec such as ``fake:256``, or an Embeddings object) turns on
    hybrid retrieval.
    """
    tmpdir = None
    if db is None:
        tmpdir = tempfile.TemporaryDirectory(prefix="langchain-assistants-")
        db = f"{tmpdir.name}/assistants.db"
    config = ServerSettings(
        db=db,
        model=model,
        allowed_models=model_patterns(allowed_models),
        api_key=None if api_key is None else SecretStr(api_key),
        api_keys_file=None if api_keys_file is None else Path(api_keys_file),
        run_expiry_seconds=run_expiry_seconds,
        embeddings=embeddings if isinstance(embeddings, str) else None,
        **settings,
    )
    app = create_app(config, embeddings=None if isinstance(embeddings, str) else embeddings)
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="langchain-assistants-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("The embedded langchain-assistants server did not start.")
        time.sleep(0.01)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    return RunningServer(
        base_url=f"http://{host}:{bound_port}/v1",
        api_key=api_key or "local",
        _server=server,
        _thread=thread,
        _tmpdir=tmpdir,
    )
