"""Request bodies, validated with pydantic; a bad field answers 400 naming that field.

Limits follow the API: metadata at most 16 pairs (keys <= 64 chars, values <= 512),
at most 128 tools, token limits at least 256, message text at most 256,000 characters.
Fields that end up in a wire object as they are (``response_format``, ``tool_choice``,
``tool_resources``, content parts) take the SDK's own types, so whatever is accepted here
is also a valid Assistant/Thread/Run/Message.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from openai.types.beta import (
    AssistantResponseFormatOption,
    AssistantToolChoice,
    AssistantToolChoiceOption,
    CodeInterpreterTool,
    FileSearchTool,
    FunctionTool,
)
from openai.types.beta.assistant import ToolResources as AssistantToolResources
from openai.types.beta.thread import ToolResources as ThreadToolResources
from openai.types.beta.threads import MessageContentPartParam
from openai.types.beta.threads.message import AttachmentTool
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)


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


def _sdk_tools(tools: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Each tool must also be a valid SDK ``AssistantTool`` (e.g. ``parameters`` an object)."""
    for i, tool in enumerate(tools or []):
        try:
            _SDK_TOOL.validate_python(tool)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"][1:])  # [0] names the union member
            raise ValueError(f"tools[{i}].{where}: {error['msg']}") from None
    return tools


_SDK_TOOL: TypeAdapter[Any] = TypeAdapter(
    Annotated[CodeInterpreterTool | FileSearchTool | FunctionTool, Field(discriminator="type")]
)
_FUNCTION_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "description": {"type": ["string", "null"]},
        "parameters": {"type": ["object", "null"]},
        "strict": {"type": ["boolean", "null"]},
    },
    "required": ["name"],
}
_FILE_SEARCH_SCHEMA = {
    "type": "object",
    "properties": {
        "max_num_results": {"type": "integer", "minimum": 1, "maximum": 50},
        "ranking_options": {
            "type": "object",
            "properties": {
                "ranker": {"enum": ["auto", "default_2024_08_21"]},
                "score_threshold": {"type": "number", "minimum": 0, "maximum": 1},
            },
        },
    },
}
# The documented shape of ``tools`` (the validators above hold the same rules).
TOOLS_SCHEMA = {
    "anyOf": [
        {
            "type": "array",
            "maxItems": 128,
            "items": {
                "oneOf": [
                    {
                        "type": "object",
                        "properties": {"type": {"const": "code_interpreter"}},
                        "required": ["type"],
                    },
                    {
                        "type": "object",
                        "properties": {
                            "type": {"const": "file_search"},
                            "file_search": _FILE_SEARCH_SCHEMA,
                        },
                        "required": ["type"],
                    },
                    {
                        "type": "object",
                        "properties": {"type": {"const": "function"}, "function": _FUNCTION_SCHEMA},
                        "required": ["type", "function"],
                    },
                ]
            },
        },
        {"type": "null"},
    ]
}
METADATA_SCHEMA = {
    "anyOf": [
        {
            "type": "object",
            "maxProperties": 16,
            "propertyNames": {"maxLength": 64},
            "additionalProperties": {"type": "string", "maxLength": 512},
        },
        {"type": "null"},
    ]
}
DocumentedTools = Annotated[Tools, AfterValidator(_sdk_tools), WithJsonSchema(TOOLS_SCHEMA)]
DocumentedMetadata = Annotated[Metadata, WithJsonSchema(METADATA_SCHEMA)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class AssistantCreate(_Body):
    model: str
    name: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=512)
    instructions: str | None = Field(default=None, max_length=256_000)
    tools: DocumentedTools = None
    tool_resources: AssistantToolResources | None = None
    metadata: DocumentedMetadata = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    response_format: AssistantResponseFormatOption | None = None
    reasoning_effort: str | None = None


class AssistantUpdate(AssistantCreate):
    model: str | None = None  # type: ignore[assignment]

    @model_validator(mode="before")
    @classmethod
    def _null_means_unchanged(cls, data: Any) -> Any:
        """``model``/``tools`` cannot be cleared (an assistant always has both): null keeps them."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (k in ("model", "tools") and v is None)}
        return data


class Attachment(_Body):
    file_id: str
    tools: list[AttachmentTool] | None = None


MAX_MESSAGE_CHARS = 256_000


def _check_message_text(
    content: str | list[MessageContentPartParam],
) -> str | list[MessageContentPartParam]:
    """A message's text (a string, or all its text parts together) is at most 256,000
    characters, as in OpenAI's API."""
    if isinstance(content, str):
        size = len(content)
    else:
        size = sum(len(p["text"]) for p in content if p["type"] == "text")
    if size > MAX_MESSAGE_CHARS:
        raise ValueError(
            f"the message text has {size} characters; the maximum is {MAX_MESSAGE_CHARS}"
        )
    return content


MessageContent = Annotated[str | list[MessageContentPartParam], AfterValidator(_check_message_text)]


class MessageCreate(_Body):
    role: Literal["user", "assistant"]
    content: MessageContent
    attachments: list[Attachment] | None = None
    metadata: DocumentedMetadata = None


class ThreadCreate(_Body):
    messages: list[MessageCreate] | None = None
    tool_resources: ThreadToolResources | None = None
    metadata: DocumentedMetadata = None


class ThreadUpdate(_Body):
    tool_resources: ThreadToolResources | None = None
    metadata: DocumentedMetadata = None


class MetadataUpdate(_Body):
    metadata: DocumentedMetadata = None


class TruncationStrategy(_Body):
    type: Literal["auto", "last_messages"]
    last_messages: int | None = Field(default=None, ge=1)


class RunOptions(_Body):
    """What a run takes, whether created on a thread or with a new one."""

    assistant_id: str
    model: str | None = None
    instructions: str | None = None
    tools: DocumentedTools = None
    metadata: DocumentedMetadata = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stream: bool | None = None
    max_prompt_tokens: TokenLimit = None
    max_completion_tokens: TokenLimit = None
    truncation_strategy: TruncationStrategy | None = None
    tool_choice: AssistantToolChoiceOption | None = None
    parallel_tool_calls: bool | None = None
    response_format: AssistantResponseFormatOption | None = None

    @field_validator("tool_choice")
    @classmethod
    def _function_choice_names_it(
        cls, value: AssistantToolChoiceOption | None
    ) -> AssistantToolChoiceOption | None:
        if (
            isinstance(value, AssistantToolChoice)
            and value.type == "function"
            and not value.function
        ):
            raise ValueError("tool_choice.function.name is required when type is 'function'")
        return value


class RunCreate(RunOptions):
    additional_instructions: str | None = None
    additional_messages: list[MessageCreate] | None = None


class ThreadCreateAndRun(RunOptions):
    thread: ThreadCreate | None = None
    tool_resources: ThreadToolResources | None = None


class ToolOutput(_Body):
    tool_call_id: str | None = None
    output: str | None = None


class SubmitToolOutputs(_Body):
    tool_outputs: list[ToolOutput]
    stream: bool | None = None
