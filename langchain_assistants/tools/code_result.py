"""The shape every code-execution backend returns, and the seam backends implement."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class CodeResult:
    """Output of one code execution: streams plus produced artifacts (file names or paths)."""

    stdout: str
    stderr: str
    artifacts: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        """The tool's output, shaped like the legacy ``E2BDataAnalysisTool``'s."""
        return json.dumps(
            {"stdout": self.stdout, "stderr": self.stderr, "artifacts": list(self.artifacts)}
        )


@runtime_checkable
class CodeBackend(Protocol):
    """Runs Python source somewhere and reports what happened.

    Errors in the user's code belong in ``stderr``; only infrastructure failures (missing
    credentials, unreachable service) raise, as ``langchain_core.tools.ToolException``.
    """

    def run(self, code: str) -> CodeResult: ...

    async def arun(self, code: str) -> CodeResult: ...
