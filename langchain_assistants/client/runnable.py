"""``OpenAIAssistantRunnable``: an Assistants v2 assistant as a LangChain Runnable / agent.

Drop-in for ``langchain_classic.agents.openai_assistant.OpenAIAssistantRunnable``; same
inputs, outputs, fields and classmethods, without its defects (1 s polling, sync waits in
async code, whole-thread message listing, ``run_metadata`` sent under the wrong name, an
async client that forgot the base URL, untyped errors, threads left locked).

The turn logic lives in :mod:`.flow` (written once); this module holds the I/O shells:
one performs the flow's effects with the sync client, the other with the async client.
"""

from __future__ import annotations

import asyncio
import inspect
import time
import weakref
from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManager, CallbackManager
from langchain_core.callbacks.manager import (
    AsyncCallbackManagerForChainRun,
    CallbackManagerForChainRun,
    adispatch_custom_event,
    dispatch_custom_event,
)
from langchain_core.load import dumpd
from langchain_core.runnables import RunnableConfig, RunnableSerializable, ensure_config
from langchain_core.tracers.core import _TracerCore
from pydantic import ConfigDict, Field, PrivateAttr, model_validator
from typing_extensions import Self, override

from .clients import async_client_like, default_clients, quiet_deprecations
from .errors import AssistantRunTimeoutError, naming_unreachable_server
from .flow import (
    Attempt,
    Effect,
    Flow,
    ListAll,
    Settings,
    Sleep,
    StreamCall,
    TurnResult,
    cancel_active_runs,
    turn,
)
from .model_stream import AsyncModelEcho, SyncModelEcho
from .outputs import OpenAIAssistantAction, OpenAIAssistantFinish, trace_metadata
from .requests import assistant_create_params, plan_turn
from .streaming import apply_event

__all__ = ["OpenAIAssistantRunnable", "OutputType"]

OutputType = list[OpenAIAssistantAction] | OpenAIAssistantFinish | list[Any]
"""``as_agent=True``: actions or a finish; otherwise a list of the SDK's ``Message`` or
``RequiredActionFunctionToolCall`` objects (typed as loosely as the legacy class)."""


def _resolve(client: Any, path: str) -> Any:
    target = client
    for name in path.split("."):
        target = getattr(target, name)
    return target


def _has_handlers(config: RunnableConfig) -> bool:
    callbacks = config.get("callbacks")
    return bool(getattr(callbacks, "handlers", None))


def _attach_trace_metadata(run_manager: Any, metadata: dict[str, Any]) -> None:
    """Add the run's ids and usage to tracer runs (LangSmith shows them as metadata)."""
    if not metadata:
        return
    for handler in getattr(run_manager, "handlers", []):
        if isinstance(handler, _TracerCore):
            traced = handler.run_map.get(str(run_manager.run_id))
            if traced is not None:
                traced.extra.setdefault("metadata", {}).update(metadata)


