"""Pure functions: the run's tools and ``tool_choice`` as what the chat model is bound with.

The built-in tools are offered to the model as functions of the same name, which the
server runs itself: ``code_interpreter`` (one argument ``input``, Python source) and
``file_search`` (one argument ``query``, searched in the run's vector stores).
"""

from __future__ import annotations

from typing import Any

CODE_INTERPRETER = "code_interpreter"
FILE_SEARCH = "file_search"
HOSTED_TOOL_TYPES = (CODE_INTERPRETER, FILE_SEARCH)

CODE_INTERPRETER_FUNCTION: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": CODE_INTERPRETER,
        "description": (
            "Run Python code in a sandbox and see its output. State persists as files in the "
            "working directory between calls; print what you need to see. The value of a "
            "final expression is shown."
        ),
        "parameters": {
            "type": "object",
            "properties": {"input": {"type": "string", "description": "Python source code."}},
            "required": ["input"],
        },
    },
}


FILE_SEARCH_FUNCTION: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": FILE_SEARCH,
        "description": (
            "Search the files the user attached or gave you for passages relevant to a query. "
            "Results come labelled with citation markers such as 【0:0†notes.md】; when you "
            "use a result, write its marker right after the statement it supports."
        ),
        "parameters": {
            "type": "object",
            "properties": {
                "query": {"type": "string", "description": "What to look for, in words."}
            },
            "required": ["query"],
        },
    },
}


def model_tools(
    run_tools: list[dict[str, Any]], *, code_interpreter_note: str = ""
) -> list[dict[str, Any]]:
    """OpenAI-format function tools to bind (built-ins as their functions).

    ``code_interpreter_note`` extends that tool's description (the files it can read).
    """
    tools = []
    for tool in run_tools:
        if tool["type"] == "function":
            fn = {k: v for k, v in tool["function"].items() if v is not None}
            tools.append({"type": "function", "function": fn})
        elif tool["type"] == CODE_INTERPRETER:
            function = dict(CODE_INTERPRETER_FUNCTION["function"])
            function["description"] += code_interpreter_note
            tools.append({"type": "function", "function": function})
        elif tool["type"] == FILE_SEARCH:
            tools.append(FILE_SEARCH_FUNCTION)
    return tools


def file_search_options(run_tools: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's ``file_search`` tool settings (``max_num_results``, ``ranking_options``)."""
    for tool in run_tools:
        if tool["type"] == FILE_SEARCH:
            return dict(tool.get("file_search") or {})
    return {}


def model_tool_choice(tool_choice: Any) -> str | None:
    """``tool_choice`` in LangChain's ``bind_tools`` terms (None: the model decides)."""
    if tool_choice in (None, "auto"):
        return None
    if tool_choice in ("none", "required"):
        return str(tool_choice)
    if isinstance(tool_choice, dict):
        if tool_choice.get("type") == "function":
            return str(tool_choice["function"]["name"])
        if tool_choice.get("type") in HOSTED_TOOL_TYPES:
            return str(tool_choice["type"])
    return None
