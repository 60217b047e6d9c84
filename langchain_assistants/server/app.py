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
from starlette.exceptions import HTTPException as StarletteHTTPException

from .engine.runner import RunEngine
from .errors import APIError, unauthorized
from .routes import router
from .routes.common import Services
from .settings import ServerSettings
from .store import Store, StoreUnavailable

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


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """Build the server app; storage is opened and stale runs recovered at start-up."""
    settings = settings or ServerSettings.from_env()
    store = Store(settings.database_url)
    engine = RunEngine(store, settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await store.create_all()
        await engine.startup()
        try:
            yield
        finally:
            await engine.shutdown()
            await store.close()

    app = FastAPI(
        title="langchain-assistants server",
        description="An OpenAI Assistants v2 compatible API that runs on LangChain chat models.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.services = Services(settings=settings, store=store, engine=engine)
    auth = [Depends(_auth_dependency(settings))]
    app.include_router(router, prefix="/v1", dependencies=auth)
    app.include_router(router, dependencies=auth, include_in_schema=False)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

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
