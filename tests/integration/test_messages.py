"""Anthropic's Messages API on the real server and engine, through Anthropic's official SDK:
create, stream (rebuilt by the SDK into the same message), async, forced tools valid against
their schema, a tool_result round trip, streamed tool input, thinking blocks, count_tokens
equal to usage, and errors in Anthropic's shape."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import jsonschema
import pytest

from tests.integration.conftest import CHAT_MODEL, THINK_MODEL, TOOLS_MODEL
from tests.support.server import ServerProcess

pytestmark = pytest.mark.integration

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "maxLength": 40},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city", "unit"],
    "additionalProperties": False,
}
TOOLS: list[Any] = [
    {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "input_schema": WEATHER_SCHEMA,
    }
]
WEATHER: list[Any] = [{"role": "user", "content": "What is the weather like in Paris today?"}]
# The SDK sends sampling fields (temperature, top_k) and our seed through extra_body.
GREEDY: dict[str, Any] = {"extra_body": {"temperature": 0.0, "seed": 7}}


def _blocks(content: list[Any]) -> list[dict[str, Any]]:
    """Content blocks as plain data (the stream helper rebuilds text as ``ParsedTextBlock``)."""
    return [block.model_dump(exclude={"parsed_output"}) for block in content]


def _client(server: ServerProcess) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.base_url, api_key="unused", max_retries=0)


@pytest.fixture(scope="module")
def chat(chat_server: ServerProcess) -> anthropic.Anthropic:
    return _client(chat_server)


@pytest.fixture(scope="module")
def tools(tools_server: ServerProcess) -> anthropic.Anthropic:
    return _client(tools_server)


def _ask(client: anthropic.Anthropic, **kwargs: Any) -> anthropic.types.Message:
    args: dict[str, Any] = {
        "model": CHAT_MODEL,
        "max_tokens": 24,
        "messages": [{"role": "user", "content": "Name three colors."}],
        **GREEDY,
    }
    return client.messages.create(**(args | kwargs))


def test_create_and_stream_rebuild_the_same_message(chat: anthropic.Anthropic) -> None:
    args: dict[str, Any] = {
        "model": CHAT_MODEL,
        "max_tokens": 24,
        "system": "You are terse.",
        "messages": [{"role": "user", "content": "Name three colors."}],
        **GREEDY,
    }
    message = chat.messages.create(**args)
    assert message.id.startswith("msg_") and message.role == "assistant"
    assert message.model == CHAT_MODEL
    assert message.stop_reason in ("end_turn", "max_tokens")
    [block] = message.content
    assert block.type == "text" and block.text
    assert message.usage.output_tokens > 0
    assert message.usage.cache_read_input_tokens == 0
    with chat.messages.stream(**args) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(texts) == block.text
    assert _blocks(final.content) == _blocks(message.content)
    assert final.stop_reason == message.stop_reason
    assert final.usage.input_tokens == message.usage.input_tokens
    assert final.usage.output_tokens == message.usage.output_tokens
    counted = chat.messages.count_tokens(
        model=CHAT_MODEL, system=args["system"], messages=args["messages"]
    )
    assert counted.input_tokens == message.usage.input_tokens


def test_max_tokens_and_stop_sequences(chat: anthropic.Anthropic) -> None:
    short = _ask(chat, max_tokens=2)
    assert short.stop_reason == "max_tokens" and short.usage.output_tokens == 2
    free = _ask(chat, max_tokens=40)
    words = free.content[0].text.split()  # type: ignore[union-attr]
    stop = words[1] if len(words) > 1 else words[0]
    stopped = _ask(chat, max_tokens=40, stop_sequences=[stop])
    assert stopped.stop_reason == "stop_sequence"
    assert stopped.stop_sequence == stop


def test_async_client(chat_server: ServerProcess) -> None:
    async def main() -> list[anthropic.types.Message]:
        client = anthropic.AsyncAnthropic(
            base_url=chat_server.base_url, api_key="unused", max_retries=0
        )
        asks = [
            client.messages.create(
                model=CHAT_MODEL,
                max_tokens=8,
                messages=[{"role": "user", "content": f"Count to {n}."}],
                **GREEDY,
            )
            for n in (3, 4)
        ]
        return list(await asyncio.gather(*asks))

    for message in asyncio.run(main()):
        assert message.content[0].type == "text" and message.usage.output_tokens > 0


@pytest.mark.parametrize("choice", [{"type": "tool", "name": "get_weather"}, {"type": "any"}])
def test_forced_tool_input_is_valid(tools: anthropic.Anthropic, choice: dict[str, Any]) -> None:
    message = _ask(
        tools, model=TOOLS_MODEL, messages=WEATHER, tools=TOOLS, tool_choice=choice, max_tokens=60
    )
    assert message.stop_reason == "tool_use"
    uses = [b for b in message.content if b.type == "tool_use"]
    assert uses and uses[0].name == "get_weather" and uses[0].id.startswith("toolu_")
    jsonschema.validate(uses[0].input, WEATHER_SCHEMA)


def test_tool_result_round_trip_and_streamed_input(tools: anthropic.Anthropic) -> None:
    args: dict[str, Any] = {
        "model": TOOLS_MODEL,
        "messages": WEATHER,
        "tools": TOOLS,
        "tool_choice": {"type": "tool", "name": "get_weather"},
        "max_tokens": 60,
        **GREEDY,
    }
    message = tools.messages.create(**args)
    [use] = [b for b in message.content if b.type == "tool_use"]
    partials: list[str] = []
    with tools.messages.stream(**args) as stream:
        for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                partials.append(event.delta.partial_json)
        final = stream.get_final_message()
    [streamed] = [b for b in final.content if b.type == "tool_use"]
    assert partials and streamed.input == use.input and streamed.name == use.name
    assert final.stop_reason == "tool_use"
    history: list[Any] = [
        *WEATHER,
        {"role": "assistant", "content": message.content},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "Sunny, 21 C"}],
        },
    ]
    answer = tools.messages.create(
        model=TOOLS_MODEL, max_tokens=30, messages=history, tools=TOOLS, **GREEDY
    )
    assert answer.content and answer.usage.input_tokens > message.usage.input_tokens
    counted = tools.messages.count_tokens(model=TOOLS_MODEL, messages=history, tools=TOOLS)
    assert counted.input_tokens == answer.usage.input_tokens


def test_thinking_blocks(tools: anthropic.Anthropic) -> None:
    args: dict[str, Any] = {
        "model": THINK_MODEL,
        "max_tokens": 60,
        "thinking": {"type": "enabled", "budget_tokens": 40},
        "messages": [{"role": "user", "content": "Is 7 prime?"}],
        **GREEDY,
    }
    message = tools.messages.create(**args)
    assert message.content[0].type == "thinking" and message.content[0].thinking
    with tools.messages.stream(**args) as stream:
        final = stream.get_final_message()
    assert _blocks(final.content) == _blocks(message.content)


def test_errors_in_anthropic_shape(chat: anthropic.Anthropic, tools: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as missing:
        _ask(chat, model="no-such-model")
    assert missing.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    assert missing.value.response.headers["request-id"]
    with pytest.raises(anthropic.BadRequestError) as bad:
        _ask(chat, extra_body={"frequency_penalty": 1.0})
    error = bad.value.body["error"]  # type: ignore[index]
    assert error["type"] == "invalid_request_error" and "frequency_penalty" in error["message"]
    image = {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    with pytest.raises(anthropic.BadRequestError) as no_images:
        _ask(chat, messages=[{"role": "user", "content": [image]}])
    assert "image" in no_images.value.body["error"]["message"]  # type: ignore[index]
    with pytest.raises(anthropic.BadRequestError) as no_thinking:
        _ask(chat, max_tokens=60, thinking={"type": "enabled", "budget_tokens": 30})
    assert "thinking" in no_thinking.value.body["error"]["message"]  # type: ignore[index]
