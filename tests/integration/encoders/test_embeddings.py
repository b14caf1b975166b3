"""/v1/embeddings: parity with sentence-transformers, formats, token ids, and real batching."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import numpy as np
import pytest
from openai import OpenAI

from tests.integration.encoders.conftest import TEXTS
from tests.integration.encoders.models import minilm_dir
from tests.support.metrics import metric_value
from tests.support.server import ServerProcess

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    """sentence-transformers' own vectors for TEXTS (normalized by the model's Normalize)."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(minilm_dir()), device="cpu")
    return np.asarray(model.encode(TEXTS, batch_size=4, convert_to_numpy=True))


@pytest.fixture(scope="module")
def client(encoder_server: ServerProcess) -> OpenAI:
    return OpenAI(base_url=f"{encoder_server.base_url}/v1", api_key="unused", max_retries=0)


def decode(embeddings: list[Any]) -> np.ndarray:
    """Vectors from float lists, or from base64 strings (the SDK returns those as they came)."""
    return np.array(
        [
            np.frombuffer(base64.b64decode(e), dtype="<f4") if isinstance(e, str) else e
            for e in embeddings
        ]
    )


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.sum(a * b, axis=1)


@pytest.mark.parametrize("encoding_format", ["float", "base64"])
def test_vectors_match_sentence_transformers(
    client: OpenAI, reference: np.ndarray, encoding_format: str
) -> None:
    response = client.embeddings.create(
        model="minilm",
        input=TEXTS,
        encoding_format=encoding_format,  # type: ignore[arg-type]
    )
    assert [d.index for d in response.data] == list(range(len(TEXTS)))
    vectors = decode([d.embedding for d in response.data])
    assert vectors.shape == reference.shape
    assert cosines(vectors, reference).min() >= 0.999
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert response.usage.prompt_tokens > len(TEXTS) * 2


def test_sdk_default_format_matches(client: OpenAI, reference: np.ndarray) -> None:
    response = client.embeddings.create(model="minilm", input=TEXTS[0])
    vector = np.array(response.data[0].embedding)[None, :]
    assert cosines(vector, reference[:1])[0] >= 0.999


@pytest.mark.parametrize("encoding_format", ["float", "base64"])
def test_dimensions_truncate_and_renormalise(
    client: OpenAI, reference: np.ndarray, encoding_format: str
) -> None:
    response = client.embeddings.create(
        model="minilm",
        input=TEXTS,
        dimensions=128,
        encoding_format=encoding_format,  # type: ignore[arg-type]
    )
    vectors = decode([d.embedding for d in response.data])
    assert vectors.shape == (len(TEXTS), 128)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert cosines(vectors, reference[:, :128]).min() >= 0.999


def test_token_ids_give_the_text_vector(client: OpenAI, reference: np.ndarray) -> None:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    ids = [tokenizer.encode(text).ids for text in TEXTS[:3]]
    single = client.embeddings.create(model="minilm", input=ids[0])
    many = client.embeddings.create(model="minilm", input=ids)
    assert single.usage.prompt_tokens == len(ids[0])
    vectors = np.array([d.embedding for d in many.data])
    assert cosines(vectors, reference[:3]).min() >= 0.999
    np.testing.assert_allclose(single.data[0].embedding, many.data[0].embedding, atol=1e-5)


def test_request_truncation_accepts_long_input(http: httpx.Client) -> None:
    long_text = "word " * 400
    refused = http.post("/v1/embeddings", json={"model": "minilm", "input": long_text})
    assert refused.status_code == 400
    assert "256" in refused.json()["error"]["message"]
    body = {"model": "minilm", "input": long_text, "truncate": True}
    accepted = http.post("/v1/embeddings", json=body)
    assert accepted.status_code == 200
    assert accepted.json()["usage"]["prompt_tokens"] == 256


def test_concurrent_requests_are_batched_and_match_sequential(
    encoder_server: ServerProcess, http: httpx.Client
) -> None:
    texts = [f"Sentence number {i}: {TEXTS[i % len(TEXTS)]}" for i in range(64)]
    sequential = [
        http.post("/v1/embeddings", json={"model": "minilm", "input": t}).json()["data"][0][
            "embedding"
        ]
        for t in texts
    ]
    before = http.get("/metrics").text

    async def concurrent() -> list[list[float]]:
        async with httpx.AsyncClient(base_url=encoder_server.base_url, timeout=120) as client:
            responses = await asyncio.gather(
                *(
                    client.post("/v1/embeddings", json={"model": "minilm", "input": t})
                    for t in texts
                )
            )
        assert all(r.status_code == 200 for r in responses)
        return [r.json()["data"][0]["embedding"] for r in responses]

    together = asyncio.run(concurrent())
    after = http.get("/metrics").text
    labels = {"model": "minilm", "task": "embed"}
    batches = metric_value(after, "inference_batch_size_count", **labels) - metric_value(
        before, "inference_batch_size_count", **labels
    )
    inputs = metric_value(after, "inference_batch_size_sum", **labels) - metric_value(
        before, "inference_batch_size_sum", **labels
    )
    assert inputs == 64
    assert batches < 64, "64 concurrent requests ran one by one"
    # Padding inside a batch changes float rounding only.
    np.testing.assert_allclose(np.array(together), np.array(sequential), atol=1e-5)
    for name in (
        "inference_queue_wait_seconds_count",
        "inference_batch_tokens_count",
        "inference_batch_padding_ratio_count",
        "inference_batch_inference_seconds_count",
    ):
        assert metric_value(after, name, **labels) > 0, name
    requests = metric_value(
        after, "inference_requests_total", endpoint="/v1/embeddings", status="200", **labels
    )
    assert requests >= 128
