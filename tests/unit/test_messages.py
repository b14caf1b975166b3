"""Anthropic's Messages API on a fake engine: translation, blocks and events, count_tokens,
errors in Anthropic's shape, ``x-api-key``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from server.core.errors import InvalidRequest, Overloaded, Unavailable
from server.generation.messages.adapter import stop_reason
from server.generation.messages.events import BlockWriter
from server.generation.messages.protocol import MessagesRequest
from server.generation.messages.translate import chat_request
from server.generation.protocol import NamedToolChoice
from server.http.families import ANTHROPIC, OPENAI, error_family
from tests.support.app import MODEL, fake_client

WEATHER = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


def _request(**fields: Any) -> MessagesRequest:
    body = {"model": MODEL, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
    return MessagesRequest.model_validate(body | fields)


def _anthropic_error(body: dict[str, Any], type_: str) -> str:
    assert body["type"] == "error"
    assert set(body["error"]) == {"type", "message"}
    assert body["error"]["type"] == type_
    message: str = body["error"]["message"]
    assert message
    return message


# --- translation ------------------------------------------------------------------------------


def test_system_tool_use_and_tool_result_become_chat_messages() -> None:
    request = _request(
        system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        tools=[WEATHER],
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "call it", "signature": ""},
                    {"type": "text", "text": "Let me look."},
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_2",
                        "content": [{"type": "text", "text": "no such city"}],
                        "is_error": True,
                    },
                    {"type": "text", "text": "Thanks"},
                ],
            },
        ],
    )
    chat = chat_request(request)
    roles = [m.role for m in chat.messages]
    assert roles == ["system", "user", "assistant", "tool", "tool", "user"]
    assert chat.messages[0].content == "Be brief."
    assistant = chat.messages[2]
    assert assistant.content == "Let me look."
    assert assistant.tool_calls is not None
    call = assistant.tool_calls[0]
    assert (call.id, call.function.name) == ("toolu_1", "get_weather")
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert chat.messages[3].tool_call_id == "toolu_1" and chat.messages[3].content == "sunny"
    assert chat.messages[4].content == "Error: no such city"
    assert chat.tools is not None and chat.tools[0].function.parameters == WEATHER["input_schema"]
    assert chat.max_tokens == 8


@pytest.mark.parametrize(
    ("choice", "expected", "parallel"),
    [
        ({"type": "auto"}, "auto", None),
        ({"type": "any"}, "required", None),
        ({"type": "any", "disable_parallel_tool_use": True}, "required", False),
        ({"type": "none"}, "none", None),
    ],
)
def test_tool_choice(choice: dict[str, Any], expected: str, parallel: bool | None) -> None:
    chat = chat_request(_request(tools=[WEATHER], tool_choice=choice))
    assert chat.tool_choice == expected
    assert chat.parallel_tool_calls is parallel


def test_named_tool_choice_and_sampling_fields() -> None:
    chat = chat_request(
        _request(
            tools=[WEATHER],
            tool_choice={"type": "tool", "name": "get_weather"},
            stop_sequences=["END"],
            temperature=0.0,
            top_k=5,
            top_p=0.9,
            stream=True,
            metadata={"user_id": "u"},
        )
    )
    assert isinstance(chat.tool_choice, NamedToolChoice)
    assert chat.tool_choice.function.name == "get_weather"
    assert (chat.stop, chat.temperature, chat.top_k, chat.top_p) == (["END"], 0.0, 5, 0.9)
    assert chat.stream and chat.stream_options is None


def test_output_config_and_thinking() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    chat = chat_request(
        _request(
            max_tokens=100,
            output_config={"format": {"type": "json_schema", "schema": schema}, "effort": "max"},
            thinking={"type": "enabled", "budget_tokens": 50},
        )
    )
    assert chat.response_format is not None and chat.response_format.json_schema is not None
    assert chat.response_format.json_schema.schema_ == schema
    assert chat.reasoning_effort == "xhigh"
    assert chat.chat_template_kwargs == {"enable_thinking": True}


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        (
            {"messages": [{"role": "user", "content": [{"type": "image", "source": {}}]}]},
            "messages[0].content[0]",
        ),
        ({"thinking": {"type": "enabled", "budget_tokens": 8}}, "thinking.budget_tokens"),
        (
            {
                "tools": [WEATHER],
                "tool_choice": {"type": "any"},
                "output_config": {"format": {"type": "json_schema", "schema": {}}},
            },
            "output_config.format",
        ),
    ],
)
def test_refusals_name_the_field(fields: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        chat_request(_request(**fields))
    assert caught.value.param == param


# --- blocks and events ------------------------------------------------------------------------


def test_stop_reasons() -> None:
    assert stop_reason("length", True, None) == ("max_tokens", None)
    assert stop_reason("stop", True, None) == ("tool_use", None)
    assert stop_reason("stop", False, "END") == ("stop_sequence", "END")
    assert stop_reason("stop", False, None) == ("end_turn", None)


def test_block_writer_numbers_blocks_and_closes_each() -> None:
    writer = BlockWriter()
    events = writer.thinking("hmm") + writer.thinking("...") + writer.text("Hi")
    events += writer.call(0, "get_weather") + writer.arguments(0, '{"city": ') + writer.close()
    kinds = [(e.type, getattr(e, "index", None)) for e in events]
    assert kinds == [
        ("content_block_start", 0),
        ("content_block_delta", 0),
        ("content_block_delta", 0),
        ("content_block_stop", 0),
        ("content_block_start", 1),
        ("content_block_delta", 1),
        ("content_block_stop", 1),
        ("content_block_start", 2),
        ("content_block_delta", 2),
        ("content_block_stop", 2),
    ]
    block = events[7].model_dump()["content_block"]
    assert block["type"] == "tool_use" and block["id"].startswith("toolu_")
    assert events[8].model_dump()["delta"] == {
        "type": "input_json_delta",
        "partial_json": '{"city": ',
    }
    assert writer.called


# --- the API on a fake engine --------------------------------------------------------------------


def _sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for chunk in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in chunk.splitlines() if ": " in line)
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_create_stream_and_count_tokens(tmp_path: Path) -> None:
    body = {
        "model": MODEL,
        "max_tokens": 4,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "say a b c"}],
    }
    with fake_client(tmp_path) as client:
        answer = client.post("/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"})
        assert answer.status_code == 200, answer.text
        assert answer.headers["request-id"] == answer.headers["x-request-id"]
        message = answer.json()
        assert message["id"].startswith("msg_") and message["type"] == "message"
        assert message["content"] == [
            {"type": "text", "text": " tok0 tok1 tok2 tok3", "citations": None}
        ]
        assert message["stop_reason"] == "max_tokens" and message["stop_sequence"] is None
        usage = message["usage"]
        assert usage["output_tokens"] == 4
        assert usage["cache_read_input_tokens"] == usage["cache_creation_input_tokens"] == 0
        count = client.post(
            "/v1/messages/count_tokens", json={k: v for k, v in body.items() if k != "max_tokens"}
        )
        assert count.status_code == 200, count.text
        assert count.json() == {"input_tokens": usage["input_tokens"]}

        streamed = client.post("/v1/messages", json=body | {"stream": True})
        assert streamed.status_code == 200
        events = _sse(streamed.text)
        names = [name for name, _ in events]
        assert names[:3] == ["message_start", "ping", "content_block_start"]
        assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
        assert all(name == data["type"] for name, data in events)
        text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
        assert text == message["content"][0]["text"]
        delta = events[-2][1]
        assert delta["delta"] == {"stop_reason": "max_tokens", "stop_sequence": None}
        assert delta["usage"]["output_tokens"] == 4
        # The same prompt again: the engine's prefix cache holds all of it but the last token
        # (whole blocks of 4 in the fake), and input_tokens counts only the rest.
        started = events[0][1]["message"]["usage"]
        assert started["cache_read_input_tokens"] == usage["input_tokens"] - 1 == 8
        assert started["input_tokens"] == 1
        assert delta["usage"]["cache_read_input_tokens"] == 8
        metrics = client.get("/metrics").text
        assert 'endpoint="/v1/messages"' in metrics


@pytest.mark.parametrize(
    ("body", "status", "type_", "named"),
    [
        ({"model": "nope", "max_tokens": 4}, 404, "not_found_error", "nope"),
        (
            {"max_tokens": 4, "frequency_penalty": 1},
            400,
            "invalid_request_error",
            "frequency_penalty",
        ),
        ({}, 400, "invalid_request_error", "max_tokens"),
        (
            {
                "max_tokens": 4,
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image", "source": {"type": "url", "url": "x"}}],
                    }
                ],
            },
            400,
            "invalid_request_error",
            "image",
        ),
        (
            {"max_tokens": 4, "thinking": {"type": "enabled", "budget_tokens": 2}},
            400,
            "invalid_request_error",
            "thinking",
        ),
        ({"max_tokens": 1000}, 400, "invalid_request_error", "context length"),
        (  # an empty tool_use_id (found by the fuzzer: once a 500)
            {
                "max_tokens": 4,
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "tool_result", "tool_use_id": "", "content": ""},
                            {"type": "text", "text": ""},
                        ],
                    }
                ],
            },
            400,
            "invalid_request_error",
            "messages.0.content",
        ),
    ],
)
def test_errors_in_anthropic_shape(
    tmp_path: Path, body: dict[str, Any], status: int, type_: str, named: str
) -> None:
    base = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}]}
    with fake_client(tmp_path) as client:
        answer = client.post("/v1/messages", json=base | body)
        assert answer.status_code == status, answer.text
        assert "request-id" in answer.headers
        assert named in _anthropic_error(answer.json(), type_)
        # The OpenAI endpoints keep OpenAI's shape.
        assert "type" not in client.post("/v1/chat/completions", json={}).json()


def test_x_api_key_is_accepted(tmp_path: Path) -> None:
    body = {"model": MODEL, "max_tokens": 2, "messages": [{"role": "user", "content": "hi"}]}
    with fake_client(tmp_path, "api_keys: [secret]") as client:
        refused = client.post("/v1/messages", json=body)
        assert refused.status_code == 401
        _anthropic_error(refused.json(), "authentication_error")
        assert "request-id" in refused.headers
        wrong = client.post("/v1/messages", json=body, headers={"x-api-key": "other"})
        assert wrong.status_code == 401
        assert client.post("/v1/messages", json=body, headers={"x-api-key": "secret"}).is_success
        bearer = {"Authorization": "Bearer secret"}
        assert client.post("/v1/messages", json=body, headers=bearer).is_success
        openai_shape = client.post("/v1/chat/completions", json={}).json()
        assert (
            openai_shape["error"]["type"] == "authentication_error" and "type" not in openai_shape
        )


def test_error_family_by_path() -> None:
    assert error_family("/v1/messages") is ANTHROPIC
    assert error_family("/v1/messages/count_tokens") is ANTHROPIC
    assert error_family("/v1/messagesx") is OPENAI
    assert error_family("/v1/chat/completions") is OPENAI
    full = Overloaded("busy")
    assert (ANTHROPIC.status(full), OPENAI.status(full)) == (529, 429)
    assert ANTHROPIC.body(full)["error"]["type"] == "overloaded_error"
    assert ANTHROPIC.body(Unavailable("draining"))["error"]["type"] == "overloaded_error"
    assert ANTHROPIC.internal_body()["error"]["type"] == "api_error"
    assert (
        ANTHROPIC.http_body(405, "Method Not Allowed")["error"]["type"] == "invalid_request_error"
    )
