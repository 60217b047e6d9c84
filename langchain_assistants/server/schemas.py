"""Request bodies, validated with pydantic; a bad field answers 400 naming that field.

Limits follow the API: metadata at most 16 pairs (keys <= 64 chars, values <= 512),
at most 128 tools, token limits at least 256, message text at most 256,000 characters.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _check_metadata(value: dict[str, str] | None) -> dict[str, str] | None:
    if value is None:
        return None
    if len(value) > 16:
        raise ValueError("metadata can hold at most 16 key-value pairs")
    for key, item in value.items():
        if len(key) > 64:
            raise ValueError(f"metadata key {key[:20]!r}... is longer than 64 characters")
        if len(item) > 512:
            raise ValueError(f"metadata value for {key!r} is longer than 512 characters")
    return value


Metadata = Annotated[dict[str, str] | None, AfterValidator(_check_metadata)]


def _check_tools(tools: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if tools is None:
        return None
    if len(tools) > 128:
        raise ValueError("at most 128 tools are allowed")
    for i, tool in enumerate(tools):
        kind = tool.get("type")
        if kind not in ("code_interpreter", "file_search", "function"):
            raise ValueError(
                f"tools[{i}].type must be 'code_interpreter', 'file_search' or 'function', "
                f"got {kind!r}"
            )
        if kind == "function":
            fn = tool.get("function")
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
                raise ValueError(f"tools[{i}].function.name is required for a function tool")
            fn.setdefault("description", None)
            fn.setdefault("parameters", {"type": "object", "properties": {}})
            fn.setdefault("strict", None)
        if kind == "file_search":
            _check_file_search(i, tool.get("file_search"))
    return tools


def _check_file_search(i: int, options: Any) -> None:
    """``max_num_results`` 1-50, ``ranking_options.score_threshold`` 0-1, a known ranker."""
    if options is None:
        return
    if not isinstance(options, dict):
        raise ValueError(f"tools[{i}].file_search must be an object")
    count = options.get("max_num_results")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
        raise ValueError(f"tools[{i}].file_search.max_num_results must be an integer")
    if count is not None and not 1 <= count <= 50:
        raise ValueError(f"tools[{i}].file_search.max_num_results must be between 1 and 50")
    ranking = options.get("ranking_options") or {}
    if not isinstance(ranking, dict):
        raise ValueError(f"tools[{i}].file_search.ranking_options must be an object")
    threshold = ranking.get("score_threshold")
    if threshold is not None and (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not 0 <= threshold <= 1
    ):
        raise ValueError(
            f"tools[{i}].file_search.ranking_options.score_threshold must be between 0 and 1"
        )
    if ranking.get("ranker") not in (None, "auto", "default_2024_08_21"):
        raise ValueError(
            f"tools[{i}].file_search.ranking_options.ranker must be 'auto' or 'default_2024_08_21'"
        )


Tools = Annotated[list[dict[str, Any]] | None, AfterValidator(_check_tools)]
TokenLimit = Annotated[int | None, Field(ge=256)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class AssistantCreate(_Body):
    model: str
    name: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=512)
    instructions: str | None = Field(default=None, max_length=256_000)
    tools: Tools = None
    tool_resources: dict[str, Any] | None = None
    metadata: Metadata = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    response_format: Any = None
    reasoning_effort: str | None = None


class AssistantUpdate(AssistantCreate):
    model: str | None = None  # type: ignore[assignment]


class Attachment(_Body):
    file_id: str
    tools: list[dict[str, Any]] | None = None


MAX_MESSAGE_CHARS = 256_000


def _check_message_text(content: str | list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """A message's text (a string, or all its text parts together) is at most 256,000
    characters, as in OpenAI's API."""
    if isinstance(content, str):
        size = len(content)
    else:
        size = sum(len(p["text"]) for p in content if isinstance(p.get("text"), str))
    if size > MAX_MESSAGE_CHARS:
        raise ValueError(
            f"the message text has {size} characters; the maximum is {MAX_MESSAGE_CHARS}"
        )
    return content


MessageContent = Annotated[str | list[dict[str, Any]], AfterValidator(_check_message_text)]


class MessageCreate(_Body):
    role: Literal["user", "assistant"]
    content: MessageContent
    attachments: list[Attachment] | None = None
    metadata: Metadata = None


class ThreadCreate(_Body):
    messages: list[MessageCreate] | None = None
    tool_resources: dict[str, Any] | None = None
    metadata: Metadata = None


class ThreadUpdate(_Body):
    tool_resources: dict[str, Any] | None = None
    metadata: Metadata = None


class MetadataUpdate(_Body):
    metadata: Metadata = None


class TruncationStrategy(_Body):
    type: Literal["auto", "last_messages"]
    last_messages: int | None = Field(default=None, ge=1)


class RunOptions(_Body):
    """What a run takes, whether created on a thread or with a new one."""

    assistant_id: str
    model: str | None = None
    instructions: str | None = None
    tools: Tools = None
    metadata: Metadata = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stream: bool | None = None
    max_prompt_tokens: TokenLimit = None
    max_completion_tokens: TokenLimit = None
    truncation_strategy: TruncationStrategy | None = None
    tool_choice: Any = None
    parallel_tool_calls: bool | None = None
    response_format: Any = None


class RunCreate(RunOptions):
    additional_instructions: str | None = None
    additional_messages: list[MessageCreate] | None = None


class ThreadCreateAndRun(RunOptions):
    thread: ThreadCreate | None = None
    tool_resources: dict[str, Any] | None = None


class ToolOutput(_Body):
    tool_call_id: str | None = None
    output: str | None = None


class SubmitToolOutputs(_Body):
    tool_outputs: list[ToolOutput]
    stream: bool | None = None
