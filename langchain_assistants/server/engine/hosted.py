"""Tools the server runs itself (``code_interpreter``, ``file_search``): one interface.

The model sees each hosted tool as a function; when it calls one, the engine hands the
call to the tool instead of pausing the run for ``requires_action``. A tool publishes its
own step deltas through the turn and returns a :class:`HostedResult`: the text the model
reads next, the call's final entry in the ``tool_calls`` step, and files for the answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .turn import ModelTurn, ToolCall


@dataclass(frozen=True)
class HostedResult:
    """What one hosted tool call produced."""

    call_id: str
    #: The tool message the model reads on its next turn.
    output: str
    #: The call's complete entry in the run step's ``tool_calls`` list.
    step_entry: dict[str, Any]
    #: Files to show after the run's answer (figures: ``image_file`` blocks).
    image_ids: list[str] = field(default_factory=list)
    #: What the call produced, kept with its tool message in the run's stored transcript
    #: (``{"images": [...], "files": [{"file_id", "link"}]}``, see ``code_files``).
    artifact: dict[str, Any] | None = None

    @property
    def produced(self) -> dict[str, Any]:
        return self.artifact if self.artifact is not None else {"images": list(self.image_ids)}


class HostedTool(Protocol):
    """A built-in tool executed by the server during a run."""

    #: The function name the model calls (also the step entry's ``type``).
    name: str

    def pending_entry(self, call: ToolCall) -> dict[str, Any]:
        """The call's ``tool_calls`` step entry before it has run (``id``, ``type``, and
        its details as far as the arguments tell); the first step delta announces it."""
        ...

    # Optional: ``def unavailable_reason(self) -> str | None`` says why the tool cannot work
    # on this server; runs using it are then refused (see :func:`check_available`).
    # Optional: ``async def aclose(self) -> None`` releases resources at shutdown.

    async def execute(
        self, run: dict[str, Any], call: ToolCall, turn: ModelTurn
    ) -> HostedResult: ...


class HostedToolUnavailable(Exception):
    """A run uses a hosted tool that cannot work here; the message is the run's last_error."""


def check_available(run_tools: list[dict[str, Any]], hosted: dict[str, HostedTool]) -> None:
    """Raise :class:`HostedToolUnavailable` before a run starts using a tool that cannot work
    (e.g. code_interpreter without its sandbox), so no code runs without its containment."""
    for tool in run_tools:
        hosted_tool = hosted.get(tool.get("type", ""))
        if hosted_tool is not None and (reason := unavailable_reason(hosted_tool)):
            raise HostedToolUnavailable(
                f"{hosted_tool.name} is unavailable on this server: {reason}"
            )


def unavailable_reason(tool: HostedTool) -> str | None:
    """The tool's own ``unavailable_reason()``, for tools that have one."""
    check: Callable[[], str | None] | None = getattr(tool, "unavailable_reason", None)
    return check() if check is not None else None


async def close_hosted(hosted: dict[str, HostedTool]) -> None:
    """Call each tool's optional ``aclose()`` (at server shutdown)."""
    for tool in hosted.values():
        close: Callable[[], Awaitable[None]] | None = getattr(tool, "aclose", None)
        if close is not None:
            await close()
