"""The chunk index: chunks with a full-text index, and vectors when embeddings are on.

SQLite: an FTS5 table (``porter unicode61``) keyed by the chunk id, ranked by ``bm25()``;
vectors are float32 blobs compared with sqlite-vec's ``vec_distance_cosine``.
PostgreSQL: a generated ``tsvector`` column with a GIN index, ranked by ``ts_rank_cd``;
vectors in a pgvector ``vector`` column compared with ``<=>`` (cosine distance).
Vector search is exact (a scan of the searched stores' vectors), which stays in the
milliseconds for the tens of thousands of chunks a store typically holds.
Every method takes the caller's session, so chunk writes share the transaction that
records the file's status.
"""

from __future__ import annotations

import json
import logging
import re
import struct
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, insert, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from ..store import Store
from .chunking import Chunk
from .tables import ChunkRow

log = logging.getLogger(__name__)

FTS_TABLE = "retrieval_chunks_fts"
VECTOR_TABLE = "retrieval_vectors"
_WORD = re.compile(r"\w+", re.UNICODE)
MAX_QUERY_TERMS = 64


@dataclass(frozen=True)
class StoredChunk:
    id: int
    vector_store_id: str
    file_id: str
    chunk_index: int
    text: str


class ChunkIndex:
    """Chunk storage and the two rankings over it, on the store's database."""

    def __init__(self, store: Store, *, vectors: bool) -> None:
        self.store = store
        self.sqlite = store.is_sqlite
        self.vectors = vectors
        self.has_vector_table = False

    async def setup(self) -> None:
        """Create the full-text index (and the vector table when embeddings are on)."""
        async with self.store.engine.begin() as conn:
            if self.sqlite:
                await conn.execute(
                    text(
                        f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
                        "text, tokenize = 'porter unicode61')"
                    )
                )
            else:
                await conn.execute(
                    text(
                        "ALTER TABLE retrieval_chunks ADD COLUMN IF NOT EXISTS tsv tsvector "
                        "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, text)) STORED"
                    )
                )
                await conn.execute(
                    text(
                        "CREATE INDEX IF NOT EXISTS ix_retrieval_chunks_tsv "
                        "ON retrieval_chunks USING GIN (tsv)"
                    )
                )
            if self.vectors:
                if self.sqlite:
                    await conn.execute(
                        text(
                            f"CREATE TABLE IF NOT EXISTS {VECTOR_TABLE} (chunk_id INTEGER "
                            "PRIMARY KEY, model TEXT NOT NULL, embedding BLOB NOT NULL)"
                        )
                    )
                elif await _pgvector_available(conn):
                    await conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
                    await conn.execute(
                        text(
                            f"CREATE TABLE IF NOT EXISTS {VECTOR_TABLE} (chunk_id BIGINT "
                            "PRIMARY KEY, model TEXT NOT NULL, embedding vector NOT NULL)"
                        )
                    )
                else:
                    log.warning(
                        "PostgreSQL has no pgvector extension: retrieval stays full-text only. "
                        "Install pgvector on the server (e.g. the postgresql-NN-pgvector package)."
                    )
                    self.vectors = False
            tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
            self.has_vector_table = VECTOR_TABLE in tables

    # -- writes (in the caller's transaction) ------------------------------------------

    async def write(
        self,
        session: AsyncSession,
        vector_store_id: str,
        file_id: str,
        chunks: Sequence[Chunk],
        embeddings: Sequence[Sequence[float]] | None,
        model: str | None,
    ) -> None:
        """Replace the file's chunks in this store with ``chunks`` (and their vectors)."""
        await self.remove(session, vector_store_id=vector_store_id, file_id=file_id)
        if not chunks:
            return
        rows = [
            {
                "vector_store_id": vector_store_id,
                "file_id": file_id,
                "chunk_index": c.index,
                "tokens": c.tokens,
                "text": c.text,
            }
            for c in chunks
        ]
        result = await session.execute(
            insert(ChunkRow).returning(ChunkRow.id, sort_by_parameter_order=True), rows
        )
        ids = [row[0] for row in result.all()]
        if self.sqlite:
            await session.execute(
                text(f"INSERT INTO {FTS_TABLE}(rowid, text) VALUES (:id, :text)"),
                [{"id": i, "text": c.text} for i, c in zip(ids, chunks, strict=True)],
            )
        if embeddings is not None and model is not None:
            if self.sqlite:
                statement = text(
                    f"INSERT INTO {VECTOR_TABLE}(chunk_id, model, embedding) "
                    "VALUES (:id, :model, :embedding)"
                )
                values: list[object] = [_float32(v) for v in embeddings]
            else:
                statement = text(
                    f"INSERT INTO {VECTOR_TABLE}(chunk_id, model, embedding) "
                    "VALUES (:id, :model, CAST(:embedding AS vector))"
                )
                values = [json.dumps([float(x) for x in v]) for v in embeddings]
            await session.execute(
                statement,
                [
                    {"id": i, "model": model, "embedding": v}
                    for i, v in zip(ids, values, strict=True)
                ],
            )

    async def remove(
        self,
        session: AsyncSession,
        *,
        vector_store_id: str | None = None,
        file_id: str | None = None,
    ) -> None:
        """Delete the chunks of a store, of a file (in every store), or of one pair."""
        where = []
        params: dict[str, str] = {}
        if vector_store_id is not None:
            where.append("vector_store_id = :vs")
            params["vs"] = vector_store_id
        if file_id is not None:
            where.append("file_id = :file")
            params["file"] = file_id
        if not where:
            raise ValueError("remove() needs a store or a file")
        chunk_ids = f"SELECT id FROM retrieval_chunks WHERE {' AND '.join(where)}"
        if self.sqlite:
            await session.execute(
                text(f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({chunk_ids})"), params
            )
        if self.has_vector_table:
            await session.execute(
                text(f"DELETE FROM {VECTOR_TABLE} WHERE chunk_id IN ({chunk_ids})"), params
            )
        query = delete(ChunkRow)
        if vector_store_id is not None:
            query = query.where(ChunkRow.vector_store_id == vector_store_id)
        if file_id is not None:
            query = query.where(ChunkRow.file_id == file_id)
        await session.execute(query)

    # -- reads --------------------------------------------------------------------------

    async def lexical(
        self,
        session: AsyncSession,
        vector_store_ids: Collection[str],
        file_ids: Collection[str] | None,
        query: str,
        limit: int,
    ) -> list[tuple[int, float]]:
        """``(chunk id, relevance)`` best first; relevance > 0, higher is better."""
        terms = list(dict.fromkeys(w.lower() for w in _WORD.findall(query)))[:MAX_QUERY_TERMS]
        if not terms or not vector_store_ids:
            return []
        file_clause = " AND c.file_id IN :files" if file_ids is not None else ""
        if self.sqlite:
            match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
            statement = text(
                f"SELECT c.id, -bm25({FTS_TABLE}) AS relevance FROM {FTS_TABLE} "
                f"JOIN retrieval_chunks c ON c.id = {FTS_TABLE}.rowid "
                f"WHERE {FTS_TABLE} MATCH :match AND c.vector_store_id IN :stores{file_clause} "
                "ORDER BY bm25(" + FTS_TABLE + ") LIMIT :limit"
            )
            params: dict[str, object] = {"match": match}
        else:
            # plainto_tsquery stems and drops stop words; its '&' becomes '|' so that a
            # natural-language question matches chunks holding any of its words.
            statement = text(
                "WITH q AS (SELECT replace(plainto_tsquery('english', :query)::text, "
                "' & ', ' | ')::tsquery AS tsq) "
                "SELECT c.id, ts_rank_cd(c.tsv, q.tsq) AS relevance FROM retrieval_chunks c, q "
                f"WHERE c.tsv @@ q.tsq AND c.vector_store_id IN :stores{file_clause} "
                "ORDER BY relevance DESC, c.id LIMIT :limit"
            )
            params = {"query": " ".join(terms)}
        statement = statement.bindparams(bindparam("stores", expanding=True))
        params.update(stores=list(vector_store_ids), limit=limit)
        if file_ids is not None:
            statement = statement.bindparams(bindparam("files", expanding=True))
            params["files"] = list(file_ids)
        rows = (await session.execute(statement, params)).all()
        return [(int(r[0]), float(r[1])) for r in rows if float(r[1]) > 0]

    async def nearest(
        self,
        session: AsyncSession,
        vector_store_ids: Collection[str],
        file_ids: Collection[str] | None,
        vector: Sequence[float],
        model: str,
        limit: int,
    ) -> list[tuple[int, float]]:
        """``(chunk id, cosine similarity)`` best first, among vectors made by ``model``."""
        if not self.has_vector_table or not vector_store_ids:
            return []
        file_clause = " AND c.file_id IN :files" if file_ids is not None else ""
        if self.sqlite:
            distance = "vec_distance_cosine(v.embedding, :vector)"
            query_vector: object = _float32(vector)
        else:
            distance = "(v.embedding <=> CAST(:vector AS vector))"
            query_vector = json.dumps([float(x) for x in vector])
        statement = text(
            f"SELECT c.id, {distance} AS distance FROM {VECTOR_TABLE} v "
            "JOIN retrieval_chunks c ON c.id = v.chunk_id "
            f"WHERE v.model = :model AND c.vector_store_id IN :stores{file_clause} "
            "ORDER BY distance, c.id LIMIT :limit"
        ).bindparams(bindparam("stores", expanding=True))
        params: dict[str, object] = {
            "vector": query_vector,
            "model": model,
            "stores": list(vector_store_ids),
            "limit": limit,
        }
        if file_ids is not None:
            statement = statement.bindparams(bindparam("files", expanding=True))
            params["files"] = list(file_ids)
        rows = (await session.execute(statement, params)).all()
        return [(int(r[0]), 1.0 - float(r[1])) for r in rows if r[1] is not None]

    async def chunks(self, session: AsyncSession, ids: Collection[int]) -> dict[int, StoredChunk]:
        if not ids:
            return {}
        rows = (await session.execute(select(ChunkRow).where(ChunkRow.id.in_(list(ids))))).scalars()
        return {
            r.id: StoredChunk(r.id, r.vector_store_id, r.file_id, r.chunk_index, r.text)
            for r in rows
        }

    async def file_chunks(
        self, session: AsyncSession, vector_store_id: str, file_id: str
    ) -> list[str]:
        """The file's chunk texts in order (the ``content`` route)."""
        rows = await session.scalars(
            select(ChunkRow.text)
            .where(ChunkRow.vector_store_id == vector_store_id, ChunkRow.file_id == file_id)
            .order_by(ChunkRow.chunk_index)
        )
        return list(rows.all())


async def _pgvector_available(conn: AsyncConnection) -> bool:
    found = await conn.scalar(
        text("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")
    )
    return bool(found)


def _float32(vector: Sequence[float]) -> bytes:
    return struct.pack(f"<{len(vector)}f", *vector)
