"""The encoder benchmark's inputs: seeded, distinct, 10-30 words."""

from __future__ import annotations

import pytest

from bench.payloads import chat_prompts, encoder_calls
from bench.sentences import sentences


def test_same_seed_same_sentences_other_seed_other_sentences() -> None:
    assert sentences(200, seed=3) == sentences(200, seed=3)
    assert sentences(200, seed=3) != sentences(200, seed=4)
    assert sentences(50, seed=3) == sentences(200, seed=3)[:50]


def test_sentences_are_distinct_and_within_the_word_bounds() -> None:
    texts = sentences(2048, seed=0)
    assert len(texts) == 2048
    assert len(set(texts)) == 2048
    counts = [len(t.split()) for t in texts]
    assert min(counts) == 10
    assert max(counts) == 30
    assert all(t[0].isupper() and t.endswith(".") for t in texts)


def test_custom_bounds_and_bad_arguments() -> None:
    assert {len(t.split()) for t in sentences(100, seed=1, min_words=3, max_words=3)} == {3}
    with pytest.raises(ValueError):
        sentences(1, min_words=5, max_words=4)


def test_payloads_carry_one_input_each() -> None:
    calls = encoder_calls("ner", "minilm-ner", ["a b", "c d"])
    assert [c.path for c in calls] == ["/v1/ner", "/v1/ner"]
    assert calls[1].body == {"model": "minilm-ner", "input": "c d"}
    prompts = chat_prompts(4)
    assert len(set(prompts)) == 4
    assert all(len(p.split()) >= 60 for p in prompts)
