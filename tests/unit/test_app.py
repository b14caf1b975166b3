"""The HTTP layer over a fake generative model: error shapes, request ids, readiness, SSE."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.support.app import MODEL, assert_openai_error, fake_client


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with fake_client(tmp_path) as c:
        yield c


def test_request_id_is_echoed_or_created(client: TestClient) -> None:
    assert (
        client.get("/health", headers={"X-Request-Id": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    generated = client.get("/health").headers["x-request-id"]
    assert len(generated) == 32
    # An id unfit for logs and headers is replaced.
    assert client.get("/health", headers={"X-Request-Id": "a b"}).headers["x-request-id"] != "a b"


def test_chat_request_id_becomes_engine_and_response_id(client: TestClient) -> None:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    r = client.post("/v1/chat/completions", json=body, headers={"X-Request-Id": "req-7"})
    assert r.status_code == 200
    assert r.json()["id"] == "chatcmpl-req-7"


@pytest.mark.parametrize(
    ("payload", "status", "param"),
    [
        ({"model": "nope", "messages": [{"role": "user", "content": "x"}]}, 404, "model"),
        ({"model": MODEL, "messages": []}, 400, "messages"),
        (
            {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "temperature": 9},
            400,
            "temperature",
        ),
        ({"model": MODEL, "messages": [{"role": "user", "content": "x"}], "n": 0}, 400, "n"),
        (
            {
                "model": MODEL,
                "messages": [{"role": "user", "content": "x"}],
                "logit_bias": {"1": 200},
            },
            400,
            "logit_bias",
        ),
        (
            {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "max_tokens": 999},
            400,
            "max_tokens",
        ),
        ({"model": MODEL, "messages": [{"role": "tool", "content": "x"}]}, 400, None),
        (
            {"model": MODEL, "messages": [{"role": "user", "content": "x"}], "bogus": 1},
            400,
            "bogus",
        ),
        (
            {
                "model": MODEL,
                "messages": [{"role": "user", "content": "x"}],
                "response_format": {"type": "json_schema"},
            },
            400,
            "response_format",
        ),
    ],
)
def test_chat_errors_have_status_and_openai_shape(
    client: TestClient,
    payload: dict,
    status: int,
    param: str | None,  # type: ignore[type-arg]
) -> None:
    r = client.post("/v1/chat/completions", json=payload)
    assert r.status_code == status, r.text
    assert_openai_error(r.json(), param)


def test_malformed_json_and_wrong_types_are_400(client: TestClient) -> None:
    r = client.post(
        "/v1/chat/completions", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert_openai_error(r.json())
    r = client.post("/v1/completions", json=[1, 2])
    assert r.status_code == 400
    assert_openai_error(r.json())
    r = client.post("/v1/completions", json={"model": MODEL, "prompt": [99999]})
    assert r.status_code == 400
    assert_openai_error(r.json(), "prompt")


def test_unknown_route_and_method_use_openai_shape(client: TestClient) -> None:
    r = client.get("/v1/nothing")
    assert r.status_code == 404
    assert_openai_error(r.json())
    r = client.get("/v1/chat/completions")
    assert r.status_code == 405
    assert_openai_error(r.json())


def test_sse_stream_frames_chunks_and_done(client: TestClient) -> None:
    body = {
        "model": MODEL,
        "prompt": "a",
        "max_tokens": 3,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with client.stream("POST", "/v1/completions", json=body) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line[len("data: ") :] for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 3
    assert "".join(c["choices"][0]["text"] for c in chunks[:-1]) == " tok0 tok1 tok2"


def test_models_lists_task_and_context(client: TestClient) -> None:
    data = client.get("/v1/models").json()
    assert data["object"] == "list"
    card = data["data"][0]
    assert card["id"] == MODEL and card["object"] == "model" and card["task"] == "generate"
    assert card["max_model_len"] == 64 and isinstance(card["created"], int)
    assert card["state"] == "loaded" and card["parent"] is None
    assert client.get(f"/v1/models/{MODEL}").json()["id"] == MODEL
    assert client.get("/v1/models/nope").status_code == 404


def test_metrics_count_requests_by_model_endpoint_status(client: TestClient) -> None:
    client.post("/v1/completions", json={"model": MODEL, "prompt": "a", "max_tokens": 2})
    client.post("/v1/completions", json={"model": MODEL, "prompt": "a", "max_tokens": 999})
    text = client.get("/metrics").text
    assert (
        'inference_requests_total{endpoint="/v1/completions",model="fake-llm",'
        'status="200",task="generate"} 1.0'
    ) in text
    assert 'status="400"' in text
    assert "inference_time_to_first_token_seconds_count" in text
    assert 'inference_running_requests{model="fake-llm",task="generate"} 0.0' in text


def test_tokenize_detokenize_round_trip(client: TestClient) -> None:
    r = client.post("/tokenize", json={"model": MODEL, "prompt": "a b c"})
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == len(body["tokens"]) == 4 and body["max_model_len"] == 64
    r = client.post("/detokenize", json={"model": MODEL, "tokens": body["tokens"][1:]})
    assert r.json() == {"prompt": "a b c"}
    r = client.post("/tokenize", json={"model": MODEL})
    assert r.status_code == 400


@pytest.fixture
def secured(tmp_path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    keys = tmp_path / "keys.txt"
    keys.write_text("file-key\n\n")
    with fake_client(tmp_path, f"api_keys: [inline-key]\napi_keys_file: {keys}") as c:
        yield c


def test_api_keys_guard_every_route_but_health_ready_metrics(secured: TestClient) -> None:
    assert secured.get("/health").status_code == 200
    assert secured.get("/metrics").status_code == 200
    for path in ("/v1/models", "//v1/models", "/v1/../v1/models", "/V1/MODELS", "/v1/nothing"):
        r = secured.get(path, headers={"Host": "localhost"})
        assert r.status_code == 401, path
        assert_openai_error(r.json())
        assert r.headers["x-request-id"]
    for key in ("inline-key", "file-key"):
        r = secured.get("/v1/models", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200
    for bad in ("Bearer wrong", "Basic inline-key", "Bearer ", "inline-key"):
        assert secured.get("/v1/models", headers={"Authorization": bad}).status_code == 401


def test_openapi_documents_the_errors_actually_sent(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    chat = doc["paths"]["/v1/chat/completions"]["post"]["responses"]
    assert "422" not in chat
    assert {"200", "400", "401", "404", "413", "429", "503", "504"} <= set(chat)
    assert set(chat["200"]["content"]) == {"application/json", "text/event-stream"}
    error = chat["400"]["content"]["application/json"]["schema"]["$ref"]
    assert error.endswith("/ErrorResponse")
    # A real error body matches the documented one.
    body = client.post("/v1/chat/completions", json={"model": MODEL}).json()
    required = doc["components"]["schemas"]["ErrorResponse"]["properties"]["error"]["required"]
    assert set(body["error"]) == set(required)
    assert "text/plain" in doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
