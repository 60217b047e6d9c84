"""The FastAPI application: routes under ``/v1`` (and ``/``), auth, error envelopes, lifespan."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from langchain_core.embeddings import Embeddings
from starlette.exceptions import HTTPException as StarletteHTTPException

from .engine.runner import RunEngine
from .errors import APIError, unauthorized
from .retrieval import Retrieval, resolve_embeddings
from .routes import router
from .routes.common import Services
from .settings import ServerSettings
from .store import Store
from .store.blobs import BlobStore, DatabaseBlobStore, DirectoryBlobStore
from .store.files import FileStore
from .store.upgrade import upgrade_files_table, upgrade_runs_table

log = logging.getLogger(__name__)


def _auth_dependency(settings: ServerSettings) -> Any:
    async def check(request: Request) -> None:
        if settings.api_key is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        expected = settings.api_key.get_secret_value()
        if scheme.lower() != "bearer" or not secrets.compare_digest(
            token.encode(), expected.encode()
        ):
            raise unauthorized()

    return check


def _param(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def blob_store(settings: ServerSettings, store: Store) -> BlobStore:
    """Where file bytes go (see ``ServerSettings.file_storage_kind``)."""
    if settings.file_storage_kind == "database":
        return DatabaseBlobStore(store)
    return DirectoryBlobStore(settings.files_root)


def create_app(
    settings: ServerSettings | None = None, *, embeddings: Embeddings | None = None
) -> FastAPI:
    """Build the server app; storage is opened and stale runs recovered at start-up.

    ``embeddings`` (an object) or ``settings.embeddings`` (a spec) turns on hybrid search.
    """
    settings = settings or ServerSettings.from_env()
    embedding_model = resolve_embeddings(settings, embeddings)
    store = Store(settings.database_url, sqlite_vec=embedding_model is not None)
    files = FileStore(store, blob_store(settings, store))
    retrieval = Retrieval(store, settings, embedding_model, files=files)
    engine = RunEngine(store, settings, files, retrieval)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await store.create_all()
        await upgrade_files_table(store, files.blobs)
        await upgrade_runs_table(store)
        await files.blobs.sweep()
        await retrieval.startup()
        await engine.startup()
        try:
            yield
        finally:
            await engine.shutdown()
            await retrieval.shutdown()
            await store.close()

    app = FastAPI(
        title="langchain-assistants server",
        description="An OpenAI Assistants v2 compatible API that runs on LangChain chat models.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.services = Services(
        settings=settings, store=store, engine=engine, files=files, retrieval=retrieval
    )
    auth = [Depends(_auth_dependency(settings))]
    app.include_router(router, prefix="/v1", dependencies=auth)
    app.include_router(router, dependencies=auth, include_in_schema=False)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.exception_handler(APIError)
    async def api_error(_: Request, exc: APIError) -> JSONResponse:
        return JSONResponse(exc.envelope(), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "Invalid request."}
        param = _param(tuple(first.get("loc", ())))
        message = f"Invalid value for '{param}': {first.get('msg', 'invalid')}."
        return JSONResponse(APIError(400, message, param=param).envelope(), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
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
