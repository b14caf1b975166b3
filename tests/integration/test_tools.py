"""Tools and reasoning on the real server and engine, through the official SDK and an agent
framework: forced calls (named, required) parse and match their schemas on the tiny default
model, the model's own calls are read by its tool parser, streams reassemble to the same
calls, and thinking lands in reasoning_content."""

from __future__ import annotations

import json
from typing import Any

import httpx
import jsonschema
import openai
import pytest
from openai.types.chat import ChatCompletionChunk

from tests.integration.conftest import THINK_MODEL, TOOLS_MODEL
from tests.support.server import ServerProcess

pytestmark = pytest.mark.integration

WEATHER_PARAMETERS = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "maxLength": 40},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city", "unit"],
    "additionalProperties": False,
}
TIME_PARAMETERS = {
    "type": "object",
    "properties": {"timezone": {"type": "string", "maxLength": 40}},
    "required": ["timezone"],
    "additionalProperties": False,
}
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The current weather in a city.",
            "parameters": WEATHER_PARAMETERS,
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "description": "The current time in a timezone.",
            "parameters": TIME_PARAMETERS,
        },
    },
]
SCHEMAS = {"get_weather": WEATHER_PARAMETERS, "get_time": TIME_PARAMETERS}
WEATHER = [{"role": "user", "content": "What is the weather like in Paris today?"}]
NAMED: Any = {"type": "function", "function": {"name": "get_weather"}}


@pytest.fixture(scope="module")
def server(tools_server: ServerProcess) -> ServerProcess:
    return tools_server


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0)


def _ask(client: openai.OpenAI, **kwargs: Any) -> Any:
    args = {"model": TOOLS_MODEL, "messages": WEATHER, "temperature": 0, "seed": 7, **kwargs}
    return client.chat.completions.create(**args)


def _calls(message: Any) -> list[tuple[str, str]]:
    return [(c.function.name, c.function.arguments) for c in message.tool_calls or []]


def _stream(server: ServerProcess, **kwargs: Any) -> list[dict[str, Any]]:
    """The raw chunks of a streamed request, each checked against the SDK's chunk model."""
    body = {"model": TOOLS_MODEL, "messages": WEATHER, "temperature": 0, "seed": 7, **kwargs}
    chunks = []
    with httpx.stream(
        "POST", f"{server.base_url}/v1/chat/completions", json={**body, "stream": True}, timeout=120
    ) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            data = json.loads(line[len("data: ") :])
            assert "error" not in data, data
            ChatCompletionChunk.model_validate(data)
            chunks.append(data)
    return chunks


def _reassembled(chunks: list[dict[str, Any]]) -> tuple[list[tuple[str, str]], str, str | None]:
    """Calls (name, arguments), content and the last finish_reason of a stream."""
    calls: dict[int, dict[str, str]] = {}
    content, finish = "", None
    for chunk in chunks:
        for choice in chunk["choices"]:
            delta = choice["delta"]
            content += delta.get("content") or ""
            for call in delta.get("tool_calls") or []:
                index = call["index"]
                if index not in calls:
                    # A call's first delta names it, with its id and type.
                    assert call["id"].startswith("call_") and call["type"] == "function"
                    calls[index] = {"name": call["function"]["name"], "arguments": ""}
                else:
                    assert "id" not in call and "name" not in call["function"]
                calls[index]["arguments"] += call["function"].get("arguments", "")
            finish = choice.get("finish_reason") or finish
    ordered = [(calls[i]["name"], calls[i]["arguments"]) for i in sorted(calls)]
    return ordered, content, finish


def _valid(name: str, arguments: str) -> dict[str, Any]:
    parsed = json.loads(arguments)
    assert isinstance(parsed, dict)
    jsonschema.validate(parsed, SCHEMAS[name])
    return parsed


def test_models_say_which_support_tools_and_reasoning(client: openai.OpenAI) -> None:
    cards = {m.id: m.model_dump() for m in client.models.list().data}
    assert cards[TOOLS_MODEL]["capabilities"] == ["tools"]
    assert cards[THINK_MODEL]["capabilities"] == ["reasoning"]


