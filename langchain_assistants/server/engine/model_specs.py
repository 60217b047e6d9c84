"""Model specs: what names a model (``scripted:NAME`` or an ``init_chat_model`` string
``provider:model``) as opposed to a plain name (``gpt-4o``) that runs on ``--model``, and
the scripts bundled with the package."""

from __future__ import annotations

from functools import cache
from pathlib import Path

SCRIPTED_PREFIX = "scripted:"
#: Scripts shipped with the package, usable by name: ``scripted:demo``.
BUNDLED_SCRIPTS = Path(__file__).parents[2] / "demo" / "scripts"


@cache
def bundled_script_names() -> tuple[str, ...]:
    """The bundled scripts' names (``demo``, ...): files shipped in the package."""
    return tuple(sorted(path.stem for path in BUNDLED_SCRIPTS.glob("*.json")))


def script_path(name: str) -> Path:
    """``scripted:NAME``'s file: the bundled script of that name (``demo``), or a path."""
    if "/" not in name and name in bundled_script_names():
        return BUNDLED_SCRIPTS / f"{name}.json"
    path = Path(name).expanduser()
    if path.exists() or "/" in name or name.endswith(".json"):
        return path
    bundled = BUNDLED_SCRIPTS / f"{name}.json"
    return bundled if bundled.exists() else path


@cache
def _init_chat_model_providers() -> frozenset[str]:
    try:
        from langchain.chat_models.base import _BUILTIN_PROVIDERS

        return frozenset(_BUILTIN_PROVIDERS)
    except ImportError:  # pragma: no cover - langchain is a server dependency
        return frozenset({"openai", "anthropic", "ollama", "azure_openai", "google_genai"})


def is_model_spec(name: str | None) -> bool:
    """Whether ``name`` selects a model itself rather than running on ``--model``."""
    if not name:
        return False
    if name.startswith(SCRIPTED_PREFIX):
        return True
    provider = name.split(":", 1)[0] if ":" in name else ""
    return provider.replace("-", "_") in _init_chat_model_providers()
