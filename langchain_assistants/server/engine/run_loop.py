"""One run's execution: model turns and the tools they call, until the run ends or waits.

A run alternates model turns (``turn.py``) and tool calls: hosted tools (``hosted.py``)
run here and the model is called again; function calls pause the run in
``requires_action`` until a client submits their outputs. Each step of that protocol is
one transaction, whose events follow its commit (``recorder.py``). The run's status
changes go through the engine's ``transition`` (``runner.py``), which keeps the live run,
the stored run and the published events in step and raises ``RunStopped`` once the run
was cancelled or expired; this module only decides what the run does next.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import messages_to_dict
from openai.types.beta.threads.runs import RunStep

from ..store import Kind, RunState
from ..wire import checked, now
from .citations import CitationBook
from .code_files import CodeFiles, RunOutputs
from .conversation import build_prompt, tool_result_entries
from .file_search import wants_content
from .hosted import HostedResult, HostedTool, check_available
from .message_images import image_urls
from .models import ModelResolver, with_sampling
from .recorder import RunRecorder
from .thread_history import History, ThreadHistory
from .tools import model_tool_choice, model_tools
from .turn import ModelTurn

ZERO_USAGE = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


class RunStopped(Exception):
    """The run was cancelled or expired while its task was working."""


class Transition(Protocol):
    """The engine's status change of a live run (``RunEngine._transition``)."""

    def __call__(
        self, run: dict[str, Any], status: str, columns: dict[str, Any] | None = ..., **fields: Any
    ) -> Awaitable[dict[str, Any]]: ...


def add_usage(a: dict[str, int] | None, b: dict[str, int]) -> dict[str, int]:
    a = a or ZERO_USAGE
    return {key: a.get(key, 0) + b.get(key, 0) for key in ZERO_USAGE}


def limit_reached(
    run: dict[str, Any], usage: dict[str, int], turn_usage: dict[str, int]
) -> str | None:
    """Which token limit of the run the usage so far exceeds, if any."""
    if (
        run.get("max_completion_tokens")
        and usage["completion_tokens"] > run["max_completion_tokens"]
    ):
        return "max_completion_tokens"
    if run.get("max_prompt_tokens") and turn_usage["prompt_tokens"] > run["max_prompt_tokens"]:
        return "max_prompt_tokens"
    return None


@dataclass
class _Execution:
    """What one execution of a run carries from turn to turn."""

    run: dict[str, Any]
    recorder: RunRecorder
    history: History
    images: dict[str, str]
    first_model: Any  # with a forced tool_choice, for the run's first model call only
    model: Any  # every later call: once tools ran, the model may answer
    transcript: list[dict[str, Any]]
    usage: dict[str, int]
    tool_state: dict[str, Any]
    outputs: RunOutputs
    citations: CitationBook
    show_result_content: bool