def test_named_choice_gives_schema_valid_arguments_streamed_alike(
    client: openai.OpenAI, server: ServerProcess
) -> None:
    reply = _ask(client, tools=TOOLS, tool_choice=NAMED, max_tokens=60)
    choice = reply.choices[0]
    assert choice.finish_reason == "stop"  # as OpenAI's for a named function
    assert choice.message.content is None
    [(name, arguments)] = _calls(choice.message)
    assert name == "get_weather"
    _valid(name, arguments)
    assert choice.message.tool_calls[0].id.startswith("call_")
    assert reply.usage is not None and reply.usage.completion_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    chunks = _stream(server, tools=TOOLS, tool_choice=NAMED, max_tokens=60)
    calls, content, finish = _reassembled(chunks)
    assert calls == [(name, arguments)] and content == "" and finish == "stop"


def test_required_gives_valid_calls_streamed_alike(
    client: openai.OpenAI, server: ServerProcess
) -> None:
    reply = _ask(client, tools=TOOLS, tool_choice="required", max_tokens=120)
    choice = reply.choices[0]
    calls = _calls(choice.message)
    assert calls and choice.finish_reason == "tool_calls"
    for name, arguments in calls:
        _valid(name, arguments)
    ids = [c.id for c in choice.message.tool_calls or []]
    assert len(set(ids)) == len(ids)
    streamed, _, finish = _reassembled(
        _stream(server, tools=TOOLS, tool_choice="required", max_tokens=120)
    )
    assert streamed == calls and finish == "tool_calls"


def test_parallel_tool_calls_false_gives_one_call(
    client: openai.OpenAI, server: ServerProcess
) -> None:
    reply = _ask(
        client, tools=TOOLS, tool_choice="required", parallel_tool_calls=False, max_tokens=80
    )
    [(name, arguments)] = _calls(reply.choices[0].message)
    _valid(name, arguments)
    streamed, _, _ = _reassembled(
        _stream(
            server, tools=TOOLS, tool_choice="required", parallel_tool_calls=False, max_tokens=80
        )
    )
    assert streamed == [(name, arguments)]


def test_none_answers_in_plain_text_without_rendering_tools(client: openai.OpenAI) -> None:
    with_tools = _ask(client, tools=TOOLS, tool_choice="none", max_tokens=16)
    without = _ask(client, max_tokens=16)
    message = with_tools.choices[0].message
    assert message.tool_calls is None and message.content
    assert with_tools.choices[0].finish_reason in ("stop", "length")
    assert with_tools.usage is not None and without.usage is not None
    assert with_tools.usage.prompt_tokens == without.usage.prompt_tokens
    assert message.content == without.choices[0].message.content


# A conversation in which the model has already called the tool in its own format, twice:
# the tiny model follows the pattern, so 'auto' has a real call of the model's to read.
def _asked_and_called(city: str, call_id: str) -> list[dict[str, Any]]:
    arguments = json.dumps({"city": city, "unit": "celsius"})
    return [
        {"role": "user", "content": f"What is the weather like in {city}?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": arguments},
                }
            ],
        },
    ]


FEW_SHOT = [
    *_asked_and_called("Rome", "call_rome"),
    *_asked_and_called("Berlin", "call_berlin"),
    {"role": "user", "content": "What is the weather like in Paris?"},
]


def test_auto_reads_the_models_own_calls_streamed_alike(
    client: openai.OpenAI, server: ServerProcess
) -> None:
    reply = _ask(client, messages=FEW_SHOT, tools=TOOLS, tool_choice="auto", max_tokens=60)
    choice = reply.choices[0]
    calls = _calls(choice.message)
    # The model's <tool_call> markup never reaches the content: it is a call.
    assert "<tool_call>" not in (choice.message.content or "")
    assert calls, choice.message
    assert choice.finish_reason == "tool_calls"
    for name, arguments in calls:
        assert name in SCHEMAS and isinstance(json.loads(arguments), dict)
    streamed, content, finish = _reassembled(
        _stream(server, messages=FEW_SHOT, tools=TOOLS, tool_choice="auto", max_tokens=60)
    )
    assert streamed == calls and finish == "tool_calls"
    assert content.strip() == (choice.message.content or "").strip()


