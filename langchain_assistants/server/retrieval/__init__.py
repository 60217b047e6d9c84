"""Vector stores and retrieval: parsing, chunking, the chunk index, ingestion and search.

The one interface the rest of the server uses is :class:`Retrieval` (constructed once per
app, ``Retrieval(store, settings)``) and the :class:`SearchHit` it returns; the rooms
behind it are ``parsing`` (file bytes to text), ``chunking`` (tiktoken chunks), ``index``
(chunk storage, full-text and vector ranking), ``ingest`` (background ingestion, state in
the database), ``search`` (filters and rank fusion) and ``service`` (the class itself).
"""

from .service import Retrieval, SearchHit, resolve_embeddings

__all__ = ["Retrieval", "SearchHit", "resolve_embeddings"]
