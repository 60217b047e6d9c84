"""The runnable's public surface: signatures, fields, secrets, no server needed."""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any

import openai
import pytest
from langchain_core.load import dumpd, dumps
from langchain_core.runnables import RunnableSerializable

import langchain_assistants.client as client_pkg
from langchain_assistants.client import (
    AssistantRunError,
    OpenAIAssistantAction,
    OpenAIAssistantFinish,
    OpenAIAssistantRunnable,
)

SECRET = "sk-very-secret-key-123"
BASE = "http://127.0.0.1:9/v1/"

SYNC_ASYNC_PAIRS = [
    ("invoke", "ainvoke"),
    ("create_assistant", "acreate_assistant"),
    ("cancel_active_runs", "acancel_active_runs"),
    ("download_file", "adownload_file"),
]


@pytest.mark.parametrize(("sync_name", "async_name"), SYNC_ASYNC_PAIRS)
def test_sync_and_async_signatures_match(sync_name: str, async_name: str) -> None:
    sync = inspect.signature(getattr(OpenAIAssistantRunnable, sync_name))
    asyn = inspect.signature(getattr(OpenAIAssistantRunnable, async_name))
    assert sync == asyn
    assert inspect.iscoroutinefunction(getattr(OpenAIAssistantRunnable, async_name))


def test_legacy_fields_and_classmethods() -> None:
    fields = OpenAIAssistantRunnable.model_fields
    for name in ("assistant_id", "client", "async_client", "as_agent", "check_every_ms"):
        assert name in fields
    assert isinstance(
        inspect.getattr_static(OpenAIAssistantRunnable, "create_assistant"), classmethod
    )
    params = inspect.signature(OpenAIAssistantRunnable.create_assistant).parameters
    assert list(params)[:4] == ["name", "instructions", "tools", "model"]
    for name in (
        "client",
        "description",
        "metadata",
        "temperature",
        "top_p",
        "response_format",
        "tool_resources",
    ):
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
    assert issubclass(OpenAIAssistantRunnable, RunnableSerializable)


def test_public_names() -> None:
    assert set(client_pkg.__all__) >= {
        "OpenAIAssistantRunnable",
        "OpenAIAssistantAction",
        "OpenAIAssistantFinish",
        "AssistantRunError",
        "AssistantRunFailedError",
        "AssistantRunExpiredError",
        "AssistantRunCancelledError",
        "AssistantRunIncompleteError",
        "AssistantRunTimeoutError",
        "AssistantThreadBusyError",
    }
    for name in client_pkg.__all__:
        assert hasattr(client_pkg, name)
    assert issubclass(client_pkg.AssistantRunFailedError, AssistantRunError)
    assert OpenAIAssistantAction.__name__ and OpenAIAssistantFinish.__name__


def make(**kw: Any) -> OpenAIAssistantRunnable:
    return OpenAIAssistantRunnable(
        assistant_id="asst_1", client=openai.OpenAI(api_key=SECRET, base_url=BASE), **kw
    )


def test_keys_never_in_repr_or_serialization() -> None:
    runnable = make(as_agent=True)
    assert SECRET not in repr(runnable)
    assert SECRET not in str(runnable)
    assert SECRET not in json.dumps(runnable.to_json(), default=str)
    assert SECRET not in dumps(runnable)
    assert SECRET not in json.dumps(dumpd(runnable), default=str)
    assert SECRET not in runnable.model_dump_json()
    assert "client" not in runnable.model_dump()
    assert "asst_1" in repr(runnable)


def test_async_client_is_paired_with_same_server() -> None:
    runnable = make()
    assert isinstance(runnable.async_client, openai.AsyncOpenAI)
    assert str(runnable.async_client.base_url) == BASE
    assert runnable.async_client.api_key == SECRET


def test_sync_client_is_paired_from_async() -> None:
    runnable = OpenAIAssistantRunnable(
        assistant_id="a", async_client=openai.AsyncOpenAI(api_key=SECRET, base_url=BASE)
    )
    assert isinstance(runnable.client, openai.OpenAI)
    assert str(runnable.client.base_url) == BASE


def test_clients_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_BASE_URL", BASE)
    runnable = OpenAIAssistantRunnable(assistant_id="asst_1", as_agent=True)
    assert str(runnable.client.base_url) == str(runnable.async_client.base_url) == BASE


def test_defaults() -> None:
    runnable = make()
    assert runnable.use_streaming is True
    assert runnable.on_active_run == "cancel"
    assert runnable.cancel_on_error is True
    assert runnable.timeout == 600.0
    assert runnable.as_agent is False


def test_missing_content_is_raised_before_any_request() -> None:
    runnable = make()
    with pytest.raises(ValueError, match="'content'"):
        runnable.invoke({})
    with pytest.raises(ValueError, match="'content'"):
        asyncio.run(runnable.ainvoke({"thread_id": "thread_1"}))


class _FakeFiles:
    def __init__(self, asynchronous: bool) -> None:
        self.asynchronous = asynchronous
        self.asked: list[str] = []

    def content(self, file_id: str) -> Any:
        self.asked.append(file_id)

        class Response:
            content = b"PNG..."

        if not self.asynchronous:
            return Response()

        async def later() -> Any:
            return Response()

        return later()


def test_download_file_sync_and_async() -> None:
    runnable = make()
    sync_files, async_files = _FakeFiles(False), _FakeFiles(True)
    runnable.client = type("C", (), {"files": sync_files})()
    runnable.async_client = type("A", (), {"files": async_files})()
    assert runnable.download_file("file_1") == b"PNG..."
    assert asyncio.run(runnable.adownload_file("file_2")) == b"PNG..."
    assert sync_files.asked == ["file_1"] and async_files.asked == ["file_2"]
