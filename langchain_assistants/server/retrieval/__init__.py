"""Vector stores and retrieval: parsing, chunking, the chunk index, ingestion and search.

The one interface the rest of the server uses is :class:`Retrieval` (constructed once per
app) and the :class:`SearchHit` it returns; the rooms behind it are ``parsing`` (file bytes
to text), ``chunking`` (tiktoken chunks), ``index`` (chunk storage, full-text and vector
ranking), ``ingest`` (background ingestion, state in the database) and ``search``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..settings import ServerSettings
from ..store import Store


@dataclass(frozen=True)
class SearchHit:
    """One ranked chunk: which file it came from, how well it matched, and its text."""

    file_id: str
    filename: str
    score: float  # higher is better, in [0, 1]
    text: str  # the chunk's text
    attributes: dict[str, str | float | bool]


class Retrieval:
    """Vector stores, their files' ingestion and search; one per app. (Interface stub.)"""

    def __init__(self, store: Store, settings: ServerSettings) -> None:
        self.store = store
        self.settings = settings

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
        """The best chunks of the given stores for ``query``, best first."""
        return []

    async def create_vector_store(
        self,
        *,
        name: str | None = None,
        file_ids: list[str] | tuple[str, ...] = (),
        expires_after: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        chunking_strategy: dict[str, Any] | None = None,
        project: str | None = None,
    ) -> dict[str, Any]:
        """Create a store (its files' ingestion queued); returns the wire object."""
        raise NotImplementedError

    async def add_file(
        self,
        vector_store_id: str,
        file_id: str,
        *,
        attributes: dict[str, Any] | None = None,
        chunking_strategy: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Add a file to a store (ingestion queued); returns the vector_store.file object."""
        raise NotImplementedError


__all__ = ["Retrieval", "SearchHit"]
