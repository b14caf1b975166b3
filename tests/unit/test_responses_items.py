"""Responses input items as chat messages, and the typed event stream of an output."""

from __future__ import annotations

from typing import Any

import pytest

from server.core.errors import InvalidRequest
from server.generation.responses.events import EventWriter
from server.generation.responses.items import chat_messages, input_items, parse_items
from server.generation.responses.protocol import ResponsesRequest


def _items(value: Any) -> list[Any]:
    return ResponsesRequest.model_validate({"model": "m", "input": value}).input


def test_a_string_is_one_user_message_with_an_id() -> None:
    stored = input_items(_items("hello"))
    assert stored[0]["id"].startswith("msg_")
    assert stored[0] | {"id": ""} == {
        "type": "message",
        "id": "",
        "role": "user",
        "content": [{"type": "input_text", "text": "hello"}],
        "status": "completed",
    }


def test_calls_join_the_assistant_turn_and_outputs_become_tool_messages() -> None:
    items = _items(
        [
            {"role": "user", "content": "Weather?"},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Let me look."}],
            },
            {"type": "function_call", "call_id": "c1", "name": "w", "arguments": "{}"},
            {"type": "function_call", "call_id": "c2", "name": "t", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
            {
                "type": "function_call_output",
                "call_id": "c2",
                "output": [{"type": "input_text", "text": "noon"}],
            },
            {"type": "reasoning", "id": "rs_1", "summary": []},
        ]
    )
    messages = chat_messages("Be brief.", parse_items(input_items(items)))
    assert [m.role for m in messages] == ["system", "user", "assistant", "tool", "tool"]
    assistant = messages[2]
    assert assistant.content == "Let me look."
    assert [c.id for c in assistant.tool_calls or []] == ["c1", "c2"]
    assert (messages[3].tool_call_id, messages[3].content) == ("c1", "sunny")
    assert messages[4].content == "noon"


def test_images_and_references_are_refused_by_name() -> None:
    image = _items([{"role": "user", "content": [{"type": "input_image", "image_url": "u"}]}])
    with pytest.raises(InvalidRequest) as info:
        input_items(image)
    assert info.value.param == "input[0].content[0].type"
    with pytest.raises(InvalidRequest) as info:
        input_items(_items([{"type": "item_reference", "id": "msg_1"}]))
    assert info.value.param == "input[0].type"
    with pytest.raises(InvalidRequest, match="no message"):
        chat_messages("only instructions", [])


def test_events_are_numbered_and_close_each_item() -> None:
    writer = EventWriter()
    events = writer.reasoning("thinking") + writer.text("Hel") + writer.text("lo")
    events += (
        writer.call(0, "call_1", "w") + writer.arguments(0, '{"a"') + writer.arguments(0, ":1}")
    )
    events += writer.close()
    assert [e.sequence_number for e in events] == list(range(len(events)))
    types = [e.type for e in events]
    assert types == [
        "response.output_item.added",
        "response.reasoning_text.delta",
        "response.reasoning_text.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
    ]
    done = [e.model_dump() for e in events if e.type == "response.output_item.done"]
    assert [d["output_index"] for d in done] == [0, 1, 2]
    assert done[1]["item"]["content"][0]["text"] == "Hello"
    assert done[2]["item"]["arguments"] == '{"a":1}' and done[2]["item"]["status"] == "completed"
    assert [item.type for item in writer.items] == ["reasoning", "message", "function_call"]
