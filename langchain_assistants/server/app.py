"""The FastAPI application: routes under ``/v1`` (and ``/``), keys and projects, request
limits, error envelopes, lifespan (storage, run recovery, keys-file reloads)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from langchain_core.embeddings import Embeddings
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from .auth import KeyRing, request_project, watch_keys_file
from .engine.runner import RunEngine
from .errors import APIError, field_path
from .limits import RequestSizeLimit, reject_nul_characters, too_large
from .playground import router as playground
from .retrieval import Retrieval, resolve_embeddings
from .routes import router
from .routes.common import Services
from .routes.openapi import finish_openapi
from .settings import (
    WORKER_LOG_LEVEL_ENV,
    ServerSettings,
    configure_logging,
    settings_from_environment,
)
from .store import Store, StoreUnavailable
from .store.blobs import BlobStore, DatabaseBlobStore, DirectoryBlobStore
from .store.files import FileStore
from .store.upgrade import upgrade_files_table

log = logging.getLogger(__name__)


def _param(loc: tuple[Any, ...]) -> str:
    parts = [p for p in loc if p not in ("body", "query", "path")]
    return field_path(p if isinstance(p, int) else str(p) for p in parts) or "body"


def _on_sighup(callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback`` on SIGHUP; returns the undo. Signals reach only the main thread,
    so an embedded server (in a background thread) relies on the interval reload."""
    if not hasattr(signal, "SIGHUP") or threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, callback)

    def undo() -> None:
        loop.remove_signal_handler(signal.SIGHUP)

    return undo


def blob_store(settings: ServerSettings, store: Store) -> BlobStore:
    """Where file bytes go (see ``ServerSettings.file_storage_kind``)."""
    if settings.file_storage_kind == "database":
        return DatabaseBlobStore(store)
    return DirectoryBlobStore(settings.files_root)


def create_app(
    settings: ServerSettings | None = None, *, embeddings: Embeddings | None = None
) -> FastAPI:
    """Build the server app; storage is opened and stale runs recovered at start-up.

    Fails at once (before serving) when the keys file cannot be used (``KeyFileError``)
    or the default model cannot be built (``ModelUnavailableError``). ``embeddings`` (an
    object) or ``settings.embeddings`` (a spec) turns on hybrid search.
    """
    settings = settings or ServerSettings.from_env()
    keys = KeyRing(settings.api_key, settings.api_keys_file)
    if keys.required and not len(keys):
        log.warning("%s has no keys yet: every request gets 401 until keys are added", keys)
    embedding_model = resolve_embeddings(settings, embeddings)
    store = Store(settings.database_url, sqlite_vec=embedding_model is not None)
    files = FileStore(store, blob_store(settings, store))
    retrieval = Retrieval(store, settings, embedding_model, files=files)
    engine = RunEngine(store, settings, files, retrieval)
    engine.models.check_default()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await store.create_all()
        await upgrade_files_table(store, files.blobs)
        await files.sweep()
        await retrieval.startup()
        await engine.startup()
        watcher: asyncio.Task[None] | None = None
        undo_sighup: Callable[[], None] = lambda: None  # noqa: E731
        if keys.keys_file is not None:
            wake = asyncio.Event()
            watcher = asyncio.create_task(
                watch_keys_file(keys, settings.api_keys_reload_seconds, wake)
            )
            undo_sighup = _on_sighup(wake.set)
        try:
            yield
        finally:
            undo_sighup()
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            await engine.shutdown()
            await engine.models.aclose()
            await retrieval.shutdown()
            await store.close()

    app = FastAPI(
        title="langchain-assistants server",
        description="An OpenAI Assistants v2 compatible API that runs on LangChain chat models.",
        version=__version__,
        lifespan=lifespan,
    )
    app.state.keys = keys
    # The unscoped services; each request gets a project-scoped copy (routes/common.py).
    app.state.services = Services(
        settings=settings, store=store, engine=engine, files=files, retrieval=retrieval
    )
    checks = [Depends(request_project), Depends(reject_nul_characters)]
    app.include_router(router, prefix="/v1", dependencies=checks)
    app.include_router(router, dependencies=checks, include_in_schema=False)
    app.include_router(playground)  # the browser page; it sends the key itself
    app.add_middleware(RequestSizeLimit, max_bytes=settings.max_request_bytes)
    finish_openapi(app)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/", include_in_schema=False)
    async def index() -> dict[str, str]:
        """Where to go from the bare address: the API, its docs, the playground."""
        return {"object": "server", "api": "/v1", "docs": "/docs", "playground": "/playground"}

    @app.exception_handler(APIError)
    async def api_error(_: Request, exc: APIError) -> JSONResponse:
        return JSONResponse(exc.envelope(), status_code=exc.status_code)

    @app.exception_handler(StoreUnavailable)
    async def store_unavailable(_: Request, exc: StoreUnavailable) -> JSONResponse:
        # The database is away (restarted, read-only, disk full): a typed, retryable 503.
        # The SDK retries it after ``retry-after``.
        log.warning("database unavailable: %s", exc)
        error = APIError(
            503,
            "The database is unavailable right now; try again shortly.",
            type="server_error",
            code="database_unavailable",
        )
        return JSONResponse(error.envelope(), status_code=503, headers={"retry-after": "1"})

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "Invalid request."}
        param = _param(tuple(first.get("loc", ())))
        message = f"Invalid value for '{param}': {first.get('msg', 'invalid')}."
        return JSONResponse(APIError(400, message, param=param).envelope(), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 413:  # a streamed body went over --max-request-bytes
            return JSONResponse(too_large(settings.max_request_bytes).envelope(), status_code=413)
        code = "not_found" if exc.status_code == 404 else None
        message = "Unknown path." if exc.status_code == 404 else str(exc.detail)
        return JSONResponse(
            APIError(exc.status_code, message, code=code).envelope(), status_code=exc.status_code
        )

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        error = APIError(
            500, "The server had an error while processing your request.", type="server_error"
        )
        return JSONResponse(error.envelope(), status_code=500)

    return app


def app_from_environment() -> FastAPI:
    """The app of one ``serve --workers N`` worker process (a uvicorn app factory): the
    settings come from the parent process through the environment."""
    configure_logging(os.environ.get(WORKER_LOG_LEVEL_ENV, "info"))
    app = create_app(settings_from_environment())
    gc.freeze()  # as ``serve`` does for one process (see cli.py)
    return app
