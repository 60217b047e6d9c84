"""LangChain's own standard test suites (``langchain-tests``) on our tools.

The web search runs on a deterministic offline backend (its ``search_backend`` seam); the
code tool runs for real in the local sandbox.
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests

from langchain_assistants.tools import PythonCodeTool, WebSearchTool


def offline_search(query: str, max_results: int) -> list[dict[str, Any]]:
    """A fixed result per query: what ddgs returns, without a network."""
    return [{"title": f"About {query}", "href": "https://example.org", "body": "snippet"}][
        :max_results
    ]


class _PythonCode:
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return PythonCodeTool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"python_code": "print(6 * 7)"}


class _WebSearch:
    @property
    def tool_constructor(self) -> type[BaseTool]:
        return WebSearchTool

    @property
    def tool_constructor_params(self) -> dict[str, Any]:
        return {"search_backend": offline_search}

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"query": "weather in San Francisco"}


class TestPythonCodeToolUnit(_PythonCode, ToolsUnitTests):
    pass


class TestPythonCodeToolIntegration(_PythonCode, ToolsIntegrationTests):
    pass


class TestWebSearchToolUnit(_WebSearch, ToolsUnitTests):
    pass


class TestWebSearchToolIntegration(_WebSearch, ToolsIntegrationTests):
    pass
