"""Retrieval quality and durability: the file holding a unique fact ranks first among many
decoys, lexically (FTS5 BM25) and hybrid (sqlite-vec + deterministic embeddings, fused by
RRF); ingestion resumes after a restart without losing or duplicating chunks; start-up
says which retrieval is active."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from openai import OpenAI

from langchain_assistants.server.embedded import RunningServer, start_server
from langchain_assistants.testing import HashingEmbeddings
from langchain_assistants.testing.cli_server import start_cli_server

from .test_vector_stores import settled, upload

COUNTRIES = [
    "Arvenia",
    "Belmora",
    "Castavia",
    "Dornholt",
    "Elstrand",
    "Fenwick",
    "Galdera",
    "Hollin",
    "Istrova",
    "Jarnvik",
    "Kestrel",
    "Lumora",
    "Marvane",
    "Nordhal",
    "Ostravia",
    "Pellago",
    "Quenmark",
    "Rostova",
    "Sarnia",
    "Tavolen",
    "Ulmgard",
    "Vesteria",
    "Wexmoor",
    "Yarrowby",
]
FACT = "The ambassador of Zorbia keeps a favourite number, and that number is 7319."
QUESTION = "What is the favourite number of the ambassador of Zorbia?"


def decoy(country: str) -> str:
    return (
        f"The ambassador of {country} attended the annual summit. Officials of {country} "
        f"discussed trade, fisheries and the favourite dishes of the delegation. The number of "
        f"delegates from {country} grew this year, and the ambassador praised the hosts."
    )


def load_corpus(client: OpenAI) -> tuple[str, str]:
    ids = [upload(client, f"{c.lower()}.txt", decoy(c).encode()) for c in COUNTRIES[:12]]
    target = upload(client, "zorbia.txt", (decoy("Zorbia") + " " + FACT).encode())
    ids += [upload(client, f"{c.lower()}.txt", decoy(c).encode()) for c in COUNTRIES[12:]]
    store = client.vector_stores.create(name="corpus", file_ids=[*ids, target])
    assert settled(client, store.id).file_counts.completed == len(COUNTRIES) + 1
    return store.id, target


@pytest.fixture(scope="module")
def hybrid_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server whose vectors come from an Embeddings object passed in by code."""
    tmp = tmp_path_factory.mktemp("hybrid")
    with start_server(
        db=str(tmp / "hybrid.db"), embeddings=HashingEmbeddings(256), sandbox_dir=tmp / "sb"
    ) as srv:
        yield srv


@pytest.fixture
def hybrid_client(hybrid_server: RunningServer) -> Iterator[OpenAI]:
    with OpenAI(base_url=hybrid_server.base_url, api_key="k", max_retries=0) as c:
        yield c


def test_unique_fact_ranks_first_lexically(client: OpenAI) -> None:
    store_id, target = load_corpus(client)
    hits = client.vector_stores.search(store_id, query=QUESTION, max_num_results=10).data
    assert hits[0].file_id == target and "7319" in hits[0].content[0].text
    assert hits[0].score > hits[1].score
    # Full text only: a word no file holds finds nothing.
    assert client.vector_stores.search(store_id, query="xylophone").data == []


def test_unique_fact_ranks_first_hybrid(hybrid_client: OpenAI) -> None:
    store_id, target = load_corpus(hybrid_client)
    hits = hybrid_client.vector_stores.search(store_id, query=QUESTION, max_num_results=10).data
    assert hits[0].file_id == target and "7319" in hits[0].content[0].text
    assert hits[0].score == pytest.approx(1.0)  # first in both rankings
    assert all(0 < h.score <= 1 for h in hits)
    # The vector ranking is live: a query sharing no word with any file still ranks files.
    assert len(hybrid_client.vector_stores.search(store_id, query="xylophone").data) > 0


def test_hybrid_usage_counts_vectors(hybrid_client: OpenAI) -> None:
    fid = upload(hybrid_client, "v.txt", b"vectors take room too")
    store = hybrid_client.vector_stores.create(file_ids=[fid])
    settled(hybrid_client, store.id)
    got = hybrid_client.vector_stores.files.retrieve(fid, vector_store_id=store.id)
    assert got.usage_bytes == len(b"vectors take room too") + 256 * 4


def test_restart_resumes_interrupted_ingestion_without_duplicates(tmp_path: Path) -> None:
    db = tmp_path / "restart.db"

    def serve() -> RunningServer:
        return start_server(db=str(db), sandbox_dir=tmp_path / "sb", files_dir=tmp_path / "f")

    with serve() as srv, OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c:
        text = " ".join(f"line {i} of the resumable document about basalt" for i in range(300))
        resumed = upload(c, "resumed.txt", text.encode())
        doomed = upload(c, "doomed.txt", b"a file whose ingestion keeps being interrupted")
        store = c.vector_stores.create(name="restart", file_ids=[resumed, doomed])
        settled(c, store.id)
        before = [
            x.text for x in c.vector_stores.files.content(file_id=resumed, vector_store_id=store.id)
        ]
        assert len(before) > 1
    # The state a crash leaves: files claimed by a process that is gone, mid-ingestion
    # (one of them already interrupted as often as the server allows).
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE vector_store_files SET status='in_progress', claimed_by='ingest_dead', "
            "claimed_at=0, attempts=1 WHERE file_id=?",
            (resumed,),
        )
        conn.execute(
            "UPDATE vector_store_files SET status='in_progress', claimed_by='ingest_dead', "
            "claimed_at=0, attempts=3 WHERE file_id=?",
            (doomed,),
        )
    with serve() as srv, OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c:
        final = settled(c, store.id)
        assert final.file_counts.completed == 1 and final.file_counts.failed == 1
        after = [
            x.text for x in c.vector_stores.files.content(file_id=resumed, vector_store_id=store.id)
        ]
        assert after == before  # the same chunks, once each
        hits = c.vector_stores.search(store.id, query="basalt", max_num_results=50).data
        assert len(hits) == len(before) and {h.file_id for h in hits} == {resumed}
        failed = c.vector_stores.files.retrieve(doomed, vector_store_id=store.id)
        assert failed.status == "failed" and failed.last_error is not None
        assert failed.last_error.code == "server_error"
        assert "interrupted" in failed.last_error.message


