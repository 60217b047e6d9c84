"""A deterministic, offline embeddings model: hashed bag of words (feature hashing).

Unlike a random vector per text, texts sharing words get close vectors, so ranking by it
is meaningful: tests and offline demos exercise the vector path with it (spec
``fake:DIM`` for ``serve --embeddings``).
"""

from __future__ import annotations

import hashlib
import math
import re

from langchain_core.embeddings import Embeddings

_WORD = re.compile(r"\w+", re.UNICODE)


class HashingEmbeddings(Embeddings):
    """Each lower-cased word adds ±1 at a hashed coordinate; vectors are L2-normalised."""

    def __init__(self, dimensions: int = 256) -> None:
        if dimensions < 2:
            raise ValueError("dimensions must be at least 2")
        self.dimensions = dimensions

    def _embed(self, text: str) -> list[float]:
        vector = [0.0] * self.dimensions
        for word in _WORD.findall(text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            number = int.from_bytes(digest, "little")
            vector[number % self.dimensions] += 1.0 if (number >> 63) & 1 else -1.0
        norm = math.sqrt(sum(x * x for x in vector))
        if norm == 0:
            vector[0] = 1.0
            return vector
        return [x / norm for x in vector]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._embed(text)
