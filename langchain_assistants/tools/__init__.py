"""LangChain tools: Python code execution (local sandbox or E2B) and web search."""

from .code_result import CodeBackend, CodeResult
from .e2b_backend import E2BBackend
from .local_backend import LocalSandboxBackend
from .python_code import PythonCodeInput, PythonCodeTool
from .web_search import SearchBackend, WebSearchInput, WebSearchTool, ddgs_search

__all__ = [
    "CodeBackend",
    "CodeResult",
    "E2BBackend",
    "LocalSandboxBackend",
    "PythonCodeInput",
    "PythonCodeTool",
    "SearchBackend",
    "WebSearchInput",
    "WebSearchTool",
    "ddgs_search",
]
