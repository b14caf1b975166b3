"""The Batch API end to end through the official SDK, against a real server process: real
vLLM (smollm2-135m-instruct, priority scheduling on) and a real encoder, with an API key
(batch lines pass the key check with the server's own credential)."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.integration.batches_support import (
    ENCODER,
    embed_lines,
    jsonl,
    lines_of,
    request_line,
    submit,
    wait,
    wait_completed,
)
from tests.integration.conftest import CHAT_MODEL
from tests.support.server import ServerProcess, served

KEY = "batch-test-key"
CHAT = "/v1/chat/completions"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    config = {
        "api_keys": [KEY],
        "batches": {"poll_s": 0.2, "max_in_flight": 8},
        "models": [
            {
                "name": CHAT_MODEL,
                "task": "generate",
                "source": f"bundled:{CHAT_MODEL}",
                "engine": {
                    "dtype": "float32",
                    "max_model_len": 1024,
                    "enforce_eager": True,
                    "enable_priority_scheduling": True,
                },
            },
            {"name": ENCODER, "task": "embed", "source": f"bundled:{ENCODER}", "torch_threads": 1},
        ],
    }
    with served(tmp_path_factory, "batches", config) as proc:
        yield proc


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=KEY, max_retries=0)


def chat_body(prompt: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": CHAT_MODEL,
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": 8,
        "temperature": 0,
    } | extra


def test_the_api_key_guards_the_batch_api(server: ServerProcess) -> None:
    assert server.http.get("/v1/files").status_code == 401
    assert server.http.get("/v1/batches").status_code == 401


def test_a_chat_batch_end_to_end(api: openai.OpenAI, server: ServerProcess) -> None:
    prompts = [f"Say the number {i}." for i in range(6)]
    lines = [request_line(f"c{i}", CHAT, chat_body(p)) for i, p in enumerate(prompts)]
    lines.append(request_line("unknown-model", CHAT, chat_body("hi") | {"model": "nope"}))
    lines.append(request_line("bad-param", CHAT, chat_body("hi", n=0)))
    batch = submit(api, lines, CHAT)
    assert batch.status == "validating" and batch.endpoint == CHAT
    assert batch.id in [b.id for b in api.batches.list(limit=100)]
    done = wait(api, batch.id, ("completed", "failed", "expired"))
    assert done.status == "completed", done
    counts = done.request_counts
    assert (counts.total, counts.completed, counts.failed) == (8, 6, 2)
    output, errors = lines_of(api, done.output_file_id), lines_of(api, done.error_file_id)
    assert [x["custom_id"] for x in output] == [f"c{i}" for i in range(6)]
    assert [x["custom_id"] for x in errors] == ["unknown-model", "bad-param"]
    auth = {"authorization": f"Bearer {KEY}"}
    for item, prompt in zip(output, prompts, strict=True):
        body = item["response"]["body"]
        assert item["response"]["status_code"] == 200 and item["error"] is None
        reply = server.http.post(CHAT, json=chat_body(prompt), headers=auth).json()
        assert body["choices"] == reply["choices"]
        # The same counts; only the share of the prompt found in the prefix cache may differ.
        details = "prompt_tokens_details"
        assert {k: v for k, v in body["usage"].items() if k != details} == {
            k: v for k, v in reply["usage"].items() if k != details
        }
        assert set(body) == set(reply)
    for item in errors:
        request = lines[[x["custom_id"] for x in lines].index(item["custom_id"])]["body"]
        answer = server.http.post(CHAT, json=request, headers=auth)
        assert item["response"]["status_code"] == answer.status_code
        assert item["response"]["body"] == answer.json()
    # Files of the batch: listed, and deleted like any other.
    assert api.files.retrieve(done.output_file_id).purpose == "batch_output"
    assert api.files.delete(done.output_file_id).deleted
    with pytest.raises(openai.NotFoundError):
        api.files.content(done.output_file_id)
    metrics = server.http.get("/metrics", headers={"authorization": f"Bearer {KEY}"}).text
    assert 'inference_batches{status="completed"}' in metrics
    assert f'inference_batch_lines_total{{endpoint="{CHAT}",status="done"}}' in metrics


def test_embeddings_and_responses_batches(api: openai.OpenAI) -> None:
    lines = embed_lines(12, words=4)
    done = wait(api, submit(api, lines, "/v1/embeddings").id, ("completed", "failed"))
    assert done.status == "completed" and done.request_counts.completed == 12
    for item, line in zip(lines_of(api, done.output_file_id), lines, strict=True):
        vector = item["response"]["body"]["data"][0]["embedding"]
        online = api.embeddings.create(model=ENCODER, input=line["body"]["input"])
        assert math.dist(vector, online.data[0].embedding) < 1e-4
    body = {"model": CHAT_MODEL, "input": "Hello", "max_output_tokens": 8, "temperature": 0}
    responses = [request_line(f"r{i}", "/v1/responses", body) for i in range(2)]
    done = wait(api, submit(api, responses, "/v1/responses").id, ("completed", "failed"))
    assert done.status == "completed", done
    for item in lines_of(api, done.output_file_id):
        assert item["response"]["body"]["object"] == "response"


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (b"{not json}\n", "invalid_json_line"),
        (
            json.dumps({"method": "POST", "url": CHAT, "body": {}}).encode(),
            "missing_required_parameter",
        ),
        (json.dumps(request_line("c0", CHAT, {})).encode(), "duplicate_custom_id"),
        (json.dumps(request_line("x", "/v1/embeddings", {})).encode(), "mismatched_endpoint"),
        (json.dumps(request_line("x", CHAT, {}) | {"method": "PUT"}).encode(), "invalid_method"),
    ],
)
def test_a_bad_line_fails_the_batch(api: openai.OpenAI, bad: bytes, code: str) -> None:
    data = jsonl([request_line("c0", CHAT, chat_body("hi"))]) + bad + b"\n"
    uploaded = api.files.create(file=("bad.jsonl", io.BytesIO(data)), purpose="batch")
    batch = api.batches.create(input_file_id=uploaded.id, endpoint=CHAT, completion_window="24h")
    failed = wait(api, batch.id, ("failed", "completed"), timeout=60)
    assert failed.status == "failed" and failed.errors is not None
    assert [(e.code, e.line) for e in failed.errors.data] == [(code, 2)]


def test_create_refuses_a_bad_request(api: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        api.batches.create(input_file_id="file-none", endpoint=CHAT, completion_window="24h")
    uploaded = api.files.create(file=("x.jsonl", io.BytesIO(b"{}\n")), purpose="batch")
    with pytest.raises(openai.BadRequestError):
        api.batches.create(
            input_file_id=uploaded.id,
            endpoint="/v1/moderations",  # type: ignore[arg-type]
            completion_window="24h",
        )
    with pytest.raises(openai.BadRequestError):
        api.files.create(file=("x.jsonl", io.BytesIO(b"{}\n")), purpose="fine-tune")


def test_cancel_a_running_batch(api: openai.OpenAI) -> None:
    lines = embed_lines(3000)
    batch = submit(api, lines, "/v1/embeddings")
    wait_completed(api, batch.id, 5)
    assert api.batches.cancel(batch.id).status in ("cancelling", "cancelled")
    cancelled = wait(api, batch.id, ("cancelled",), timeout=60)
    output = lines_of(api, cancelled.output_file_id)
    assert 5 <= len(output) == cancelled.request_counts.completed < 3000
    assert len({x["custom_id"] for x in output}) == len(output)
    with pytest.raises(openai.ConflictError):
        api.batches.cancel(
            wait(api, submit(api, embed_lines(1), "/v1/embeddings").id, ("completed",)).id
        )
