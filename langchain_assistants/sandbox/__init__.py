"""Local Python sandbox: run code in a confined child process and collect what it produced.

Each call starts a fresh isolated interpreter in the given working directory with a
wall-clock timeout, a memory cap and no network; files in the working directory persist
between calls. Used by the bundled server's ``code_interpreter`` and by
:class:`langchain_assistants.tools.PythonCodeTool`.
"""

from .output import DEFAULT_MAX_OUTPUT_BYTES
from .result import ExecutionResult
from .runner import arun_python, run_python
from .settings import SandboxSettings

__all__ = [
    "DEFAULT_MAX_OUTPUT_BYTES",
    "ExecutionResult",
    "SandboxSettings",
    "arun_python",
    "run_python",
]
