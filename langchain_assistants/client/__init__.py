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
from .outputs import OpenAIAssistantAction, OpenAIAssistantFinish
from .runnable import OpenAIAssistantRunnable, OutputType

__all__ = [
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
