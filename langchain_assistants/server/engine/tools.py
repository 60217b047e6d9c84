"""Pure functions: the run's tools and ``tool_choice`` as what the chat model is bound with.

The built-in ``code_interpreter`` is offered to the model as a function of the same name
whose one argument ``input`` is Python source; the server runs it itself.
"""

from __future__ import annotations

from typing import Any

CODE_INTERPRETER = "code_interpreter"

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


def model_tools(
    run_tools: list[dict[str, Any]], *, code_interpreter_note: str = ""
) -> list[dict[str, Any]]:
    """OpenAI-format function tools to bind (``file_search`` is not offered: no files yet).

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
    return tools


def model_tool_choice(tool_choice: Any) -> str | None:
    """``tool_choice`` in LangChain's ``bind_tools`` terms (None: the model decides)."""
    if tool_choice in (None, "auto"):
        return None
    if tool_choice in ("none", "required"):
        return str(tool_choice)
    if isinstance(tool_choice, dict):
        if tool_choice.get("type") == "function":
            return str(tool_choice["function"]["name"])
        if tool_choice.get("type") == CODE_INTERPRETER:
            return CODE_INTERPRETER
    return None
