"""``/v1/responses`` on the real server, engine and SQLite store, through the official SDK
and the OpenAI Agents SDK's default (Responses) model: stored responses and their chains,
typed streaming events, a function tool loop, json_schema, background runs and cancel, and
a stored response that outlives its server."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import httpx
import jsonschema
import openai
import pytest
from pydantic import Field

from tests.integration.conftest import TOOLS_MODEL
from tests.support.server import ServerProcess, start_server

pytestmark = pytest.mark.integration

MODEL = TOOLS_MODEL
WEATHER_PARAMETERS = {
    "type": "object",
    "properties": {"city": {"type": "string", "maxLength": 40}},
    "required": ["city"],
    "additionalProperties": False,
}
TOOLS: list[Any] = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": WEATHER_PARAMETERS,
    }
]
ASK: dict[str, Any] = {"model": MODEL, "temperature": 0, "max_output_tokens": 24}
# Room for a whole forced call (its JSON is cut short by a smaller limit).
CALL: dict[str, Any] = {**ASK, "max_output_tokens": 80}


@pytest.fixture(scope="module")
def server(tools_server: ServerProcess) -> ServerProcess:
    """The shared tools server: its tool-calling model, and its SQLite store."""
    return tools_server


@pytest.fixture(scope="module")
def client(server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0)


def test_create_retrieve_list_delete(client: openai.OpenAI) -> None:
    created = client.responses.create(input="What is the capital of France?", **ASK)
    assert created.id.startswith("resp_") and created.object == "response"
    assert created.status in ("completed", "incomplete")
    assert created.output_text and created.output[0].type == "message"
    assert created.usage is not None
    assert created.usage.total_tokens == created.usage.input_tokens + created.usage.output_tokens
    got = client.responses.retrieve(created.id)
    assert got.model_dump() == created.model_dump()
    items = client.responses.input_items.list(created.id)
    assert [i.type for i in items.data] == ["message"]
    assert items.data[0].content[0].text == "What is the capital of France?"  # type: ignore[union-attr]
    client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError) as info:
        client.responses.retrieve(created.id)
    assert info.value.body["code"] == "response_not_found"  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        client.responses.delete(created.id)


def test_store_false_keeps_nothing(client: openai.OpenAI) -> None:
    created = client.responses.create(input="Say yes.", store=False, **ASK)
    assert created.store is False and created.output_text
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)


def test_input_items_pages_in_both_orders(client: openai.OpenAI) -> None:
    turns: Any = [{"role": "user", "content": f"Message number {i}."} for i in range(5)]
    created = client.responses.create(input=turns, **ASK)
    asc = client.responses.input_items.list(created.id, order="asc", limit=2)
    assert [i.content[0].text for i in asc.data] == ["Message number 0.", "Message number 1."]  # type: ignore[union-attr]
    assert asc.has_more and asc.last_id
    rest = client.responses.input_items.list(created.id, order="asc", after=asc.last_id)
    assert rest.data[0].content[0].text == "Message number 2."  # type: ignore[union-attr]
    assert not rest.has_more and len(rest.data) == 3
    desc = client.responses.input_items.list(created.id)
    assert desc.data[0].content[0].text == "Message number 4."  # type: ignore[union-attr]


def test_previous_response_id_continues_the_conversation(client: openai.OpenAI) -> None:
    first = client.responses.create(
        input="My name is Alice. Remember it.", instructions="Be brief.", **ASK
    )
    second = client.responses.create(input="What is my name?", previous_response_id=first.id, **ASK)
    alone = client.responses.create(input="What is my name?", **ASK)
    assert second.previous_response_id == first.id
    assert first.usage and second.usage and alone.usage
    # The chain's earlier input and output are in the second prompt; the first's
    # instructions are not (as OpenAI has it).
    grown = second.usage.input_tokens - alone.usage.input_tokens
    assert grown >= first.usage.output_tokens + 5
    assert grown < first.usage.input_tokens + first.usage.output_tokens
    third = client.responses.create(input="Again?", previous_response_id=second.id, **ASK)
    assert third.usage and third.usage.input_tokens > second.usage.input_tokens


def test_unknown_previous_response_is_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client.responses.create(input="hi", previous_response_id="resp_missing", **ASK)
    assert info.value.body["param"] == "previous_response_id"  # type: ignore[index]


def _events(server: ServerProcess, body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The raw (event name, data) pairs of a streamed response."""
    events = []
    with httpx.stream(
        "POST", f"{server.base_url}/v1/responses", json={**body, "stream": True}, timeout=120
    ) as response:
        assert response.status_code == 200
        name = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                assert line != "data: [DONE]"
                events.append((str(name), json.loads(line[len("data: ") :])))
    return events


