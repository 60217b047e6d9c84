"""Which LangChain chat model runs a run.

A run's ``model`` that is itself a model spec (``scripted:PATH`` or an ``init_chat_model``
string such as ``openai:gpt-4.1-mini`` / ``ollama:qwen3``) selects that model; any other
name (``gpt-4o``) runs on the server's ``--model``. Models are built once and cached.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel

from .model_policy import ModelPolicy
from .model_specs import SCRIPTED_PREFIX, bundled_script_names, is_model_spec, script_path


class ModelUnavailableError(RuntimeError):
    """No chat model can be built for a run's model name."""


def build_model(spec: str) -> BaseChatModel:
    """Build the chat model a spec names; errors say which spec failed and why."""
    if spec.startswith(SCRIPTED_PREFIX):
        from ...testing import ScriptedChatModel

        name = spec[len(SCRIPTED_PREFIX) :]
        try:
            return ScriptedChatModel.from_file(script_path(name))
        except (OSError, ValueError) as exc:
            bundled = ", ".join(bundled_script_names())
            raise ModelUnavailableError(
                f"Cannot load scripted model {spec!r}: {exc} (give a script file's path, or "
                f"the name of a bundled script: {bundled})"
            ) from exc
    try:
        from langchain.chat_models import init_chat_model

        return init_chat_model(spec)
    except Exception as exc:
        raise ModelUnavailableError(f"Cannot initialise chat model {spec!r}: {exc}") from exc


def with_sampling(model: BaseChatModel, run: dict[str, Any]) -> BaseChatModel:
    """Apply the run's ``temperature``/``top_p`` to models that have those settings."""
    fields = type(model).model_fields
    update: dict[str, Any] = {
        name: run[name]
        for name in ("temperature", "top_p")
        if run.get(name) is not None and name in fields
    }
    return model.model_copy(update=update) if update else model


class ModelResolver:
    """Model names to chat models: the run's spec, else the server's ``--model``.

    ``allowed`` is the operator's ``--allowed-models`` (see ``model_policy.py``); a model
    the policy refuses is never built, even for a run stored under a looser policy.
    """

    def __init__(self, default_spec: str | None, allowed: tuple[str, ...] | None = None) -> None:
        self.default_spec = default_spec
        self.policy = ModelPolicy(default_spec, allowed)
        self._cache: dict[str, BaseChatModel] = {}

    def refusal(self, model_name: str | None) -> str | None:
        """Why the server does not allow this model name, or None (see ModelPolicy)."""
        return self.policy.refusal(model_name)

    def spec_for(self, model_name: str | None) -> str:
        if is_model_spec(model_name):
            return str(model_name)
        if self.default_spec:
            return self.default_spec
        raise ModelUnavailableError(
            f"No chat model is configured for model {model_name!r}: start the server with "
            "--model SPEC (e.g. openai:gpt-4.1-mini) or name a model spec on the assistant."
        )

    def check_default(self) -> None:
        """Build the server's default model now, so a bad ``--model`` stops the start-up
        (ModelUnavailableError naming the spec and the reason) instead of every run."""
        if self.default_spec and self.default_spec not in self._cache:
            self._cache[self.default_spec] = build_model(self.default_spec)

    def resolve(self, model_name: str | None) -> BaseChatModel:
        if refusal := self.refusal(model_name):
            raise ModelUnavailableError(refusal)
        spec = self.spec_for(model_name)
        if spec not in self._cache:
            self._cache[spec] = build_model(spec)
        return self._cache[spec]
