"""Test helpers: a deterministic scripted chat model and embeddings for tests and offline
demos, and a throwaway PostgreSQL cluster (``langchain_assistants.testing.postgres``;
imported on demand)."""

from .embeddings import HashingEmbeddings
from .scripted import (
    Script,
    ScriptedChatModel,
    ScriptedModelError,
    load_script,
)

__all__ = [
    "HashingEmbeddings",
    "Script",
    "ScriptedChatModel",
    "ScriptedModelError",
    "load_script",
]