def test_streamed_events_are_ordered_and_add_up(
    server: ServerProcess, client: openai.OpenAI
) -> None:
    events = _events(server, {"input": "Tell me about Paris.", **ASK, "max_output_tokens": 16})
    types = [data["type"] for _, data in events]
    assert [name for name, _ in events] == types
    numbers = [data["sequence_number"] for _, data in events]
    assert numbers == sorted(set(numbers)) and numbers[0] == 0
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.incomplete",
    ]
    final = events[-1][1]["response"]
    assert final["incomplete_details"] == {"reason": "max_output_tokens"}
    text = "".join(d["delta"] for _, d in events if d["type"] == "response.output_text.delta")
    assert text and text == final["output"][0]["content"][0]["text"]
    done = next(d for _, d in events if d["type"] == "response.output_text.done")
    assert done["text"] == text
    # Stored before the final event was sent.
    assert client.responses.retrieve(final["id"]).output_text == text


def test_sdk_stream_helper_gets_the_final_response(client: openai.OpenAI) -> None:
    with client.responses.stream(input="Say hello.", model=MODEL, temperature=0) as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert final.status == "completed" and "".join(deltas) == final.output_text


def test_a_function_tool_loop(server: ServerProcess, client: openai.OpenAI) -> None:
    asked = client.responses.create(
        input="What is the weather in Paris?", tools=TOOLS, tool_choice="required", **CALL
    )
    assert asked.status == "completed"
    calls = [item for item in asked.output if item.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "get_weather"
    jsonschema.validate(json.loads(calls[0].arguments), WEATHER_PARAMETERS)
    assert calls[0].call_id and calls[0].id.startswith("fc_")
    answered = client.responses.create(
        input=[
            {"type": "function_call_output", "call_id": calls[0].call_id, "output": "Sunny, 21 C"}
        ],
        previous_response_id=asked.id,
        tools=TOOLS,
        **{**ASK, "max_output_tokens": 40},
    )
    assert answered.output_text and answered.output[0].type == "message"
    # The same loop streamed: the call's arguments arrive as deltas that add up.
    events = _events(
        server,
        {"input": "Weather in Rome?", "tools": TOOLS, "tool_choice": "required", **CALL},
    )
    args = "".join(
        d["delta"] for _, d in events if d["type"] == "response.function_call_arguments.delta"
    )
    done = next(d for _, d in events if d["type"] == "response.function_call_arguments.done")
    assert args == done["arguments"] and done["name"] == "get_weather"
    jsonschema.validate(json.loads(args), WEATHER_PARAMETERS)


def test_replayed_output_items_as_input(client: openai.OpenAI) -> None:
    """Clients that keep the conversation themselves send our output items back."""
    asked = client.responses.create(
        input="Weather in Oslo?", tools=TOOLS, tool_choice="required", store=False, **CALL
    )
    call = next(item for item in asked.output if item.type == "function_call")
    history: Any = [
        {"role": "user", "content": "Weather in Oslo?"},
        *[item.model_dump(exclude_none=True) for item in asked.output],
        {"type": "function_call_output", "call_id": call.call_id, "output": "Snow"},
    ]
    answered = client.responses.create(input=history, tools=TOOLS, store=False, **ASK)
    assert answered.output_text


def test_json_schema_output(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string", "maxLength": 30}},
        "required": ["city"],
        "additionalProperties": False,
    }
    reply = client.responses.create(
        input="Name a city in Italy as JSON.",
        text={"format": {"type": "json_schema", "name": "city", "schema": schema, "strict": True}},
        **{**ASK, "max_output_tokens": 40},
    )
    jsonschema.validate(json.loads(reply.output_text), schema)
    assert reply.text.format.type == "json_schema"  # type: ignore[union-attr]


def _wait(client: openai.OpenAI, response_id: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = client.responses.retrieve(response_id)
        if got.status not in ("queued", "in_progress") or time.monotonic() > deadline:
            return got
        time.sleep(0.3)


def test_background_runs_and_cancels(client: openai.OpenAI) -> None:
    done = client.responses.create(input="Say yes.", background=True, **ASK)
    assert done.status == "queued" and done.background
    finished = _wait(client, done.id)
    assert finished.status in ("completed", "incomplete") and finished.output_text
    long = client.responses.create(
        input="Write a long story about a cat.",
        background=True,
        model=MODEL,
        max_output_tokens=900,
    )
    cancelled = client.responses.cancel(long.id)
    assert cancelled.status == "cancelled"
    time.sleep(1.5)
    assert client.responses.retrieve(long.id).status == "cancelled"
    # Cancelling a response that was not run in the background is refused.
    plain = client.responses.create(input="Say no.", **ASK)
    with pytest.raises(openai.BadRequestError):
        client.responses.cancel(plain.id)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"tools": [{"type": "function"}]}, "tools[0].name"),
        ({"frequency_penalty": 1.0}, "frequency_penalty"),
        ({"top_logprobs": 2}, "top_logprobs"),
        ({"conversation": "conv_1"}, "conversation"),
        (
            {"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "x"}]}]},
            "input[0].content[0].type",
        ),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "input[0].type"),
        ({"background": True, "stream": True}, "stream"),
        ({"text": {"format": {"type": "json_schema"}}}, "text.format"),
        ({"max_output_tokens": 0}, "max_output_tokens"),
    ],
)
def test_bad_requests_are_400_naming_the_param(
    server: ServerProcess, body: dict[str, Any], param: str
) -> None:
    request = {"model": MODEL, "input": "hi", **body}
    reply = server.http.post("/v1/responses", json=request)
    assert reply.status_code == 400, reply.text
    error = reply.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert isinstance(error["code"], str | None)


