"""The :class:`Retrieval` service: vector stores, their files and batches, and search.

Routes and the ``file_search`` hosted tool use this class only; it validates requests
(400/404 in the API's words), keeps every state change in the database, and hands file
ingestion to the background :class:`~.ingest.Ingestor`.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.embeddings import Embeddings
from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..errors import bad_request, not_found
from ..ids import new_id
from ..settings import ServerSettings
from ..store import Store
from ..store.blobs import DatabaseBlobStore, DirectoryBlobStore
from ..store.files import FileStore
from ..store.tables import FileRow
from ..wire import list_object, now
from . import objects
from .chunking import parse_strategy
from .embeddings import EmbeddingsModel, load_embeddings, named
from .index import ChunkIndex
from .ingest import Ingestor
from .search import fuse, lexical_score, matches, validate_filter
from .tables import ChunkRow, FileBatchRow, VectorStoreFileRow, VectorStoreRow

log = logging.getLogger(__name__)

MAX_FILES_PER_STORE_CREATE = 500
MAX_FILES_PER_BATCH = 2000
ACTIVITY_RESOLUTION = 60  # seconds: how stale last_active_at may get from searches
CANDIDATES = 100  # chunks each ranking contributes before fusion


@dataclass(frozen=True)
class SearchHit:
    """One ranked chunk: which file it came from, how well it matched, and its text."""

    file_id: str
    filename: str
    score: float  # higher is better, in [0, 1]
    text: str  # the chunk's text
    attributes: dict[str, str | float | bool]


def resolve_embeddings(
    settings: ServerSettings, embeddings: Embeddings | EmbeddingsModel | None = None
) -> EmbeddingsModel | None:
    """The embeddings model in force: one passed in by code wins over ``--embeddings``."""
    if isinstance(embeddings, EmbeddingsModel):
        return embeddings
    if embeddings is not None:
        return named(embeddings)
    spec = getattr(settings, "embeddings", None)
    return load_embeddings(spec) if spec else None


class Retrieval:
    """Vector stores, their files' ingestion and search; constructed once per app.

    ``scoped(project)`` is a view that sees and makes only that project's vector stores
    (routes use one per request); the app's own instance sees every project, and its
    methods' ``project=`` argument narrows one call the same way.
    """

    def __init__(
        self,
        store: Store,
        settings: ServerSettings,
        embeddings: Embeddings | EmbeddingsModel | None = None,
        *,
        files: FileStore | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.files = files or _file_store(store, settings)
        self.project: str | None = None  # None: every project (the app's instance)
        self.embeddings = resolve_embeddings(settings, embeddings)
        self.index = ChunkIndex(store, vectors=self.embeddings is not None)
        self.ingestor = Ingestor(
            store,
            self.index,
            self._read_file,
            self.embeddings,
            concurrency=int(getattr(settings, "ingest_concurrency", 4)),
        )

    def scoped(self, project: str | None) -> Retrieval:
        """This service limited to ``project`` (the same index, ingestor and database)."""
        if project is None or project == self.project:
            return self
        view = copy.copy(self)
        view.project = project
        return view

    def _mine(self) -> list[Any]:
        return [] if self.project is None else [VectorStoreRow.project == self.project]

    def describe(self) -> str:
        """Which retrieval is active, for the start-up line."""
        lexical = "SQLite FTS5 BM25" if self.store.is_sqlite else "PostgreSQL full text"
        if self.embeddings is None:
            return f"lexical only ({lexical})"
        where = "sqlite-vec" if self.store.is_sqlite else "pgvector"
        return f"hybrid ({lexical} + {self.embeddings.name} vectors in {where}, RRF)"

    async def startup(self) -> None:
        await self.index.setup()
        if self.embeddings is not None and not self.index.vectors:
            self.embeddings = self.ingestor.embeddings = None  # no pgvector: full text only
        await self.ingestor.start()
        log.info("retrieval: %s", self.describe())

    async def shutdown(self) -> None:
        await self.ingestor.stop()

    # -- files of the Files API -----------------------------------------------------------

    async def _read_file(self, file_id: str) -> tuple[str, bytes] | None:
        meta = await self.files.get(file_id)
        content = await self.files.read_bytes(file_id) if meta is not None else None
        if meta is None or content is None:
            return None
        return str(meta.get("filename") or file_id), content

    async def _filenames(self, s: AsyncSession, file_ids: Sequence[str]) -> dict[str, str]:
        names: dict[str, str] = {}
        unique = list(dict.fromkeys(file_ids))
        for start in range(0, len(unique), 500):
            part = unique[start : start + 500]
            mine = [] if self.project is None else [FileRow.project == self.project]
            rows = await s.execute(
                select(FileRow.id, FileRow.data).where(FileRow.id.in_(part), *mine)
            )
            names.update({r[0]: str(r[1].get("filename") or r[0]) for r in rows})
        return names

    async def _require_files(
        self, s: AsyncSession, file_ids: Sequence[str], param: str
    ) -> dict[str, str]:
        names = await self._filenames(s, file_ids)
        for i, file_id in enumerate(file_ids):
            if file_id not in names:
                raise (
                    not_found("file", file_id)
                    if len(file_ids) == 1
                    else bad_request(
                        f"No file found with id '{file_id}' ({param}[{i}]).",
                        param=f"{param}[{i}]",
                        code="file_not_found",
                    )
                )
        return names

    async def forget_file(self, file_id: str) -> None:
        """A file was deleted: remove it, and its chunks, from every store."""
        async with self.store.session(write=True) as s:
            await self.index.remove(s, file_id=file_id)
            await s.execute(
                sql_delete(VectorStoreFileRow).where(VectorStoreFileRow.file_id == file_id)
            )

    # -- vector stores --------------------------------------------------------------------

    async def create_vector_store(
        self,
        *,
        name: str | None = None,
        file_ids: Sequence[str] = (),
        expires_after: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        chunking_strategy: dict[str, Any] | None = None,
        project: str | None = None,
    ) -> dict[str, Any]:
        """Create a store (its files' ingestion queued); returns the wire object."""
        if project is not None and project != self.project:
            return await self.scoped(project).create_vector_store(
                name=name,
                file_ids=file_ids,
                expires_after=expires_after,
                metadata=metadata,
                chunking_strategy=chunking_strategy,
            )
        project = self.project
        file_ids = list(file_ids or ())
        if len(file_ids) > MAX_FILES_PER_STORE_CREATE:
            raise bad_request(
                f"'file_ids' has {len(file_ids)} files; at most {MAX_FILES_PER_STORE_CREATE} "
                "may be given when creating a vector store (add more with file_batches).",
                param="file_ids",
            )
        strategy = parse_strategy(chunking_strategy)
        expiry = objects.parse_expires_after(expires_after)
        created = now()
        vector_store_id = new_id("vs")
        data: dict[str, Any] = {
            "id": vector_store_id,
            "object": "vector_store",
            "created_at": created,
            "name": name or "",
            "metadata": metadata or {},
            "expires_after": expiry,
            "expires_at": objects.expiry(expiry, created),
            "last_active_at": created,
        }
        async with self.store.session(write=True) as s:
            names = await self._require_files(s, file_ids, "file_ids")
            s.add(
                VectorStoreRow(id=vector_store_id, created_at=created, data=data, project=project)
            )
            for file_id in dict.fromkeys(file_ids):
                s.add(self._file_row(vector_store_id, file_id, names[file_id], {}, strategy.wire()))
        self.ingestor.wake()
        return await self.get_vector_store(vector_store_id)

    def _file_row(
        self,
        vector_store_id: str,
        file_id: str,
        filename: str,
        attributes: dict[str, Any],
        strategy: dict[str, Any],
        batch_id: str | None = None,
    ) -> VectorStoreFileRow:
        created = now()
        data = objects.vector_store_file_object(
            {
                "id": file_id,
                "object": "vector_store.file",
                "created_at": created,
                "vector_store_id": vector_store_id,
                "status": "in_progress",
                "last_error": None,
                "usage_bytes": 0,
                "attributes": attributes,
                "chunking_strategy": strategy,
            }
        )
        return VectorStoreFileRow(
            vector_store_id=vector_store_id,
            file_id=file_id,
            batch_id=batch_id,
            filename=filename,
            status="in_progress",
            usage_bytes=0,
            created_at=created,
            data=data,
            attempts=0,
        )

    async def _store_row(self, s: AsyncSession, vector_store_id: str) -> VectorStoreRow:
        row = await s.scalar(
            select(VectorStoreRow).where(VectorStoreRow.id == vector_store_id, *self._mine())
        )
        if row is None:
            raise not_found("vector store", vector_store_id)
        return row

    async def _counts(
        self, s: AsyncSession, vector_store_ids: Sequence[str]
    ) -> dict[str, tuple[dict[str, int], int]]:
        rows = await s.execute(
            select(
                VectorStoreFileRow.vector_store_id,
                VectorStoreFileRow.status,
                func.count(),
                func.coalesce(func.sum(VectorStoreFileRow.usage_bytes), 0),
            )
            .where(VectorStoreFileRow.vector_store_id.in_(list(vector_store_ids)))
            .group_by(VectorStoreFileRow.vector_store_id, VectorStoreFileRow.status)
        )
        result: dict[str, tuple[dict[str, int], int]] = {i: ({}, 0) for i in vector_store_ids}
        for store_id, status, count, usage in rows:
            counts, total = result[store_id]
            counts[status] = int(count)
            result[store_id] = (counts, total + int(usage))
        return result

    def _wire(self, data: dict[str, Any], counted: tuple[dict[str, int], int]) -> dict[str, Any]:
        return objects.vector_store_object(data, counted[0], counted[1], now())

    async def get_vector_store(self, vector_store_id: str) -> dict[str, Any]:
        async with self.store.session(write=False) as s:
            row = await self._store_row(s, vector_store_id)
            counted = (await self._counts(s, [vector_store_id]))[vector_store_id]
            return self._wire(dict(row.data), counted)

    async def list_vector_stores(
        self, *, limit: int, order: str, after: str | None, before: str | None
    ) -> dict[str, Any]:
        async with self.store.session(write=False) as s:
            rows, has_more = await _page(
                s, VectorStoreRow, VectorStoreRow.id, limit, order, after, before, self._mine()
            )
            counted = await self._counts(s, [r.id for r in rows])
            items = [self._wire(dict(r.data), counted[r.id]) for r in rows]
        return list_object(items, has_more)

    async def modify_vector_store(
        self, vector_store_id: str, changes: dict[str, Any]
    ) -> dict[str, Any]:
        async with self.store.session(write=True) as s:
            row = await self._store_row(s, vector_store_id)
            data = dict(row.data)
            if "name" in changes and changes["name"] is not None:
                data["name"] = changes["name"]
            if "metadata" in changes:
                data["metadata"] = changes["metadata"] or {}
            if "expires_after" in changes:
                data["expires_after"] = objects.parse_expires_after(changes["expires_after"])
                data["expires_at"] = objects.expiry(data["expires_after"], data["last_active_at"])
            row.data = data
        return await self.get_vector_store(vector_store_id)

    async def delete_vector_store(self, vector_store_id: str) -> None:
        async with self.store.session(write=True) as s:
            await self._store_row(s, vector_store_id)
            await self.index.remove(s, vector_store_id=vector_store_id)
            for table in (VectorStoreFileRow, FileBatchRow):
                await s.execute(sql_delete(table).where(table.vector_store_id == vector_store_id))
            await s.execute(sql_delete(VectorStoreRow).where(VectorStoreRow.id == vector_store_id))

    async def _touch(self, s: AsyncSession, row: VectorStoreRow) -> None:
        """Activity on a store moves ``last_active_at`` (and so its expiry)."""
        data = dict(row.data)
        data["last_active_at"] = now()
        data["expires_at"] = objects.expiry(data.get("expires_after"), data["last_active_at"])
        row.data = data

    # -- files of a store -----------------------------------------------------------------

    async def add_file(
        self,
        vector_store_id: str,
        file_id: str,
        *,
        attributes: dict[str, Any] | None = None,
        chunking_strategy: dict[str, Any] | None = None,
        project: str | None = None,
    ) -> dict[str, Any]:
        """Add a file to a store (ingestion queued); returns the vector_store.file object.
        Adding a file the store already has ingests it again with the new settings."""
        if project is not None and project != self.project:
            return await self.scoped(project).add_file(
                vector_store_id, file_id, attributes=attributes, chunking_strategy=chunking_strategy
            )
        strategy = parse_strategy(chunking_strategy).wire()
        attrs = objects.parse_attributes(attributes)
        async with self.store.session(write=True) as s:
            store_row = await self._store_row(s, vector_store_id)
            names = await self._filenames(s, [file_id])
            if file_id not in names:
                raise not_found("file", file_id)
            await self._upsert_files(s, vector_store_id, [(file_id, attrs, strategy)], names, None)
            await self._touch(s, store_row)
        self.ingestor.wake()
        return await self.get_file(vector_store_id, file_id)

    async def _upsert_files(
        self,
        s: AsyncSession,
        vector_store_id: str,
        entries: Iterable[tuple[str, dict[str, Any], dict[str, Any]]],
        names: dict[str, str],
        batch_id: str | None,
    ) -> None:
        entries = list(entries)
        existing = {
            r.file_id: r
            for r in await s.scalars(
                select(VectorStoreFileRow).where(
                    VectorStoreFileRow.vector_store_id == vector_store_id,
                    VectorStoreFileRow.file_id.in_([e[0] for e in entries]),
                )
            )
        }
        for file_id, attrs, strategy in entries:
            fresh = self._file_row(
                vector_store_id, file_id, names[file_id], attrs, strategy, batch_id
            )
            old = existing.get(file_id)
            if old is None:
                s.add(fresh)
                existing[file_id] = fresh
                continue
            old.data = {**fresh.data, "created_at": old.data["created_at"]}
            old.status, old.batch_id, old.attempts = "in_progress", batch_id, 0
            old.claimed_by = old.claimed_at = None

    async def _file_row_of(
        self, s: AsyncSession, vector_store_id: str, file_id: str
    ) -> VectorStoreFileRow:
        row = await s.scalar(
            select(VectorStoreFileRow).where(
                VectorStoreFileRow.vector_store_id == vector_store_id,
                VectorStoreFileRow.file_id == file_id,
            )
        )
        if row is None:
            await self._store_row(s, vector_store_id)
            raise not_found("vector store file", file_id)
        return row

    async def get_file(self, vector_store_id: str, file_id: str) -> dict[str, Any]:
        async with self.store.session(write=False) as s:
            row = await self._file_row_of(s, vector_store_id, file_id)
            return objects.vector_store_file_object(dict(row.data))

    async def list_files(
        self,
        vector_store_id: str,
        *,
        limit: int,
        order: str,
        after: str | None,
        before: str | None,
        status: str | None = None,
        batch_id: str | None = None,
    ) -> dict[str, Any]:
        conditions = [VectorStoreFileRow.vector_store_id == vector_store_id]
        if status is not None:
            conditions.append(VectorStoreFileRow.status == status)
        if batch_id is not None:
            conditions.append(VectorStoreFileRow.batch_id == batch_id)
        async with self.store.session(write=False) as s:
            await self._store_row(s, vector_store_id)
            rows, has_more = await _page(
                s,
                VectorStoreFileRow,
                VectorStoreFileRow.file_id,
                limit,
                order,
                after,
                before,
                conditions,
            )
            items = [objects.vector_store_file_object(dict(r.data)) for r in rows]
        return list_object(items, has_more)

    async def update_file_attributes(
        self, vector_store_id: str, file_id: str, attributes: Any
    ) -> dict[str, Any]:
        attrs = objects.parse_attributes(attributes)
        async with self.store.session(write=True) as s:
            row = await self._file_row_of(s, vector_store_id, file_id)
            row.data = {**row.data, "attributes": attrs}
            return objects.vector_store_file_object(dict(row.data))

    async def remove_file(self, vector_store_id: str, file_id: str) -> None:
        """Take a file out of a store: its row and its chunks go in one transaction."""
        async with self.store.session(write=True) as s:
            await self._file_row_of(s, vector_store_id, file_id)
            await self.index.remove(s, vector_store_id=vector_store_id, file_id=file_id)
            await s.execute(
                sql_delete(VectorStoreFileRow).where(
                    VectorStoreFileRow.vector_store_id == vector_store_id,
                    VectorStoreFileRow.file_id == file_id,
                )
            )

    async def file_content(self, vector_store_id: str, file_id: str) -> list[str]:
        async with self.store.session(write=False) as s:
            await self._file_row_of(s, vector_store_id, file_id)
            return await self.index.file_chunks(s, vector_store_id, file_id)

    # -- batches --------------------------------------------------------------------------

    async def create_batch(
        self,
        vector_store_id: str,
        *,
        file_ids: Sequence[str] | None = None,
        files: Sequence[dict[str, Any]] | None = None,
        attributes: dict[str, Any] | None = None,
        chunking_strategy: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        if file_ids and files:
            raise bad_request("Give either 'file_ids' or 'files', not both.", param="files")
        entries: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        if files:
            param = "files"
            if len(files) > MAX_FILES_PER_BATCH:
                raise _too_many(param, len(files))
            for i, item in enumerate(files):
                if not isinstance(item, dict) or not isinstance(item.get("file_id"), str):
                    raise bad_request(
                        f"'files[{i}].file_id' is required.", param=f"files[{i}].file_id"
                    )
                entries.append(
                    (
                        item["file_id"],
                        objects.parse_attributes(
                            item.get("attributes"), param=f"files[{i}].attributes"
                        ),
                        parse_strategy(
                            item.get("chunking_strategy"), param=f"files[{i}].chunking_strategy"
                        ).wire(),
                    )
                )
        else:
            param = "file_ids"
            file_ids = list(file_ids or [])
            if not file_ids:
                raise bad_request("'file_ids' must list at least one file.", param="file_ids")
            if len(file_ids) > MAX_FILES_PER_BATCH:
                raise _too_many(param, len(file_ids))
            attrs = objects.parse_attributes(attributes)
            strategy = parse_strategy(chunking_strategy).wire()
            entries = [(f, attrs, strategy) for f in file_ids]
        # One entry per file: the last mention wins.
        entries = list({e[0]: e for e in entries}.values())
        batch_id = new_id("vsfb")
        async with self.store.session(write=True) as s:
            store_row = await self._store_row(s, vector_store_id)
            names = await self._require_files(s, [e[0] for e in entries], param)
            s.add(
                FileBatchRow(
                    id=batch_id, vector_store_id=vector_store_id, created_at=now(), cancelled=0
                )
            )
            await self._upsert_files(s, vector_store_id, entries, names, batch_id)
            await self._touch(s, store_row)
        self.ingestor.wake()
        return await self.get_batch(vector_store_id, batch_id)

    async def get_batch(self, vector_store_id: str, batch_id: str) -> dict[str, Any]:
        async with self.store.session(write=False) as s:
            return await self._batch(s, vector_store_id, batch_id)

    async def _batch(self, s: AsyncSession, vector_store_id: str, batch_id: str) -> dict[str, Any]:
        row = await s.scalar(select(FileBatchRow).where(FileBatchRow.id == batch_id))
        if row is None or row.vector_store_id != vector_store_id:
            await self._store_row(s, vector_store_id)
            raise not_found("vector store file batch", batch_id)
        counts = {
            status: int(count)
            for status, count in await s.execute(
                select(VectorStoreFileRow.status, func.count())
                .where(VectorStoreFileRow.batch_id == batch_id)
                .group_by(VectorStoreFileRow.status)
            )
        }
        return objects.batch_object(
            batch_id, vector_store_id, row.created_at, counts, bool(row.cancelled)
        )

    async def cancel_batch(self, vector_store_id: str, batch_id: str) -> dict[str, Any]:
        """Files of the batch not yet ingested end ``cancelled``; finished ones stay."""
        async with self.store.session(write=True) as s:
            await self._batch(s, vector_store_id, batch_id)
            await s.execute(
                update(FileBatchRow).where(FileBatchRow.id == batch_id).values(cancelled=1)
            )
            waiting = list(
                await s.scalars(
                    select(VectorStoreFileRow).where(
                        VectorStoreFileRow.batch_id == batch_id,
                        VectorStoreFileRow.status == "in_progress",
                    )
                )
            )
            for row in waiting:
                row.status = "cancelled"
                row.data = {**row.data, "status": "cancelled"}
                row.claimed_by = None
            await s.flush()
            return await self._batch(s, vector_store_id, batch_id)

    # -- search ---------------------------------------------------------------------------

    async def search(
        self,
        vector_store_ids: list[str],
        query: str,
        *,
        max_num_results: int = 10,
        score_threshold: float | None = None,
        filters: dict[str, Any] | None = None,
        project: str | None = None,
    ) -> list[SearchHit]:
        """The best chunks of the given stores for ``query``, best first (scores in [0, 1]).
        Stores that do not exist (in ``project``, when given) or have expired are skipped."""
        if project is not None and project != self.project:
            return await self.scoped(project).search(
                vector_store_ids,
                query,
                max_num_results=max_num_results,
                score_threshold=score_threshold,
                filters=filters,
            )
        if filters is not None:
            validate_filter(filters)
        store_ids = await self._mark_active(list(dict.fromkeys(vector_store_ids)))
        if not store_ids:
            return []
        query_vector = None
        if self.embeddings is not None and query.strip():
            try:
                query_vector = await self.embeddings.model.aembed_query(query)
            except Exception as exc:  # the provider is down: full-text ranking still answers
                log.warning(
                    "embedding the query failed (%s); searching full text only",
                    type(exc).__name__,
                )
        async with self.store.session(write=False) as s:
            allowed: set[tuple[str, str]] | None = None
            file_ids: set[str] | None = None
            if filters is not None:
                rows = await s.execute(
                    select(
                        VectorStoreFileRow.vector_store_id,
                        VectorStoreFileRow.file_id,
                        VectorStoreFileRow.data,
                    ).where(
                        VectorStoreFileRow.vector_store_id.in_(store_ids),
                        VectorStoreFileRow.status == "completed",
                    )
                )
                allowed = {
                    (r[0], r[1]) for r in rows if matches(filters, r[2].get("attributes") or {})
                }
                if not allowed:
                    return []
                file_ids = {file_id for _, file_id in allowed}
            lexical = await self.index.lexical(s, store_ids, file_ids, query, CANDIDATES)
            if query_vector is None or self.embeddings is None:
                ranked = [(cid, lexical_score(r)) for cid, r in lexical]
            else:
                nearest = await self.index.nearest(
                    s, store_ids, file_ids, query_vector, self.embeddings.name, CANDIDATES
                )
                ranked = fuse([[cid for cid, _ in lexical], [cid for cid, _ in nearest]])
            ranked = ranked[: max_num_results * 3 + 10]
            chunks = await self.index.chunks(s, [cid for cid, _ in ranked])
            files = await self._hit_files(s, store_ids, {c.file_id for c in chunks.values()})
        hits: list[SearchHit] = []
        for chunk_id, score in ranked:
            chunk = chunks.get(chunk_id)
            if chunk is None:
                continue
            key = (chunk.vector_store_id, chunk.file_id)
            if key not in files or (allowed is not None and key not in allowed):
                continue
            if score_threshold is not None and score < score_threshold:
                break
            filename, attributes = files[key]
            hits.append(
                SearchHit(
                    file_id=chunk.file_id,
                    filename=filename,
                    score=round(score, 6),
                    text=chunk.text,
                    attributes=attributes,
                )
            )
            if len(hits) >= max_num_results:
                break
        return hits

    async def _hit_files(
        self, s: AsyncSession, store_ids: list[str], file_ids: set[str]
    ) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
        """Name and attributes of the files that hits came from."""
        if not file_ids:
            return {}
        rows = await s.execute(
            select(
                VectorStoreFileRow.vector_store_id,
                VectorStoreFileRow.file_id,
                VectorStoreFileRow.filename,
                VectorStoreFileRow.data,
            ).where(
                VectorStoreFileRow.vector_store_id.in_(store_ids),
                VectorStoreFileRow.file_id.in_(list(file_ids)),
            )
        )
        return {(r[0], r[1]): (r[2], dict(r[3].get("attributes") or {})) for r in rows}

    async def search_stores(
        self, vector_store_id: str, query: str, **options: Any
    ) -> list[SearchHit]:
        """``POST /vector_stores/{id}/search``: 404 for an unknown store, 400 for an expired one."""
        async with self.store.session(write=False) as s:
            row = await self._store_row(s, vector_store_id)
        if _expired(row.data):
            raise bad_request(
                f"Vector store '{vector_store_id}' has expired and can no longer be searched.",
                param="vector_store_id",
                code="vector_store_expired",
            )
        return await self.search([vector_store_id], query, **options)

    async def _mark_active(self, store_ids: list[str]) -> list[str]:
        """A search uses these stores: move their ``last_active_at`` (and expiry), at most
        once a minute per store so that searches seldom write. Returns the stores that
        exist and have not expired (an expired store stays expired and is not searched)."""
        async with self.store.session(write=False) as s:
            rows = list(
                await s.execute(
                    select(VectorStoreRow.id, VectorStoreRow.data).where(
                        VectorStoreRow.id.in_(store_ids), *self._mine()
                    )
                )
            )
        live = [r[0] for r in rows if not _expired(r[1])]
        stale = [
            r[0]
            for r in rows
            if r[0] in live and now() - int(r[1].get("last_active_at") or 0) >= ACTIVITY_RESOLUTION
        ]
        if stale:
            async with self.store.session(write=True) as s:
                for row in await s.scalars(
                    select(VectorStoreRow).where(VectorStoreRow.id.in_(stale))
                ):
                    await self._touch(s, row)
        return live


def _expired(data: dict[str, Any]) -> bool:
    expires_at = data.get("expires_at")
    return expires_at is not None and now() >= int(expires_at)


def _file_store(store: Store, settings: ServerSettings) -> FileStore:
    """The app's file store when none is passed in (same choice as the app makes)."""
    if settings.file_storage_kind == "database":
        return FileStore(store, DatabaseBlobStore(store))
    return FileStore(store, DirectoryBlobStore(settings.files_root))


def _too_many(param: str, count: int) -> Exception:
    return bad_request(
        f"'{param}' has {count} files; a batch takes at most {MAX_FILES_PER_BATCH}. "
        "Split the files over several batches.",
        param=param,
    )


async def _page(
    s: AsyncSession,
    table: Any,
    id_column: Any,
    limit: int,
    order: str,
    after: str | None,
    before: str | None,
    conditions: Sequence[Any] = (),
) -> tuple[list[Any], bool]:
    """A page of ``table`` rows by creation (``seq``); cursors are ids of ``id_column``."""
    query = select(table).where(*conditions)

    async def seq_of(cursor: str) -> int:
        seq = await s.scalar(select(table.seq).where(id_column == cursor, *conditions))
        return int(seq) if seq is not None else -1

    ascending = order == "asc"
    reverse = False
    if after is not None:
        seq = await seq_of(after)
        query = query.where(table.seq > seq if ascending else table.seq < seq)
    if before is not None:
        seq = await seq_of(before)
        query = query.where(table.seq < seq if ascending else table.seq > seq)
        reverse = after is None
    walk_ascending = ascending != reverse
    query = query.order_by(table.seq.asc() if walk_ascending else table.seq.desc())
    rows = list((await s.scalars(query.limit(limit + 1))).all())
    has_more = len(rows) > limit
    rows = rows[:limit]
    if reverse:
        rows.reverse()
    return rows, has_more


__all__ = ["ChunkRow", "Retrieval", "SearchHit", "resolve_embeddings"]
