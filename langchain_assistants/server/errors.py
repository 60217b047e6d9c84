"""API errors and the OpenAI error envelope ``{"error": {message, type, param, code}}``.

Handlers raise :class:`APIError`; the app turns it into the JSON envelope the SDK parses
into ``openai.BadRequestError`` / ``NotFoundError`` / ``AuthenticationError``. Lifecycle
conflicts (a locked thread) answer 400, never 409: the SDK retries 409.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class APIError(Exception):
    """An error answered to the client with an HTTP status and the error envelope."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.type = type
        self.param = param
        self.code = code

    def envelope(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def field_path(parts: Iterable[str | int]) -> str:
    """A field's name as the API writes it: ``messages[0].content``."""
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def bad_request(message: str, *, param: str | None = None, code: str | None = None) -> APIError:
    return APIError(400, message, param=param, code=code)


def not_found(kind: str, object_id: str) -> APIError:
    """404 in the API's words, e.g. "No assistant found with id 'asst_abc'."."""
    return APIError(404, f"No {kind} found with id '{object_id}'.", code="not_found")


def unauthorized() -> APIError:
    return APIError(
        401,
        "Incorrect API key provided. Send 'Authorization: Bearer <key>' with the server's key.",
        code="invalid_api_key",
    )
