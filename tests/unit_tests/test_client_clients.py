"""Client pairing: the missing client reaches the same server with the same settings."""

from __future__ import annotations

import asyncio
import warnings

import httpx2
import openai
import pytest

from langchain_assistants.client.clients import (
    async_client_like,
    default_clients,
    quiet_deprecations,
    sync_client_like,
)

BASE = "http://127.0.0.1:9/custom/v1/"


def test_async_from_sync_keeps_everything() -> None:
    client = openai.OpenAI(
        api_key="sk-secret",
        base_url=BASE,
        organization="org_1",
        project="proj_1",
        default_headers={"X-Team": "a"},
        default_query={"q": "1"},
        timeout=12.5,
        max_retries=7,
    )
    paired = async_client_like(client)
    assert isinstance(paired, openai.AsyncOpenAI)
    assert str(paired.base_url) == BASE
    assert paired.api_key == "sk-secret"
    assert (paired.organization, paired.project) == ("org_1", "proj_1")
    assert paired._custom_headers["X-Team"] == "a"
    assert paired._custom_query["q"] == "1"
    assert paired.timeout == 12.5
    assert paired.max_retries == 7


def test_sync_from_async_keeps_everything() -> None:
    timeout = httpx2.Timeout(3.0, connect=1.0)
    client = openai.AsyncOpenAI(api_key="sk-a", base_url=BASE, timeout=timeout, max_retries=1)
    paired = sync_client_like(client)
    assert isinstance(paired, openai.OpenAI)
    assert str(paired.base_url) == BASE
    assert paired.api_key == "sk-a"
    assert paired.timeout == timeout
    assert paired.max_retries == 1


def test_azure_pairs_with_azure() -> None:
    client = openai.AzureOpenAI(
        api_key="az-key",
        azure_endpoint="https://example.openai.azure.com",
        azure_deployment="dep1",
        api_version="2024-05-01-preview",
        max_retries=3,
    )
    paired = async_client_like(client)
    assert isinstance(paired, openai.AsyncAzureOpenAI)
    assert str(paired.base_url) == str(client.base_url)
    assert paired._api_version == "2024-05-01-preview"
    assert paired._azure_deployment == "dep1"
    assert paired.api_key == "az-key"
    assert paired._custom_query["api-version"] == "2024-05-01-preview"
    assert paired.max_retries == 3

    back = sync_client_like(paired)
    assert isinstance(back, openai.AzureOpenAI)
    assert str(back.base_url) == str(client.base_url)


def test_azure_with_base_url_and_token_provider() -> None:
    client = openai.AsyncAzureOpenAI(
        base_url="https://example.openai.azure.com/openai",
        api_version="2024-05-01-preview",
        azure_ad_token_provider=lambda: "token",
    )
    paired = sync_client_like(client)
    assert str(paired.base_url) == str(client.base_url)
    assert paired._azure_ad_token_provider is not None
    assert paired._azure_ad_token_provider() == "token"


def test_key_providers_are_adapted() -> None:
    client = openai.OpenAI(api_key=lambda: "sk-from-provider", base_url=BASE)
    paired = async_client_like(client)
    provider = paired._api_key_provider
    assert provider is not None
    assert asyncio.run(provider()) == "sk-from-provider"

    async def akey() -> str:
        return "sk-async"

    back = sync_client_like(openai.AsyncOpenAI(api_key=akey, base_url=BASE))
    assert back._api_key_provider is not None
    assert back._api_key_provider() == "sk-async"


def test_defaults_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("OPENAI_BASE_URL", BASE)
    client, async_client = default_clients()
    assert str(client.base_url) == str(async_client.base_url) == BASE
    assert client.api_key == async_client.api_key == "sk-env"


def test_given_pair_is_kept() -> None:
    a = openai.OpenAI(api_key="x", base_url=BASE)
    b = openai.AsyncOpenAI(api_key="y", base_url=BASE)
    assert default_clients(a, b) == (a, b)


def test_quiet_deprecations_is_local() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_deprecations():
            warnings.warn("deprecated", DeprecationWarning, stacklevel=1)
        warnings.warn("still visible", DeprecationWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["still visible"]
