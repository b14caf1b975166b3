"""Anthropic's Messages API on the real server and engine, through Anthropic's official SDK:
create, stream (rebuilt by the SDK into the same message), async, forced tools valid against
their schema, a tool_result round trip, streamed tool input, thinking blocks, count_tokens
equal to usage, errors in Anthropic's shape, prompt caching reported, the thinking budget,
message batches, and LangChain's ChatAnthropic and pydantic-ai's Anthropic model."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import anthropic
import jsonschema
import openai
import pytest
from langchain_anthropic import ChatAnthropic
from pydantic import BaseModel
from pydantic_ai import Agent
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.providers.anthropic import AnthropicProvider

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


def _prompt(usage: anthropic.types.Usage) -> int:
    """The whole prompt: ``input_tokens`` counts only what the prefix cache did not hold."""
    return usage.input_tokens + (usage.cache_read_input_tokens or 0)


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
    assert message.usage.cache_creation_input_tokens == 0
    with chat.messages.stream(**args) as stream:
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(texts) == block.text
    assert _blocks(final.content) == _blocks(message.content)
    assert final.stop_reason == message.stop_reason
    assert _prompt(final.usage) == _prompt(message.usage)
    assert final.usage.output_tokens == message.usage.output_tokens
    counted = chat.messages.count_tokens(
        model=CHAT_MODEL, system=args["system"], messages=args["messages"]
    )
    assert counted.input_tokens == _prompt(message.usage)


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
    assert answer.content and _prompt(answer.usage) > _prompt(message.usage)
    counted = tools.messages.count_tokens(model=TOOLS_MODEL, messages=history, tools=TOOLS)
    assert counted.input_tokens == _prompt(answer.usage)


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


# --- prompt caching, the thinking budget, message batches --------------------------------------

# About 700 tokens: several of the engine's KV-cache blocks, so that a repeat finds them cached.
LONG = "Here is a list to remember: " + ", ".join(f"item {i}" for i in range(130)) + "."


def test_a_repeated_long_prompt_is_read_from_the_prefix_cache(
    chat: anthropic.Anthropic, chat_server: ServerProcess
) -> None:
    messages: list[Any] = [{"role": "user", "content": LONG}]
    first = _ask(chat, max_tokens=2, messages=messages)
    again = _ask(chat, max_tokens=2, messages=messages)
    assert _prompt(again.usage) == _prompt(first.usage) > 650
    # All of it but the part of the last (partial) block: input_tokens is the rest.
    assert again.usage.cache_read_input_tokens is not None
    assert again.usage.cache_read_input_tokens >= _prompt(again.usage) - 128
    assert again.usage.input_tokens == _prompt(again.usage) - again.usage.cache_read_input_tokens
    assert again.usage.cache_creation_input_tokens == 0
    # OpenAI's endpoints report the same hits as cached_tokens.
    openai_client = openai.OpenAI(base_url=f"{chat_server.base_url}/v1", api_key="unused")
    reply = openai_client.chat.completions.create(model=CHAT_MODEL, messages=messages, max_tokens=2)
    assert reply.usage is not None and reply.usage.prompt_tokens_details is not None
    assert reply.usage.prompt_tokens_details.cached_tokens == again.usage.cache_read_input_tokens
    for _ in range(2):
        text = openai_client.completions.create(model=CHAT_MODEL, prompt=LONG, max_tokens=2)
    assert text.usage is not None and text.usage.prompt_tokens_details is not None
    assert text.usage.prompt_tokens_details.cached_tokens >= text.usage.prompt_tokens - 128
    for _ in range(2):
        response = openai_client.responses.create(
            model=CHAT_MODEL, input=LONG + " ", max_output_tokens=2, store=False
        )
    assert response.usage is not None
    details = response.usage.input_tokens_details
    assert details.cached_tokens >= response.usage.input_tokens - 128 > 0


def test_budget_tokens_caps_the_thinking(tools: anthropic.Anthropic, chat_tokenizer: Any) -> None:
    def thinking(budget: int) -> str:
        message = _ask(
            tools,
            model=THINK_MODEL,
            max_tokens=120,
            thinking={"type": "enabled", "budget_tokens": budget},
            messages=[{"role": "user", "content": "Explain why the sky is blue."}],
        )
        block = message.content[0]
        assert block.type == "thinking"
        return block.thinking

    free = len(chat_tokenizer.encode(thinking(100)))
    capped = len(chat_tokenizer.encode(thinking(8)))
    assert free > 16  # the cap below bites
    assert capped <= 8 + 4  # the budget, and the forced end (text retokenized may differ)


def test_a_message_batch_on_the_engine(chat: anthropic.Anthropic) -> None:
    params: dict[str, Any] = {
        "model": CHAT_MODEL,
        "max_tokens": 8,
        "messages": [{"role": "user", "content": "Name a fruit."}],
        "temperature": 0.0,
    }
    batch = chat.messages.batches.create(
        requests=[
            {"custom_id": "fruit", "params": params},
            {"custom_id": "missing", "params": params | {"model": "no-such-model"}},
        ]
    )
    deadline = time.monotonic() + 120
    while (found := chat.messages.batches.retrieve(batch.id)).processing_status != "ended":
        assert time.monotonic() < deadline, found
        time.sleep(0.2)
    assert (found.request_counts.succeeded, found.request_counts.errored) == (1, 1)
    results = {r.custom_id: r.result for r in chat.messages.batches.results(batch.id)}
    fruit, missing = results["fruit"], results["missing"]
    assert fruit.type == "succeeded" and missing.type == "errored"
    sampling = {k: v for k, v in params.items() if k != "temperature"}
    online = chat.messages.create(**sampling, extra_body={"temperature": 0.0})
    assert _blocks(fruit.message.content) == _blocks(online.content)
    assert missing.error.error.type == "not_found_error"
    assert chat.messages.batches.delete(batch.id).type == "message_batch_deleted"


# --- frameworks on Anthropic's SDK ---------------------------------------------------------------


class Weather(BaseModel):
    city: str
    unit: str


def test_langchain_chat_anthropic(chat_server: ServerProcess, tools_server: ServerProcess) -> None:
    def llm(server: ServerProcess, model: str) -> ChatAnthropic:
        return ChatAnthropic(  # type: ignore[call-arg]
            model=model,
            anthropic_api_url=server.base_url,
            anthropic_api_key="unused",
            max_tokens=24,
            temperature=0,
            max_retries=0,
        )

    plain = llm(chat_server, CHAT_MODEL)
    reply = plain.invoke("Name three colors.")
    assert isinstance(reply.content, str) and reply.content
    streamed = "".join(str(chunk.content) for chunk in plain.stream("Name three colors."))
    assert streamed == reply.content
    bound = llm(tools_server, TOOLS_MODEL).bind_tools(TOOLS, tool_choice="get_weather")
    called = bound.invoke("What is the weather like in Paris today?")
    [call] = called.tool_calls  # type: ignore[attr-defined]
    assert call["name"] == "get_weather"
    jsonschema.validate(call["args"], WEATHER_SCHEMA)


def test_pydantic_ai_agent_with_structured_output(tools_server: ServerProcess) -> None:
    provider = AnthropicProvider(base_url=tools_server.base_url, api_key="unused")
    agent = Agent(AnthropicModel(TOOLS_MODEL, provider=provider), output_type=Weather)
    result = agent.run_sync(
        "What is the weather like in Paris today?", model_settings={"max_tokens": 60}
    )
    assert isinstance(result.output, Weather) and result.output.city
    text = Agent(AnthropicModel(TOOLS_MODEL, provider=provider)).run_sync(
        "Name three colors.", model_settings={"max_tokens": 16}
    )
    assert isinstance(text.output, str) and text.output
