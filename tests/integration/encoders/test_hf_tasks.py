"""The Hugging Face task API on the encoder tasks we had: feature-extraction,
text-classification and token-classification with the real ``InferenceClient``, answering
what our own endpoints answer for the same texts."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest
from huggingface_hub import InferenceClient

from tests.support.server import ServerProcess

# InferenceClient refuses every request under HF_HUB_OFFLINE (make test sets it).
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("hub_client_online")]

TEXT = "Ada Lovelace worked with Charles Babbage in London."


def _client(server: ServerProcess, name: str) -> InferenceClient:
    return InferenceClient(model=f"{server.base_url}/models/{name}", token="unused")


def test_feature_extraction_equals_embeddings(
    encoder_server: ServerProcess, http: httpx.Client
) -> None:
    texts = [TEXT, "A cat sat on the mat."]
    ours = http.post("/v1/embeddings", json={"model": "minilm", "input": texts}).json()
    expected = np.array([row["embedding"] for row in ours["data"]], dtype=np.float32)
    client = _client(encoder_server, "minilm")
    assert np.allclose(client.feature_extraction(texts), expected, atol=1e-6)
    one = client.feature_extraction(TEXT, normalize=True, truncate=True)
    assert one.shape == (1, expected.shape[1])
    assert np.allclose(one[0], expected[0], atol=1e-6)
    short = client.feature_extraction(TEXT, dimensions=8)
    assert short.shape == (1, 8)
    assert np.isclose(np.linalg.norm(short[0]), 1.0, atol=1e-5)


def test_text_classification_equals_classify(
    encoder_server: ServerProcess, http: httpx.Client
) -> None:
    ours = http.post("/v1/classify", json={"model": "sentiment", "input": TEXT}).json()
    labels = ours["data"][0]["labels"]
    output = _client(encoder_server, "sentiment").text_classification(TEXT)
    assert [(o.label, round(o.score, 6)) for o in output] == [
        (x["label"], round(x["score"], 6)) for x in labels
    ]
    top = _client(encoder_server, "sentiment").text_classification(
        TEXT, top_k=1, function_to_apply="softmax"
    )
    assert [o.label for o in top] == [labels[0]["label"]]


@pytest.mark.parametrize("strategy", ["simple", "first", "none"])
def test_token_classification_equals_ner(
    encoder_server: ServerProcess, http: httpx.Client, strategy: str
) -> None:
    body = {"model": "ner", "input": TEXT, "aggregation_strategy": strategy}
    ours = http.post("/v1/ner", json=body).json()["data"][0]["entities"]
    output = _client(encoder_server, "ner").token_classification(
        TEXT, aggregation_strategy=strategy
    )
    key = "entity" if strategy == "none" else "entity_group"
    assert [(getattr(o, key), o.word, o.start, o.end) for o in output] == [
        (e["entity_group"], e["text"], e["start"], e["end"]) for e in ours
    ]
    assert all(TEXT[o.start : o.end] == o.word for o in output)
    assert output, "the derived NER model finds some entity in the text"


def test_token_classification_ignores_labels(encoder_server: ServerProcess) -> None:
    client = _client(encoder_server, "ner")
    every = client.token_classification(TEXT)
    groups = {o.entity_group for o in every}
    kept = client.token_classification(TEXT, ignore_labels=sorted(groups)[:1])
    assert {o.entity_group for o in kept} == groups - set(sorted(groups)[:1])


@pytest.mark.parametrize(
    ("name", "body", "words"),
    [
        ("sentiment", {"inputs": ["a", "b"]}, ["text-classification", "inputs"]),
        (
            "sentiment",
            {"inputs": TEXT, "parameters": {"function_to_apply": "sigmoid"}},
            ["text-classification", "function_to_apply", "softmax"],
        ),
        ("ner", {"inputs": TEXT, "parameters": {"stride": 4}}, ["token-classification", "stride"]),
        (
            "minilm",
            {"inputs": TEXT, "parameters": {"normalize": False}},
            ["feature-extraction", "normalize"],
        ),
        ("minilm", {"inputs": {"source_sentence": TEXT}}, ["feature-extraction"]),
        ("reranker", {"inputs": TEXT}, ["rerank", "summarization", "feature-extraction"]),
    ],
)
def test_payloads_a_task_cannot_take_are_400(
    http: httpx.Client, name: str, body: dict[str, Any], words: list[str]
) -> None:
    response = http.post(f"/models/{name}", json=body)
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    for word in words:
        assert word in message, message


def test_models_list_pipeline_tags(http: httpx.Client) -> None:
    cards = {c["id"]: c for c in http.get("/v1/models").json()["data"]}
    assert cards["minilm"]["pipeline_tags"] == [
        "feature-extraction",
        "sentence-similarity",
        "text-ranking",
    ]
    assert cards["sentiment"]["pipeline_tags"] == ["text-classification"]
    assert cards["ner"]["pipeline_tags"] == ["token-classification"]
