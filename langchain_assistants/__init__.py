"""OpenAI-style Assistants as LangChain agents, with a bundled Assistants-v2 server.

The runnable needs only ``openai`` and ``langchain-core``; the server lives in
:mod:`langchain_assistants.server` (the ``server`` extra).
"""

from .client import (
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
