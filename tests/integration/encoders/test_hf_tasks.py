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


CONTEXT = "Ada Lovelace was born in London in 1815. She wrote the first published program."


def test_question_answering_with_the_client(
    encoder_server: ServerProcess, http: httpx.Client
) -> None:
    question = "Where was Ada Lovelace born?"
    body = {"model": "qa", "question": question, "context": CONTEXT, "top_k": 2}
    ours = http.post("/v1/qa", json=body).json()["data"][0]["answers"]
    client = _client(encoder_server, "qa")
    one = client.question_answering(question=question, context=CONTEXT)
    assert not isinstance(one, list)
    assert (one.answer, one.start, one.end) == (ours[0]["answer"], ours[0]["start"], ours[0]["end"])
    assert one.answer == CONTEXT[one.start : one.end]
    assert one.score == pytest.approx(ours[0]["score"], rel=1e-5)
    two = client.question_answering(question=question, context=CONTEXT, top_k=2)
    assert isinstance(two, list)
    assert [(a.start, a.end) for a in two] == [(a["start"], a["end"]) for a in ours]
    impossible = client.question_answering(
        question=question, context=CONTEXT, handle_impossible_answer=True, top_k=40
    )
    assert isinstance(impossible, list) and "" in [a.answer for a in impossible]


def test_zero_shot_classification_with_the_client(
    encoder_server: ServerProcess, http: httpx.Client
) -> None:
    labels = ["history", "cooking", "computing"]
    for multi in (False, True):
        body = {"model": "nli", "input": CONTEXT, "candidate_labels": labels, "multi_label": multi}
        ours = http.post("/v1/zero-shot", json=body).json()["data"][0]["labels"]
        output = _client(encoder_server, "nli").zero_shot_classification(
            CONTEXT, labels, multi_label=multi
        )
        assert [(o.label, round(o.score, 6)) for o in output] == [
            (x["label"], round(x["score"], 6)) for x in ours
        ]
    templated = _client(encoder_server, "nli").zero_shot_classification(
        CONTEXT, labels, hypothesis_template="This text is about {}."
    )
    assert sum(o.score for o in templated) == pytest.approx(1.0, abs=1e-5)


def test_fill_mask_with_the_client(encoder_server: ServerProcess, http: httpx.Client) -> None:
    text = "Ada Lovelace was born in [MASK]."
    ours = http.post("/v1/fill-mask", json={"model": "masked", "input": text, "top_k": 3}).json()
    expected = ours["data"][0]["masks"][0]
    output = _client(encoder_server, "masked").fill_mask(text, top_k=3)
    assert [(o.token, o.token_str, o.sequence) for o in output] == [
        (c["token"], c["token_str"], c["sequence"]) for c in expected
    ]
    targeted = _client(encoder_server, "masked").fill_mask(text, targets=["london", "paris"])
    assert {o.token_str for o in targeted} == {"london", "paris"}


def test_sentence_similarity_with_the_client(
    encoder_server: ServerProcess, http: httpx.Client
) -> None:
    others = ["A cat sat on the mat.", TEXT]
    ours = http.post("/v1/embeddings", json={"model": "minilm", "input": [TEXT, *others]}).json()
    vectors = np.array([row["embedding"] for row in ours["data"]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = _client(encoder_server, "minilm").sentence_similarity(TEXT, others)
    assert similarity == pytest.approx((vectors[1:] @ vectors[0]).tolist(), abs=1e-5)
    assert similarity[1] == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(
    ("name", "body", "words"),
    [
        ("qa", {"inputs": "just a text"}, ["question-answering", "context"]),
        ("nli", {"inputs": TEXT}, ["zero-shot-classification", "candidate_labels"]),
        ("masked", {"inputs": "No mask."}, ["[MASK]"]),
        ("nli", {"inputs": TEXT, "parameters": {"candidate_labels": []}}, ["candidate_labels"]),
    ],
)
def test_reading_payloads_a_task_cannot_take_are_400(
    http: httpx.Client, name: str, body: dict[str, Any], words: list[str]
) -> None:
    response = http.post(f"/models/{name}", json=body)
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    for word in words:
        assert word in message, message
