"""Which LangChain chat model runs a run.

A run's ``model`` that is itself a model spec (``scripted:PATH`` or an ``init_chat_model``
string such as ``openai:gpt-4.1-mini`` / ``ollama:qwen3``) selects that model; any other
name (``gpt-4o``) runs on the server's ``--model``. Models are built once and cached.
"""

from __future__ import annotations

from typing import Any

import openai
from langchain_core.language_models import BaseChatModel

from .model_policy import ModelPolicy
from .model_specs import SCRIPTED_PREFIX, bundled_script_names, is_model_spec, script_path

#: No timeout, as a ChatOpenAI built without one has; unhashable, which makes
#: langchain-openai build the model HTTP clients of its own (see ``build_model``).
_NO_TIMEOUT = openai.Timeout(None)


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

        model = init_chat_model(spec)
        if _shares_process_http_client(model):
            # langchain-openai keeps one async HTTP client per base URL for the whole
            # process, and its pooled connections belong to the event loop that opened
            # them: a second server in this process (a restart, the next test) failed with
            # "Event loop is closed" or reached the first one's base URL. It builds a
            # model's own clients when the timeout cannot be a cache key.
            model = init_chat_model(spec, timeout=_NO_TIMEOUT)
        return model
    except Exception as exc:
        raise ModelUnavailableError(f"Cannot initialise chat model {spec!r}: {exc}") from exc


def _shares_process_http_client(model: BaseChatModel) -> bool:
    try:
        from langchain_openai import ChatOpenAI
    except ImportError:  # the ``openai`` extra is not installed
        return False
    return (
        isinstance(model, ChatOpenAI)
        and model.http_async_client is None
        and model.request_timeout is None
    )


async def close_http_clients(model: BaseChatModel) -> None:
    """Close the HTTP clients ``build_model`` gave a model of its own (none otherwise)."""
    if getattr(model, "request_timeout", None) is not _NO_TIMEOUT:
        return
    if (async_client := getattr(model, "root_async_client", None)) is not None:
        await async_client.close()
    if (sync_client := getattr(model, "root_client", None)) is not None:
        sync_client.close()


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

    async def aclose(self) -> None:
        """At shutdown: close the models' own HTTP clients (their connections)."""
        models, self._cache = list(self._cache.values()), {}
        for model in models:
            await close_http_clients(model)
