"""Retrieval on a real PostgreSQL: full text (tsvector, GIN, ts_rank_cd) and pgvector.

The PostgreSQL here is pgserver's (a dev dependency: PostgreSQL 16 with pgvector, installed
by pip, so no OS package is needed); it runs on a unix socket in a temporary directory.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pgserver
import pytest
from openai import OpenAI

from langchain_assistants.server.embedded import start_server
from langchain_assistants.testing import HashingEmbeddings

from .test_retrieval_quality import QUESTION, load_corpus
from .test_vector_stores import settled, upload

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("pg")
    # As root, pgserver runs PostgreSQL as its own user, which must reach the data
    # directory: a fresh directory directly under the system temp dir, not pytest's (0700).
    data = Path(tempfile.mkdtemp(prefix="retrieval-pg-"))
    server = pgserver.get_server(data, cleanup_mode="stop")
    try:
        server.psql("CREATE DATABASE lexical;")
        server.psql("CREATE DATABASE hybrid;")
        yield server.get_uri(), tmp
    finally:
        server.cleanup()
        shutil.rmtree(data, ignore_errors=True)


def _db(uri: str, name: str) -> str:
    return uri.replace("/postgres?", f"/{name}?")


@pytest.mark.parametrize("mode", ["lexical", "hybrid"])
def test_unique_fact_ranks_first_on_postgres(postgres: tuple[str, Path], mode: str) -> None:
    uri, tmp = postgres
    embeddings = HashingEmbeddings(256) if mode == "hybrid" else None
    with (
        start_server(
            db=_db(uri, mode),
            embeddings=embeddings,
            sandbox_dir=tmp / f"sb-{mode}",
            files_dir=tmp / f"files-{mode}",
        ) as srv,
        OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as client,
    ):
        store_id, target = load_corpus(client)
        hits = client.vector_stores.search(store_id, query=QUESTION).data
        assert hits[0].file_id == target and "7319" in hits[0].content[0].text
        assert all(0 < h.score <= 1 for h in hits)
        unrelated = client.vector_stores.search(store_id, query="xylophone").data
        # Only the vector ranking (pgvector) finds something for a word no file holds.
        assert (len(unrelated) > 0) is (mode == "hybrid")
        filtered = client.vector_stores.search(
            store_id, query=QUESTION, filters={"type": "eq", "key": "nope", "value": 1}
        )
        assert filtered.data == []
        client.files.delete(target)
        assert target not in {
            h.file_id for h in client.vector_stores.search(store_id, query=QUESTION).data
        }
        extra = upload(client, "late.txt", b"a late file about obsidian")
        client.vector_stores.files.create_and_poll(file_id=extra, vector_store_id=store_id)
        assert client.vector_stores.search(store_id, query="obsidian").data[0].file_id == extra
        assert settled(client, store_id).file_counts.completed == 25
