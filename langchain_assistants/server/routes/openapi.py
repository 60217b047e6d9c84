"""The OpenAPI description of the routes: response shapes from the ``openai`` SDK's own types.

Routes declare what they answer with ``**documented(Model, ...)`` in their decorator. The
model goes into ``responses=`` (documentation only), with the ``text/event-stream``
alternative of streamed endpoints and the error envelope; the route's ``response_model``
stays a plain ``dict``: the objects were already checked against the SDK types in
``wire.py``, so FastAPI must not validate them a second time (and its dict serializer is
fast; ``response_model=None`` would walk every answer with ``jsonable_encoder``, 20x slower).
:func:`finish_openapi` replaces FastAPI's 422 (we answer 400), lists the error envelope on
every operation and declares the bearer key, so the document matches what the server
really does (schemathesis checks it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, Literal, TypeVar, get_args

from fastapi import FastAPI
from fastapi.responses import Response
from openai.types import ErrorObject
from openai.types.beta import AssistantStreamEvent
from openai.types.beta.threads import Run
from pydantic import BaseModel

T = TypeVar("T")

ERROR_DESCRIPTIONS = {
    400: "Invalid request: the error names the parameter (`param`).",
    401: "Missing or wrong API key.",
    404: "No such object (or path).",
    413: "Request body too large.",
    500: "Server error.",
    503: "The database is unavailable; retry later.",
}
# Errors any route may answer; 404 is added for routes with an object id, 413 with a body.
COMMON_ERRORS = (400, 401, 500, 503)


def _stream_event_names(annotation: Any = AssistantStreamEvent) -> list[str]:
    """The ``event:`` names of the SDK's assistant stream events (its ``event`` literals)."""
    fields = getattr(annotation, "model_fields", None)
    if fields is not None:
        return list(get_args(fields["event"].annotation))
    return [name for member in get_args(annotation) for name in _stream_event_names(member)]


# One server-sent event of a run stream (OpenAPI 3.1: the schema describes each event);
# ``data`` is the JSON of the object the event names, ``[DONE]`` for the final ``done``.
STREAM_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": [*_stream_event_names(), "done"]},
        "data": {"type": "string", "contentMediaType": "application/json"},
    },
    "required": ["event", "data"],
}


class ListPage(BaseModel, Generic[T]):
    """A cursor page: ``{"object": "list", "data": [...], "first_id", "last_id", "has_more"}``."""

    object: Literal["list"]
    data: list[T]
    first_id: str | None
    last_id: str | None
    has_more: bool


class ResultsPage(BaseModel, Generic[T]):
    """A page of vector-store results: search results or a file's parsed content."""

    object: Literal["vector_store.search_results.page", "vector_store.file_content.page"]
    data: list[T]
    has_more: bool
    next_page: str | None
    search_query: list[str] | None = None


class ErrorEnvelope(BaseModel):
    """Every error: ``{"error": {"message", "type", "param", "code"}}``."""

    error: ErrorObject


def documented(
    model: Any,
    *,
    stream: bool = False,
    media_type: str = "application/json",
    by_id: bool = True,
    body: bool = False,
) -> dict[str, Any]:
    """Decorator keywords describing a route's answer: ``model`` (or raw bytes when
    ``media_type`` is not JSON), an SSE alternative when ``stream``, and its errors."""
    ok: dict[str, Any] = {"description": "OK"}
    extra: dict[str, Any] = {"response_model": dict[str, Any]}
    if media_type == "application/json":
        ok["model"] = model
    else:
        ok["content"] = {media_type: {"schema": {"type": "string", "format": "binary"}}}
        # not JSON: no application/json alternative (the route returns a Response)
        extra = {"response_model": None, "response_class": Response}
    if stream:
        ok["description"] = "The object, or its server-sent events when `stream` is true."
        ok["content"] = {"text/event-stream": {"schema": STREAM_EVENT_SCHEMA}}
    if model is Run:  # every Run answer is a runs.run_response: it tells pollers how long to wait
        ok["headers"] = {
            "openai-poll-after-ms": {
                "description": "How long the SDK's polling helpers wait before the next GET.",
                "schema": {"type": "string", "pattern": "^[0-9]+$"},
            }
        }
    errors = [*COMMON_ERRORS, *((404,) if by_id else ()), *((413,) if body else ())]
    return {"responses": {200: ok, **error_responses(errors)}, **extra}


def error_responses(codes: Iterable[int]) -> dict[int | str, dict[str, Any]]:
    return {
        code: {"model": ErrorEnvelope, "description": ERROR_DESCRIPTIONS[code]}
        for code in sorted(set(codes))
    }


def finish_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` describe what the server really does: validation errors are
    400 (not FastAPI's 422), every operation may answer the error envelope (routes without
    ``documented`` get the errors listed too), and requests carry the bearer API key."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        envelope = ErrorEnvelope.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in {**envelope.pop("$defs", {}), "ErrorEnvelope": envelope}.items():
            schemas.setdefault(name, definition)
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                _only_documented_model(operation)
                body = method in ("post", "put", "patch")
                # a body can name objects too (assistant_id, file_ids): it may answer 404
                _list_errors(operation, by_id=body or "{" in path, body=body)
        components["securitySchemes"] = {"apiKey": {"type": "http", "scheme": "bearer"}}
        schema["security"] = [{"apiKey": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _only_documented_model(operation: dict[str, Any]) -> None:
    """The 200 JSON schema is the documented model alone, not merged with the route's
    plain ``dict`` response model (``{"type": "object", "additionalProperties": true}``)."""
    content = operation.get("responses", {}).get("200", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        content["application/json"]["schema"] = {"$ref": schema["$ref"]}


def _list_errors(operation: dict[str, Any], *, by_id: bool, body: bool) -> None:
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)
    codes = [*COMMON_ERRORS, *((404,) if by_id else ()), *((413,) if body else ())]
    for code in codes:
        responses.setdefault(
            str(code),
            {
                "description": ERROR_DESCRIPTIONS[code],
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}
                },
            },
        )
