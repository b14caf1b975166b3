"""/v1/rerank: a cross-encoder's scores, and an embedding model's cosine similarity."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from tests.integration.encoders.models import DerivedModels, minilm_dir

pytestmark = pytest.mark.integration

QUERY = "Which city is the capital of France?"
DOCUMENTS = [
    "Paris is the capital and largest city of France.",
    "The Eiffel Tower was completed in 1889.",
    "Berlin is the capital of Germany.",
    "Bananas are rich in potassium.",
    "France's capital, Paris, lies on the Seine.",
]


def test_cross_encoder_order_and_scores(http: httpx.Client, derived: DerivedModels) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(derived.cross_encoder))
    model = AutoModelForSequenceClassification.from_pretrained(str(derived.cross_encoder)).eval()
    with torch.inference_mode():
        inputs = tokenizer([QUERY] * len(DOCUMENTS), DOCUMENTS, padding=True, return_tensors="pt")
        expected = torch.sigmoid(model(**inputs).logits[:, 0]).numpy()
    response = http.post(
        "/v1/rerank",
        json={
            "model": "reranker",
            "query": QUERY,
            "documents": DOCUMENTS,
            "return_documents": True,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["index"] for r in body["results"]] == list(np.argsort(-expected, kind="stable"))
    for result in body["results"]:
        assert abs(result["relevance_score"] - expected[result["index"]]) <= 1e-4
        assert result["document"] == {"text": DOCUMENTS[result["index"]]}
    assert body["usage"]["prompt_tokens"] > 0


def test_embedding_model_reranks_by_cosine(http: httpx.Client) -> None:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(minilm_dir()), device="cpu")
    vectors = model.encode([QUERY, *DOCUMENTS], normalize_embeddings=True)
    expected = vectors[1:] @ vectors[0]
    response = http.post(
        "/v1/rerank", json={"model": "minilm", "query": QUERY, "documents": DOCUMENTS, "top_n": 3}
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(np.argsort(-expected, kind="stable")[:3])
    for result in results:
        assert abs(result["relevance_score"] - expected[result["index"]]) <= 1e-3
        assert "document" not in result
