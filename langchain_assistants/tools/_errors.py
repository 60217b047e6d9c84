"""Shared tool-error settings."""

from __future__ import annotations

from collections.abc import Callable

from langchain_core.tools import ToolException
from langchain_core.tools.base import ToolExceptionHandlerOutput

# The type of ``BaseTool.handle_tool_error``; our tools default it to True so a
# ``ToolException`` reaches the model as the tool's (error) output instead of raising.
ToolErrorHandling = bool | str | Callable[[ToolException], ToolExceptionHandlerOutput] | None
