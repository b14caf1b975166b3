"""/v1/ner: the same entities as Transformers' token-classification pipeline, every strategy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from server.encoders.protocol import NerResponse
from tests.integration.encoders.conftest import BUNDLED_NER, TEXTS
from tests.integration.encoders.models import DerivedModels
from tests.support.server import MODELS_DIR

pytestmark = pytest.mark.integration

STRATEGIES = ["none", "simple", "first", "average", "max"]
# Longer than the model's 512 tokens: served as overlapping windows.
LONG_TEXT = " ".join(
    f"In {1900 + i}, Dr. Ada Lovelace-{i} visited Zürich and met the board of Acme Corp."
    for i in range(45)
)


def pipeline_for(path: Path) -> Any:
    from transformers import pipeline

    return pipeline("token-classification", model=str(path), device="cpu")


def ner_cases(derived: DerivedModels, served: dict[str, str]) -> list[tuple[str, Path]]:
    cases = [("ner", derived.ner)]
    if BUNDLED_NER in served:
        cases.append((BUNDLED_NER, MODELS_DIR / BUNDLED_NER))
    return cases


def expected_entities(pipe: Any, text: str, strategy: str, **kwargs: Any) -> list[dict[str, Any]]:
    entities = pipe(text, aggregation_strategy=strategy, **kwargs)
    key = "entity" if strategy == "none" else "entity_group"
    return [
        {
            "entity_group": e[key],
            "start": int(e["start"]),
            "end": int(e["end"]),
            "score": float(e["score"]),
        }
        for e in entities
    ]


def assert_same(got: list[dict[str, Any]], expected: list[dict[str, Any]], text: str) -> None:
    simplify = [(e["entity_group"], e["start"], e["end"]) for e in got]
    assert simplify == [(e["entity_group"], e["start"], e["end"]) for e in expected]
    for entity, reference in zip(got, expected, strict=True):
        assert abs(entity["score"] - reference["score"]) <= 1e-4
        assert entity["text"] == text[entity["start"] : entity["end"]]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_entities_match_the_pipeline(
    http: httpx.Client, derived: DerivedModels, served_models: dict[str, str], strategy: str
) -> None:
    for name, path in ner_cases(derived, served_models):
        pipe = pipeline_for(path)
        response = http.post(
            "/v1/ner", json={"model": name, "input": TEXTS, "aggregation_strategy": strategy}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["object"] == "list" and body["model"] == name
        # The documented response model, written byte for byte as its own serializer does.
        model = NerResponse.model_validate_json(response.content)
        assert response.content == model.model_dump_json(exclude_none=True).encode()
        found = 0
        for i, text in enumerate(TEXTS):
            assert body["data"][i]["index"] == i
            got = body["data"][i]["entities"]
            assert_same(got, expected_entities(pipe, text, strategy), text)
            found += len(got)
        assert found > 0, "a random head should tag something"


@pytest.mark.parametrize("strategy", ["simple", "first", "average", "max"])
def test_long_text_uses_overlapping_windows(
    http: httpx.Client, derived: DerivedModels, strategy: str
) -> None:
    pipe = pipeline_for(derived.ner)
    assert len(pipe.tokenizer(LONG_TEXT)["input_ids"]) > 512
    response = http.post(
        "/v1/ner", json={"model": "ner", "input": LONG_TEXT, "aggregation_strategy": strategy}
    )
    assert response.status_code == 200, response.text
    got = response.json()["data"][0]["entities"]
    # The server overlaps windows by a quarter of the model's 512 tokens.
    expected = expected_entities(pipe, LONG_TEXT, strategy, stride=128)
    assert_same(got, expected, LONG_TEXT)
    assert max(e["end"] for e in got) > len(LONG_TEXT) * 0.9  # the end of the text was read


def test_single_string_input(http: httpx.Client) -> None:
    body = http.post("/v1/ner", json={"model": "ner", "input": TEXTS[0]}).json()
    assert len(body["data"]) == 1
    for entity in body["data"][0]["entities"]:
        assert entity["text"] == TEXTS[0][entity["start"] : entity["end"]]
