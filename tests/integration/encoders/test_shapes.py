"""The shapes other clients send: Cohere's SDK (rerank, embed), Jina's and vLLM's /rerank,
vLLM's /v1/score; instructions per input type and the quantized embedding types."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import numpy as np
import pytest

from tests.integration.encoders.conftest import PROMPTS, TEXTS
from tests.integration.encoders.models import minilm_dir
from tests.support.server import ServerProcess

pytestmark = pytest.mark.integration

QUERY = "Which city is the capital of France?"
DOCUMENTS = [
    "Paris is the capital and largest city of France.",
    "The Eiffel Tower was completed in 1889.",
    "Berlin is the capital of Germany.",
    "Bananas are rich in potassium.",
    "France's capital, Paris, lies on the Seine.",
]
ALL_TYPES = ["float", "int8", "uint8", "binary", "ubinary", "base64"]


@pytest.fixture(scope="module")
def cohere_client(encoder_server: ServerProcess) -> Any:
    import cohere

    return cohere.ClientV2(base_url=encoder_server.base_url, api_key="x", timeout=120)


def ranking(results: list[Any]) -> list[tuple[int, float]]:
    """(index, score) pairs from JSON results or the SDK's objects."""
    return [
        (r["index"], r["relevance_score"]) if isinstance(r, dict) else (r.index, r.relevance_score)
        for r in results
    ]


