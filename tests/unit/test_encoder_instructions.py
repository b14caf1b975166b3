"""Instructions by input type, prompted tokenization with each truncation side, quantized
embedding types (against sentence-transformers' quantize_embeddings)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from server.core.errors import ContextLengthExceeded, InvalidRequest
from server.encoders.instructions import allowed_input_types, select_prompt
from server.encoders.tasks.embedding_types import by_type, quantize, scalar_ranges
from server.encoders.tokenization import Side
from server.encoders.workers.st_layout import read_prompts
from tests.unit.test_encoder_tokenization import encoder

PROMPTS = {"search_query": "query: ", "search_document": "passage: "}


@pytest.mark.parametrize(
    ("prompts", "input_type", "expected"),
    [
        (PROMPTS, "search_query", "query: "),
        (PROMPTS, "search_document", "passage: "),
        (PROMPTS, "clustering", ""),
        ({}, "search_query", ""),
        ({}, "classification", ""),
        # sentence-transformers' own names serve Cohere's search types.
        ({"query": "q: ", "passage": "p: "}, "search_query", "q: "),
        ({"query": "q: ", "passage": "p: "}, "search_document", "p: "),
        ({"query": "q: ", "passage": "p: "}, "passage", "p: "),
        ({"search_query": "own: ", "query": "q: "}, "search_query", "own: "),
    ],
)
def test_input_type_selects_a_prompt(
    prompts: dict[str, str], input_type: str, expected: str
) -> None:
    assert select_prompt(prompts, input_type=input_type, prompt_name=None) == expected


def test_unknown_input_type_lists_the_allowed_ones() -> None:
    prompts = {"query": "q: ", "nli": "n: "}
    with pytest.raises(InvalidRequest) as info:
        select_prompt(prompts, input_type="image", prompt_name=None)
    assert info.value.param == "input_type"
    for name in allowed_input_types(prompts):
        assert name in info.value.message
    assert "nli" in info.value.message and "search_document" in info.value.message


def test_prompt_name_and_default() -> None:
    prompts = {"query": "q: ", "document": ""}
    assert select_prompt(prompts, input_type=None, prompt_name="query") == "q: "
    assert select_prompt(prompts, input_type=None, prompt_name=None, default_name="query") == "q: "
    assert select_prompt(prompts, input_type=None, prompt_name=None) == ""
    with pytest.raises(InvalidRequest, match="document, query"):
        select_prompt(prompts, input_type=None, prompt_name="search_query")
    with pytest.raises(InvalidRequest, match="not both"):
        select_prompt(prompts, input_type="search_query", prompt_name="query")


def test_prompts_are_read_from_the_folder(tmp_path: Path) -> None:
    assert read_prompts(tmp_path) == ({}, None)
    config = {"prompts": {"query": "query: ", "passage": ""}, "default_prompt_name": "query"}
    (tmp_path / "config_sentence_transformers.json").write_text(json.dumps(config))
    assert read_prompts(tmp_path) == ({"query": "query: ", "passage": ""}, "query")
    config["default_prompt_name"] = "missing"
    (tmp_path / "config_sentence_transformers.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="missing"):
        read_prompts(tmp_path)


async def test_prompt_is_tokenized_with_the_text() -> None:
    text = encoder(max_length=16)
    (prompted,) = await text.encode_prompted(
        ["hello"], prompt="query: ", side=Side.NONE, limit=None, param="texts", hint="x"
    )
    (plain,) = await text.encode(["query: hello"], truncate=False, param="input")
    assert prompted.ids.tolist() == plain.ids


LONG = "one two three four five six seven eight nine ten"


async def test_truncation_sides_keep_special_tokens_and_the_prompt() -> None:
    text = encoder(max_length=32)
    (whole,) = await text.encode([LONG], truncate=False, param="input")
    body = whole.ids[1:-1]
    (end,) = await text.encode_prompted(
        [LONG], prompt="", side=Side.END, limit=6, param="texts", hint="x"
    )
    assert end.ids.tolist() == [101, *body[:4], 102]
    (start,) = await text.encode_prompted(
        [LONG], prompt="", side=Side.START, limit=6, param="texts", hint="x"
    )
    assert start.ids.tolist() == [101, *body[-4:], 102]
    (prompt_ids,) = await text.encode(["query:"], truncate=False, param="input")
    (kept,) = await text.encode_prompted(
        [LONG], prompt="query: ", side=Side.START, limit=8, param="texts", hint="x"
    )
    prompt_body = prompt_ids.ids[1:-1]
    assert kept.ids.tolist() == [101, *prompt_body, *body[-(6 - len(prompt_body)) :], 102]


async def test_none_over_the_limit_names_the_numbers() -> None:
    text = encoder(max_length=32)
    with pytest.raises(ContextLengthExceeded) as info:
        await text.encode_prompted(
            ["ok", LONG], prompt="", side=Side.NONE, limit=6, param="texts", hint='"truncate"'
        )
    message = info.value.message
    assert "texts[1]" in message and "12 tokens" in message and "6" in message
    assert '"truncate"' in message


def random_unit_vectors(rows: int = 5, dim: int = 24) -> np.ndarray:
    vectors = np.random.default_rng(7).normal(size=(rows, dim)).astype(np.float32)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("kind", ["int8", "uint8", "binary", "ubinary"])
def test_quantized_types_equal_sentence_transformers(kind: str) -> None:
    from sentence_transformers.quantization import quantize_embeddings

    vectors = random_unit_vectors()
    expected = quantize_embeddings(vectors, kind, ranges=scalar_ranges(vectors.shape[1]))
    got = quantize(vectors, kind)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    # The codes of a vector do not depend on the other vectors of the request.
    np.testing.assert_array_equal(quantize(vectors[:1], kind), expected[:1])


def test_by_type_gives_json_rows() -> None:
    vectors = random_unit_vectors(rows=2, dim=16)
    result = by_type(vectors, ["float", "base64", "ubinary"])
    assert list(result) == ["float", "base64", "ubinary"]
    np.testing.assert_array_equal(np.array(result["float"], dtype=np.float32), vectors)
    decoded = np.frombuffer(base64.b64decode(result["base64"][1]), dtype="<f4")
    np.testing.assert_array_equal(decoded, vectors[1])
    assert len(result["ubinary"][0]) == 2
