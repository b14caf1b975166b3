"""/v1/classify: probabilities as AutoModelForSequenceClassification gives them."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.integration.encoders.conftest import BUNDLED_CLASSIFY, TEXTS
from tests.integration.encoders.models import DerivedModels
from tests.support.server import MODELS_DIR

pytestmark = pytest.mark.integration


def reference_scores(path: Path, texts: list[str]) -> tuple[np.ndarray, list[str]]:
    """Scores computed one text at a time, as the text-classification pipeline would."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path))
    model = AutoModelForSequenceClassification.from_pretrained(str(path)).eval()
    rows = []
    with torch.inference_mode():
        for text in texts:
            logits = model(**tokenizer(text, return_tensors="pt")).logits[0]
            multi = model.config.problem_type == "multi_label_classification"
            rows.append((torch.sigmoid(logits) if multi else torch.softmax(logits, -1)).numpy())
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    return np.array(rows), labels


def classify_cases(derived: DerivedModels, served: dict[str, str]) -> list[tuple[str, Path]]:
    cases = [("sentiment", derived.sentiment), ("topics", derived.topics)]
    if BUNDLED_CLASSIFY in served:
        cases.append((BUNDLED_CLASSIFY, MODELS_DIR / BUNDLED_CLASSIFY))
    return cases


def test_probabilities_match_transformers(
    http: httpx.Client, derived: DerivedModels, served_models: dict[str, str]
) -> None:
    for name, path in classify_cases(derived, served_models):
        expected, labels = reference_scores(path, TEXTS)
        response = http.post("/v1/classify", json={"model": name, "input": TEXTS})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["object"] == "list" and body["model"] == name
        assert body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] > 0
        for i, item in enumerate(body["data"]):
            assert item["index"] == i
            got = {entry["label"]: entry["score"] for entry in item["labels"]}
            assert sorted(got) == sorted(labels)
            for j, label in enumerate(labels):
                assert abs(got[label] - expected[i, j]) <= 1e-4, (name, i, label)
            best = int(np.argmax(expected[i]))
            assert item["label"] == labels[best]
            assert abs(item["score"] - expected[i, best]) <= 1e-4
            scores = [entry["score"] for entry in item["labels"]]
            assert scores == sorted(scores, reverse=True)


def test_multi_label_scores_are_independent(http: httpx.Client) -> None:
    body = http.post("/v1/classify", json={"model": "topics", "input": TEXTS[0]}).json()
    total = sum(entry["score"] for entry in body["data"][0]["labels"])
    assert abs(total - 1.0) > 1e-3  # sigmoid per label, not a softmax


def test_top_k_limits_labels(http: httpx.Client) -> None:
    body = http.post(
        "/v1/classify", json={"model": "sentiment", "input": "Great!", "top_k": 2}
    ).json()
    item = body["data"][0]
    assert len(item["labels"]) == 2
    assert item["labels"][0] == {"label": item["label"], "score": item["score"]}
    larger = http.post(
        "/v1/classify", json={"model": "sentiment", "input": "Great!", "top_k": 10}
    ).json()
    assert len(larger["data"][0]["labels"]) == 3
