"""The model policy's decisions and its settings: patterns from flags, the environment and
``serve --workers``'s hand-over, and the resolver refusing to build a refused model (a run
stored before the policy got stricter fails instead of reading a file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from langchain_assistants.server.engine.model_policy import ModelPolicy
from langchain_assistants.server.engine.models import ModelResolver, ModelUnavailableError
from langchain_assistants.server.settings import (
    ALLOWED_MODELS_ENV,
    SERVE_SETTINGS_ENV,
    ServerSettings,
    model_patterns,
    settings_from_environment,
    settings_to_environment,
)


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        (None, True),
        ("gpt-4o", True),  # not a spec: the server's --model
        ("mystery:thing", True),  # an unknown provider is not a spec either
        ("scripted:/srv/default.json", True),  # the server's own --model
        ("scripted:demo", True),
        ("scripted:interpreter", True),
        ("openai:gpt-4o", True),
        ("huggingface:meta-llama/Llama-3.1-8B-Instruct", True),  # a hub id, not a path
        ("openai:ft:gpt-4o-mini:org::abc", True),
        ("huggingface:/srv/models/llama", False),  # a local directory
        ("huggingface:~/models/x", False),
        ("huggingface:./models/x", False),
        ("huggingface:models/../../etc", False),
        ("scripted:/etc/passwd", False),
        ("scripted:notes.txt", False),
        ("scripted:demo.json", False),
        ("scripted:", False),
    ],
)
def test_default_policy(name: str | None, allowed: bool) -> None:
    policy = ModelPolicy("scripted:/srv/default.json")
    assert (policy.refusal(name) is None) is allowed


@pytest.mark.parametrize(
    ("name", "allowed"),
    [
        ("gpt-4o", True),
        ("ollama:qwen3", True),  # the server's own --model
        ("openai:gpt-4o", True),
        ("openai:gpt-4o-mini", True),
        ("anthropic:claude-3-5-sonnet-latest", True),
        ("openai:gpt-4.1", False),
        ("OPENAI:gpt-4o", True),  # not a spec (providers are lower case): runs on --model
        ("google_genai:gemini-2.0", False),
        ("scripted:demo", False),  # with a list, bundled scripts need listing too
        ("scripted:/etc/passwd", False),
    ],
)
def test_listed_policy(name: str, allowed: bool) -> None:
    policy = ModelPolicy("ollama:qwen3", ("openai:gpt-4o*", "anthropic:*"))
    assert (policy.refusal(name) is None) is allowed


def test_an_empty_list_allows_only_the_default_model() -> None:
    policy = ModelPolicy("openai:gpt-4.1-mini", ())
    assert policy.refusal("openai:gpt-4.1-mini") is None and policy.refusal("gpt-4o") is None
    assert policy.refusal("openai:gpt-4o") is not None
    assert policy.describe() == "clients may name --model and nothing else"


def test_patterns_from_strings_and_lists() -> None:
    assert model_patterns(None) is None
    assert model_patterns("") == ()
    assert model_patterns(" openai:* , scripted:demo,") == ("openai:*", "scripted:demo")
    assert model_patterns(["a:b,c:d", "e:*"]) == ("a:b", "c:d", "e:*")
    assert ServerSettings(allowed_models="x:*").allowed_models == ("x:*",)  # type: ignore[arg-type]


def test_settings_from_the_environment_and_for_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOWED_MODELS_ENV, "openai:gpt-4o*,scripted:*")
    assert ServerSettings.from_env().allowed_models == ("openai:gpt-4o*", "scripted:*")
    assert ServerSettings.from_env(allowed_models=[]).allowed_models == ()  # the flag wins
    monkeypatch.setenv(ALLOWED_MODELS_ENV, "")
    assert ServerSettings.from_env().allowed_models == ()
    monkeypatch.delenv(ALLOWED_MODELS_ENV)
    assert ServerSettings.from_env().allowed_models is None
    settings = ServerSettings(allowed_models=("anthropic:*",))
    monkeypatch.setenv(SERVE_SETTINGS_ENV, settings_to_environment(settings))
    assert settings_from_environment().allowed_models == ("anthropic:*",)


def test_the_resolver_never_builds_a_refused_model(tmp_path: Path) -> None:
    script = tmp_path / "stored.json"
    script.write_text(json.dumps({"rules": [{"match": "", "turns": [{"content": "x"}]}]}))
    spec = f"scripted:{script}"
    with pytest.raises(ModelUnavailableError, match="not allowed on this server"):
        ModelResolver("scripted:demo").resolve(spec)
    assert ModelResolver("scripted:demo", ("scripted:*",)).resolve(spec) is not None
