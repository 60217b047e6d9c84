"""``/files``: upload (streamed multipart), list (``purpose`` filter), retrieve, content, delete.

Uploads accept the purposes assistants use (``assistants``, ``vision``, ``user_data``); files
runs produce have purpose ``assistants_output``. The size limit is the server's
``max_file_bytes`` (default 512 MB): over it answers 413, an empty file 400.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from openai.types import FileDeleted, FileObject

from ..errors import APIError, bad_request, not_found
from ..store import Kind
from ..wire import checked, list_object
from .common import Svc, fetch
from .openapi import ListPage, documented
from .upload import receive_upload

router = APIRouter(prefix="/files", tags=["files"])

UPLOAD_PURPOSES = ("assistants", "vision", "user_data")
MAX_FILENAME_CHARS = 512


def _clean_filename(name: str | None) -> str:
    """The upload's name without any directory part (it names a file in a sandbox)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    base = "".join(ch for ch in base if ch.isprintable())
    if base in ("", ".", ".."):
        raise bad_request("The 'file' part needs a filename.", param="file")
    return base[:MAX_FILENAME_CHARS]


@router.post("", **documented(FileObject, by_id=False, body=True))
async def upload_file(request: Request, svc: Svc) -> dict[str, Any]:
    limit = svc.settings.max_file_bytes
    file_id, writer = svc.files.new_upload()
    try:
        form = await receive_upload(
            request.headers.get("content-type", ""), request.stream(), writer, max_bytes=limit
        )
        purpose = form.fields.get("purpose")
        if not purpose:
            raise bad_request("Missing required parameter: 'purpose'.", param="purpose")
        if purpose not in UPLOAD_PURPOSES:
            raise bad_request(
                f"Invalid value for 'purpose': {purpose!r}. This server accepts "
                + ", ".join(repr(p) for p in UPLOAD_PURPOSES)
                + ".",
                param="purpose",
            )
        if form.filename is None:
            raise bad_request("Missing required parameter: 'file'.", param="file")
        if form.too_large:
            raise APIError(
                413,
                f"File is too large: it exceeds this server's limit of {limit} bytes.",
                param="file",
                code="file_too_large",
            )
        if form.size == 0:
            raise bad_request("The file is empty.", param="file", code="empty_file")
        filename = _clean_filename(form.filename)
        return await svc.files.save_upload(file_id, writer, filename=filename, purpose=purpose)
    except BaseException:  # ClientDisconnect included
        # A bad request or a client that went away mid-upload: nothing is kept.
        await writer.abort()
        raise


@router.get("", **documented(ListPage[FileObject], by_id=False))
async def list_files(
    svc: Svc,
    purpose: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 10_000,
    order: Literal["asc", "desc"] = "desc",
    after: str | None = None,
) -> dict[str, Any]:
    page = await svc.store.page(Kind.file, limit=limit, order=order, after=after, purpose=purpose)
    return list_object(page.items, page.has_more)


@router.get("/{file_id}", **documented(FileObject))
async def retrieve_file(file_id: str, svc: Svc) -> dict[str, Any]:
    return await fetch(svc, Kind.file, file_id)


@router.get("/{file_id}/content", **documented(None, media_type="application/octet-stream"))
async def file_content(file_id: str, svc: Svc) -> StreamingResponse:
    chunks = await svc.files.content(file_id)
    if chunks is None:
        raise not_found(Kind.file.label, file_id)
    return StreamingResponse(chunks, media_type="application/octet-stream")


@router.delete("/{file_id}", **documented(FileDeleted))
async def delete_file(file_id: str, svc: Svc) -> dict[str, Any]:
    await fetch(svc, Kind.file, file_id)
    # Vector stores that hold the file lose it (and its chunks) first, atomically.
    await svc.retrieval.forget_file(file_id)
    await svc.files.delete(file_id)
    return checked(FileDeleted, {"id": file_id, "object": "file", "deleted": True})