class RunLoop:
    """Executes runs on their models; shared by all runs of an engine."""

    def __init__(
        self,
        *,
        history: ThreadHistory,
        code_files: CodeFiles,
        hosted: dict[str, HostedTool],
        models: ModelResolver,
        transition: Transition,
    ) -> None:
        self.models = models
        self.history = history
        self.code_files = code_files
        self.hosted = hosted
        self.transition = transition

    async def execute(self, run: dict[str, Any], recorder: RunRecorder, state: RunState) -> None:
        """Call the model and run tools until the run ends or waits for tool outputs;
        ``state``: the run's engine state as it was read when the run started."""
        check_available(run["tools"], self.hosted)
        model = with_sampling(self.models.resolve(run["model"]), run)
        ex = await self._prepare(run, model, recorder, state)
        while True:
            turn = await self._model_turn(ex)
            calls = turn.tool_calls
            if not run.get("parallel_tool_calls", True):
                calls = calls[:1]
            if not calls:
                await self._answer(ex, turn)
                return
            if not await self._after_tool_calls(ex, turn, calls):
                return

    async def _prepare(
        self, run: dict[str, Any], model: BaseChatModel, recorder: RunRecorder, state: RunState
    ) -> _Execution:
        code_files = self.code_files.scoped(recorder.project)  # the run's project's files
        # No transaction around these reads: each is consistent by itself, the history
        # copes with a change between its reads, and the thread is locked meanwhile.
        history = await self.history.scoped(recorder.project).load(run)
        note = await code_files.tool_note(run, history.messages)
        # Outside the transaction: image bytes may be large (no reads without image files).
        images = await image_urls(code_files.files, history.messages) if history.image_ids else {}
        tools = model_tools(run["tools"], code_interpreter_note=note)
        choice = model_tool_choice(run["tool_choice"])
        first: Any = model
        later: Any = model
        # A forced tool_choice ("required", a function or a built-in) holds for the run's
        # first model call only; once tools ran, the model may answer (else a hosted tool
        # such as file_search would be called for ever).
        if tools and choice != "none":
            later = model.bind_tools(tools)
            first = model.bind_tools(tools, tool_choice=choice) if choice else later
        tool_state = state.tool_state
        return _Execution(
            run=run,
            recorder=recorder,
            history=history,
            images=images,
            first_model=first,
            model=later,
            transcript=state.transcript,
            usage=state.usage or dict(ZERO_USAGE),
            # Figures and files this run's code made (also before a requires_action pause).
            outputs=RunOutputs.from_transcript(state.transcript),
            tool_state=tool_state,
            citations=CitationBook.from_state(tool_state.get("citations")),
            show_result_content=wants_content(tool_state.get("include")),
        )

    async def _model_turn(self, ex: _Execution) -> ModelTurn:
        """One streamed model call on the thread and the run's transcript so far."""
        turn = ModelTurn(
            ex.recorder,
            ex.run,
            outputs=ex.outputs,
            hosted=self.hosted,
            citations=ex.citations,
            show_result_content=ex.show_result_content,
        )
        await turn.stream(
            ex.model if ex.transcript else ex.first_model,
            build_prompt(ex.run, ex.history.as_prompt(ex.images), ex.transcript),
        )
        ex.usage = add_usage(ex.usage, turn.usage)
        return turn

    async def _answer(self, ex: _Execution, turn: ModelTurn) -> None:
        """The model answered without tool calls: the message, its step and the run's end."""
        reason = limit_reached(ex.run, ex.usage, turn.usage)
        async with ex.recorder.batch():  # one commit
            await turn.close_message(turn.usage, cut_short=reason is not None)
            if reason:
                await self._finish(ex, "incomplete", incomplete_details={"reason": reason})
            else:
                await self._finish(ex, "completed", completed_at=now())

    async def _after_tool_calls(self, ex: _Execution, turn: ModelTurn, calls: list[Any]) -> bool:
        """Run the hosted calls and record the tool step; True: call the model again,
        False: the run ended (a token limit) or waits for function outputs."""
        await turn.close_message(None)
        results = await self._run_hosted(ex.run, turn, calls)
        step = self._tool_step(turn, calls, results)
        ex.transcript += messages_to_dict([turn.ai_message(calls)]) + tool_result_entries(
            [(r.call_id, r.output) for r in results],
            artifacts={r.call_id: r.produced for r in results},
        )
        ex.tool_state = {**ex.tool_state, "citations": ex.citations.to_state()}
        if reason := limit_reached(ex.run, ex.usage, turn.usage):
            await self._finish_step(ex, step, turn.usage)
            await self._finish(ex, "incomplete", incomplete_details={"reason": reason})
            return False
        pending = [c for c in calls if c.name not in self.hosted]
        if pending:
            await self._wait_for_outputs(
                ex, checked(RunStep, {**step, "usage": turn.usage}), pending
            )
            return False
        async with ex.recorder.batch():  # the run's state and the finished step: one commit
            saved = await ex.recorder.store.save_run(
                ex.run, transcript=ex.transcript, usage=ex.usage, tool_state=ex.tool_state
            )
            if saved is None:
                raise RunStopped  # stopped through another process meanwhile
            await self._finish_step(ex, step, turn.usage)
        return True

    def _tool_step(
        self, turn: ModelTurn, calls: list[Any], results: list[HostedResult]
    ) -> dict[str, Any]:
        """The turn's tool-calls step, with the hosted calls' results in place."""
        assert turn.tool_step is not None
        by_id = {r.call_id: r.step_entry for r in results}
        entries = [c.step_entry() for c in calls]
        details = {
            "type": "tool_calls",
            "tool_calls": [by_id.get(entry["id"], entry) for entry in entries],
        }
        return {**turn.tool_step, "step_details": details}

    async def _finish_step(
        self, ex: _Execution, step: dict[str, Any], turn_usage: dict[str, int]
    ) -> None:
        await ex.recorder.finish_step(
            step,
            status="completed",
            completed_at=now(),
            usage=turn_usage,
            show_result_content=ex.show_result_content,
        )

    async def _wait_for_outputs(
        self, ex: _Execution, step: dict[str, Any], pending: list[Any]
    ) -> None:
        """Pause in ``requires_action`` for the function calls' outputs. Nobody executes a
        waiting run: whichever process gets its tool outputs claims it."""
        required = {
            "type": "submit_tool_outputs",
            "submit_tool_outputs": {
                "tool_calls": [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.name, "arguments": c.arguments},
                    }
                    for c in pending
                ]
            },
        }
        columns = {
            "transcript": ex.transcript,
            "usage": ex.usage,
            "tool_state": ex.tool_state,
            "owner": None,
            "lease_until": None,
        }
        async with ex.recorder.batch():  # the step and the pause: one commit
            await ex.recorder.store.save(Kind.step, step)
            await self.transition(ex.run, "requires_action", columns, required_action=required)
            ex.recorder.close(ex.run["id"])

    async def _finish(self, ex: _Execution, status: str, **fields: Any) -> None:
        await self.transition(ex.run, status, {"usage": ex.usage}, usage=ex.usage, **fields)
        ex.recorder.close(ex.run["id"])

    async def _run_hosted(
        self, run: dict[str, Any], turn: ModelTurn, calls: list[Any]
    ) -> list[HostedResult]:
        """Execute the calls of tools the server hosts, in order; their figures and files
        join the answer."""
        results = []
        for call in calls:
            tool = self.hosted.get(call.name)
            if tool is None:
                continue
            result = await tool.execute(run, call, turn)
            turn.outputs.add(result.produced)
            results.append(result)
        return results