def test_bad_lookups(server: ServerProcess) -> None:
    assert server.http.get("/v1/responses/resp_nope").status_code == 404
    assert server.http.post("/v1/responses/resp_nope/cancel").status_code == 404
    assert server.http.get("/v1/responses/resp_nope/input_items").status_code == 404
    reply = server.http.post("/v1/responses", json={"model": "nope", "input": "hi"})
    assert reply.status_code == 404 and reply.json()["error"]["code"] == "model_not_found"


def test_truncation_auto_drops_the_oldest_turns(client: openai.OpenAI) -> None:
    filler: Any = [{"role": "user", "content": "word " * 120 + f"(turn {i})"} for i in range(12)]
    with pytest.raises(openai.BadRequestError) as info:
        client.responses.create(input=filler, **ASK)
    assert info.value.body["code"] == "context_length_exceeded"  # type: ignore[index]
    kept = client.responses.create(input=filler, truncation="auto", **ASK)
    assert kept.truncation == "auto" and kept.usage is not None
    assert kept.usage.input_tokens + 24 <= 1024


def test_the_agents_sdk_default_model_runs_a_tool_loop(server: ServerProcess) -> None:
    """The Agents SDK's default model speaks the Responses API: the agent calls its tool,
    gets the result back through ``function_call_output`` and answers."""
    import agents

    agents.set_tracing_disabled(True)  # traces would go to OpenAI's servers
    seen: list[str] = []

    @agents.function_tool
    def get_weather(city: Annotated[str, Field(max_length=40)]) -> str:
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
        model=agents.OpenAIResponsesModel(model=MODEL, openai_client=client),
        # One call per turn: given room, the tiny model repeats its call in the array.
        model_settings=agents.ModelSettings(
            tool_choice="required", parallel_tool_calls=False, temperature=0, max_tokens=400
        ),
        tools=[get_weather],
    )
    result = agents.Runner.run_sync(agent, "What is the weather like in Paris?", max_turns=3)
    assert len(seen) == 1 and seen[0]
    assert isinstance(result.final_output, str) and result.final_output
    # Its turns went through our Responses API: the last one answered after the tool.
    assert result.raw_responses[-1].output[-1].type == "message"


def test_a_stored_response_survives_a_restart(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Stored responses live in the SQLite file: a new server process on the same data
    directory serves them (here a small encoder-only server, enough to read the store)."""
    workdir = tmp_path_factory.mktemp("restart")
    config: dict[str, Any] = {
        "models": [
            {"name": "minilm", "task": "embed", "source": "bundled:all-minilm-l6-v2", "workers": 1}
        ]
    }
    first = start_server(config, workdir)
    try:
        missing = first.http.get("/v1/responses/resp_x")
        assert missing.status_code == 404
    finally:
        assert first.stop() == 0
    # Write a response through the store as the generation server would, then restart.
    import asyncio

    from server.core.settings import StoreSettings
    from server.store.database import Database
    from server.store.responses import ResponseStore

    body = {
        "id": "resp_kept",
        "object": "response",
        "created_at": 1,
        "status": "completed",
        "model": MODEL,
        "output": [],
    }

    async def write() -> None:
        database = Database(StoreSettings(data_dir=workdir / "data"))
        await database.open()
        await ResponseStore(database, owner="test").create(body, [])
        await database.close()

    asyncio.run(write())
    second = start_server(config, workdir)
    try:
        kept = second.http.get("/v1/responses/resp_kept")
        assert kept.status_code == 200 and kept.json()["id"] == "resp_kept"
    finally:
        assert second.stop() == 0
