"""The file_search tool as the model sees it, and its step as clients see it (pure parts)."""

from __future__ import annotations

from langchain_assistants.server.engine.file_search import (
    RESULT_CONTENT,
    public_step,
    ranking_options,
    store_ids,
    wants_content,
)
from langchain_assistants.server.engine.tools import (
    file_search_options,
    model_tool_choice,
    model_tools,
)


def test_the_model_sees_a_file_search_function_with_one_query_argument() -> None:
    (tool,) = model_tools([{"type": "file_search"}])
    function = tool["function"]
    assert function["name"] == "file_search"
    assert function["parameters"]["properties"].keys() == {"query"}
    assert function["parameters"]["required"] == ["query"]
    assert model_tool_choice({"type": "file_search"}) == "file_search"


def test_the_runs_file_search_settings_and_defaults() -> None:
    tools = [{"type": "function", "function": {"name": "f"}}, {"type": "file_search"}]
    assert file_search_options(tools) == {}
    tools[1]["file_search"] = {"max_num_results": 3, "ranking_options": {"score_threshold": 0.4}}
    options = file_search_options(tools)
    assert options["max_num_results"] == 3
    assert ranking_options(options) == {"ranker": "default_2024_08_21", "score_threshold": 0.4}
    assert ranking_options({"ranking_options": {"ranker": "auto"}})["ranker"] == (
        "default_2024_08_21"
    )


def test_a_run_searches_the_assistants_and_the_threads_store_once_each() -> None:
    assistant = {"tool_resources": {"file_search": {"vector_store_ids": ["vs_a"]}}}
    thread = {"tool_resources": {"file_search": {"vector_store_ids": ["vs_t"]}}}
    assert store_ids(assistant, thread) == ["vs_a", "vs_t"]
    assert store_ids(assistant, assistant, None, {"tool_resources": None}) == ["vs_a"]


def test_result_content_is_shown_only_when_included() -> None:
    result = {"file_id": "f", "file_name": "a.md", "score": 0.5, "content": [{"type": "text"}]}
    step = {
        "step_details": {
            "type": "tool_calls",
            "tool_calls": [
                {"id": "c1", "type": "file_search", "file_search": {"results": [result]}},
                {"id": "c2", "type": "function", "function": {"name": "f"}},
            ],
        }
    }
    hidden = public_step(step, show_content=False)
    assert "content" not in hidden["step_details"]["tool_calls"][0]["file_search"]["results"][0]
    assert hidden["step_details"]["tool_calls"][1] == step["step_details"]["tool_calls"][1]
    assert step["step_details"]["tool_calls"][0]["file_search"]["results"][0]["content"]  # intact
    assert public_step(step, show_content=True) is step
    assert wants_content([RESULT_CONTENT]) and not wants_content(None)
