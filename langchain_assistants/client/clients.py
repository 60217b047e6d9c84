"""Pair a sync OpenAI client with an async one (and back) that talk to the same server.

Users may pass only ``client`` or only ``async_client``; the other one must reach the same
base URL with the same credentials and options, or sync and async calls would silently go
to different places (the legacy class built ``AsyncOpenAI(api_key=...)`` and lost the
base URL).
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import warnings
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import openai

__all__ = ["async_client_like", "default_clients", "quiet_deprecations", "sync_client_like"]


@contextmanager
def quiet_deprecations() -> Iterator[None]:
    """Silence the SDK's ``DeprecationWarning`` for the Assistants calls this package makes.

    Every beta call warns (with varying messages). Warnings are ignored only inside the
    block, which wraps a single SDK call, so the user's own direct SDK calls still warn.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def _common_options(client: Any) -> dict[str, Any]:
    """Constructor options every OpenAI client exposes."""
    options: dict[str, Any] = {
        "organization": getattr(client, "organization", None),
        "project": getattr(client, "project", None),
        "timeout": client.timeout,
        "max_retries": client.max_retries,
        "default_headers": dict(getattr(client, "_custom_headers", None) or {}) or None,
        "default_query": dict(getattr(client, "_custom_query", None) or {}) or None,
    }
    for name in ("webhook_secret", "websocket_base_url"):
        value = getattr(client, name, None)
        if value is not None:
            options[name] = value
    return options


def _is_azure(client: Any) -> bool:
    return isinstance(client, (openai.AzureOpenAI, openai.AsyncAzureOpenAI))


def _azure_options(client: Any, *, to_async: bool) -> dict[str, Any]:
    """Azure routing and credentials: endpoint/deployment or base URL, api_version, tokens."""
    from openai.lib.azure import API_KEY_SENTINEL

    options: dict[str, Any] = {"api_version": client._api_version}
    endpoint = getattr(client, "_azure_endpoint", None)
    if endpoint is not None:
        options["azure_endpoint"] = str(endpoint)
        options["azure_deployment"] = getattr(client, "_azure_deployment", None)
    else:
        options["base_url"] = str(client.base_url)
    if client.api_key and client.api_key != API_KEY_SENTINEL:
        options["api_key"] = client.api_key
    if getattr(client, "_azure_ad_token", None) is not None:
        options["azure_ad_token"] = client._azure_ad_token
    provider = getattr(client, "_azure_ad_token_provider", None)
    if provider is not None:
        # The async client accepts sync or async providers; the sync one needs sync.
        options["azure_ad_token_provider"] = provider if to_async else _to_sync_key(provider)
    query = {k: v for k, v in (client._custom_query or {}).items() if k != "api-version"}
    options["default_query"] = query or None
    return options


def _to_async_key(provider: Callable[[], Any]) -> Callable[[], Awaitable[str]]:
    if inspect.iscoroutinefunction(provider):
        return provider

    async def key() -> str:
        return str(provider())

    return key


def _to_sync_key(provider: Callable[[], Any]) -> Callable[[], str]:
    if not inspect.iscoroutinefunction(provider):
        return provider

    def key() -> str:
        # Run the async provider on a private loop in a worker thread, so this works
        # whether or not the calling thread already runs an event loop.
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["value"] = asyncio.run(provider())
            except BaseException as e:
                box["error"] = e

        worker = threading.Thread(target=target, daemon=True)
        worker.start()
        worker.join()
        if "error" in box:
            raise box["error"]
        return str(box["value"])

    return key


def _credentials(client: Any, *, to_async: bool) -> dict[str, Any]:
    provider = getattr(client, "_api_key_provider", None)
    if provider is not None:
        return {"api_key": _to_async_key(provider) if to_async else _to_sync_key(provider)}
    workload_identity = getattr(client, "workload_identity", None)
    if workload_identity is not None:
        return {"workload_identity": workload_identity}
    options: dict[str, Any] = {"api_key": client.api_key or None}
    admin_key = getattr(client, "admin_api_key", None)
    if admin_key is not None:
        options["admin_api_key"] = admin_key
    return options


def _options(client: Any, *, to_async: bool) -> dict[str, Any]:
    options = _common_options(client)
    if _is_azure(client):
        options.update(_azure_options(client, to_async=to_async))
        return options
    provider = getattr(client, "_provider", None)
    if provider is not None:
        options["provider"] = provider
        return options
    options["base_url"] = str(client.base_url)
    options.update(_credentials(client, to_async=to_async))
    return options


def async_client_like(client: Any) -> Any:
    """An async client for the same server, credentials and options as ``client``."""
    cls = openai.AsyncAzureOpenAI if _is_azure(client) else openai.AsyncOpenAI
    return cls(**_options(client, to_async=True))


def sync_client_like(async_client: Any) -> Any:
    """A sync client for the same server, credentials and options as ``async_client``."""
    cls = openai.AzureOpenAI if _is_azure(async_client) else openai.OpenAI
    return cls(**_options(async_client, to_async=False))


def default_clients(client: Any = None, async_client: Any = None) -> tuple[Any, Any]:
    """Complete a (client, async_client) pair; with neither, read the environment.

    ``OPENAI_API_KEY``, ``OPENAI_BASE_URL`` and friends are read by the SDK itself.
    """
    if client is None and async_client is None:
        return openai.OpenAI(), openai.AsyncOpenAI()
    if client is None:
        return sync_client_like(async_client), async_client
    if async_client is None:
        return client, async_client_like(client)
    return client, async_client
