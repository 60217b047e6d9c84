"""Test helpers: a deterministic scripted chat model for tests and offline demos, and a
throwaway PostgreSQL cluster (``langchain_assistants.testing.postgres``; imported on demand)."""

from .scripted import (
    Script,
    ScriptedChatModel,
    ScriptedModelError,
    load_script,
)

__all__ = [
    "Script",
    "ScriptedChatModel",
    "ScriptedModelError",
    "load_script",
]
