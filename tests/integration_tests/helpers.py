"""Small helpers shared by the integration tests."""

from __future__ import annotations

from typing import Any

from openai import OpenAI
from openai.types.beta.threads import Message

#: ``allowed_models`` of a test's own server whose assistants name script files
#: (``scripted:PATH``, the ``scripted_model`` fixture): refused unless the operator allows them.
SCRIPT_FILES = ["scripted:*"]


def text_of(message: Message) -> str:
    return "".join(b.text.value for b in message.content if b.type == "text")


def run_messages(client: OpenAI, thread_id: str, run_id: str) -> list[Message]:
    return list(client.beta.threads.messages.list(thread_id, run_id=run_id, order="asc"))


def assistant_with(client: OpenAI, model: str, **kwargs: Any) -> str:
    return client.beta.assistants.create(model=model, **kwargs).id


WEATHER_TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a place",
            "parameters": {
                "type": "object",
                "properties": {"location": {"type": "string"}},
                "required": ["location"],
            },
        },
    },
    {"type": "function", "function": {"name": "get_time", "description": "The time"}},
]
