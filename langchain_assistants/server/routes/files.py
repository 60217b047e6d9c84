"""``/files``: the files runs produce (code-interpreter images): retrieve, content, delete.

Uploads are not supported yet; listing shows what the server made.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from openai.types import FileDeleted, FileObject

from ..errors import not_found
from ..store import Kind
from ..wire import deleted_object
from .common import Lister, Svc, fetch, list_page
from .openapi import ListPage, documented

router = APIRouter(prefix="/files", tags=["files"])


@router.get("", **documented(ListPage[FileObject], by_id=False))
async def list_files(svc: Svc, params: Lister) -> dict[str, Any]:
    return await list_page(svc, Kind.file, params)


@router.get("/{file_id}", **documented(FileObject))
async def retrieve_file(file_id: str, svc: Svc) -> dict[str, Any]:
    return await fetch(svc, Kind.file, file_id)


@router.get("/{file_id}/content", **documented(None, media_type="application/octet-stream"))
async def file_content(file_id: str, svc: Svc) -> Response:
    content = await svc.store.file_content(file_id)
    if content is None:
        raise not_found(Kind.file.label, file_id)
    return Response(content, media_type="application/octet-stream")


@router.delete("/{file_id}", **documented(FileDeleted))
async def delete_file(file_id: str, svc: Svc) -> dict[str, Any]:
    await fetch(svc, Kind.file, file_id)
    await svc.store.delete(Kind.file, file_id)
    return deleted_object("file", file_id)
