"""Per-request limits over HTTP (fake engine): each violation is a 400/413 naming the limit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from server.core.errors import LimitExceeded
from server.core.settings import RequestLimits
from server.encoders.limits import check_encoder
from server.encoders.protocol import ClassifyRequest, EmbeddingRequest, RerankRequest
from server.state import server_state
from tests.support.app import MODEL, FakeGenerationModel, assert_openai_error, fake_client

LIMITS = """limits:
  max_body_bytes: 4096
  max_header_count: 20
  max_header_bytes: 2048
  max_inputs: 3
  max_input_chars: 50
  max_n: 2
  max_stop_sequences: 2
  max_tokens: 8
  max_top_logprobs: 3
"""


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with fake_client(tmp_path, LIMITS) as c:
        yield c


def chat(**fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], **fields}


@pytest.mark.parametrize(
    ("fields", "param", "limit"),
    [
        ({"n": 3}, "n", "max_n"),
        ({"stop": ["a", "b", "c"]}, "stop", "max_stop_sequences"),
        ({"max_tokens": 9}, "max_tokens", "max_tokens"),
        ({"max_completion_tokens": 9}, "max_completion_tokens", "max_tokens"),
        ({"logprobs": True, "top_logprobs": 4}, "top_logprobs", "max_top_logprobs"),
        ({"messages": [{"role": "user", "content": "x" * 51}]}, "messages", "max_input_chars"),
        ({"messages": [{"role": "user", "content": "x"}] * 4}, "messages", "max_inputs"),
    ],
)
def test_chat_over_a_limit_is_400_naming_it(
    client: TestClient, fields: dict[str, Any], param: str, limit: str
) -> None:
    r = client.post("/v1/chat/completions", json=chat(**fields))
    assert r.status_code == 400, r.text
    assert_openai_error(r.json(), param)
    assert r.json()["error"]["code"] == "limit_exceeded"
    assert f"limits.{limit}" in r.json()["error"]["message"]


def test_completion_limits_and_default_output_cap(client: TestClient) -> None:
    r = client.post("/v1/completions", json={"model": MODEL, "prompt": "a", "logprobs": 4})
    assert r.status_code == 400 and "limits.max_top_logprobs" in r.text
    r = client.post("/v1/completions", json={"model": MODEL, "prompt": ["a"] * 4})
    assert r.status_code == 400 and "limits.max_inputs" in r.text
    # Chat without max_tokens gets the context's room, capped by limits.max_tokens.
    r = client.post("/v1/chat/completions", json=chat())
    assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] == 8


def test_within_limits_is_served(client: TestClient) -> None:
    r = client.post("/v1/chat/completions", json=chat(n=2, stop=["a", "b"], max_tokens=8))
    assert r.status_code == 200, r.text


def test_body_over_limit_is_413_before_parsing(client: TestClient) -> None:
    big = b'{"model": "' + b"x" * 5000 + b'"}'
    r = client.post("/v1/chat/completions", content=big, headers={"content-type": "x"})
    assert r.status_code == 413
    assert_openai_error(r.json())
    assert "limits.max_body_bytes" in r.json()["error"]["message"]
    # A chunked body (no Content-Length) is counted as it arrives.
    r = client.post("/v1/chat/completions", content=iter([b"{", b" " * 3000, b" " * 3000, b"}"]))
    assert r.status_code == 413 and "limits.max_body_bytes" in r.text
    small = client.post("/v1/chat/completions", content=iter([b'{"model": 1', b"}"]))
    assert small.status_code == 400  # read whole, then parsed (and refused for its content)


def test_header_count_and_size_limits(client: TestClient) -> None:
    many = {f"x-h{i}": "1" for i in range(25)}
    r = client.get("/v1/models", headers=many)
    assert r.status_code == 400 and "limits.max_header_count" in r.json()["error"]["message"]
    r = client.get("/v1/models", headers={"x-big": "v" * 3000})
    assert r.status_code == 400 and "limits.max_header_bytes" in r.json()["error"]["message"]
    assert client.get("/v1/models").status_code == 200


def test_bad_content_length_is_400(client: TestClient) -> None:
    r = client.post("/v1/completions", content=b"{}", headers={"content-length": "abc"})
    assert r.status_code == 400


def test_deadline_header_must_be_positive_ms(client: TestClient) -> None:
    for bad in ("0", "-5", "soon", "1.5", str(10**12)):
        r = client.get("/v1/models", headers={"X-Request-Deadline-Ms": bad})
        assert r.status_code == 400, bad
        assert_openai_error(r.json(), "X-Request-Deadline-Ms")
    ok = client.post(
        "/v1/completions",
        json={"model": MODEL, "prompt": "a"},
        headers={"X-Request-Deadline-Ms": "5000"},
    )
    assert ok.status_code == 200


def test_priority_needs_priority_scheduling(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with fake_client(tmp_path) as fcfs:
        r = fcfs.post("/v1/chat/completions", json=chat(priority=1))
        assert r.status_code == 400
        assert_openai_error(r.json(), "priority")
        assert fcfs.post("/v1/chat/completions", json=chat(priority=0)).status_code == 200
    engine = "    engine:\n      enable_priority_scheduling: true\n"
    with fake_client(tmp_path, model_yaml=engine) as prio:
        r = prio.post("/v1/chat/completions", json=chat(priority=-3, max_tokens=2))
        assert r.status_code == 200, r.text
        registry = server_state(prio.app).registry  # type: ignore[arg-type]
        model = registry.lookup(MODEL, FakeGenerationModel, "generate")
        assert model.engine.requests[-1][2].priority == -3


def test_encoder_inputs_are_counted_and_measured() -> None:
    limits = RequestLimits(max_inputs=2, max_input_chars=5)
    check_encoder(EmbeddingRequest(model="m", input=[1] * 100), limits)  # one token-id input
    check_encoder(EmbeddingRequest(model="m", input=["abc", "de"]), limits)
    cases = [
        (EmbeddingRequest(model="m", input=["a", "b", "c"]), "input", "max_inputs"),
        (EmbeddingRequest(model="m", input=[[1], [2], [3]]), "input", "max_inputs"),
        (ClassifyRequest(model="m", input="toolong"), "input", "max_input_chars"),
        (RerankRequest(model="m", query="q", documents=["a", "b", "c"]), "documents", "max_inputs"),
        (RerankRequest(model="m", query="q" * 6, documents=["a"]), "query", "max_input_chars"),
        (
            RerankRequest(model="m", query="q", documents=["a", "123456"]),
            "documents",
            "max_input_chars",
        ),
    ]
    for request, param, limit in cases:
        with pytest.raises(LimitExceeded) as caught:
            check_encoder(request, limits)
        assert caught.value.param == param and f"limits.{limit}" in caught.value.message


def test_prompts_over_max_prompts_are_refused_naming_the_limit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with fake_client(tmp_path, "limits:\n  max_prompts: 3\n") as c:
        ok = c.post("/v1/completions", json={"model": MODEL, "prompt": ["a"] * 3, "max_tokens": 1})
        assert ok.status_code == 200 and len(ok.json()["choices"]) == 3
        for prompt in (["a"] * 4, [[1, 2]] * 4):
            r = c.post("/v1/completions", json={"model": MODEL, "prompt": prompt})
            assert r.status_code == 400 and "limits.max_prompts" in r.text, r.text
            assert_openai_error(r.json(), "prompt")
