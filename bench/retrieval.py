"""Section 7: retrieval — ingestion throughput and search latency, lexical and hybrid.

Each mode gets its own embedded server on a fresh SQLite file (hybrid: the offline
``fake:256`` hashing embeddings, so the numbers are the server's cost, not a provider's).
Ingestion is timed from the batch request to the batch's ``completed``; uploads are not
in it. Search is timed per ``vector_stores.search`` call over HTTP with the real SDK.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from openai import OpenAI

from langchain_assistants.server.embedded import start_server

from .markdown import num, table
from .sizes import Sizes
from .stats import median, percentile

WORDS = [
    "river",
    "mountain",
    "ledger",
    "harbor",
    "copper",
    "orchard",
    "signal",
    "lantern",
    "meadow",
    "quarry",
    "violet",
    "engine",
    "canyon",
    "parcel",
    "summit",
    "glacier",
    "tunnel",
    "beacon",
    "falcon",
    "marble",
    "cedar",
    "prism",
    "anchor",
    "thistle",
    "compass",
    "velvet",
    "ember",
    "walnut",
    "saffron",
    "cobalt",
    "basalt",
    "juniper",
    "harvest",
    "delta",
    "quartz",
    "ferry",
]
STATIC_100 = {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}}
MODES = {"lexical": None, "hybrid": "fake:256"}


@dataclass
class SearchResult:
    chunks: int
    ms: list[float] = field(default_factory=list)


@dataclass
class ModeResult:
    mode: str
    files: int
    ingest_seconds: float
    searches: list[SearchResult] = field(default_factory=list)
    pdf_mb: float = float("nan")
    pdf_seconds: float = float("nan")

    @property
    def files_per_s(self) -> float:
        return self.files / self.ingest_seconds if self.ingest_seconds else float("nan")

    @property
    def pdf_mb_per_s(self) -> float:
        return self.pdf_mb / self.pdf_seconds if self.pdf_seconds else float("nan")


@dataclass
class RetrievalResults:
    modes: list[ModeResult]
    note: str = ""


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) + str(rng.randrange(50)) for _ in range(words))


def _wait_batch(client: OpenAI, store_id: str, batch_id: str, timeout: float = 3600) -> None:
    deadline = time.monotonic() + timeout
    while (
        client.vector_stores.file_batches.retrieve(batch_id, vector_store_id=store_id).status
        == "in_progress"
    ):
        if time.monotonic() > deadline:
            raise TimeoutError(f"batch {batch_id} not done after {timeout} s")
        time.sleep(0.02)


def _count_chunks(client: OpenAI, store_id: str) -> int:
    return sum(
        len(client.vector_stores.files.content(file_id=f.id, vector_store_id=store_id).data)
        for f in client.vector_stores.files.list(store_id, limit=100)
    )


def _ingest(
    client: OpenAI,
    rng: random.Random,
    files: int,
    words: int,
    store_id: str | None = None,
    **batch: object,
) -> tuple[str, float]:
    ids = [
        client.files.create(
            file=(f"doc{i}.txt", _text(rng, words).encode()), purpose="assistants"
        ).id
        for i in range(files)
    ]
    if store_id is None:
        store_id = client.vector_stores.create(name="bench").id
    started = time.perf_counter()
    batches = [
        client.vector_stores.file_batches.create(
            store_id,
            file_ids=ids[i : i + 2000],
            **batch,  # type: ignore[arg-type]
        ).id
        for i in range(0, len(ids), 2000)
    ]
    for batch_id in batches:
        _wait_batch(client, store_id, batch_id)
    return store_id, time.perf_counter() - started


def _pdf(pages: int, rng: random.Random) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=10)
    for _ in range(pages):
        pdf.add_page()
        pdf.multi_cell(0, 5, _text(rng, 350))
    return bytes(pdf.output())


def run_mode(mode: str, sizes: Sizes, tmp: Path, log: Callable[[str], None]) -> ModeResult:
    rng = random.Random(7)
    log(f"retrieval: {mode}")
    with (
        start_server(
            db=str(tmp / f"{mode}.db"),
            embeddings=MODES[mode],
            sandbox_dir=tmp / "sb",
            files_dir=tmp / f"files-{mode}",
        ) as server,
        OpenAI(base_url=server.base_url, api_key="bench", max_retries=0) as client,
    ):
        # Ingestion: many small files (one chunk each).
        _, seconds = _ingest(client, rng, sizes.retrieval_files, 60)
        result = ModeResult(mode, sizes.retrieval_files, seconds)
        # Search corpora: files of about 20 chunks of 100 tokens (~2,000 tokens each); each
        # larger corpus adds files to the same store.
        per_file = 20
        store_id, chunks = None, 0
        for target in sizes.retrieval_chunks:
            files = max(1, (target - chunks) // per_file)
            store_id, _ = _ingest(
                client, rng, files, 800, store_id=store_id, chunking_strategy=STATIC_100
            )
            chunks = _count_chunks(client, store_id)
            searched = SearchResult(chunks)
            for _ in range(3):  # warm-up
                client.vector_stores.search(store_id, query=_text(rng, 6))
            for _ in range(sizes.retrieval_queries):
                query = _text(rng, 6)
                started = time.perf_counter()
                client.vector_stores.search(store_id, query=query, max_num_results=10)
                searched.ms.append((time.perf_counter() - started) * 1000)
            result.searches.append(searched)
        if sizes.pdf_pages:
            content = _pdf(sizes.pdf_pages, rng)
            fid = client.files.create(file=("big.pdf", content), purpose="assistants").id
            pdf_store = client.vector_stores.create(name="pdf")
            started = time.perf_counter()
            client.vector_stores.files.create_and_poll(
                file_id=fid, vector_store_id=pdf_store.id, poll_interval_ms=20
            )
            result.pdf_seconds = time.perf_counter() - started
            result.pdf_mb = len(content) / 1e6
    return result


def run(sizes: Sizes, log: Callable[[str], None]) -> RetrievalResults:
    from langchain_assistants.server.retrieval.chunking import tokenizer

    tokenizer()  # load the BPE file once, before anything is timed
    with tempfile.TemporaryDirectory(prefix="bench-retrieval-") as tmp:
        return RetrievalResults([run_mode(mode, sizes, Path(tmp), log) for mode in MODES])


def section(results: RetrievalResults | None) -> list[str]:
    lines = [
        "## 7. Retrieval (vector stores)",
        "",
        "SQLite; each mode on its own fresh server. Ingestion: `file_batches.create` of small "
        "text files (~60 words, one chunk each), timed until the batch is `completed` "
        "(uploads not included; 4 files ingested at once); the PDF row is one generated PDF "
        "of many pages of text (`pypdf` extraction dominates). Search: `vector_stores.search` "
        "over HTTP, 10 results, random 6-word queries, on one store of 100-token chunks that "
        "grows from the smaller corpus to the larger. The corpus draws from a vocabulary of "
        "1,800 words, so each query word is in about 2% of the chunks: a hard case for "
        "full-text search, whose cost follows the matching chunks. Hybrid uses the offline "
        "`fake:256` hashing embeddings, so it measures the server (sqlite-vec scan + RRF), "
        "not an embeddings provider.",
        "",
    ]
    if results is None:
        return [*lines, "Not run.", ""]
    rows = []
    for m in results.modes:
        pdf = f"{m.pdf_mb_per_s:.2f} ({m.pdf_mb:.2f} MB)" if m.pdf_mb == m.pdf_mb else "-"
        rows.append((m.mode, "ingest", f"{m.files} small files", num(m.files_per_s), "", ""))
        rows.append((m.mode, "ingest", "one PDF", "", pdf, ""))
        for searched in m.searches:
            rows.append(
                (
                    m.mode,
                    "search",
                    f"{searched.chunks:,} chunks",
                    "",
                    num(median(searched.ms)),
                    num(percentile(searched.ms, 99)),
                )
            )
    lines += table(
        ["mode", "what", "size", "files/s", "median ms (search) / MB/s (PDF)", "p99 ms"], rows
    )
    lines += [
        "How it grows: ingestion is linear in the files' tokens (parsing + tiktoken, plus one "
        "embedding call per 64 chunks in hybrid). Lexical search is an FTS5 index lookup: it "
        "grows with the number of chunks that hold the query's words, not with the store. The "
        "vector half of hybrid search is an exact scan of the searched stores' vectors, "
        "linear in their chunks: that is what grows from the smaller corpus to the larger.",
        "",
    ]
    if results.note:
        lines += [results.note, ""]
    return lines
