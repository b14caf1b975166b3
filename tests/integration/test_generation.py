"""The real server with the real vLLM CPU engine, driven over HTTP by the official SDK."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import jsonschema
import openai
import pytest
from transformers import AutoTokenizer

from tests.integration.conftest import CHAT_MODEL
from tests.support.server import MODELS_DIR, ServerProcess

pytestmark = pytest.mark.integration

MODEL = CHAT_MODEL
PARIS = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(scope="module")
def server(chat_server: ServerProcess) -> ServerProcess:
    return chat_server


@pytest.fixture(scope="module")
def client(chat_client: openai.OpenAI) -> openai.OpenAI:
    return chat_client


@pytest.fixture(scope="module")
def tokenizer(chat_tokenizer):  # type: ignore[no-untyped-def]
    return chat_tokenizer


def test_default_model_answers_paris(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model=MODEL, messages=PARIS, temperature=0)
    assert "Paris" in (reply.choices[0].message.content or "")
    assert reply.choices[0].finish_reason == "stop"
    assert reply.object == "chat.completion" and reply.id.startswith("chatcmpl-")
    assert reply.model == MODEL and reply.created > 1_700_000_000


def test_usage_equals_the_tokenizer_counts(client: openai.OpenAI, tokenizer) -> None:  # type: ignore[no-untyped-def]
    reply = client.chat.completions.create(
        model=MODEL, messages=PARIS, max_tokens=12, logprobs=True, temperature=0
    )
    expected_prompt = tokenizer.apply_chat_template(
        PARIS, add_generation_prompt=True, tokenize=True
    )
    if not isinstance(expected_prompt, list):  # newer Transformers return a BatchEncoding
        expected_prompt = expected_prompt["input_ids"]
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == len(expected_prompt)
    assert reply.choices[0].logprobs is not None
    generated = reply.choices[0].logprobs.content or []
    assert reply.usage.completion_tokens == len(generated) <= 12
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    text = client.completions.create(model=MODEL, prompt="The sky is", max_tokens=7)
    assert text.usage is not None
    assert text.usage.prompt_tokens == len(tokenizer.encode("The sky is"))
    assert text.usage.completion_tokens == 7 and text.choices[0].finish_reason == "length"


def test_chat_stream_orders_role_content_finish_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model=MODEL,
        messages=PARIS,
        max_tokens=20,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    finishes = [c.choices[0].finish_reason for c in chunks[:-1]]
    assert finishes[-1] in ("stop", "length") and all(f is None for f in finishes[:-1])
    text = "".join(c.choices[0].delta.content or "" for c in chunks[:-1])
    full = client.chat.completions.create(model=MODEL, messages=PARIS, max_tokens=20, temperature=0)
    assert text == full.choices[0].message.content
    assert chunks[-1].usage.completion_tokens == full.usage.completion_tokens  # type: ignore[union-attr]
    assert len({c.id for c in chunks}) == 1


def test_completion_stream_and_token_prompts(client: openai.OpenAI, tokenizer) -> None:  # type: ignore[no-untyped-def]
    ids = tokenizer.encode("Once upon a time")
    by_text = client.completions.create(
        model=MODEL, prompt="Once upon a time", max_tokens=8, temperature=0
    )
    by_ids = client.completions.create(model=MODEL, prompt=ids, max_tokens=8, temperature=0)
    assert by_text.choices[0].text == by_ids.choices[0].text
    stream = client.completions.create(
        model=MODEL,
        prompt=ids,
        max_tokens=8,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == by_text.choices[0].text
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 8


def test_n_two_returns_two_indexed_choices(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL, messages=PARIS, n=2, max_tokens=8, temperature=1.0, seed=3
    )
    assert [c.index for c in reply.choices] == [0, 1]
    assert all(c.message.content for c in reply.choices)
    batch = client.completions.create(model=MODEL, prompt=["Hello", "Goodbye"], n=2, max_tokens=4)
    assert sorted(c.index for c in batch.choices) == [0, 1, 2, 3]


def test_stop_string_ends_the_text_before_it(client: openai.OpenAI) -> None:
    prompt = "List the numbers from one to ten separated by commas:"
    free = client.completions.create(model=MODEL, prompt=prompt, max_tokens=24, temperature=0)
    text = free.choices[0].text
    middle = len(text) // 2
    stop = text[middle : middle + 3]
    assert len(stop) == 3, f"too little text to stop in: {text!r}"
    stopped = client.completions.create(
        model=MODEL, prompt=prompt, max_tokens=24, temperature=0, stop=[stop, "\u2603"]
    )
    assert stopped.choices[0].text == text[: text.index(stop)]
    assert stopped.choices[0].finish_reason == "stop"


def test_same_seed_same_text(client: openai.OpenAI) -> None:
    def sample(seed: int) -> str:
        reply = client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "Tell me a story."}],
            max_tokens=16,
            temperature=1.0,
            seed=seed,
        )
        return reply.choices[0].message.content or ""

    assert sample(1234) == sample(1234)


def test_json_schema_output_parses_and_matches(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"],
        "additionalProperties": False,
    }
    reply = client.chat.completions.create(
        model=MODEL,
        max_tokens=60,
        temperature=0,
        messages=[{"role": "user", "content": "Give the largest city of France as JSON."}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "city", "schema": schema, "strict": True},
        },
    )
    jsonschema.validate(json.loads(reply.choices[0].message.content or ""), schema)
    reply = client.chat.completions.create(
        model=MODEL,
        max_tokens=200,
        temperature=0,
        messages=[{"role": "user", "content": 'Reply with {"capital": ...} for France.'}],
        response_format={"type": "json_object"},
    )
    assert reply.choices[0].finish_reason == "stop", reply.choices[0].message.content
    assert isinstance(json.loads(reply.choices[0].message.content or ""), dict)


def test_logprob_shapes(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=MODEL, messages=PARIS, max_tokens=5, logprobs=True, top_logprobs=3
    )
    content = reply.choices[0].logprobs.content  # type: ignore[union-attr]
    assert content is not None and len(content) == reply.usage.completion_tokens  # type: ignore[union-attr]
    for token in content:
        assert token.logprob <= 0 and len(token.top_logprobs) == 3
        ranked = [t.logprob for t in token.top_logprobs]
        assert ranked == sorted(ranked, reverse=True)
        assert token.logprob <= ranked[0] + 1e-5
    text = client.completions.create(model=MODEL, prompt="Hello", max_tokens=4, logprobs=2)
    lp = text.choices[0].logprobs
    assert lp is not None and len(lp.tokens or []) == 4
    assert len(lp.token_logprobs or []) == 4 and all(len(d) <= 2 for d in lp.top_logprobs or [])
    assert lp.text_offset == sorted(lp.text_offset or [])


def test_errors_are_openai_shaped(client: openai.OpenAI, server: ServerProcess) -> None:
    with pytest.raises(openai.NotFoundError) as not_found:
        client.chat.completions.create(model="no-such-model", messages=PARIS)
    assert not_found.value.body["code"] == "model_not_found"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as too_long:
        client.chat.completions.create(model=MODEL, messages=PARIS, max_tokens=5000)
    message = too_long.value.body["message"]  # type: ignore[index]
    assert "1024" in message and "5000" in message
    with pytest.raises(openai.BadRequestError) as tools:
        client.chat.completions.create(
            model=MODEL,
            messages=PARIS,
            tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}],
        )
    assert tools.value.body["param"] == "tools"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as bad_param:
        client.chat.completions.create(model=MODEL, messages=PARIS, top_p=3)
    assert bad_param.value.body["param"] == "top_p"  # type: ignore[index]
    r = httpx.post(
        f"{server.base_url}/v1/completions",
        content=b'{"model": ',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


def test_invalid_schema_is_400_and_engine_keeps_serving(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(
            model=MODEL,
            messages=PARIS,
            max_tokens=5,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": {"type": "no-such-type"}},
            },
        )
    assert err.value.body["param"] == "response_format"  # type: ignore[index]
    reply = client.chat.completions.create(model=MODEL, messages=PARIS, max_tokens=3)
    assert reply.usage is not None and reply.usage.completion_tokens == 3


async def test_disconnect_aborts_engine_requests(server: ServerProcess) -> None:
    body = {
        "model": MODEL,
        "messages": PARIS,
        "max_tokens": 900,
        "ignore_eos": True,
        "stream": True,
    }
    async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
        for _ in range(3):
            async with http.stream("POST", "/v1/chat/completions", json=body) as response:
                assert response.status_code == 200
                lines = response.aiter_lines()
                for _ in range(6):
                    await anext(lines)
        # A non-streaming request whose client gives up.
        with pytest.raises(httpx.ReadTimeout):
            await http.post("/v1/chat/completions", timeout=2.0, json={**body, "stream": False})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if server.metric("inference_running_requests", model=MODEL) == 0:
                break
            await asyncio.sleep(0.2)
        assert server.metric("inference_running_requests", model=MODEL) == 0
        # The engine is free: a new request completes at once.
        r = await http.post(
            "/v1/chat/completions", json={"model": MODEL, "messages": PARIS, "max_tokens": 2}
        )
        assert r.status_code == 200


def test_request_id_reaches_response_log_and_engine(server: ServerProcess) -> None:
    r = httpx.post(
        f"{server.base_url}/v1/chat/completions",
        headers={"X-Request-Id": "trace-42"},
        json={"model": MODEL, "messages": PARIS, "max_tokens": 2},
        timeout=60,
    )
    assert r.headers["x-request-id"] == "trace-42"
    assert r.json()["id"] == "chatcmpl-trace-42"
    time.sleep(0.3)
    access = [
        json.loads(line)
        for line in server.log().splitlines()
        if line.startswith("{") and '"trace-42"' in line
    ]
    line = next(rec for rec in access if rec.get("logger") == "server.access")
    assert line["status"] == 200 and line["model"] == MODEL
    assert line["prompt_tokens"] > 0 and line["completion_tokens"] == 2


def test_models_health_ready_metrics(server: ServerProcess) -> None:
    base = server.base_url
    models = httpx.get(f"{base}/v1/models").json()["data"]
    root = models[0].pop("root")  # where its weights come from
    assert root is None or "smollm2" in root
    assert models == [
        {
            "id": MODEL,
            "object": "model",
            "created": models[0]["created"],
            "owned_by": "inference-server",
            "task": "generate",
            "tasks": ["generate", "summarize", "translate"],
            "pipeline_tags": ["text-generation", "summarization", "translation"],
            "prompts": None,
            "max_model_len": 1024,
            "ready": True,
            "state": "loaded",
            "runtime": "vllm",
            "capabilities": [],
            "parent": None,
        }
    ]
    assert httpx.get(f"{base}/health").status_code == 200
    assert httpx.get(f"{base}/ready").status_code == 200
    labels = {"model": MODEL, "endpoint": "/v1/chat/completions"}
    assert server.metric("inference_time_to_first_token_seconds_count", **labels) > 0
    assert server.metric("inference_inter_token_latency_seconds_count", **labels) > 0
    assert server.metric("inference_generation_tokens_total", **labels) > 0
    assert server.metric("inference_requests_total", status="200", **labels) > 0
    assert server.metric("inference_waiting_requests", model=MODEL) >= 0


def test_tokenize_matches_chat_usage(server: ServerProcess, client: openai.OpenAI) -> None:
    r = httpx.post(f"{server.base_url}/tokenize", json={"model": MODEL, "messages": PARIS})
    count = r.json()["count"]
    reply = client.chat.completions.create(model=MODEL, messages=PARIS, max_tokens=1)
    assert reply.usage is not None and reply.usage.prompt_tokens == count
    tokens = httpx.post(
        f"{server.base_url}/tokenize", json={"model": MODEL, "prompt": "Bonjour Paris"}
    ).json()["tokens"]
    text = httpx.post(
        f"{server.base_url}/detokenize", json={"model": MODEL, "tokens": tokens}
    ).json()["prompt"]
    assert text.endswith("Bonjour Paris")


def test_chat_template_override_is_used(tmp_path: Path) -> None:
    """A model entry's own template (inline) replaces the model's."""
    template = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}"
    from server.generation.protocol import ChatMessage
    from server.generation.service.prompts import PromptBuilder

    builder = PromptBuilder(AutoTokenizer.from_pretrained(MODELS_DIR / MODEL), template)
    ids = builder.chat(
        [ChatMessage(role="user", content="hi")],
        add_generation_prompt=False,
        continue_final_message=False,
        template_kwargs=None,
    )
    assert builder.decode(ids) == "[user] hi\n"
