"""A tiny OpenAI chat-completions upstream on loopback, for running the server on ChatOpenAI.

It streams like the real API (role chunk, content or tool-call fragments, a usage chunk,
``[DONE]``) and injects faults on request: "unavailable" answers 503, "drop" cuts the
stream mid-answer; "describe your tools" answers with the bound tools' descriptions, "describe the
images" with the start of each image URL in the last message; a ``tool_choice`` that forces
a function is always obeyed.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "fake-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _reply(messages: list[dict[str, Any]], has_tools: bool) -> tuple[str, list[dict[str, Any]]]:
    last = messages[-1]
    if last["role"] == "tool":
        return f"The tool said: {last['content']}", []
    text = last.get("content") or ""
    text = text if isinstance(text, str) else " ".join(p.get("text", "") for p in text)
    if has_tools and "weather" in text:
        return "", [{"name": "get_weather", "arguments": json.dumps({"location": "Paris"})}]
    return f"Echo: {text}", []


async def completions(request: Request) -> Response:
    body = await request.json()
    messages = body["messages"]
    last_text = str(messages[-1].get("content"))
    if "unavailable" in last_text:
        return JSONResponse(
            {"error": {"message": "upstream overloaded", "type": "server_error"}}, status_code=503
        )
    content, calls = _reply(messages, bool(body.get("tools")))
    forced = body.get("tool_choice")
    if isinstance(forced, dict) and forced.get("type") == "function":
        # A forced function is called on every request that forces it (as providers do).
        user = next((m for m in messages if m["role"] == "user"), messages[-1])
        query = json.dumps({"query": str(user.get("content"))})
        content, calls = "", [{"name": forced["function"]["name"], "arguments": query}]
    if "sampling" in last_text:
        content = f"temperature={body.get('temperature')} top_p={body.get('top_p')}"
    if "describe the images" in last_text:
        parts = messages[-1].get("content")
        urls = [p["image_url"]["url"] for p in parts if p.get("type") == "image_url"]
        content = "images: " + " ".join(u[:22] for u in urls)
    if "describe your tools" in last_text:
        content = " | ".join(t["function"].get("description", "") for t in body.get("tools", []))

    async def frames() -> AsyncIterator[str]:
        yield f"data: {json.dumps(_chunk({'role': 'assistant', 'content': ''}))}\n\n"
        words = content.split(" ") if content else []
        for i, word in enumerate(words):
            if "drop" in last_text and i == 2:
                raise ConnectionResetError("fault injected: stream dropped")
            piece = word if i == 0 else " " + word
            yield f"data: {json.dumps(_chunk({'content': piece}))}\n\n"
        for index, call in enumerate(calls):
            first = {
                "index": index,
                "id": f"call_fake{index}",
                "type": "function",
                "function": {"name": call["name"], "arguments": ""},
            }
            yield f"data: {json.dumps(_chunk({'tool_calls': [first]}))}\n\n"
            args = call["arguments"]
            for part in (args[: len(args) // 2], args[len(args) // 2 :]):
                delta = {"tool_calls": [{"index": index, "function": {"arguments": part}}]}
                yield f"data: {json.dumps(_chunk(delta))}\n\n"
        yield f"data: {json.dumps(_chunk({}, 'tool_calls' if calls else 'stop'))}\n\n"
        usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
        yield f"data: {json.dumps({**_chunk({}), 'choices': [], 'usage': usage})}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(frames(), media_type="text/event-stream")


@contextmanager
def fake_upstream() -> Iterator[str]:
    """Serve the fake upstream on a free loopback port; yields its base URL."""
    app = Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(5)
