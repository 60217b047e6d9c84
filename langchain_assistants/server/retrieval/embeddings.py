"""Which embeddings model (if any) makes the vectors: ``serve --embeddings SPEC``.

A spec is an ``init_embeddings`` string (``openai:text-embedding-3-small``,
``ollama:nomic-embed-text``) or ``fake:DIM`` for the offline, deterministic
:class:`~langchain_assistants.testing.HashingEmbeddings`. Vectors are tagged with the
model's name, so vectors of another model are never compared with this one's.
"""

from __future__ import annotations

from dataclasses import dataclass

from langchain_core.embeddings import Embeddings

FAKE_PREFIX = "fake:"


@dataclass(frozen=True)
class EmbeddingsModel:
    model: Embeddings
    name: str


def load_embeddings(spec: str) -> EmbeddingsModel:
    """Build the embeddings model a spec names; errors say what was wrong with it."""
    if spec.startswith(FAKE_PREFIX):
        from ...testing.embeddings import HashingEmbeddings

        size = spec[len(FAKE_PREFIX) :] or "256"
        if not size.isdigit():
            raise ValueError(f"'{spec}': expected fake:DIMENSIONS, e.g. fake:256")
        return EmbeddingsModel(HashingEmbeddings(int(size)), spec)
    from langchain.embeddings import init_embeddings

    return EmbeddingsModel(init_embeddings(spec), spec)


def named(model: Embeddings) -> EmbeddingsModel:
    """An embeddings object passed in by code: named by its class (and size if it has one)."""
    kind = type(model)
    name = f"{kind.__module__}.{kind.__qualname__}"
    for attribute in ("dimensions", "size", "model"):
        value = getattr(model, attribute, None)
        if isinstance(value, (int, str)):
            name += f":{value}"
            break
    return EmbeddingsModel(model, name)
