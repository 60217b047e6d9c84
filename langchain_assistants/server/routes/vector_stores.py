"""``/vector_stores``: stores, their files, file batches and search.

Bodies are pydantic models for the field types (400 naming a bad field); the rules of the
API (chunking strategies, attributes, expiry, file limits) are checked by the
:class:`~..retrieval.Retrieval` service. Responses a client polls (a store file, a batch)
carry ``openai-poll-after-ms`` so the SDK's ``*_and_poll`` helpers poll quickly.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from openai.types import VectorStore, VectorStoreDeleted, VectorStoreSearchResponse
from openai.types.vector_stores import (
    FileContentResponse,
    VectorStoreFile,
    VectorStoreFileBatch,
    VectorStoreFileDeleted,
)
from pydantic import BaseModel, ConfigDict, Field

from ..retrieval.objects import search_result
from ..schemas import Metadata
from ..wire import deleted_object
from .common import Lister, Svc
from .openapi import ListPage, ResultsPage, documented

router = APIRouter(prefix="/vector_stores", tags=["vector_stores"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")


class VectorStoreCreate(_Body):
    name: str | None = None
    file_ids: list[str] | None = None
    expires_after: dict[str, Any] | None = None
    metadata: Metadata = None
    chunking_strategy: dict[str, Any] | None = None
    description: str | None = None


class VectorStoreUpdate(_Body):
    name: str | None = None
    expires_after: dict[str, Any] | None = None
    metadata: Metadata = None


class FileCreate(_Body):
    file_id: str
    attributes: dict[str, Any] | None = None
    chunking_strategy: dict[str, Any] | None = None


class FileUpdate(_Body):
    attributes: dict[str, Any] | None


class BatchCreate(_Body):
    file_ids: list[str] | None = None
    files: list[dict[str, Any]] | None = None
    attributes: dict[str, Any] | None = None
    chunking_strategy: dict[str, Any] | None = None


class RankingOptions(_Body):
    ranker: str | None = None
    score_threshold: Annotated[float, Field(ge=0, le=1)] | None = None


class SearchRequest(_Body):
    query: str | list[str]
    max_num_results: Annotated[int, Field(ge=1, le=50)] = 10
    filters: dict[str, Any] | None = None
    ranking_options: RankingOptions | None = None
    rewrite_query: bool | None = None


def _polled(svc: Svc, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, headers={"openai-poll-after-ms": str(svc.settings.poll_after_ms)})


# -- stores -------------------------------------------------------------------------------


@router.post("", **documented(VectorStore, body=True))
async def create_vector_store(body: VectorStoreCreate, svc: Svc) -> dict[str, Any]:
    return await svc.retrieval.create_vector_store(
        name=body.name,
        file_ids=body.file_ids or [],
        expires_after=body.expires_after,
        metadata=body.metadata,
        chunking_strategy=body.chunking_strategy,
    )


@router.get("", **documented(ListPage[VectorStore], by_id=False))
async def list_vector_stores(svc: Svc, params: Lister) -> dict[str, Any]:
    return await svc.retrieval.list_vector_stores(
        limit=params.limit, order=params.order, after=params.after, before=params.before
    )


@router.get("/{vector_store_id}", **documented(VectorStore))
async def retrieve_vector_store(vector_store_id: str, svc: Svc) -> JSONResponse:
    return _polled(svc, await svc.retrieval.get_vector_store(vector_store_id))


@router.post("/{vector_store_id}", **documented(VectorStore, body=True))
async def modify_vector_store(
    vector_store_id: str, body: VectorStoreUpdate, svc: Svc
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    return await svc.retrieval.modify_vector_store(vector_store_id, changes)


@router.delete("/{vector_store_id}", **documented(VectorStoreDeleted))
async def delete_vector_store(vector_store_id: str, svc: Svc) -> dict[str, Any]:
    await svc.retrieval.delete_vector_store(vector_store_id)
    return deleted_object("vector_store", vector_store_id)


@router.post(
    "/{vector_store_id}/search", **documented(ResultsPage[VectorStoreSearchResponse], body=True)
)
async def search_vector_store(
    vector_store_id: str, body: SearchRequest, svc: Svc
) -> dict[str, Any]:
    queries = [body.query] if isinstance(body.query, str) else list(body.query)
    threshold = body.ranking_options.score_threshold if body.ranking_options else None
    hits = await svc.retrieval.search_stores(
        vector_store_id,
        " ".join(queries),
        max_num_results=body.max_num_results,
        score_threshold=threshold,
        filters=body.filters,
    )
    return {
        "object": "vector_store.search_results.page",
        "search_query": queries,
        "data": [search_result(h.file_id, h.filename, h.score, h.text, h.attributes) for h in hits],
        "has_more": False,
        "next_page": None,
    }


# -- files of a store ---------------------------------------------------------------------


@router.post("/{vector_store_id}/files", **documented(VectorStoreFile, body=True))
async def create_vector_store_file(
    vector_store_id: str, body: FileCreate, svc: Svc
) -> JSONResponse:
    created = await svc.retrieval.add_file(
        vector_store_id,
        body.file_id,
        attributes=body.attributes,
        chunking_strategy=body.chunking_strategy,
    )
    return _polled(svc, created)


@router.get("/{vector_store_id}/files", **documented(ListPage[VectorStoreFile]))
async def list_vector_store_files(
    vector_store_id: str,
    svc: Svc,
    params: Lister,
    filter: Literal["in_progress", "completed", "failed", "cancelled"] | None = None,
) -> dict[str, Any]:
    return await svc.retrieval.list_files(
        vector_store_id,
        limit=params.limit,
        order=params.order,
        after=params.after,
        before=params.before,
        status=filter,
    )


@router.get("/{vector_store_id}/files/{file_id}", **documented(VectorStoreFile))
async def retrieve_vector_store_file(vector_store_id: str, file_id: str, svc: Svc) -> JSONResponse:
    return _polled(svc, await svc.retrieval.get_file(vector_store_id, file_id))


@router.post("/{vector_store_id}/files/{file_id}", **documented(VectorStoreFile, body=True))
async def update_vector_store_file(
    vector_store_id: str, file_id: str, body: FileUpdate, svc: Svc
) -> dict[str, Any]:
    return await svc.retrieval.update_file_attributes(vector_store_id, file_id, body.attributes)


@router.delete("/{vector_store_id}/files/{file_id}", **documented(VectorStoreFileDeleted))
async def delete_vector_store_file(vector_store_id: str, file_id: str, svc: Svc) -> dict[str, Any]:
    await svc.retrieval.remove_file(vector_store_id, file_id)
    return deleted_object("vector_store.file", file_id)


@router.get(
    "/{vector_store_id}/files/{file_id}/content", **documented(ResultsPage[FileContentResponse])
)
async def vector_store_file_content(vector_store_id: str, file_id: str, svc: Svc) -> dict[str, Any]:
    texts = await svc.retrieval.file_content(vector_store_id, file_id)
    return {
        "object": "vector_store.file_content.page",
        "data": [{"type": "text", "text": t} for t in texts],
        "has_more": False,
        "next_page": None,
    }


# -- batches ------------------------------------------------------------------------------


@router.post("/{vector_store_id}/file_batches", **documented(VectorStoreFileBatch, body=True))
async def create_file_batch(vector_store_id: str, body: BatchCreate, svc: Svc) -> JSONResponse:
    batch = await svc.retrieval.create_batch(
        vector_store_id,
        file_ids=body.file_ids,
        files=body.files,
        attributes=body.attributes,
        chunking_strategy=body.chunking_strategy,
    )
    return _polled(svc, batch)


@router.get("/{vector_store_id}/file_batches/{batch_id}", **documented(VectorStoreFileBatch))
async def retrieve_file_batch(vector_store_id: str, batch_id: str, svc: Svc) -> JSONResponse:
    return _polled(svc, await svc.retrieval.get_batch(vector_store_id, batch_id))


@router.post(
    "/{vector_store_id}/file_batches/{batch_id}/cancel", **documented(VectorStoreFileBatch)
)
async def cancel_file_batch(vector_store_id: str, batch_id: str, svc: Svc) -> dict[str, Any]:
    return await svc.retrieval.cancel_batch(vector_store_id, batch_id)


@router.get(
    "/{vector_store_id}/file_batches/{batch_id}/files", **documented(ListPage[VectorStoreFile])
)
async def list_file_batch_files(
    vector_store_id: str,
    batch_id: str,
    svc: Svc,
    params: Lister,
    filter: Literal["in_progress", "completed", "failed", "cancelled"] | None = None,
) -> dict[str, Any]:
    await svc.retrieval.get_batch(vector_store_id, batch_id)
    return await svc.retrieval.list_files(
        vector_store_id,
        limit=params.limit,
        order=params.order,
        after=params.after,
        before=params.before,
        status=filter,
        batch_id=batch_id,
    )


__all__ = ["router"]