def embed_openai(http: httpx.Client, **body: Any) -> dict[str, Any]:
    response = http.post("/v1/embeddings", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


# --- rerank ---------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["reranker", "minilm"])
def test_three_rerank_paths_agree_exactly(
    http: httpx.Client, cohere_client: Any, model: str
) -> None:
    body = {"model": model, "query": QUERY, "documents": DOCUMENTS}
    v1 = http.post("/v1/rerank", json=body)
    jina = http.post("/rerank", json={**body, "documents": [{"text": d} for d in DOCUMENTS]})
    v2 = http.post("/v2/rerank", json=body)
    for response in (v1, jina, v2):
        assert response.status_code == 200, response.text
    expected = ranking(v1.json()["results"])
    assert len(expected) == len(DOCUMENTS)
    assert [score for _, score in expected] == sorted((s for _, s in expected), reverse=True)
    assert ranking(jina.json()["results"]) == expected
    assert ranking(v2.json()["results"]) == expected
    sdk = cohere_client.rerank(model=model, query=QUERY, documents=DOCUMENTS, top_n=3)
    assert ranking(sdk.results) == expected[:3]


def test_rerank_shapes(http: httpx.Client, cohere_client: Any) -> None:
    body = {"model": "reranker", "query": QUERY, "documents": DOCUMENTS, "return_documents": True}
    jina = http.post("/rerank", json=body).json()
    assert jina["model"] == "reranker" and jina["id"]
    assert jina["usage"]["total_tokens"] == jina["usage"]["prompt_tokens"] > 0
    assert all(r["document"] == {"text": DOCUMENTS[r["index"]]} for r in jina["results"])
    v2 = http.post("/v2/rerank", json=body).json()
    assert set(v2) == {"id", "results", "meta"}
    assert v2["meta"]["billed_units"] == {"search_units": 1}
    assert v2["meta"]["tokens"]["input_tokens"] == jina["usage"]["prompt_tokens"]
    assert v2["meta"]["api_version"] == {"version": "2"}
    sdk = cohere_client.rerank(model="reranker", query=QUERY, documents=DOCUMENTS)
    assert sdk.meta.billed_units.search_units == 1 and sdk.id


def test_max_tokens_per_doc_cuts_documents(http: httpx.Client) -> None:
    long_doc = DOCUMENTS[0] + " " + "Bananas are rich in potassium. " * 20
    cut = http.post(
        "/v2/rerank",
        json={
            "model": "reranker",
            "query": QUERY,
            "documents": [long_doc],
            "max_tokens_per_doc": 3,
        },
    ).json()
    # The first 3 tokens of the document: "paris is the".
    short = http.post(
        "/v1/rerank", json={"model": "reranker", "query": QUERY, "documents": ["Paris is the"]}
    ).json()
    assert cut["results"][0]["relevance_score"] == short["results"][0]["relevance_score"]
    assert cut["meta"]["tokens"]["input_tokens"] == short["usage"]["prompt_tokens"]


# --- score ----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["reranker", "minilm"])
def test_score_agrees_with_rerank(http: httpx.Client, model: str) -> None:
    reranked = http.post(
        "/v1/rerank", json={"model": model, "query": QUERY, "documents": DOCUMENTS}
    ).json()
    by_index = dict(ranking(reranked["results"]))
    response = http.post("/v1/score", json={"model": model, "text_1": QUERY, "text_2": DOCUMENTS})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "list" and body["model"] == model
    assert body["id"] and isinstance(body["created"], int)
    assert [d["index"] for d in body["data"]] == list(range(len(DOCUMENTS)))
    assert all(d["object"] == "score" for d in body["data"])
    for item in body["data"]:
        assert abs(item["score"] - by_index[item["index"]]) <= 1e-6
    assert body["usage"]["prompt_tokens"] == reranked["usage"]["prompt_tokens"]


def test_score_pairs_n_to_n(http: httpx.Client) -> None:
    firsts, seconds = [QUERY, "Where do bananas grow?"], [DOCUMENTS[0], DOCUMENTS[3]]
    pairs = http.post(
        "/v1/score", json={"model": "reranker", "text_1": firsts, "text_2": seconds}
    ).json()
    for i, (first, second) in enumerate(zip(firsts, seconds, strict=True)):
        single = http.post(
            "/v1/score", json={"model": "reranker", "text_1": first, "text_2": second}
        ).json()
        assert abs(pairs["data"][i]["score"] - single["data"][0]["score"]) <= 1e-6


# --- embed ----------------------------------------------------------------------------------


def test_cohere_sdk_embed_types_equal_quantize_embeddings(
    http: httpx.Client, cohere_client: Any
) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.quantization import quantize_embeddings

    from server.encoders.tasks.embedding_types import scalar_ranges

    response = cohere_client.embed(
        model="minilm", texts=TEXTS, input_type="search_document", embedding_types=ALL_TYPES
    )
    embeddings = response.embeddings
    floats = np.array(embeddings.float_, dtype=np.float32)
    reference = SentenceTransformer(str(minilm_dir()), device="cpu").encode(TEXTS)
    assert floats.shape == reference.shape
    cosines = np.sum(floats * reference, axis=1) / np.linalg.norm(reference, axis=1)
    assert cosines.min() >= 0.999
    ranges = scalar_ranges(floats.shape[1])
    for kind in ("int8", "uint8"):
        expected = quantize_embeddings(floats, kind, ranges=ranges)
        np.testing.assert_array_equal(np.array(getattr(embeddings, kind)), expected)
    for kind in ("binary", "ubinary"):
        expected = quantize_embeddings(floats, kind)
        assert expected.shape == (len(TEXTS), floats.shape[1] // 8)
        np.testing.assert_array_equal(np.array(getattr(embeddings, kind)), expected)
    decoded = np.array([np.frombuffer(base64.b64decode(b), "<f4") for b in embeddings.base64])
    np.testing.assert_array_equal(decoded, floats)
    assert response.texts == TEXTS
    openai = embed_openai(http, model="minilm", input=TEXTS)
    np.testing.assert_array_equal(np.array([d["embedding"] for d in openai["data"]]), floats)
    assert response.meta.billed_units.input_tokens == openai["usage"]["prompt_tokens"]


def test_cohere_output_dimension_renormalises(cohere_client: Any) -> None:
    response = cohere_client.embed(
        model="minilm", texts=TEXTS[:2], input_type="search_query", output_dimension=64
    )
    vectors = np.array(response.embeddings.float_)
    assert vectors.shape == (2, 64)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_input_type_applies_the_configured_prompt(http: httpx.Client, cohere_client: Any) -> None:
    text = "capital of France"
    plain = embed_openai(http, model="minilm", input=PROMPTS["search_query"] + text)
    bare = embed_openai(http, model="minilm", input=text)
    for_query = embed_openai(http, model="instructed", input=text, input_type="search_query")
    expected = np.array(plain["data"][0]["embedding"])
    np.testing.assert_allclose(np.array(for_query["data"][0]["embedding"]), expected, atol=1e-6)
    assert for_query["usage"]["prompt_tokens"] == plain["usage"]["prompt_tokens"]
    assert for_query["usage"]["prompt_tokens"] > bare["usage"]["prompt_tokens"]
    sdk = cohere_client.embed(model="instructed", texts=[text], input_type="search_query")
    np.testing.assert_allclose(np.array(sdk.embeddings.float_[0]), expected, atol=1e-6)
    assert sdk.meta.billed_units.input_tokens == plain["usage"]["prompt_tokens"]
    documents = embed_openai(http, model="instructed", input=text, prompt_name="search_document")
    passage = embed_openai(http, model="minilm", input=PROMPTS["search_document"] + text)
    np.testing.assert_allclose(
        np.array(documents["data"][0]["embedding"]),
        np.array(passage["data"][0]["embedding"]),
        atol=1e-6,
    )
    # A model without prompts embeds the text as it is for Cohere's standard types.
    standard = cohere_client.embed(model="minilm", texts=[text], input_type="clustering")
    np.testing.assert_allclose(
        np.array(standard.embeddings.float_[0]), np.array(bare["data"][0]["embedding"]), atol=1e-6
    )


def test_unknown_input_type_lists_the_allowed_ones(http: httpx.Client, cohere_client: Any) -> None:
    import cohere

    response = http.post(
        "/v1/embeddings", json={"model": "instructed", "input": "x", "input_type": "question"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "input_type"
    for name in ("search_query", "search_document", "classification", "clustering"):
        assert name in error["message"]
    with pytest.raises(cohere.BadRequestError) as info:
        cohere_client.embed(model="minilm", texts=["x"], input_type="question")
    assert "search_query" in str(info.value.body)


def long_text() -> str:
    return " ".join(f"word{i}" for i in range(300))


@pytest.mark.parametrize(("truncate", "side"), [("END", "right"), ("START", "left")])
def test_cohere_truncate_cuts_the_stated_end(http: httpx.Client, truncate: str, side: str) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir()))
    tokenizer.truncation_side = side
    ids = tokenizer(long_text(), truncation=True, max_length=256)["input_ids"]
    assert len(ids) == 256 and ids[0] == 101 and ids[-1] == 102
    expected = embed_openai(http, model="minilm", input=ids)["data"][0]["embedding"]
    response = http.post(
        "/v2/embed", json={"model": "minilm", "texts": [long_text()], "truncate": truncate}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    np.testing.assert_allclose(body["embeddings"]["float"][0], expected, atol=1e-6)
    assert body["meta"]["billed_units"]["input_tokens"] == 256


def test_cohere_truncate_none_names_the_numbers(http: httpx.Client) -> None:
    response = http.post(
        "/v2/embed", json={"model": "minilm", "texts": ["ok", long_text()], "truncate": "NONE"}
    )
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "texts[1]" in message and "256" in message and "tokens" in message


def test_truncate_prompt_tokens_keeps_the_first_tokens(http: httpx.Client) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir()))
    ids = tokenizer(TEXTS[0], truncation=True, max_length=5)["input_ids"]
    expected = embed_openai(http, model="minilm", input=ids)
    cut = embed_openai(http, model="minilm", input=TEXTS[0], truncate_prompt_tokens=5)
    np.testing.assert_allclose(
        cut["data"][0]["embedding"], expected["data"][0]["embedding"], atol=1e-6
    )
    assert cut["usage"]["prompt_tokens"] == 5


def test_models_list_every_task_and_prompts(http: httpx.Client) -> None:
    cards = {card["id"]: card for card in http.get("/v1/models").json()["data"]}
    assert cards["minilm"]["task"] == "embed"
    assert cards["minilm"]["tasks"] == ["embed", "rerank", "score"]
    assert cards["minilm"]["prompts"] == {}
    assert cards["instructed"]["prompts"] == PROMPTS
    assert cards["reranker"]["tasks"] == ["rerank", "score"]
    assert cards["sentiment"]["tasks"] == ["classify"]
    assert cards["ner"]["tasks"] == ["ner"] and cards["ner"].get("prompts") is None
    # These models are configured with the default backend, torch.
    assert {card["runtime"] for card in cards.values()} == {"torch"}
