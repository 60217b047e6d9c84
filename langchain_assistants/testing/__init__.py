"""Test helpers: a deterministic scripted chat model for tests and offline demos."""

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
