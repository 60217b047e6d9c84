"""Request limits that hold before any route runs: body size and NUL characters.

- Bodies larger than ``--max-request-bytes`` answer 413 while they are read: a declared
  ``Content-Length`` over the limit is refused before reading, and a body without one
  (chunked) is counted as it streams (Starlette's ``RequestBodyLimitMiddleware``).
  Multipart uploads to ``/files`` are the one exception, in :func:`has_own_limit`:
  file uploads carry their own, larger limit.
- NUL characters (``\\u0000``) and unpaired surrogates (``\\ud800``-``\\udfff`` escapes
  that are not a pair) in a JSON body, a path or a query answer 400 naming the field:
  PostgreSQL text and JSONB cannot store them, so SQLite refuses them too and both
  backends behave the same.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from .errors import APIError, bad_request, field_path

#: Paths whose multipart uploads are limited by their own route, not by the JSON limit.
UPLOAD_PATHS = frozenset({"/v1/files", "/files"})


def too_large(max_bytes: int) -> APIError:
    return APIError(
        413,
        f"The request body is larger than this server's limit of {max_bytes} bytes "
        "(serve --max-request-bytes).",
        code="request_too_large",
    )


def has_own_limit(scope: Scope) -> bool:
    """Multipart file uploads are limited by the upload route itself."""
    content_type = Headers(scope=scope).get("content-type", "")
    return scope["path"] in UPLOAD_PATHS and content_type.startswith("multipart/form-data")


class RequestSizeLimit:
    """ASGI middleware: 413 (error envelope) for request bodies over ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.limited = RequestBodyLimitMiddleware(app, max_body_size=max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or has_own_limit(scope):
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            # Refused before reading a byte; the connection closes so the body is not read.
            error = too_large(self.max_bytes)
            response = JSONResponse(
                error.envelope(), status_code=413, headers={"connection": "close"}
            )
            await response(scope, receive, send)
            return
        # Counted while it streams; the app's 413 handler renders the envelope.
        await self.limited(scope, receive, send)


#: What PostgreSQL text cannot hold: NUL, and surrogates (a decoded pair is one character,
#: so any surrogate left in a decoded string is unpaired).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def nul_path(value: Any, path: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """Where the first NUL character (or unpaired surrogate) is in a JSON value (a string
    or a key), if anywhere."""
    if isinstance(value, str):
        return path if UNSTORABLE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if UNSTORABLE.search(key):
                return path
            if (found := nul_path(item, (*path, key))) is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            if (found := nul_path(item, (*path, index))) is not None:
                return found
    return None


def _nul_error(param: str) -> APIError:
    return bad_request(
        f"Invalid value for '{param}': text may not contain NUL characters (\\u0000) "
        "or unpaired surrogates (\\ud800-\\udfff).",
        param=param,
    )


async def reject_nul_characters(request: Request) -> None:
    """FastAPI dependency: 400 for a NUL character in the path, the query or a JSON body."""
    for name, value in request.path_params.items():
        if isinstance(value, str) and UNSTORABLE.search(value):
            raise _nul_error(name)
    for name, value in request.query_params.multi_items():
        if UNSTORABLE.search(name) or UNSTORABLE.search(value):
            raise _nul_error(name.replace("\x00", "\\u0000"))
    content_type = request.headers.get("content-type", "")
    if "json" not in content_type or not await request.body():
        return
    try:
        body = await request.json()
    except ValueError:  # not JSON: the route's own parsing reports it
        return
    found = nul_path(body)
    if found is not None:
        raise _nul_error(field_path(found) or "body")
