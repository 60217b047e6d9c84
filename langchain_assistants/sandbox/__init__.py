"""Local Python sandbox: run code contained by the kernel and collect what it produced.

Each call starts a fresh interpreter inside a bubblewrap sandbox (its own mount, PID,
network, IPC, user and UTS namespaces; see :mod:`.isolation`) with the working directory at
``/mnt/data``, a wall-clock timeout and memory/CPU/process/file limits; files in the working
directory persist between calls. ``unsafe_local=True`` runs a plain child process instead
(no kernel isolation). Used by the bundled server's ``code_interpreter`` and by
:class:`langchain_assistants.tools.PythonCodeTool`.
"""

from .isolation import SANDBOX_WORKDIR, IsolationUnavailable, bubblewrap, unavailable_reason
from .output import DEFAULT_MAX_OUTPUT_BYTES
from .result import ExecutionResult
from .runner import arun_python, run_python
from .settings import SandboxSettings

__all__ = [
    "DEFAULT_MAX_OUTPUT_BYTES",
    "SANDBOX_WORKDIR",
    "ExecutionResult",
    "IsolationUnavailable",
    "SandboxSettings",
    "arun_python",
    "bubblewrap",
    "run_python",
    "unavailable_reason",
]
