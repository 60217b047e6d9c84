"""Client side: ``OpenAIAssistantRunnable`` and its types, for any Assistants v2 server."""

from .errors import (
    AssistantConnectionError,
    AssistantRunCancelledError,
    AssistantRunError,
    AssistantRunExpiredError,
    AssistantRunFailedError,
    AssistantRunIncompleteError,
    AssistantRunTimeoutError,
    AssistantThreadBusyError,
)
from .outputs import CHECKPOINT_ALLOWLIST, OpenAIAssistantAction, OpenAIAssistantFinish
from .runnable import OpenAIAssistantRunnable, OutputType

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
]
