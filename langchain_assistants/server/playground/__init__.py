"""The playground: a browser page that builds, chats with and inspects assistants.

Three static files ship in this package (``static/``: HTML, one script, one stylesheet; no
build step, nothing fetched from the internet). The page talks to ``/v1`` exactly as the SDK
does (same bodies, same SSE, ``Authorization: Bearer``), so it is served without auth itself:
it asks for the key when the API answers 401.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

from ..errors import APIError

STATIC = Path(__file__).parent / "static"
ASSETS = {"playground.js": "text/javascript", "playground.css": "text/css"}
# The files change with the package: browsers revalidate instead of keeping stale copies.
NO_CACHE = {"Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)


@router.get("/playground")
async def playground_redirect() -> RedirectResponse:
    """``/playground`` → ``/playground/`` (relative, so a path prefix in front survives)."""
    return RedirectResponse("playground/", status_code=307)


@router.get("/playground/")
async def playground_page() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=NO_CACHE)


@router.get("/playground/{name}")
async def playground_asset(name: str) -> FileResponse:
    """Only the page's own files: the name is looked up, never joined into a path blindly."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise APIError(404, f"No playground file named '{name}'.", code="not_found")
    return FileResponse(STATIC / name, media_type=media_type, headers=NO_CACHE)
