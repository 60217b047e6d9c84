"""Which models clients may name: the operator's policy (``--allowed-models``).

A client sets an assistant's or run's ``model``, and a model spec there selects the chat
model the server builds (``engine/models.py``). Unchecked, ``scripted:PATH`` would make the
server read any JSON file it can reach, and ``provider:model`` would spend the operator's
provider keys on any model. The routes ask this policy at create/modify time (400 naming
the model); the resolver asks it again before building a model, so a run stored earlier
under a looser policy fails instead of running.

Always allowed: the server's own ``--model`` and names that are not specs (``gpt-4o``: they
run on ``--model``). Without a list (the default) also bundled scripts by name
(``scripted:demo``) and every ``init_chat_model`` spec, but no other ``scripted:`` spec (a
file on the server) and no provider spec whose model is a path (``huggingface:/models/x``).
With a list of exact specs and ``fnmatch`` globs (``openai:gpt-4o*``, ``anthropic:*``,
``scripted:*``): the specs it matches, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from .model_specs import SCRIPTED_PREFIX, bundled_script_names, is_model_spec


def _names_a_path(model: str) -> bool:
    """A provider spec's model that reads like a filesystem path (``huggingface:/models/x``
    loads a local directory), not a model id (``gpt-4o``, ``meta-llama/Llama-3.1-8B``)."""
    return model.startswith(("/", "~", ".")) or ".." in model or "\\" in model


@dataclass(frozen=True)
class ModelPolicy:
    """The server's ``--model`` plus ``allowed`` (None: the default policy, see above)."""

    default_spec: str | None = None
    allowed: tuple[str, ...] | None = None

    def refusal(self, name: str | None) -> str | None:
        """Why this server does not allow the model ``name``, or None when it does."""
        if name is None or not is_model_spec(name) or name == self.default_spec:
            return None
        if self.allowed is not None:
            if any(fnmatchcase(name, pattern) for pattern in self.allowed):
                return None
            patterns = ", ".join(self.allowed) or "none"
            return (
                f"The model {name!r} is not allowed on this server: its operator allows only "
                f"its default model and the specs of --allowed-models ({patterns})."
            )
        if name.startswith(SCRIPTED_PREFIX):
            script = name[len(SCRIPTED_PREFIX) :]
            bundled = bundled_script_names()
            if script in bundled:
                return None
            return (
                f"The model {name!r} is not allowed on this server: a scripted model names a "
                f"bundled script ({', '.join(bundled)}); script files on the server need "
                "its operator's --allowed-models (e.g. 'scripted:*')."
            )
        if _names_a_path(name.split(":", 1)[1]):
            return (
                f"The model {name!r} is not allowed on this server: it names a path on the "
                "server (a local model), which needs its operator's --allowed-models."
            )
        return None

    def describe(self) -> str:
        """One line for the start-up banner."""
        if self.allowed is None:
            return (
                "clients may name any provider spec and bundled scripts, not files or paths "
                "(restrict with --allowed-models)"
            )
        return f"clients may name --model and {', '.join(self.allowed) or 'nothing else'}"
