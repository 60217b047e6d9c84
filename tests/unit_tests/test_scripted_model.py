"""Unit tests for the deterministic ScriptedChatModel (no server, no conftest fixtures)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.tools import tool
from pydantic import BaseModel

from langchain_assistants.testing import ScriptedChatModel, ScriptedModelError, load_script
from langchain_assistants.testing.scripted import Script

SCRIPT: dict[str, Any] = {
    "delay_ms": 0,
    "rules": [
        {
            "match": "raised to the",
            "turns": [
                {
                    "tool_calls": [
                        {"name": "code_interpreter", "args": {"input": "print(10 - 4 ** 2.7)"}}
                    ]
                },
                {"content": "The result is {last_tool_output}."},
            ],
        },
        {
            "match": "weather",
            "turns": [
                {
                    "tool_calls": [
                        {"name": "get_weather", "args": {"location": "Paris"}},
                        {"name": "get_time", "args": {}},
                    ]
                },
                {"content": "Done: {last_tool_output}"},
            ],
        },
        {"match": "explode", "turns": [{"error": "model backend unavailable"}]},
        {
            "match": r"^both\b",
            "turns": [
                {
                    "content": "Let me look that up for you right now.",
                    "tool_calls": [{"name": "search", "args": {"query": "x" * 70, "k": 3}}],
                },
                {"content": 'Braces {stay} {"a": 1} {0} and {last_tool_output} go.'},
            ],
        },
        {"match": "", "turns": [{"content": "Hello from the scripted model.", "delay_ms": 0}]},
    ],
}


@pytest.fixture
def model() -> ScriptedChatModel:
    return ScriptedChatModel.from_dict(SCRIPT)


def _sum_chunks(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    assert chunks, "stream yielded nothing"
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


def _weather_round_trip(model: ScriptedChatModel) -> list[BaseMessage]:
    """User asks, model calls two tools, both tools answer."""
    convo: list[BaseMessage] = [SystemMessage("be brief"), HumanMessage("What's the weather?")]
    first = model.invoke(convo)
    convo.append(first)
    for call, output in zip(first.tool_calls, ["18C and sunny", "12:00"], strict=True):
        convo.append(ToolMessage(output, tool_call_id=call["id"]))
    return convo


# --------------------------------------------------------------------------- rule selection


def test_llm_type_and_script_field(model: ScriptedChatModel) -> None:
    assert model._llm_type == "scripted"
    assert isinstance(model.script, Script)
    assert model.script.rules[0].match == "raised to the"


def test_first_matching_rule_wins(model: ScriptedChatModel) -> None:
    # "weather" and "" both match: the earlier rule wins.
    reply = model.invoke([HumanMessage("weather please")])
    assert [c["name"] for c in reply.tool_calls] == ["get_weather", "get_time"]


def test_match_is_a_regex_search(model: ScriptedChatModel) -> None:
    # ``^both\b`` only matches at the start.
    assert model.invoke([HumanMessage("both now")]).tool_calls[0]["name"] == "search"
    assert model.invoke([HumanMessage("not both")]).content == "Hello from the scripted model."


def test_catch_all_rule(model: ScriptedChatModel) -> None:
    reply = model.invoke([HumanMessage("hi")])
    assert reply.content == "Hello from the scripted model."
    assert reply.tool_calls == []


def test_only_last_user_message_selects_the_rule(model: ScriptedChatModel) -> None:
    convo: list[BaseMessage] = [
        HumanMessage("What's the weather?"),
        AIMessage("It is sunny."),
        HumanMessage("thanks"),
    ]
    assert model.invoke(convo).content == "Hello from the scripted model."


def test_content_block_user_message(model: ScriptedChatModel) -> None:
    message = HumanMessage(
        content=[
            {"type": "text", "text": "what is 4 raised "},
            {"type": "image_url", "image_url": {"url": "https://example.com/x.png"}},
            {"type": "text", "text": "to the power 2.7"},
        ]
    )
    assert model.invoke([message]).tool_calls[0]["name"] == "code_interpreter"


def test_no_user_message_matches_empty_text() -> None:
    m = ScriptedChatModel.from_dict(
        {
            "rules": [
                {"match": ".", "turns": [{"content": "x"}]},
                {"match": "^$", "turns": [{"content": "empty"}]},
            ]
        }
    )
    assert m.invoke([SystemMessage("system prompt only")]).content == "empty"


def test_no_matching_rule_is_a_clear_error() -> None:
    m = ScriptedChatModel.from_dict(
        {"rules": [{"match": "^only this$", "turns": [{"content": "x"}]}]}
    )
    with pytest.raises(ScriptedModelError, match=r"no rule matches.*something else"):
        m.invoke([HumanMessage("something else")])


# --------------------------------------------------------------------------- turns, tool calls


def test_turns_advance_with_tool_round_trip(model: ScriptedChatModel) -> None:
    convo = _weather_round_trip(model)
    reply = model.invoke(convo)
    # Latest ToolMessage fills the placeholder.
    assert reply.content == "Done: 12:00"
    assert reply.tool_calls == []


def test_code_interpreter_round_trip(model: ScriptedChatModel) -> None:
    convo: list[BaseMessage] = [HumanMessage("what is 10 - 4 raised to the 2.7?")]
    first = model.invoke(convo)
    assert first.tool_calls[0]["args"] == {"input": "print(10 - 4 ** 2.7)"}
    convo += [first, ToolMessage("-32.2243", tool_call_id=first.tool_calls[0]["id"])]
    assert model.invoke(convo).content == "The result is -32.2243."


def test_placeholder_without_tool_message_is_empty() -> None:
    m = ScriptedChatModel.from_dict(
        {"rules": [{"match": "", "turns": [{"content": "[{last_tool_output}]"}]}]}
    )
    assert m.invoke([HumanMessage("x")]).content == "[]"


def test_other_braces_are_left_alone(model: ScriptedChatModel) -> None:
    convo: list[BaseMessage] = [HumanMessage("both please")]
    first = model.invoke(convo)
    convo += [first, ToolMessage("RESULT", tool_call_id=first.tool_calls[0]["id"])]
    assert model.invoke(convo).content == 'Braces {stay} {"a": 1} {0} and RESULT go.'


def test_content_and_tool_calls_in_one_turn(model: ScriptedChatModel) -> None:
    reply = model.invoke([HumanMessage("both please")])
    assert reply.content == "Let me look that up for you right now."
    assert reply.tool_calls[0]["args"] == {"query": "x" * 70, "k": 3}


def test_tool_call_ids_deterministic_and_unique(model: ScriptedChatModel) -> None:
    convo: list[BaseMessage] = [HumanMessage("What's the weather?")]
    a = model.invoke(convo)
    b = model.invoke(convo)
    ids = [c["id"] for c in a.tool_calls]
    assert ids == [c["id"] for c in b.tool_calls]
    assert all(isinstance(i, str) and i.startswith("call_") for i in ids)
    assert len(set(ids)) == len(ids)
    assert all(isinstance(c["args"], dict) for c in a.tool_calls)


def test_tool_call_ids_unique_across_turns() -> None:
    m = ScriptedChatModel.from_dict(
        {
            "rules": [
                {
                    "match": "",
                    "turns": [
                        {"tool_calls": [{"name": "t", "args": {}}]},
                        {"tool_calls": [{"name": "t", "args": {}}]},
                        {"content": "done"},
                    ],
                }
            ]
        }
    )
    convo: list[BaseMessage] = [HumanMessage("go")]
    seen: list[str | None] = []
    for _ in range(2):
        reply = m.invoke(convo)
        call_id = reply.tool_calls[0]["id"]
        seen.append(call_id)
        convo += [reply, ToolMessage("ok", tool_call_id=call_id or "")]
    assert len(set(seen)) == 2
    assert m.invoke(convo).content == "done"


def test_stateless_same_conversation_same_reply(model: ScriptedChatModel) -> None:
    convo = _weather_round_trip(model)
    assert model.invoke(convo).content == model.invoke(convo).content == "Done: 12:00"


# --------------------------------------------------------------------------- errors


def test_error_turn_raises(model: ScriptedChatModel) -> None:
    with pytest.raises(ScriptedModelError, match="model backend unavailable"):
        model.invoke([HumanMessage("please explode")])
    with pytest.raises(ScriptedModelError, match="model backend unavailable"):
        list(model.stream([HumanMessage("please explode")]))


async def test_error_turn_raises_async(model: ScriptedChatModel) -> None:
    with pytest.raises(ScriptedModelError, match="model backend unavailable"):
        await model.ainvoke([HumanMessage("please explode")])
    with pytest.raises(ScriptedModelError, match="model backend unavailable"):
        async for _ in model.astream([HumanMessage("please explode")]):
            pass


def test_scripted_model_error_is_runtime_error() -> None:
    assert issubclass(ScriptedModelError, RuntimeError)


def test_past_the_last_turn_is_a_clear_error(model: ScriptedChatModel) -> None:
    convo: list[BaseMessage] = [HumanMessage("hi")]
    convo.append(model.invoke(convo))
    with pytest.raises(ScriptedModelError, match=r"match ''.*turn 2"):
        model.invoke(convo)
    with pytest.raises(ScriptedModelError, match="weather"):
        convo2 = _weather_round_trip(model)
        convo2.append(model.invoke(convo2))
        model.invoke(convo2)


# --------------------------------------------------------------------------- streaming


@pytest.mark.parametrize(
    "convo_text",
    ["hi", "What's the weather?", "both please", "what is 2 raised to the 3"],
)
def test_stream_sums_to_invoke(model: ScriptedChatModel, convo_text: str) -> None:
    convo: list[BaseMessage] = [HumanMessage(convo_text)]
    full = model.invoke(convo)
    chunks = list(model.stream(convo))
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    total = _sum_chunks(chunks)
    assert total.content == full.content
    assert total.tool_calls == full.tool_calls
    assert total.invalid_tool_calls == []
    assert total.usage_metadata == full.usage_metadata


def test_stream_after_tool_round_trip_sums_to_invoke(model: ScriptedChatModel) -> None:
    convo = _weather_round_trip(model)
    total = _sum_chunks(list(model.stream(convo)))
    assert total.content == model.invoke(convo).content == "Done: 12:00"


def test_text_streams_in_several_chunks(model: ScriptedChatModel) -> None:
    chunks = list(model.stream([HumanMessage("hi")]))
    texts = [c.content for c in chunks if c.content]
    assert len(texts) >= 2
    assert "".join(str(t) for t in texts) == "Hello from the scripted model."


def test_two_words_give_two_chunks() -> None:
    m = ScriptedChatModel.from_dict({"rules": [{"match": "", "turns": [{"content": "two words"}]}]})
    assert len([c for c in m.stream("x") if c.content]) >= 2


def test_tool_calls_stream_as_tool_call_chunks(model: ScriptedChatModel) -> None:
    chunks = list(model.stream([HumanMessage("What's the weather?")]))
    by_index: dict[int, list[dict[str, Any]]] = {}
    for chunk in chunks:
        for tcc in chunk.tool_call_chunks:
            assert tcc["index"] is not None
            by_index.setdefault(tcc["index"], []).append(dict(tcc))
    assert sorted(by_index) == [0, 1]
    for index, name in [(0, "get_weather"), (1, "get_time")]:
        parts = by_index[index]
        assert len(parts) >= 2, "args must be split into at least two fragments"
        assert parts[0]["name"] == name
        assert parts[0]["id"] and parts[0]["id"].startswith("call_")
        assert all(p["name"] is None and p["id"] is None for p in parts[1:])
        json.loads("".join(p["args"] for p in parts))


def test_content_streams_before_tool_calls(model: ScriptedChatModel) -> None:
    chunks = list(model.stream([HumanMessage("both please")]))
    kinds = ["tool" if c.tool_call_chunks else "text" for c in chunks]
    assert kinds.index("tool") > 0
    assert "text" not in kinds[kinds.index("tool") :]


async def test_astream_sums_to_ainvoke(model: ScriptedChatModel) -> None:
    for text in ["hi", "What's the weather?", "both please"]:
        convo: list[BaseMessage] = [HumanMessage(text)]
        full = await model.ainvoke(convo)
        chunks = [c async for c in model.astream(convo)]
        assert len(chunks) >= 2
        total = _sum_chunks(chunks)
        assert total.content == full.content
        assert total.tool_calls == full.tool_calls
        assert total.usage_metadata == full.usage_metadata
        assert full.content == model.invoke(convo).content


# --------------------------------------------------------------------------- usage


def test_usage_metadata_is_deterministic(model: ScriptedChatModel) -> None:
    reply = model.invoke([HumanMessage("one two three")])
    assert reply.usage_metadata == {"input_tokens": 3, "output_tokens": 5, "total_tokens": 8}
    again = model.invoke([HumanMessage("one two three")])
    assert again.usage_metadata == reply.usage_metadata


def test_usage_counts_tool_call_args(model: ScriptedChatModel) -> None:
    reply = model.invoke([HumanMessage("weather")])
    usage = reply.usage_metadata
    assert usage is not None
    # '{"location": "Paris"}' is 2 words, '{}' is 1.
    assert usage["output_tokens"] == 3
    assert usage["input_tokens"] == 1
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_usage_minimum_is_one() -> None:
    m = ScriptedChatModel.from_dict({"rules": [{"match": "", "turns": [{"content": ""}]}]})
    reply = m.invoke([SystemMessage("")])
    assert reply.content == ""
    assert reply.usage_metadata == {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}


def test_usage_only_on_last_streamed_chunk(model: ScriptedChatModel) -> None:
    for text in ["hi", "What's the weather?"]:
        chunks = list(model.stream([HumanMessage(text)]))
        assert len(chunks) >= 2
        assert all(c.usage_metadata is None for c in chunks[:-1])
        assert chunks[-1].usage_metadata is not None


# --------------------------------------------------------------------------- delays


def _slow(delay_ms: float, *, top_level: bool = False) -> ScriptedChatModel:
    turn: dict[str, Any] = {"content": "one two three four five six seven eight nine ten"}
    if top_level:
        return ScriptedChatModel.from_dict(
            {"delay_ms": delay_ms, "rules": [{"match": "", "turns": [turn]}]}
        )
    turn["delay_ms"] = delay_ms
    return ScriptedChatModel.from_dict({"rules": [{"match": "", "turns": [turn]}]})


def test_invoke_sleeps_the_delay() -> None:
    m = _slow(200)
    start = time.perf_counter()
    m.invoke("x")
    assert time.perf_counter() - start >= 0.16


def test_top_level_delay_applies() -> None:
    m = _slow(200, top_level=True)
    start = time.perf_counter()
    m.invoke("x")
    assert time.perf_counter() - start >= 0.16


def test_stream_spreads_the_delay_across_chunks() -> None:
    m = _slow(200)
    start = time.perf_counter()
    arrivals = [time.perf_counter() for _ in m.stream("x")]
    n = len(arrivals)
    assert n >= 2
    assert arrivals[-1] - start >= 0.16
    # Spread, not all up front: the chunks after the first still take their share.
    assert arrivals[-1] - arrivals[0] >= 0.8 * 0.2 * (n - 1) / n


async def test_astream_spreads_the_delay_across_chunks() -> None:
    m = _slow(200)
    start = time.perf_counter()
    arrivals = [time.perf_counter() async for _ in m.astream("x")]
    n = len(arrivals)
    assert n >= 2
    assert arrivals[-1] - start >= 0.16
    assert arrivals[-1] - arrivals[0] >= 0.8 * 0.2 * (n - 1) / n


async def _ticks_during(coro: Any) -> int:
    """How often a 10ms ticker ran while ``coro`` was awaited (0-1 if it blocked)."""
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    try:
        await coro
    finally:
        task.cancel()
    return ticks


async def test_ainvoke_delay_does_not_block_the_loop() -> None:
    m = _slow(200)
    start = time.perf_counter()
    ticks = await _ticks_during(m.ainvoke("x"))
    assert time.perf_counter() - start >= 0.16
    assert ticks >= 3


async def test_astream_delay_does_not_block_the_loop() -> None:
    m = _slow(200)

    async def consume() -> None:
        async for _ in m.astream("x"):
            pass

    assert await _ticks_during(consume()) >= 3


# --------------------------------------------------------------------------- bind_tools


class Lookup(BaseModel):
    """Look something up."""

    query: str


@tool
def get_weather(location: str) -> str:
    """Weather for a location."""
    return f"sunny in {location}"


def test_bind_tools_accepts_any_tools(model: ScriptedChatModel) -> None:
    bound = model.bind_tools(
        [get_weather, Lookup, {"type": "code_interpreter"}],
        tool_choice="auto",
        parallel_tool_calls=False,
    )
    kwargs = bound.kwargs  # type: ignore[attr-defined]
    names = [t.get("function", {}).get("name") for t in kwargs["tools"]]
    assert names == ["get_weather", "Lookup", None]
    assert kwargs["tool_choice"] == "auto"
    assert kwargs["parallel_tool_calls"] is False
    reply = bound.invoke([HumanMessage("What's the weather?")])
    assert [c["name"] for c in reply.tool_calls] == ["get_weather", "get_time"]


async def test_bound_model_streams_async(model: ScriptedChatModel) -> None:
    bound = model.bind_tools(
        [get_weather], tool_choice={"type": "function", "function": {"name": "get_weather"}}
    )
    chunks = [c async for c in bound.astream([HumanMessage("weather")])]
    total = _sum_chunks(chunks)  # type: ignore[arg-type]
    assert [c["name"] for c in total.tool_calls] == ["get_weather", "get_time"]


# --------------------------------------------------------------------------- loading


def test_from_file_from_dict_and_load_script_agree(tmp_path: Path) -> None:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(SCRIPT))
    from_file = ScriptedChatModel.from_file(path)
    from_str_path = ScriptedChatModel.from_file(str(path))
    assert from_file.script == from_str_path.script == load_script(path) == load_script(SCRIPT)
    assert ScriptedChatModel(script=SCRIPT).script == from_file.script  # type: ignore[arg-type]
    assert from_file.invoke("hi").content == "Hello from the scripted model."


def test_load_script_defaults() -> None:
    script = load_script({"rules": [{"match": "", "turns": [{"content": "x"}]}]})
    assert script.delay_ms == 0
    assert script.rules[0].turns[0].delay_ms is None


def test_missing_file_is_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        ScriptedChatModel.from_file(tmp_path / "nope.json")


def test_invalid_json_file_is_value_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_script(path)


def test_non_object_json_is_value_error(tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[]")
    with pytest.raises(ValueError, match="expected a JSON object"):
        ScriptedChatModel.from_file(path)


@pytest.mark.parametrize(
    ("script", "pattern"),
    [
        ({}, r"rules: Field required"),
        ({"rules": []}, r"rules:"),
        ({"rules": [{"turns": [{"content": "x"}]}]}, r"rules\.0\.match"),
        ({"rules": [{"match": "", "turns": []}]}, r"rules\.0\.turns"),
        (
            {"rules": [{"match": "", "turns": [{}]}]},
            r"rules\.0\.turns\.0: .*content.*tool_calls.*error",
        ),
        (
            {"rules": [{"match": "", "turns": [{"content": "x"}, {"delay_ms": 5}]}]},
            r"rules\.0\.turns\.1",
        ),
        (
            {"rules": [{"match": "(unclosed", "turns": [{"content": "x"}]}]},
            r"rules\.0\.match: invalid regex",
        ),
        (
            {"rules": [{"match": "", "turns": [{"tool_call": []}]}]},
            r"rules\.0\.turns\.0\.tool_call",
        ),
        (
            {"rules": [{"match": "", "turns": [{"tool_calls": []}]}]},
            r"rules\.0\.turns\.0\.tool_calls",
        ),
        (
            {"rules": [{"match": "", "turns": [{"tool_calls": [{"args": {}}]}]}]},
            r"rules\.0\.turns\.0\.tool_calls\.0\.name",
        ),
        (
            {"rules": [{"match": "", "turns": [{"tool_calls": [{"name": "t", "args": "{}"}]}]}]},
            r"rules\.0\.turns\.0\.tool_calls\.0\.args",
        ),
        ({"rules": [{"match": "", "turns": [{"error": "boom", "content": "x"}]}]}, r"'error' turn"),
        ({"delay_ms": -1, "rules": [{"match": "", "turns": [{"content": "x"}]}]}, r"delay_ms"),
        (
            {"rules": [{"match": "", "turns": [{"content": "x", "delay_ms": -5}]}]},
            r"turns\.0\.delay_ms",
        ),
    ],
)
def test_malformed_scripts_name_the_bad_field(script: dict[str, Any], pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        load_script(script)
    with pytest.raises(ValueError, match=pattern):
        ScriptedChatModel.from_dict(script)


def test_field_placeholder_reads_json_tool_output() -> None:
    from langchain_assistants.testing.scripted import fill_placeholders

    output = '{"stdout": "-32.2\\n", "stderr": ""}'
    assert fill_placeholders("x = {last_tool_output[stdout]}", output) == "x = -32.2"
    assert fill_placeholders("{last_tool_output[missing]}|{x}", output) == "|{x}"
    assert fill_placeholders("{last_tool_output[stdout]}", "not json") == ""
    assert fill_placeholders("raw {last_tool_output}", output) == f"raw {output}"
