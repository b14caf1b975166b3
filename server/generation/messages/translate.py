"""A Messages request as the chat request the generation pipeline runs.

system -> a first system message; ``tool_use`` blocks -> the assistant's ``tool_calls``;
``tool_result`` blocks -> ``tool`` messages; ``tool_choice`` ``any`` / ``tool`` -> ``required`` /
a named function (forced with structured outputs, as chat forces them); ``thinking`` -> the
``enable_thinking`` template variable that thinking templates read; ``output_config.format``
-> a JSON-schema response format, ``output_config.effort`` -> the reasoning effort.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from server.core.errors import InvalidRequest
from server.generation.messages.protocol import (
    CountTokensRequest,
    DocumentBlockParam,
    ImageBlockParam,
    MessageParam,
    MessagesRequest,
    RedactedThinkingBlockParam,
    TextBlockParam,
    ThinkingBlockParam,
    ThinkingEnabled,
    ToolChoiceAny,
    ToolChoiceNone,
    ToolChoiceTool,
    ToolResultBlockParam,
    ToolUseBlockParam,
)
from server.generation.protocol import (
    ChatCompletionRequest,
    ChatMessage,
    FunctionCall,
    FunctionDefinition,
    JsonSchemaFormat,
    NamedFunction,
    NamedToolChoice,
    ResponseFormat,
    Tool,
    ToolCall,
    ToolChoice,
)

# Anthropic's efforts as chat's reasoning efforts (chat's highest is 'xhigh').
_EFFORTS = {"low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh", "max": "xhigh"}


def _unsupported_block(where: str, kind: str) -> InvalidRequest:
    return InvalidRequest(
        f"{where}: {kind} blocks are not supported: this server's models take text only",
        param=where,
    )


def _tool_result_text(block: ToolResultBlockParam, where: str) -> str:
    content = block.content
    if content is None:
        text = ""
    elif isinstance(content, str):
        text = content
    else:
        parts = []
        for j, part in enumerate(content):
            if isinstance(part, ImageBlockParam):
                raise _unsupported_block(f"{where}.content[{j}]", "image")
            parts.append(part.text)
        text = "".join(parts)
    # Chat has no error flag on a tool's result: the model reads it in the text.
    return f"Error: {text}" if block.is_error else text


def _user_turn(message: MessageParam, i: int) -> list[ChatMessage]:
    """A user turn: its tool results as ``tool`` messages, then its text."""
    if isinstance(message.content, str):
        return [ChatMessage(role="user", content=message.content)]
    results: list[ChatMessage] = []
    texts: list[str] = []
    for j, block in enumerate(message.content):
        where = f"messages[{i}].content[{j}]"
        if isinstance(block, TextBlockParam):
            texts.append(block.text)
        elif isinstance(block, ToolResultBlockParam):
            results.append(
                ChatMessage(
                    role="tool",
                    tool_call_id=block.tool_use_id,
                    content=_tool_result_text(block, where),
                )
            )
        elif isinstance(block, ImageBlockParam | DocumentBlockParam):
            raise _unsupported_block(where, block.type)
        else:
            raise InvalidRequest(
                f"{where}: a user message cannot hold {block.type} blocks", param=where
            )
    if texts or not results:
        results.append(ChatMessage(role="user", content="".join(texts)))
    return results


def _assistant_turn(message: MessageParam, i: int) -> ChatMessage:
    """An assistant turn: its text, its calls, its thinking (kept, never rendered)."""
    if isinstance(message.content, str):
        return ChatMessage(role="assistant", content=message.content)
    texts: list[str] = []
    thinking: list[str] = []
    calls: list[ToolCall] = []
    for j, block in enumerate(message.content):
        where = f"messages[{i}].content[{j}]"
        if isinstance(block, TextBlockParam):
            texts.append(block.text)
        elif isinstance(block, ToolUseBlockParam):
            arguments = json.dumps(block.input)
            calls.append(
                ToolCall(id=block.id, function=FunctionCall(name=block.name, arguments=arguments))
            )
        elif isinstance(block, ThinkingBlockParam):
            thinking.append(block.thinking)
        elif isinstance(block, RedactedThinkingBlockParam):
            continue
        elif isinstance(block, ImageBlockParam | DocumentBlockParam):
            raise _unsupported_block(where, block.type)
        else:
            raise InvalidRequest(
                f"{where}: an assistant message cannot hold {block.type} blocks", param=where
            )
    return ChatMessage(
        role="assistant",
        content="".join(texts) if texts or not calls else None,
        tool_calls=calls or None,
        reasoning_content="".join(thinking) or None,
    )


def chat_messages(request: CountTokensRequest) -> list[ChatMessage]:
    """The conversation as chat messages, the system prompt first."""
    messages: list[ChatMessage] = []
    system = request.system
    if system is not None:
        text = system if isinstance(system, str) else "".join(b.text for b in system)
        messages.append(ChatMessage(role="system", content=text))
    for i, message in enumerate(request.messages):
        if message.role == "user":
            messages += _user_turn(message, i)
        else:
            messages.append(_assistant_turn(message, i))
    return messages


def _tool_choice(request: CountTokensRequest) -> tuple[ToolChoice | None, bool | None]:
    """Chat's ``tool_choice`` and ``parallel_tool_calls`` for the request's choice."""
    choice = request.tool_choice
    if choice is None:
        return None, None
    parallel = None if isinstance(choice, ToolChoiceNone) else choice.disable_parallel_tool_use
    serial = False if parallel else None
    if isinstance(choice, ToolChoiceNone):
        return "none", None
    if isinstance(choice, ToolChoiceAny):
        return "required", serial
    if isinstance(choice, ToolChoiceTool):
        return NamedToolChoice(type="function", function=NamedFunction(name=choice.name)), serial
    return "auto", serial


def _response_format(request: CountTokensRequest, forced: bool) -> ResponseFormat | None:
    config = request.output_config
    if config is None or config.format is None:
        return None
    if forced:
        raise InvalidRequest(
            "output_config.format cannot be combined with tool_choice 'any' or 'tool' "
            "(the forced call is the answer's format)",
            param="output_config.format",
        )
    schema = JsonSchemaFormat.model_validate(
        {"name": "output", "schema": config.format.schema_, "strict": True}
    )
    return ResponseFormat(type="json_schema", json_schema=schema)


def _template_kwargs(request: CountTokensRequest) -> dict[str, Any] | None:
    thinking = request.thinking
    if thinking is None:
        return None
    return {"enable_thinking": thinking.type != "disabled"}


def _check_budget(request: CountTokensRequest) -> None:
    thinking = request.thinking
    if not isinstance(request, MessagesRequest) or not isinstance(thinking, ThinkingEnabled):
        return
    if thinking.budget_tokens >= request.max_tokens:
        raise InvalidRequest(
            f"thinking.budget_tokens ({thinking.budget_tokens}) must be less than max_tokens "
            f"({request.max_tokens})",
            param="thinking.budget_tokens",
        )


def chat_request(request: CountTokensRequest) -> ChatCompletionRequest:
    """The chat request that answers ``request`` (a count_tokens body renders the same
    prompt: only the sampling fields of a full request are missing). What chat's own models
    refuse (a turn, a tool, the whole request) is a 400, never a 500."""
    try:
        return _chat_request(request)
    except ValidationError as exc:
        raise _invalid(exc) from None


def _chat_request(request: CountTokensRequest) -> ChatCompletionRequest:
    _check_budget(request)
    tool_choice, parallel = _tool_choice(request)
    forced = tool_choice == "required" or isinstance(tool_choice, NamedToolChoice)
    tools = [
        Tool(
            type="function",
            function=FunctionDefinition(
                name=t.name, description=t.description, parameters=t.input_schema, strict=t.strict
            ),
        )
        for t in request.tools or []
    ]
    effort = request.output_config.effort if request.output_config else None
    fields: dict[str, Any] = dict(
        model=request.model,
        messages=chat_messages(request),
        tools=tools or None,
        tool_choice=tool_choice if tools else None,
        parallel_tool_calls=parallel if tools else None,
        response_format=_response_format(request, forced),
        reasoning_effort=_EFFORTS[effort] if effort else None,
        chat_template_kwargs=_template_kwargs(request),
    )
    if tool_choice is not None and tool_choice != "none" and not tools:
        raise InvalidRequest("tool_choice needs tools", param="tool_choice")
    if isinstance(request, MessagesRequest):
        fields |= dict(
            max_tokens=request.max_tokens,
            stop=request.stop_sequences or None,
            temperature=request.temperature,
            top_p=request.top_p,
            top_k=request.top_k,
            seed=request.seed,
            stream=request.stream,
            priority=request.priority,
        )
        if isinstance(request.thinking, ThinkingEnabled):
            fields["thinking_token_budget"] = request.thinking.budget_tokens
    return ChatCompletionRequest.model_validate(fields)


def _invalid(exc: ValidationError) -> InvalidRequest:
    """A 400 with the first message of a validation error of the translated request."""
    return InvalidRequest(str(exc.errors()[0]["msg"]).removeprefix("Value error, "))
