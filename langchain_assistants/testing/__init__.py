"""Test helpers: a deterministic scripted chat model and embeddings for tests and offline demos."""

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