class OpenAIAssistantRunnable(RunnableSerializable[dict, OutputType]):  # type: ignore[type-arg]
    """Run an OpenAI (Assistants v2) assistant, directly or as a LangChain agent.

    Example, built-in tools only:
        ```python
        from langchain_assistants import OpenAIAssistantRunnable

        interpreter_assistant = OpenAIAssistantRunnable.create_assistant(
            name="langchain assistant",
            instructions="You are a personal math tutor. "
            "Write and run code to answer math questions.",
            tools=[{"type": "code_interpreter"}],
            model="gpt-4-1106-preview",
        )
        output = interpreter_assistant.invoke({"content": "What's 10 - 4 raised to the 2.7"})
        ```

    Example, custom tools with AgentExecutor:
        ```python
        from langchain_classic.agents import AgentExecutor

        agent = OpenAIAssistantRunnable.create_assistant(
            name="math tutor", instructions="...", tools=tools, model="gpt-4o", as_agent=True
        )
        AgentExecutor(agent=agent, tools=tools).invoke({"content": "What's 10 - 4 ** 2.7"})
        ```

    Input keys: ``content`` (text or content blocks), ``thread_id``, ``run_id``,
    ``tool_outputs``, ``intermediate_steps``, ``message_metadata``, ``thread_metadata``,
    ``attachments``, ``file_ids`` (shorthand: attachments for code_interpreter),
    ``tool_resources``, ``instructions``, ``additional_instructions``,
    ``additional_messages``, ``model``, ``tools``, ``tool_choice``, ``parallel_tool_calls``,
    ``temperature``, ``top_p``, ``max_prompt_tokens``, ``max_completion_tokens``,
    ``truncation_strategy``, ``response_format``, ``reasoning_effort``, ``run_metadata``
    (the run's ``metadata``).

    Requests: a turn on a new thread is one streamed ``create_and_run``; on an existing
    thread one streamed ``runs.create`` carrying the user's message; its answer comes from
    the stream itself (tool-output submissions list only that run's messages).

    Active runs: if the server answers that a run still locks the thread (e.g. an
    AgentExecutor stopped while the run waited for tool outputs), ``on_active_run``
    decides: ``"cancel"`` (default) cancels it and retries, ``"wait"`` waits for it to end
    (within ``timeout``) and retries, ``"raise"`` raises :class:`AssistantThreadBusyError`.

    Failures: if a turn fails, times out, is interrupted (``KeyboardInterrupt``) or its
    asyncio task is cancelled, the run it was driving is cancelled on the server
    (``cancel_on_error``). Runs that end failed / expired / cancelled / incomplete raise
    the matching :class:`AssistantRunError` subclass.

    Streaming: text deltas, tool-call argument deltas, code-interpreter and file_search
    deltas are dispatched as custom callback events (``assistant_text_delta``,
    ``assistant_tool_call_delta``, ``assistant_code_interpreter_delta``,
    ``assistant_file_search_delta``, ``assistant_run_status``), visible in
    ``astream_events(version="v2")``.

    Files: ``attachments`` (``{"file_id", "tools": [{"type": "file_search"}]}``) and
    ``tool_resources`` work on every path; a finish's ``citations`` lists the files the
    answer cites (``file_id``, ``filename``, ``quote``, the marker ``text`` and its span).
    ``stream``/``astream`` yield the final output as one chunk.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    client: Any = Field(default=None, exclude=True, repr=False)
    """``OpenAI`` or ``AzureOpenAI`` client (built from ``async_client`` or the environment
    if not given)."""
    async_client: Any = Field(default=None, exclude=True, repr=False)
    """``AsyncOpenAI`` or ``AsyncAzureOpenAI`` client (built from ``client`` or the
    environment if not given)."""
    assistant_id: str
    """OpenAI assistant id."""
    check_every_ms: float = 1_000.0
    """Longest wait between polls when the server sends no ``openai-poll-after-ms`` header
    (polling starts at 50 ms and backs off). Unused while streaming."""
    as_agent: bool = False
    """Use as a LangChain agent, compatible with the ``AgentExecutor``."""
    use_streaming: bool = True
    """One streaming request per turn (default); ``False`` polls the run instead."""
    timeout: float | None = 600.0
    """Seconds a turn may take (``None``: no limit). On timeout the run is cancelled and
    :class:`AssistantRunTimeoutError` raised."""
    on_active_run: Literal["cancel", "wait", "raise"] = "cancel"
    """What to do when the thread already has an active run (see class docstring)."""
    cancel_on_error: bool = True
    """Cancel the run a turn was driving when the turn fails or is interrupted."""

    #: The async client this runnable built itself (None: the user passed one). An httpx
    #: client is bound to the event loop it first ran on, so a second ``asyncio.run``
    #: needs a fresh one: built clients are kept one per loop. A client the user passed
    #: (or assigned later) is always used as given.
    _built_async_client: Any = PrivateAttr(default=None)
    _loop_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = PrivateAttr(
        default_factory=weakref.WeakKeyDictionary
    )

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """Serializable with ``dumpd``/``load``: its settings, never its clients or keys."""
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["langchain_assistants"]

    @model_validator(mode="after")
    def _pair_clients(self) -> Self:
        build_async = self.async_client is None
        if self.client is None or self.async_client is None:
            self.client, self.async_client = default_clients(self.client, self.async_client)
        if build_async:
            self._built_async_client = self.async_client
        return self

    def _async_client(self) -> Any:
        """The async client for the running event loop (see ``_loop_clients``)."""
        if self._built_async_client is None or self.async_client is not self._built_async_client:
            return self.async_client
        loop = asyncio.get_running_loop()
        client = self._loop_clients.get(loop)
        if client is None:
            client = self._loop_clients[loop] = async_client_like(self.client)
        return client

    # ------------------------------------------------------------------ creation

    @classmethod
    def create_assistant(
        cls,
        name: str,
        instructions: str,
        tools: Sequence[Any],
        model: str,
        *,
        client: Any = None,
        async_client: Any = None,
        description: str | None = None,
        metadata: dict[str, str] | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        response_format: Any = None,
        tool_resources: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> OpenAIAssistantRunnable:
        """Create an assistant on the server and return a runnable for it.

        Args:
            name: Assistant name.
            instructions: Assistant instructions.
            tools: BaseTools, pydantic models, functions, OpenAI tool dicts or built-ins
                (``{"type": "code_interpreter"}``, ``{"type": "file_search"}``).
            model: Model to use.
            client: ``OpenAI``/``AzureOpenAI`` client (default: from ``async_client`` or
                the environment).
            async_client: Async client for the runnable (default: paired with ``client``).
            description, metadata, temperature, top_p, response_format, tool_resources:
                Assistant options.
            **kwargs: Fields of the runnable (``as_agent``, ``timeout``, ...).
        """
        given_async = async_client
        client, async_client = default_clients(client, async_client)
        params = assistant_create_params(
            name=name,
            instructions=instructions,
            tools=tools,
            model=model,
            description=description,
            metadata=metadata,
            temperature=temperature,
            top_p=top_p,
            response_format=response_format,
            tool_resources=tool_resources,
        )
        with quiet_deprecations(), naming_unreachable_server():
            assistant = client.beta.assistants.create(**params)
        return cls(assistant_id=assistant.id, client=client, async_client=given_async, **kwargs)

    @classmethod
    async def acreate_assistant(
        cls,
        name: str,
        instructions: str,
        tools: Sequence[Any],
        model: str,
        *,
        client: Any = None,
        async_client: Any = None,
        description: str | None = None,
        metadata: dict[str, str] | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        response_format: Any = None,
        tool_resources: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> OpenAIAssistantRunnable:
        """Async :meth:`create_assistant`: creates the assistant with the async client."""
        given_async = async_client
        client, async_client = default_clients(client, async_client)
        params = assistant_create_params(
            name=name,
            instructions=instructions,
            tools=tools,
            model=model,
            description=description,
            metadata=metadata,
            temperature=temperature,
            top_p=top_p,
            response_format=response_format,
            tool_resources=tool_resources,
        )
        with quiet_deprecations(), naming_unreachable_server():
            assistant = await async_client.beta.assistants.create(**params)
        return cls(assistant_id=assistant.id, client=client, async_client=given_async, **kwargs)

    # ------------------------------------------------------------------ running

    def _settings(self) -> Settings:
        return Settings(
            assistant_id=self.assistant_id,
            as_agent=self.as_agent,
            use_streaming=self.use_streaming,
            timeout=self.timeout,
            on_active_run=self.on_active_run,
            cancel_on_error=self.cancel_on_error,
            check_every_ms=self.check_every_ms,
        )

    def _start_metadata(self, input: Any) -> dict[str, Any]:
        metadata: dict[str, Any] = {"assistant_id": self.assistant_id}
        if isinstance(input, dict):
            for key in ("thread_id", "run_id"):
                if input.get(key):
                    metadata[key] = input[key]
        return metadata

    @override
    def invoke(
        self,
        input: dict,  # type: ignore[type-arg]
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> OutputType:
        """Run one turn: start a run (new or existing thread) or submit tool outputs.

        Returns, with ``as_agent``: ``list[OpenAIAssistantAction]`` or
        ``OpenAIAssistantFinish``; otherwise the run's new ``Message`` objects or the
        ``RequiredActionFunctionToolCall`` objects it waits for.
        """
        config = ensure_config(config)
        callback_manager = CallbackManager.configure(
            inheritable_callbacks=config.get("callbacks"),
            inheritable_tags=config.get("tags"),
            inheritable_metadata=config.get("metadata"),
            local_metadata=self._start_metadata(input),
        )
        run_manager = callback_manager.on_chain_start(
            dumpd(self),
            input,
            name=config.get("run_name") or self.get_name(),
            run_id=config.pop("run_id", None),
        )
        child: RunnableConfig = {"callbacks": run_manager.get_child()}
        try:
            result: TurnResult = self._drive_sync(
                turn(plan_turn(input, self.assistant_id), self._settings()), child
            )
        except BaseException as e:
            metadata = trace_metadata(getattr(e, "run", None))
            _attach_trace_metadata(run_manager, metadata)
            run_manager.on_chain_error(e, metadata=metadata)
            raise
        return self._end_sync(run_manager, result)

    @override
    async def ainvoke(
        self,
        input: dict,  # type: ignore[type-arg]
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> OutputType:
        """Async :meth:`invoke`, using only the async client."""
        config = ensure_config(config)
        callback_manager = AsyncCallbackManager.configure(
            inheritable_callbacks=config.get("callbacks"),
            inheritable_tags=config.get("tags"),
            inheritable_metadata=config.get("metadata"),
            local_metadata=self._start_metadata(input),
        )
        run_manager = await callback_manager.on_chain_start(
            dumpd(self),
            input,
            name=config.get("run_name") or self.get_name(),
            run_id=config.pop("run_id", None),
        )
        child: RunnableConfig = {"callbacks": run_manager.get_child()}
        try:
            result: TurnResult = await self._drive_async(
                turn(plan_turn(input, self.assistant_id), self._settings()), child
            )
        except BaseException as e:
            metadata = trace_metadata(getattr(e, "run", None))
            _attach_trace_metadata(run_manager, metadata)
            await run_manager.on_chain_error(e, metadata=metadata)
            raise
        return await self._end_async(run_manager, result)

    def _end_sync(self, run_manager: CallbackManagerForChainRun, result: TurnResult) -> Any:
        metadata = trace_metadata(result.run)
        _attach_trace_metadata(run_manager, metadata)
        run_manager.on_chain_end(result.output, metadata=metadata)
        return result.output

    async def _end_async(
        self, run_manager: AsyncCallbackManagerForChainRun, result: TurnResult
    ) -> Any:
        metadata = trace_metadata(result.run)
        _attach_trace_metadata(run_manager, metadata)
        await run_manager.on_chain_end(result.output, metadata=metadata)
        return result.output

    # ------------------------------------------------------------------ helpers

    def cancel_active_runs(self, thread_id: str) -> list[Any]:
        """Cancel the thread's active runs (if any) and wait until they are cancelled.

        Returns the runs that were active.
        """
        result: list[Any] = self._drive_sync(cancel_active_runs(thread_id, self._settings()), {})
        return result

    async def acancel_active_runs(self, thread_id: str) -> list[Any]:
        """Async :meth:`cancel_active_runs`."""
        result: list[Any] = await self._drive_async(
            cancel_active_runs(thread_id, self._settings()), {}
        )
        return result

    def download_file(self, file_id: str) -> bytes:
        """The bytes of a file, e.g. one listed in a finish's ``files``."""
        with quiet_deprecations():
            response = self.client.files.content(file_id)
        return bytes(response.content)

    async def adownload_file(self, file_id: str) -> bytes:
        """Async :meth:`download_file`."""
        with quiet_deprecations():
            pending = self._async_client().files.content(file_id)
        response = await pending
        return bytes(response.content)

    # ------------------------------------------------------------------ I/O shells

    def _drive_sync(self, flow: Flow, config: RunnableConfig) -> Any:
        """Perform ``flow``'s effects with the sync client; return its result."""
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                effect = flow.throw(error) if error is not None else flow.send(value)
            except StopIteration as stop:
                return stop.value
            error = None
            try:
                value = self._perform_sync(effect, config)
            except BaseException as e:
                error = e

    def _perform_sync(self, effect: Effect, config: RunnableConfig) -> Any:
        if isinstance(effect, Attempt):
            try:
                return True, self._perform_sync(effect.effect, config)
            except Exception as e:
                return False, e
        if isinstance(effect, Sleep):
            time.sleep(effect.seconds)
            return None
        with quiet_deprecations():
            result = _resolve(self.client, effect.path)(*effect.args, **effect.call_kwargs())
        if isinstance(effect, ListAll):
            return list(result)
        if isinstance(effect, StreamCall):
            dispatch = _has_handlers(config)
            echo = SyncModelEcho(config.get("callbacks")) if dispatch else None
            try:
                with result as stream:
                    for event in stream:
                        for name, data in apply_event(effect.state, event):
                            if dispatch:
                                dispatch_custom_event(name, data, config=config)
                        if echo is not None:
                            echo.feed(event)
                        self._check_deadline(effect)
            except BaseException as e:
                if echo is not None:
                    echo.close(e)
                raise
            if echo is not None:
                echo.close()
            return effect.state
        return result

    async def _drive_async(self, flow: Flow, config: RunnableConfig) -> Any:
        """Perform ``flow``'s effects with the async client; return its result."""
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                effect = flow.throw(error) if error is not None else flow.send(value)
            except StopIteration as stop:
                return stop.value
            error = None
            try:
                value = await self._perform_async(effect, config)
            except BaseException as e:
                error = e

    async def _perform_async(self, effect: Effect, config: RunnableConfig) -> Any:
        if isinstance(effect, Attempt):
            try:
                # Shielded: cleanup must finish even if the task is cancelled again.
                return True, await asyncio.shield(self._perform_async(effect.effect, config))
            except Exception as e:
                return False, e
        if isinstance(effect, Sleep):
            await asyncio.sleep(effect.seconds)
            return None
        with quiet_deprecations():
            result = _resolve(self._async_client(), effect.path)(
                *effect.args, **effect.call_kwargs()
            )
        if isinstance(effect, ListAll):
            return [item async for item in result]
        if inspect.isawaitable(result):
            result = await result
        if isinstance(effect, StreamCall):
            dispatch = _has_handlers(config)
            echo = AsyncModelEcho(config.get("callbacks")) if dispatch else None
            try:
                async with result as stream:
                    async for event in stream:
                        for name, data in apply_event(effect.state, event):
                            if dispatch:
                                await adispatch_custom_event(name, data, config=config)
                        if echo is not None:
                            await echo.feed(event)
                        self._check_deadline(effect)
            except BaseException as e:
                if echo is not None:
                    await echo.close(e)
                raise
            if echo is not None:
                await echo.close()
            return effect.state
        return result

    def _check_deadline(self, effect: StreamCall) -> None:
        if effect.deadline is not None and effect.deadline.expired():
            state = effect.state
            raise AssistantRunTimeoutError(
                timeout=effect.deadline.timeout, run=state.run, thread_id=state.thread_id
            )
