"""A Responses request as the chat request the generation pipeline runs, and the skeleton
of the Response object it will become (the request's settings echoed as OpenAI does)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from server.core.errors import InvalidRequest, UnsupportedParameter
from server.generation.protocol import (
    ChatCompletionRequest,
    ChatMessage,
    FunctionDefinition,
    JsonSchemaFormat,
    NamedFunction,
    NamedToolChoice,
    ResponseFormat,
    StreamOptions,
    Tool,
    ToolChoice,
)
from server.generation.responses.protocol import (
    FunctionTool,
    ResponseObject,
    ResponsesRequest,
    TextFormat,
)

# Values of ``include`` that change nothing here: reasoning is returned as plain text.
_HARMLESS_INCLUDES = frozenset({"reasoning.encrypted_content"})


def refuse_unsupported(request: ResponsesRequest) -> None:
    """400 naming a parameter that would change the output and is not implemented."""
    for name in ("prompt", "conversation", "max_tool_calls"):
        if getattr(request, name) is not None:
            raise UnsupportedParameter(name)
    if request.top_logprobs:
        raise UnsupportedParameter("top_logprobs")
    for index, value in enumerate(request.include or []):
        if value not in _HARMLESS_INCLUDES:
            raise UnsupportedParameter(f"include[{index}]", f"value {value!r} is not supported")
    if request.background and request.stream:
        raise UnsupportedParameter("stream", "cannot be combined with background on this server")
    if request.background and not request.store:
        raise InvalidRequest("background responses must be stored (store: true)", param="store")


def function_tools(request: ResponsesRequest) -> list[FunctionTool]:
    """The request's tools: function tools only, another type is a 400 naming it."""
    tools = []
    for index, raw in enumerate(request.tools or []):
        kind = raw.get("type")
        if kind != "function":
            raise InvalidRequest(
                f"tool type {kind!r} is not supported: this server runs function tools only",
                param=f"tools[{index}].type",
                code="unsupported_tool",
            )
        try:
            tools.append(FunctionTool.model_validate(raw))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InvalidRequest(
                f"tools[{index}].{where}: {first['msg']}", param=f"tools[{index}].{where}"
            ) from None
    return tools


def _tool_choice(request: ResponsesRequest) -> ToolChoice | None:
    choice = request.tool_choice
    if choice is None or isinstance(choice, str):
        return choice
    if choice.get("type") == "function" and isinstance(choice.get("name"), str):
        return NamedToolChoice(type="function", function=NamedFunction(name=choice["name"]))
    raise InvalidRequest(
        f"tool_choice {choice!r} is not supported: give none, auto, required or "
        "{'type': 'function', 'name': ...}",
        param="tool_choice",
    )


def _response_format(fmt: TextFormat | None) -> ResponseFormat | None:
    if fmt is None or fmt.type == "text":
        return None
    if fmt.type == "json_object":
        return ResponseFormat(type="json_object")
    if fmt.name is None or fmt.schema_ is None:
        raise InvalidRequest(
            "text.format of type json_schema needs 'name' and 'schema'", param="text.format"
        )
    schema = JsonSchemaFormat.model_validate(
        {
            "name": fmt.name,
            "description": fmt.description,
            "schema": fmt.schema_,
            "strict": fmt.strict,
        }
    )
    return ResponseFormat(type="json_schema", json_schema=schema)


def chat_request(request: ResponsesRequest, messages: list[ChatMessage]) -> ChatCompletionRequest:
    """The chat request that produces this response."""
    tools = [
        Tool(
            type="function",
            function=FunctionDefinition(
                name=t.name, description=t.description, parameters=t.parameters, strict=t.strict
            ),
        )
        for t in function_tools(request)
    ]
    fmt = request.text.format if request.text else None
    return ChatCompletionRequest.model_validate(
        dict(
            model=request.model,
            messages=messages,
            tools=tools or None,
            tool_choice=_tool_choice(request),
            parallel_tool_calls=request.parallel_tool_calls,
            temperature=request.temperature,
            top_p=request.top_p,
            max_tokens=request.max_output_tokens,
            response_format=_response_format(fmt),
            reasoning_effort=request.reasoning.effort if request.reasoning else None,
            stream=request.stream,
            stream_options=StreamOptions() if request.stream else None,
            priority=request.priority,
            user=request.user,
        )
    )


def skeleton(request: ResponsesRequest, response_id: str, created_at: int) -> ResponseObject:
    """The response as first reported (``in_progress``, or ``queued`` in the background)."""
    text: dict[str, Any] = {"format": {"type": "text"}}
    if request.text is not None:
        text = request.text.model_dump(mode="json", by_alias=True, exclude_none=True)
        text.setdefault("format", {"type": "text"})
    reasoning: dict[str, str | None] = {"effort": None, "summary": None}
    if request.reasoning is not None:
        reasoning = {"effort": request.reasoning.effort, "summary": request.reasoning.summary}
    return ResponseObject(
        id=response_id,
        created_at=created_at,
        status="queued" if request.background else "in_progress",
        background=request.background,
        instructions=request.instructions,
        max_output_tokens=request.max_output_tokens,
        model=request.model,
        parallel_tool_calls=request.parallel_tool_calls is not False,
        previous_response_id=request.previous_response_id,
        reasoning=reasoning,
        store=request.store,
        temperature=request.temperature if request.temperature is not None else 1.0,
        text=text,
        tool_choice=request.tool_choice if request.tool_choice is not None else "auto",
        tools=[t.model_dump(mode="json", exclude_none=True) for t in function_tools(request)],
        top_p=request.top_p if request.top_p is not None else 1.0,
        truncation=request.truncation or "disabled",
        user=request.user,
        metadata=request.metadata or {},
    )