@pytest.mark.parametrize(
    ("flags", "expected"),
    [([], "retrieval lexical only (SQLite FTS5 BM25)"), (["--embeddings", "fake:64"], "hybrid")],
)
def test_startup_says_which_retrieval_is_active(
    tmp_path: Path, flags: list[str], expected: str
) -> None:
    with start_cli_server(
        *("--db", str(tmp_path / "cli.db"), "--files-dir", str(tmp_path / "files"), *flags),
        log=tmp_path / "cli.log",
    ) as server:
        said = server.output()
    assert expected in said, said
    if flags:
        assert "fake:64 vectors in sqlite-vec" in said


def test_an_expired_store_says_so_and_is_not_searched(tmp_path: Path) -> None:
    db = tmp_path / "expiry.db"
    with (
        start_server(db=str(db), sandbox_dir=tmp_path / "sb", files_dir=tmp_path / "f") as srv,
        OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c,
    ):
        fid = upload(c, "old.txt", b"an old note about flint")
        store = c.vector_stores.create(
            file_ids=[fid], expires_after={"anchor": "last_active_at", "days": 1}
        )
        settled(c, store.id)
        assert c.vector_stores.search(store.id, query="flint").data
        # Two days without activity, as the database would hold them.
        with sqlite3.connect(db) as conn:
            conn.execute(
                "UPDATE vector_stores SET data = json_set(data, '$.last_active_at', 1, "
                "'$.expires_at', 86401) WHERE id = ?",
                (store.id,),
            )
        assert c.vector_stores.retrieve(store.id).status == "expired"
        with pytest.raises(openai.BadRequestError) as info:
            c.vector_stores.search(store.id, query="flint")
        assert store.id in info.value.message and "expired" in info.value.message
        assert c.vector_stores.retrieve(store.id).status == "expired"  # a search did not revive it


class CountingEmbeddings(HashingEmbeddings):
    """Hashing embeddings that take a while and count how many calls overlap."""

    def __init__(self) -> None:
        super().__init__(32)
        self.in_flight = 0
        self.most = 0

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await asyncio.sleep(1.0)
            return self.embed_documents(texts)
        finally:
            self.in_flight -= 1


def test_ingestion_runs_files_in_parallel_up_to_the_bound(tmp_path: Path) -> None:
    embeddings = CountingEmbeddings()
    with (
        start_server(
            db=str(tmp_path / "bound.db"),
            embeddings=embeddings,
            ingest_concurrency=2,
            sandbox_dir=tmp_path / "sb",
            files_dir=tmp_path / "f",
        ) as srv,
        OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c,
    ):
        ids = [upload(c, f"p{i}.txt", f"parallel file {i}".encode()) for i in range(6)]
        store = c.vector_stores.create(file_ids=ids)
        assert settled(c, store.id).file_counts.completed == 6
    assert embeddings.most == 2


class UnreachableQueryEmbeddings(HashingEmbeddings):
    """Documents embed; queries fail as an embeddings API out of reach would."""

    async def aembed_query(self, text: str) -> list[float]:
        raise ConnectionError("embeddings provider unreachable")


def test_hybrid_search_falls_back_to_full_text_when_the_query_cannot_be_embedded(
    tmp_path: Path,
) -> None:
    with (
        start_server(
            db=str(tmp_path / "flaky.db"),
            embeddings=UnreachableQueryEmbeddings(64),
            sandbox_dir=tmp_path / "sb",
            files_dir=tmp_path / "f",
        ) as srv,
        OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c,
    ):
        store_id, target = load_corpus(c)
        hits = c.vector_stores.search(store_id, query=QUESTION).data
        assert hits[0].file_id == target
        assert c.vector_stores.search(store_id, query="xylophone").data == []  # lexical only


class PoisonedEmbeddings(HashingEmbeddings):
    """Fails to embed any text holding the word 'poison', like a provider refusing input."""

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        if any("poison" in t for t in texts):
            raise RuntimeError("the provider refused this input")
        return self.embed_documents(texts)


def test_a_file_that_cannot_be_embedded_fails_and_the_batch_goes_on(tmp_path: Path) -> None:
    with (
        start_server(
            db=str(tmp_path / "poison.db"),
            embeddings=PoisonedEmbeddings(64),
            sandbox_dir=tmp_path / "sb",
            files_dir=tmp_path / "f",
        ) as srv,
        OpenAI(base_url=srv.base_url, api_key="k", max_retries=0) as c,
    ):
        good = upload(c, "good.txt", b"wholesome text about bread")
        bad = upload(c, "bad.txt", b"this one holds poison")
        store = c.vector_stores.create(file_ids=[good, bad])
        final = settled(c, store.id)
        assert final.file_counts.completed == 1 and final.file_counts.failed == 1
        failed = c.vector_stores.files.retrieve(bad, vector_store_id=store.id)
        assert failed.last_error is not None and failed.last_error.code == "server_error"
        assert "refused this input" in failed.last_error.message
        assert [h.file_id for h in c.vector_stores.search(store.id, query="bread poison")] == [good]
