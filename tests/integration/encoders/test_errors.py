"""Every bad input gets its status and an OpenAI-shaped error; /v1/models lists encoders."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration

LONG = "word " * 400  # about 400 tokens: over MiniLM's 256

CASES: list[tuple[str, str, dict[str, Any] | str, int, str | None]] = [
    # (id, endpoint, body, status, error code)
    ("unknown-model", "/v1/embeddings", {"model": "nope", "input": "x"}, 404, "model_not_found"),
    ("unknown-model-ner", "/v1/ner", {"model": "nope", "input": "x"}, 404, "model_not_found"),
    (
        "embed-on-classifier",
        "/v1/embeddings",
        {"model": "sentiment", "input": "x"},
        400,
        "wrong_task",
    ),
    ("classify-on-embedder", "/v1/classify", {"model": "minilm", "input": "x"}, 400, "wrong_task"),
    ("ner-on-embedder", "/v1/ner", {"model": "minilm", "input": "x"}, 400, "wrong_task"),
    (
        "classify-on-reranker",
        "/v1/classify",
        {"model": "reranker", "input": "x"},
        400,
        "wrong_task",
    ),
    (
        "rerank-on-3-label-classifier",
        "/v1/rerank",
        {"model": "sentiment", "query": "q", "documents": ["d"]},
        400,
        "wrong_task",
    ),
    (
        "rerank-on-ner",
        "/v1/rerank",
        {"model": "ner", "query": "q", "documents": ["d"]},
        400,
        "wrong_task",
    ),
    ("empty-string", "/v1/embeddings", {"model": "minilm", "input": ""}, 400, None),
    ("empty-list", "/v1/embeddings", {"model": "minilm", "input": []}, 400, None),
    ("empty-string-in-list", "/v1/classify", {"model": "sentiment", "input": ["a", ""]}, 400, None),
    ("empty-token-list", "/v1/embeddings", {"model": "minilm", "input": [[1, 2], []]}, 400, None),
    ("too-many-inputs", "/v1/embeddings", {"model": "minilm", "input": ["x"] * 2049}, 400, None),
    ("number-input", "/v1/embeddings", {"model": "minilm", "input": 5}, 400, None),
    ("mixed-list", "/v1/embeddings", {"model": "minilm", "input": ["a", 1]}, 400, None),
    ("null-input", "/v1/classify", {"model": "sentiment", "input": None}, 400, None),
    ("missing-input", "/v1/ner", {"model": "ner"}, 400, None),
    ("missing-model", "/v1/embeddings", {"input": "x"}, 400, None),
    (
        "token-id-out-of-range",
        "/v1/embeddings",
        {"model": "minilm", "input": [1, 999999]},
        400,
        None,
    ),
    ("negative-token-id", "/v1/embeddings", {"model": "minilm", "input": [-1]}, 400, None),
    (
        "bad-format",
        "/v1/embeddings",
        {"model": "minilm", "input": "x", "encoding_format": "hex"},
        400,
        None,
    ),
    (
        "zero-dimensions",
        "/v1/embeddings",
        {"model": "minilm", "input": "x", "dimensions": 0},
        400,
        None,
    ),
    (
        "too-many-dimensions",
        "/v1/embeddings",
        {"model": "minilm", "input": "x", "dimensions": 385},
        400,
        None,
    ),
    (
        "too-long",
        "/v1/embeddings",
        {"model": "minilm", "input": LONG},
        400,
        "context_length_exceeded",
    ),
    (
        "too-long-in-list",
        "/v1/classify",
        {"model": "sentiment", "input": ["ok", "word " * 600]},
        400,
        "context_length_exceeded",
    ),
    (
        "too-long-pair",
        "/v1/rerank",
        {"model": "reranker", "query": "q", "documents": ["word " * 600]},
        400,
        "context_length_exceeded",
    ),
    ("zero-top-k", "/v1/classify", {"model": "sentiment", "input": "x", "top_k": 0}, 400, None),
    (
        "bad-strategy",
        "/v1/ner",
        {"model": "ner", "input": "x", "aggregation_strategy": "all"},
        400,
        None,
    ),
    ("no-documents", "/v1/rerank", {"model": "reranker", "query": "q", "documents": []}, 400, None),
    (
        "empty-query",
        "/v1/rerank",
        {"model": "reranker", "query": "", "documents": ["d"]},
        400,
        None,
    ),
    (
        "documents-not-list",
        "/v1/rerank",
        {"model": "reranker", "query": "q", "documents": "d"},
        400,
        None,
    ),
    (
        "zero-top-n",
        "/v1/rerank",
        {"model": "reranker", "query": "q", "documents": ["d"], "top_n": 0},
        400,
        None,
    ),
    ("malformed-json", "/v1/embeddings", '{"model": "minilm", "input": ', 400, None),
    # Instructions and truncation on /v1/embeddings.
    (
        "unknown-input-type",
        "/v1/embeddings",
        {"model": "minilm", "input": "x", "input_type": "image"},
        400,
        None,
    ),
    (
        "unknown-prompt-name",
        "/v1/embeddings",
        {"model": "instructed", "input": "x", "prompt_name": "query"},
        400,
        None,
    ),
    (
        "input-type-and-prompt-name",
        "/v1/embeddings",
        {
            "model": "instructed",
            "input": "x",
            "input_type": "search_query",
            "prompt_name": "search_query",
        },
        400,
        None,
    ),
    (
        "prompt-on-token-ids",
        "/v1/embeddings",
        {"model": "instructed", "input": [101, 102], "input_type": "search_query"},
        400,
        None,
    ),
    (
        "truncate-prompt-tokens-over-limit",
        "/v1/embeddings",
        {"model": "minilm", "input": "x", "truncate_prompt_tokens": 257},
        400,
        None,
    ),
    (
        "truncate-prompt-tokens-below-minus-one",
        "/v1/embeddings",
        {"model": "minilm", "input": "x", "truncate_prompt_tokens": -2},
        400,
        None,
    ),
    # Cohere's embed.
    ("cohere-no-texts", "/v2/embed", {"model": "minilm", "input_type": "search_query"}, 400, None),
    ("cohere-empty-texts", "/v2/embed", {"model": "minilm", "texts": []}, 400, None),
    ("cohere-empty-text", "/v2/embed", {"model": "minilm", "texts": ["a", ""]}, 400, None),
    (
        "cohere-images",
        "/v2/embed",
        {"model": "minilm", "images": ["data:image/png;base64,AAAA"]},
        400,
        "unsupported_parameter",
    ),
    (
        "cohere-unknown-input-type",
        "/v2/embed",
        {"model": "minilm", "texts": ["x"], "input_type": "image"},
        400,
        None,
    ),
    (
        "cohere-bad-embedding-type",
        "/v2/embed",
        {"model": "minilm", "texts": ["x"], "embedding_types": ["int4"]},
        400,
        None,
    ),
    (
        "cohere-no-embedding-types",
        "/v2/embed",
        {"model": "minilm", "texts": ["x"], "embedding_types": []},
        400,
        None,
    ),
    (
        "cohere-bad-truncate",
        "/v2/embed",
        {"model": "minilm", "texts": ["x"], "truncate": "MIDDLE"},
        400,
        None,
    ),
    (
        "cohere-truncate-none-too-long",
        "/v2/embed",
        {"model": "minilm", "texts": [LONG], "truncate": "NONE"},
        400,
        "context_length_exceeded",
    ),
    (
        "cohere-output-dimension-too-large",
        "/v2/embed",
        {"model": "minilm", "texts": ["x"], "output_dimension": 1024},
        400,
        None,
    ),
    (
        "cohere-zero-max-tokens",
        "/v2/embed",
        {"model": "minilm", "texts": ["x"], "max_tokens": 0},
        400,
        None,
    ),
    (
        "cohere-embed-on-reranker",
        "/v2/embed",
        {"model": "reranker", "texts": ["x"]},
        400,
        "wrong_task",
    ),
    # The other rerank paths and score.
    (
        "jina-empty-query",
        "/rerank",
        {"model": "minilm", "query": "", "documents": ["d"]},
        400,
        None,
    ),
    (
        "jina-document-without-text",
        "/rerank",
        {"model": "minilm", "query": "q", "documents": [{"title": "d"}]},
        400,
        None,
    ),
    (
        "cohere-rerank-no-documents",
        "/v2/rerank",
        {"model": "reranker", "query": "q", "documents": []},
        400,
        None,
    ),
    (
        "cohere-rerank-zero-max-tokens-per-doc",
        "/v2/rerank",
        {"model": "reranker", "query": "q", "documents": ["d"], "max_tokens_per_doc": 0},
        400,
        None,
    ),
    (
        "cohere-rerank-on-classifier",
        "/v2/rerank",
        {"model": "sentiment", "query": "q", "documents": ["d"]},
        400,
        "wrong_task",
    ),
    (
        "score-mismatched-lists",
        "/v1/score",
        {"model": "reranker", "text_1": ["a", "b"], "text_2": ["c", "d", "e"]},
        400,
        None,
    ),
    (
        "score-empty-text-2",
        "/v1/score",
        {"model": "minilm", "text_1": "a", "text_2": []},
        400,
        None,
    ),
    (
        "score-empty-string",
        "/v1/score",
        {"model": "minilm", "text_1": "", "text_2": "b"},
        400,
        None,
    ),
    ("score-missing-text-2", "/v1/score", {"model": "minilm", "text_1": "a"}, 400, None),
    (
        "score-too-long-pair",
        "/v1/score",
        {"model": "reranker", "text_1": "q", "text_2": ["word " * 600]},
        400,
        "context_length_exceeded",
    ),
    # JSON can carry a lone surrogate; no tokenizer takes it.
    (
        "embed-lone-surrogate",
        "/v1/embeddings",
        '{"model": "minilm", "input": ["fine", "broken \\ud800 text"]}',
        400,
        None,
    ),
    (
        "classify-lone-surrogate",
        "/v1/classify",
        '{"model": "sentiment", "input": "\\udc00"}',
        400,
        None,
    ),
    (
        "ner-lone-surrogate",
        "/v1/ner",
        '{"model": "ner", "input": "Ada \\ud83d in Paris"}',
        400,
        None,
    ),
    (
        "score-on-ner",
        "/v1/score",
        {"model": "ner", "text_1": "a", "text_2": "b"},
        400,
        "wrong_task",
    ),
]


@pytest.mark.parametrize(
    ("endpoint", "body", "status", "code"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_input_gets_status_and_openai_error(
    http: httpx.Client, endpoint: str, body: dict[str, Any] | str, status: int, code: str | None
) -> None:
    if isinstance(body, str):
        response = http.post(endpoint, content=body, headers={"content-type": "application/json"})
    else:
        response = http.post(endpoint, json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    assert error["type"] == ("invalid_request_error")
    if code is not None:
        assert error["code"] == code


def test_wrong_task_names_the_model_task(http: httpx.Client) -> None:
    error = http.post("/v1/ner", json={"model": "minilm", "input": "x"}).json()["error"]
    assert "'embed'" in error["message"] and error["param"] == "model"


def test_too_long_reports_token_counts(http: httpx.Client) -> None:
    error = http.post("/v1/embeddings", json={"model": "minilm", "input": LONG}).json()["error"]
    assert "402" in error["message"] and "256" in error["message"]


def test_models_lists_encoders_with_their_task(served_models: dict[str, str]) -> None:
    expected = {
        "minilm": "embed",
        "sentiment": "classify",
        "topics": "classify",
        "ner": "ner",
        "reranker": "rerank",
    }
    assert expected.items() <= served_models.items()


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("/v1/embeddings", {"model": "minilm", "input": "x", "normalize": False}),
        ("/v1/classify", {"model": "sentiment", "input": "x", "normalize": False}),
        ("/v1/ner", {"model": "ner", "input": "x", "normalize": False}),
        ("/v1/rerank", {"model": "reranker", "query": "q", "documents": ["d"], "normalize": 1}),
        ("/v2/embed", {"model": "minilm", "texts": ["x"], "normalize": False}),
        ("/v2/rerank", {"model": "reranker", "query": "q", "documents": ["d"], "normalize": 1}),
        ("/v1/score", {"model": "reranker", "text_1": "q", "text_2": "d", "normalize": 1}),
    ],
)
def test_unknown_fields_are_refused_by_name(
    http: httpx.Client, endpoint: str, body: dict[str, Any]
) -> None:
    response = http.post(endpoint, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == "normalize" and error["type"] == "invalid_request_error"
