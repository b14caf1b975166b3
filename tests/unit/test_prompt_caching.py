"""Prompt caching reported on every generation endpoint: the engine's prefix-cache hits as
OpenAI's ``cached_tokens`` (chat, completions, Responses) and Anthropic's
``cache_read_input_tokens``; and the Messages stream's keepalive pings."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.generation.messages.events import event, with_pings
from server.generation.messages.protocol import MessageEvent
from tests.support.app import MODEL, fake_client

LONG = " ".join(f"word{i}" for i in range(40))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with fake_client(tmp_path, f"store:\n  data_dir: {tmp_path / 'data'}\n") as c:
        yield c


def _cached(usage: dict[str, object], details: str) -> int:
    found = usage[details]
    assert isinstance(found, dict)
    return int(found["cached_tokens"])


def test_chat_reports_the_cached_prefix_of_a_repeated_prompt(client: TestClient) -> None:
    body = {"model": MODEL, "max_tokens": 2, "messages": [{"role": "user", "content": LONG}]}
    first = client.post("/v1/chat/completions", json=body).json()["usage"]
    assert _cached(first, "prompt_tokens_details") == 0
    again = client.post("/v1/chat/completions", json=body).json()["usage"]
    cached = _cached(again, "prompt_tokens_details")
    assert 0 < cached < again["prompt_tokens"] == first["prompt_tokens"]
    stream = body | {"stream": True, "stream_options": {"include_usage": True}}
    lines = client.post("/v1/chat/completions", json=stream).text.splitlines()
    chunks = [json.loads(x[6:]) for x in lines if x.startswith("data: {")]
    assert _cached(chunks[-1]["usage"], "prompt_tokens_details") == cached


def test_completions_and_responses_report_it_too(client: TestClient) -> None:
    body = {"model": MODEL, "max_tokens": 2, "prompt": LONG}
    client.post("/v1/completions", json=body)
    usage = client.post("/v1/completions", json=body).json()["usage"]
    assert 0 < _cached(usage, "prompt_tokens_details") < usage["prompt_tokens"]
    request = {"model": MODEL, "max_output_tokens": 2, "input": LONG}
    client.post("/v1/responses", json=request)
    usage = client.post("/v1/responses", json=request).json()["usage"]
    details = usage["input_tokens_details"]
    assert 0 < details["cached_tokens"] < usage["input_tokens"]
    assert details["cache_write_tokens"] == 0


def test_a_quiet_stream_gets_pings_and_keeps_its_events() -> None:
    async def slow() -> AsyncIterator[MessageEvent]:
        yield event("message_start")
        await asyncio.sleep(0.35)
        yield event("message_stop")

    async def collect() -> list[str]:
        return [e.type async for e in with_pings(slow(), 0.1)]

    names = asyncio.run(collect())
    assert names[0] == "message_start" and names[-1] == "message_stop"
    assert 2 <= names.count("ping") <= 4 and len(names) == names.count("ping") + 2


def test_closing_a_pinged_stream_closes_the_one_inside() -> None:
    closed: list[bool] = []

    async def endless() -> AsyncIterator[MessageEvent]:
        try:
            while True:
                await asyncio.sleep(1)
                yield event("ping")
        finally:
            closed.append(True)

    async def main() -> None:
        stream = with_pings(endless(), 0.05)
        assert (await anext(stream)).type == "ping"
        await stream.aclose()

    asyncio.run(main())
    assert closed == [True]
