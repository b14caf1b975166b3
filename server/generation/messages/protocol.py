"""Request, response and stream-event shapes of Anthropic's Messages API (``/v1/messages``).

Requests reject unknown fields (a 400 naming the field): a field that would change the answer
and that we do not serve must never be ignored. Fields that cannot change the answer
(``metadata``, ``service_tier``, ``cache_control`` markers, ...) are accepted and ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# --- request parts --------------------------------------------------------------------------


class _Param(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CacheControl(_Param):
    """A prompt-caching marker: accepted wherever Anthropic allows it, and ignored (it never
    changes the answer; the prefix cache, where enabled, needs no marker)."""

    type: Literal["ephemeral"]
    ttl: str | None = None


class TextBlockParam(_Param):
    type: Literal["text"]
    text: str
    cache_control: CacheControl | None = None
    citations: list[Any] | None = None


class ImageBlockParam(_Param):
    """An image: parsed so that the refusal names it (our models take no images)."""

    type: Literal["image"]
    source: dict[str, Any]
    cache_control: CacheControl | None = None


class DocumentBlockParam(_Param):
    """A document (PDF, text source): parsed so that the refusal names it."""

    model_config = ConfigDict(extra="allow")
    type: Literal["document"]


class ToolUseBlockParam(_Param):
    """A call the assistant made earlier in the conversation."""

    type: Literal["tool_use"]
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    input: dict[str, Any]
    cache_control: CacheControl | None = None
    caller: dict[str, Any] | None = None


class ToolResultBlockParam(_Param):
    """The result of a call, sent back in a user turn."""

    type: Literal["tool_result"]
    tool_use_id: str = Field(min_length=1)
    content: str | list[TextBlockParam | ImageBlockParam] | None = None
    is_error: bool | None = None
    cache_control: CacheControl | None = None


class ThinkingBlockParam(_Param):
    """A thinking block of ours replayed by the client: it carries nothing we render."""

    type: Literal["thinking"]
    thinking: str
    signature: str | None = None
    cache_control: CacheControl | None = None


class RedactedThinkingBlockParam(_Param):
    type: Literal["redacted_thinking"]
    data: str
    cache_control: CacheControl | None = None


ContentBlockParam = Annotated[
    TextBlockParam
    | ImageBlockParam
    | DocumentBlockParam
    | ToolUseBlockParam
    | ToolResultBlockParam
    | ThinkingBlockParam
    | RedactedThinkingBlockParam,
    Field(discriminator="type"),
]


class MessageParam(_Param):
    role: Literal["user", "assistant"]
    content: str | list[ContentBlockParam]


class ToolParam(_Param):
    """A client tool (Anthropic's server tools, with another ``type``, are not served)."""

    name: str = Field(min_length=1, max_length=128)
    description: str | None = None
    input_schema: dict[str, Any]
    type: Literal["custom"] | None = None
    strict: bool | None = None
    cache_control: CacheControl | None = None
    # Streams the call's input as it is made: ours always do.
    eager_input_streaming: bool | None = None


class ToolChoiceAuto(_Param):
    type: Literal["auto"]
    disable_parallel_tool_use: bool | None = None


class ToolChoiceAny(_Param):
    type: Literal["any"]
    disable_parallel_tool_use: bool | None = None


class ToolChoiceTool(_Param):
    type: Literal["tool"]
    name: str
    disable_parallel_tool_use: bool | None = None


class ToolChoiceNone(_Param):
    type: Literal["none"]


ToolChoiceParam = Annotated[
    ToolChoiceAuto | ToolChoiceAny | ToolChoiceTool | ToolChoiceNone,
    Field(discriminator="type"),
]


class ThinkingEnabled(_Param):
    type: Literal["enabled"]
    budget_tokens: int = Field(ge=1)


class ThinkingDisabled(_Param):
    type: Literal["disabled"]


class ThinkingAdaptive(_Param):
    type: Literal["adaptive"]
    display: Literal["summarized", "omitted"] | None = None


ThinkingParam = Annotated[
    ThinkingEnabled | ThinkingDisabled | ThinkingAdaptive, Field(discriminator="type")
]


class JsonOutputFormat(_Param):
    type: Literal["json_schema"]
    schema_: dict[str, Any] = Field(alias="schema")


class OutputConfig(_Param):
    """Structured outputs (``format``) and the reasoning effort (``effort``)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    format: JsonOutputFormat | None = None
    effort: Literal["low", "medium", "high", "xhigh", "max"] | None = None


class Metadata(_Param):
    user_id: str | None = None


class CountTokensRequest(_Param):
    """What decides a prompt: the body of ``/v1/messages/count_tokens``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    model: str = Field(min_length=1)
    messages: list[MessageParam] = Field(min_length=1)
    system: str | list[TextBlockParam] | None = None
    tools: list[ToolParam] | None = None
    tool_choice: ToolChoiceParam | None = None
    thinking: ThinkingParam | None = None
    output_config: OutputConfig | None = None
    # Accepted and ignored: they cannot change the answer.
    cache_control: CacheControl | None = None
    speed: Literal["standard", "fast"] | None = None


class MessagesRequest(CountTokensRequest):
    """The body of ``POST /v1/messages``."""

    max_tokens: int = Field(ge=1)
    stop_sequences: list[str] | None = None
    temperature: float | None = Field(None, ge=0.0, le=1.0)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    top_k: int | None = Field(None, ge=0)
    stream: bool = False
    # Our extensions, as on the OpenAI endpoints.
    seed: int | None = Field(None, ge=-(2**63), lt=2**63)
    priority: int = Field(0, ge=-(2**31), lt=2**31)
    # Accepted and ignored: they cannot change the answer.
    metadata: Metadata | None = None
    service_tier: Literal["auto", "standard_only"] | None = None
    inference_geo: str | None = None
    user_profile_id: str | None = None
    workspace_id: str | None = None


# --- the answer -----------------------------------------------------------------------------


class TextBlock(BaseModel):
    type: Literal["text"] = "text"
    text: str
    citations: list[Any] | None = None


class ToolUseBlock(BaseModel):
    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, Any]


class ThinkingBlock(BaseModel):
    type: Literal["thinking"] = "thinking"
    thinking: str
    # Anthropic signs its thinking so that it can be verified when sent back; ours is
    # sent back as-is and never rendered, so there is nothing to sign.
    signature: str = ""


ContentBlock = TextBlock | ToolUseBlock | ThinkingBlock

StopReason = Literal["end_turn", "max_tokens", "stop_sequence", "tool_use"]


class MessageUsage(BaseModel):
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0


class MessageObject(BaseModel):
    """The answer of ``POST /v1/messages``."""

    id: str
    type: Literal["message"] = "message"
    role: Literal["assistant"] = "assistant"
    content: list[ContentBlock] = Field(default_factory=list)
    model: str
    stop_reason: StopReason | None = None
    stop_sequence: str | None = None
    usage: MessageUsage


class TokenCount(BaseModel):
    """The answer of ``POST /v1/messages/count_tokens``."""

    input_tokens: int


class MessageEvent(BaseModel):
    """One stream event: ``type`` (also the SSE event name) and the type's own fields."""

    model_config = ConfigDict(extra="allow")
    type: str
