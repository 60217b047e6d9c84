"""A LangChain tool that runs Python code on a pluggable backend (local sandbox or E2B)."""

from __future__ import annotations

from langchain_core.callbacks import AsyncCallbackManagerForToolRun, CallbackManagerForToolRun
from langchain_core.tools import ArgsSchema, BaseTool
from pydantic import BaseModel, Field

from ._errors import ToolErrorHandling
from .code_result import CodeBackend
from .local_backend import LocalSandboxBackend

DESCRIPTION = (
    "Run Python code and get back JSON with its stdout, stderr and artifacts (files and images "
    "it produced). The value of a final expression is shown; print anything else you need. "
    "Files written to the current directory are kept between calls; variables may not be."
)


class PythonCodeInput(BaseModel):
    """Arguments of :class:`PythonCodeTool`."""

    python_code: str = Field(description="Python source code to execute.")


class PythonCodeTool(BaseTool):
    """Execute Python with ``backend`` (default: a local sandbox with its own working dir).

    Returns ``{"stdout": ..., "stderr": ..., "artifacts": [...]}`` as a JSON string. Errors in
    the code come back in ``stderr``; backend failures (e.g. a missing E2B key) raise
    ``ToolException``, which is returned to the model as the tool's error message because
    ``handle_tool_error`` is on by default.
    """

    name: str = "python_interpreter"
    description: str = DESCRIPTION
    args_schema: ArgsSchema | None = PythonCodeInput
    handle_tool_error: ToolErrorHandling = True
    backend: CodeBackend = Field(default_factory=LocalSandboxBackend)

    def _run(self, python_code: str, run_manager: CallbackManagerForToolRun | None = None) -> str:
        return self.backend.run(python_code).to_json()

    async def _arun(
        self, python_code: str, run_manager: AsyncCallbackManagerForToolRun | None = None
    ) -> str:
        return (await self.backend.arun(python_code)).to_json()
