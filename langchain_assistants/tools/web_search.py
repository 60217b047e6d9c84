"""A LangChain web search tool on DuckDuckGo & co. via ``ddgs`` (imported lazily)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForToolRun, CallbackManagerForToolRun
from langchain_core.tools import ArgsSchema, BaseTool, ToolException
from pydantic import BaseModel, Field

from ._errors import ToolErrorHandling

# ``(query, max_results) -> [{"title", "href", "body"}, ...]``: the seam tests replace.
SearchBackend = Callable[[str, int], list[dict[str, Any]]]

_NO_RESULTS = "No results found."
_NETWORK_MARKERS = ("dns", "connect", "network", "unreachable", "timed out", "timeout", "resolv")


def ddgs_search(query: str, max_results: int) -> list[dict[str, Any]]:
    """Text search with ``ddgs.DDGS`` (blocking); "no results" is an empty list."""
    try:
        from ddgs import DDGS
        from ddgs.exceptions import DDGSException
    except ImportError as exc:
        raise ToolException(
            "web_search needs the ddgs package: pip install 'langchain-assistants[tools]'"
        ) from exc
    try:
        return DDGS().text(query, max_results=max_results)
    except DDGSException as exc:
        if str(exc) == _NO_RESULTS:
            return []
        raise


class WebSearchInput(BaseModel):
    """Arguments of :class:`WebSearchTool`."""

    query: str = Field(description="What to search the web for.")


class WebSearchTool(BaseTool):
    """Search the web; returns a JSON list of ``{"title", "url", "snippet"}``.

    Failures (e.g. no network) raise ``ToolException`` with a clear message, returned to the
    model as the tool's error because ``handle_tool_error`` is on by default.
    """

    name: str = "web_search"
    description: str = (
        "Search the web for current information. Input: a search query. Returns a JSON list "
        "of results with title, url and snippet."
    )
    args_schema: ArgsSchema | None = WebSearchInput
    handle_tool_error: ToolErrorHandling = True
    max_results: int = 5
    search_backend: SearchBackend = Field(default=ddgs_search)

    def _run(self, query: str, run_manager: CallbackManagerForToolRun | None = None) -> str:
        return self._search(query)

    async def _arun(
        self, query: str, run_manager: AsyncCallbackManagerForToolRun | None = None
    ) -> str:
        return await asyncio.to_thread(self._search, query)

    def _search(self, query: str) -> str:
        try:
            results = self.search_backend(query, self.max_results)
        except ToolException:
            raise
        except Exception as exc:
            raise ToolException(describe_search_error(exc)) from exc
        if not results:
            return f"No results found for {query!r}."
        return json.dumps([format_result(result) for result in results], ensure_ascii=False)


def format_result(result: dict[str, Any]) -> dict[str, str]:
    """Normalize one backend result to ``title`` / ``url`` / ``snippet``."""
    return {
        "title": str(result.get("title", "")),
        "url": str(result.get("href") or result.get("url") or result.get("link") or ""),
        "snippet": str(result.get("body") or result.get("snippet") or ""),
    }


def describe_search_error(exc: BaseException) -> str:
    """Say plainly whether the search failed because the network is unreachable."""
    if is_network_error(exc):
        return f"Web search is unavailable: the network is unreachable ({exc})."
    return f"Web search failed: {type(exc).__name__}: {exc}"


def is_network_error(exc: BaseException) -> bool:
    """Connection-level failure? ``ddgs`` wraps them, so nested args and text are inspected."""
    if isinstance(exc, OSError | TimeoutError):
        return True
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {"TransportError", "TimeoutException", "ConnectError"}:
        return True
    nested = [arg for arg in exc.args if isinstance(arg, BaseException)]
    if any(is_network_error(arg) for arg in nested):
        return True
    text = str(exc).lower()
    return any(marker in text for marker in _NETWORK_MARKERS)
