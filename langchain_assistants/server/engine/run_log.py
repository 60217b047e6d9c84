"""One INFO line when a run starts and one when it ends, for operators watching the log.

The end line names the run, its thread and model, the tools it called (read from its
steps, so it is right whichever process executed which part), how long it took, its
tokens and its status. Nothing is read when INFO is not enabled.
"""

from __future__ import annotations

import logging
from typing import Any

from ..store import Kind, Store
from ..wire import TERMINAL_RUN_STATUSES, now

log = logging.getLogger("langchain_assistants.runs")

_ENDED_AT = {
    "completed": "completed_at",
    "failed": "failed_at",
    "cancelled": "cancelled_at",
    "expired": "expired_at",
    "incomplete": "incomplete_at",
}


def tools_called(steps: list[dict[str, Any]]) -> list[str]:
    """Names of the tool calls in a run's steps, in order (function name or tool type)."""
    names = []
    for step in steps:
        details = step.get("step_details") or {}
        for call in details.get("tool_calls") or []:
            kind = call.get("type")
            names.append(call["function"]["name"] if kind == "function" else str(kind))
    return names


def log_run_start(run: dict[str, Any]) -> None:
    log.info("run %s started thread=%s model=%s", run["id"], run["thread_id"], run.get("model"))


async def log_run_end(store: Store, run: dict[str, Any]) -> None:
    """Log a run that reached a terminal status (no-op unless INFO is enabled)."""
    if run["status"] not in TERMINAL_RUN_STATUSES or not log.isEnabledFor(logging.INFO):
        return
    steps = await store.page(Kind.step, limit=100, order="asc", run_id=run["id"])
    began = run.get("started_at") or run["created_at"]
    ended = run.get(_ENDED_AT[run["status"]]) or now()
    usage = run.get("usage") or {}
    log.info(
        "run %s %s thread=%s model=%s tools=[%s] duration=%ss tokens=%s/%s",
        run["id"],
        run["status"],
        run["thread_id"],
        run.get("model"),
        ", ".join(tools_called(steps.items)),
        max(0, ended - began),
        usage.get("prompt_tokens", 0),
        usage.get("completion_tokens", 0),
    )
