"""Input items as chat messages, and the ids and shapes items are stored and listed with.

A conversation is items in order: messages, the model's function calls, their outputs. Chat
templates want messages, so consecutive calls become one assistant turn with ``tool_calls``
(joined to the assistant text just before them) and each output a ``tool`` message.
Reasoning items given back carry nothing the prompt renders.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from pydantic import TypeAdapter

from server.core.errors import InvalidRequest
from server.generation.protocol import ChatMessage, FunctionCall, ToolCall
from server.generation.responses.protocol import (
    Content,
    FunctionCallItem,
    FunctionCallOutputItem,
    InputItem,
    ItemReference,
    MessageItem,
    TextContent,
    UnsupportedContent,
)

_ITEMS: TypeAdapter[list[InputItem]] = TypeAdapter(list[InputItem])


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _text(content: str | list[Content], where: str) -> str:
    if isinstance(content, str):
        return content
    parts = []
    for index, part in enumerate(content):
        if isinstance(part, UnsupportedContent):
            raise InvalidRequest(
                f"content type '{part.type}' is not supported: this server's models read text",
                param=f"{where}.content[{index}].type",
                code="unsupported_content",
            )
        parts.append(part.text if isinstance(part, TextContent) else part.refusal)
    return "".join(parts)


def input_items(items: list[InputItem]) -> list[dict[str, Any]]:
    """The request's input as stored and listed: a list of items, each with an id."""
    stored = []
    for index, item in enumerate(items):
        where = f"input[{index}]"
        if isinstance(item, ItemReference):
            raise InvalidRequest(
                "item_reference is not supported; continue a conversation with "
                "previous_response_id",
                param=f"{where}.type",
                code="unsupported_parameter",
            )
        if isinstance(item, MessageItem):
            kind = "output_text" if item.role == "assistant" else "input_text"
            text = _text(item.content, where)
            stored.append(
                {
                    "type": "message",
                    "id": item.id or new_id("msg"),
                    "role": item.role,
                    "content": [{"type": kind, "text": text}],
                    "status": "completed",
                }
            )
        elif isinstance(item, FunctionCallOutputItem):
            output = _text(item.output, where)
            data = item.model_dump(exclude_none=True) | {"output": output, "status": "completed"}
            stored.append(data | {"id": item.id or new_id("fco")})
        else:
            data = item.model_dump(exclude_none=True)
            stored.append(data | {"id": item.id or new_id(item.type[:2])})
    return stored


def parse_items(data: Iterable[dict[str, Any]]) -> list[InputItem]:
    """Stored items (inputs, and output items replayed as inputs) as typed items."""
    return _ITEMS.validate_python(list(data))


def chat_messages(instructions: str | None, items: list[InputItem]) -> list[ChatMessage]:
    """The conversation as chat messages, ``instructions`` first as the system message."""
    messages: list[ChatMessage] = []
    if instructions:
        messages.append(ChatMessage(role="system", content=instructions))
    for index, item in enumerate(items):
        where = f"input[{index}]"
        if isinstance(item, MessageItem):
            messages.append(ChatMessage(role=item.role, content=_text(item.content, where)))
        elif isinstance(item, FunctionCallItem):
            call = ToolCall(
                id=item.call_id, function=FunctionCall(name=item.name, arguments=item.arguments)
            )
            last = messages[-1] if messages else None
            if last is not None and last.role == "assistant":
                last.tool_calls = [*(last.tool_calls or []), call]
            else:
                messages.append(ChatMessage(role="assistant", content=None, tool_calls=[call]))
        elif isinstance(item, FunctionCallOutputItem):
            content = _text(item.output, where)
            messages.append(ChatMessage(role="tool", tool_call_id=item.call_id, content=content))
    if not any(m.role != "system" for m in messages):
        raise InvalidRequest("input has no message to respond to", param="input")
    return messages
