"""The scripted models and assistants every scenario uses.

Each assistant's ``model`` is a ``scripted:PATH`` spec, so one server runs several
scripts: a 50 ms model (turn latency, tools, thread length, concurrency) and a zero-delay
model (server throughput).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openai import OpenAI

ANSWER = "Here is a short scripted answer of about a dozen words for you."
TOOL_OUTPUT = "67 F in SF"
TOOL_ANSWER = f"It is {TOOL_OUTPUT}."
TEXT_PROMPT = "Say something short."
TOOL_PROMPT = "What's the weather in SF?"

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current temperature for a place.",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}},
            "required": ["location"],
        },
    },
}


def script(delay_ms: float) -> dict[str, Any]:
    """A weather question calls ``get_weather`` then answers; anything else gets text."""
    return {
        "delay_ms": delay_ms,
        "rules": [
            {
                "match": "weather",
                "turns": [
                    {"tool_calls": [{"name": "get_weather", "args": {"location": "SF"}}]},
                    {"content": "It is {last_tool_output}."},
                ],
            },
            {"match": "", "turns": [{"content": ANSWER}]},
        ],
    }


def write_script(directory: Path, name: str, delay_ms: float) -> str:
    """Write a script file; return its ``scripted:PATH`` model spec."""
    path = directory / f"{name}.json"
    path.write_text(json.dumps(script(delay_ms)), encoding="utf-8")
    return f"scripted:{path}"


@dataclass(frozen=True)
class Assistants:
    """Assistant ids: text answers and tool calls at 50 ms, text answers at 0 ms."""

    text: str
    tool: str
    fast: str


def create_assistants(client: OpenAI, model_50ms: str, model_0ms: str) -> Assistants:
    def make(name: str, model: str, tools: list[Any]) -> str:
        return client.beta.assistants.create(
            name=name, instructions="You are a benchmark assistant.", model=model, tools=tools
        ).id

    return Assistants(
        text=make("bench text", model_50ms, []),
        tool=make("bench tool", model_50ms, [WEATHER_TOOL]),
        fast=make("bench fast", model_0ms, []),
    )


def seed_thread(client: OpenAI, earlier_messages: int) -> str:
    """A thread with ``earlier_messages`` alternating user/assistant messages (one request)."""
    messages: list[Any] = [
        {
            "role": "user" if i % 2 == 0 else "assistant",
            "content": f"Earlier message number {i} of this conversation, with a few words.",
        }
        for i in range(earlier_messages)
    ]
    return client.beta.threads.create(messages=messages).id