def test_a_tool_result_round_trip(client: openai.OpenAI) -> None:
    first = _ask(client, tools=TOOLS, tool_choice=NAMED, max_tokens=60)
    call = (first.choices[0].message.tool_calls or [])[0]
    city = json.loads(call.function.arguments)["city"]
    messages = [
        *WEATHER,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": f"Sunny, 24 degrees in {city}."},
    ]
    second = _ask(client, messages=messages, tools=TOOLS, tool_choice="auto", max_tokens=30)
    answer = second.choices[0].message
    assert answer.content or answer.tool_calls
    assert second.usage is not None and first.usage is not None
    # The first prompt, the call and its result are all in the second prompt.
    assert second.usage.prompt_tokens > first.usage.prompt_tokens + first.usage.completion_tokens


@pytest.mark.parametrize(
    ("model", "change", "param"),
    [
        (
            TOOLS_MODEL,
            {"tools": [{"type": "function", "function": {"name": "bad name!"}}]},
            "tools",
        ),
        (
            TOOLS_MODEL,
            {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": 5}}}]},
            "tools",
        ),
        (
            TOOLS_MODEL,
            {"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "nope"}}},
            "tool_choice",
        ),
        (THINK_MODEL, {"tools": TOOLS, "tool_choice": "auto"}, "tool_choice"),
        (THINK_MODEL, {"tools": TOOLS}, "tools"),
        (TOOLS_MODEL, {"reasoning_effort": "high"}, "reasoning_effort"),
        (TOOLS_MODEL, {"tools": TOOLS, "functions": [{"name": "f"}]}, "functions"),
    ],
)
def test_bad_tool_requests_are_400_naming_the_param(
    client: openai.OpenAI, model: str, change: dict[str, Any], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        _ask(client, model=model, max_tokens=4, **change)
    assert err.value.body["param"] == param  # type: ignore[index]


def test_deprecated_functions_map_onto_tools(client: openai.OpenAI) -> None:
    reply = _ask(
        client,
        functions=[TOOLS[0]["function"]],
        function_call={"name": "get_weather"},
        max_tokens=60,
    )
    [(name, arguments)] = _calls(reply.choices[0].message)
    assert name == "get_weather"
    _valid(name, arguments)


def test_reasoning_goes_to_reasoning_content(client: openai.OpenAI, server: ServerProcess) -> None:
    args: dict[str, Any] = {"model": THINK_MODEL, "max_tokens": 24}
    reply = _ask(client, **args)
    message = reply.choices[0].message.model_dump()
    assert message["reasoning_content"]
    assert "<think>" not in (message["content"] or "")
    assert "</think>" not in message["reasoning_content"]
    chunks = _stream(server, **args)
    streamed = "".join(
        c["choices"][0]["delta"].get("reasoning_content") or "" for c in chunks if c["choices"]
    )
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert streamed == message["reasoning_content"]
    assert content == (message["content"] or "")
    effort = _ask(client, reasoning_effort="high", **args)
    assert effort.usage is not None and reply.usage is not None
    # The template renders the effort: the prompt grows by its system turn.
    assert effort.usage.prompt_tokens > reply.usage.prompt_tokens


def test_an_agent_framework_calls_a_tool(server: ServerProcess) -> None:
    """The OpenAI Agents SDK, as its docs show it with a Chat Completions model: the agent
    forces its tool, which runs with the arguments our server produced."""
    import agents

    agents.set_tracing_disabled(True)  # traces would go to OpenAI's servers
    seen: list[str] = []

    @agents.function_tool
    def get_weather(city: str) -> str:
        """The current weather in a city.

        Args:
            city: The city's name.
        """
        seen.append(city)
        return f"Sunny in {city}"

    client = openai.AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key="unused")
    agent = agents.Agent(
        name="weather",
        instructions="Answer questions about the weather.",
        model=agents.OpenAIChatCompletionsModel(model=TOOLS_MODEL, openai_client=client),
        model_settings=agents.ModelSettings(tool_choice="get_weather", temperature=0),
        tools=[get_weather],
        tool_use_behavior="stop_on_first_tool",
    )
    result = agents.Runner.run_sync(agent, "What is the weather like in Paris?", max_turns=2)
    assert len(seen) == 1 and seen[0]
    assert result.final_output == f"Sunny in {seen[0]}"
