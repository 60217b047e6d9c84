"""OpenAI-style Assistants as LangChain agents, with a bundled Assistants-v2 server.

The runnable needs only ``openai`` and ``langchain-core``; the server lives in
:mod:`langchain_assistants.server` (the ``server`` extra).
"""

from importlib import metadata as _metadata

from .client import (
    CHECKPOINT_ALLOWLIST,
    AssistantConnectionError,
    AssistantRunCancelledError,
    AssistantRunError,
    AssistantRunExpiredError,
    AssistantRunFailedError,
    AssistantRunIncompleteError,
    AssistantRunTimeoutError,
    AssistantThreadBusyError,
    OpenAIAssistantAction,
    OpenAIAssistantFinish,
    OpenAIAssistantRunnable,
    OutputType,
)

try:
    __version__ = _metadata.version("langchain-assistants")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0+unknown"

__all__ = [
    "CHECKPOINT_ALLOWLIST",
    "AssistantConnectionError",
    "AssistantRunCancelledError",
    "AssistantRunError",
    "AssistantRunExpiredError",
    "AssistantRunFailedError",
    "AssistantRunIncompleteError",
    "AssistantRunTimeoutError",
    "AssistantThreadBusyError",
    "OpenAIAssistantAction",
    "OpenAIAssistantFinish",
    "OpenAIAssistantRunnable",
    "OutputType",
    "__version__",
]
