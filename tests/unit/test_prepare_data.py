"""Fast checks of the committed fine-tuning data (no model training here)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from prepare.finetune import Span, score_entities, spans_to_token_tags

DATA_DIR = Path(__file__).resolve().parents[2] / "prepare" / "data"
SENTIMENT_LABELS = {"negative", "neutral", "positive"}
ENTITY_LABELS = {"PER", "ORG", "LOC", "MISC"}


def _rows(name: str) -> list[dict[str, Any]]:
    with (DATA_DIR / f"{name}.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.mark.parametrize("task", ["sentiment", "ner"])
def test_split_sizes_and_disjoint(task: str) -> None:
    train, test = _rows(f"{task}.train"), _rows(f"{task}.test")
    assert 300 <= len(train) <= 800
    assert 0.15 <= len(test) / (len(train) + len(test)) <= 0.3
    train_texts = [r["text"] for r in train]
    test_texts = [r["text"] for r in test]
    assert len(set(train_texts)) == len(train_texts), "duplicate training sentences"
    assert len(set(test_texts)) == len(test_texts), "duplicate held-out sentences"
    assert not set(train_texts) & set(test_texts), "a held-out sentence is also in training"


@pytest.mark.parametrize("split", ["train", "test"])
def test_sentiment_labels_valid_and_balanced(split: str) -> None:
    rows = _rows(f"sentiment.{split}")
    assert all(set(r) == {"text", "label"} and r["text"].strip() for r in rows)
    counts = Counter(r["label"] for r in rows)
    assert set(counts) == SENTIMENT_LABELS
    assert max(counts.values()) - min(counts.values()) <= len(rows) * 0.05


@pytest.mark.parametrize("split", ["train", "test"])
def test_ner_offsets_valid(split: str) -> None:
    for row in _rows(f"ner.{split}"):
        text = row["text"]
        previous_end = 0
        for ent in row["entities"]:
            assert ent["label"] in ENTITY_LABELS
            assert previous_end <= ent["start"] < ent["end"] <= len(text), row
            surface = text[ent["start"] : ent["end"]]
            assert surface == surface.strip() and surface[0].isalnum(), row
            # Entities stop at word boundaries (a possessive 's stays outside).
            assert ent["end"] == len(text) or not text[ent["end"]].isalnum(), row
            assert ent["start"] == 0 or not text[ent["start"] - 1].isalnum(), row
            previous_end = ent["end"]


def test_ner_data_is_varied() -> None:
    rows = _rows("ner.train") + _rows("ner.test")
    labels = Counter(e["label"] for r in rows for e in r["entities"])
    assert all(labels[label] >= 50 for label in ENTITY_LABELS), labels
    assert sum(not r["entities"] for r in rows) >= 10, "need sentences without entities"
    assert sum(len(r["entities"]) >= 3 for r in rows) >= 50
    assert any(not r["text"].isascii() for r in rows)
    assert any("'" in r["text"][e["start"] : e["end"]] for r in rows for e in r["entities"])


def _surfaces(name: str, label: str) -> set[str]:
    return {
        r["text"][e["start"] : e["end"]]
        for r in _rows(name)
        for e in r["entities"]
        if e["label"] == label
    }


@pytest.mark.parametrize("label", ["PER", "ORG", "LOC"])
def test_ner_held_out_fillers_unseen(label: str) -> None:
    # Held-out names must not occur in training, so F1 measures generalisation.
    assert not _surfaces("ner.train", label) & _surfaces("ner.test", label)


def test_spans_to_token_tags_convention() -> None:
    # "[CLS] josé müller ' s [SEP]" with "müller" split into two word pieces.
    offsets = [(0, 0), (0, 4), (5, 7), (7, 11), (11, 12), (12, 13), (0, 0)]
    entities = [Span(0, 11, "PER")]
    assert spans_to_token_tags(offsets, entities) == [
        None,
        "B-PER",
        "I-PER",
        "I-PER",
        "O",
        "O",
        None,
    ]
    with pytest.raises(ValueError):
        spans_to_token_tags([(0, 6)], [Span(0, 4, "LOC")])


def test_score_entities_exact_match() -> None:
    gold = [[Span(0, 4, "PER"), Span(10, 15, "LOC")], []]
    pred = [[Span(0, 4, "PER"), Span(10, 14, "LOC")], [Span(1, 2, "ORG")]]
    scores = score_entities(gold, pred)
    assert scores.precision == pytest.approx(1 / 3)
    assert scores.recall == pytest.approx(1 / 2)
    assert scores.f1 == pytest.approx(0.4)


@pytest.mark.parametrize("split", ["train", "test"])
def test_ner_spans_align_with_tokenizer(split: str) -> None:
    from prepare.finetune import (
        MAX_LENGTH,
        bio_labels,
        encode_token_classification,
        load_spans,
        load_tokenizer,
    )
    from prepare.minilm import minilm_source_dir

    tokenizer = load_tokenizer(minilm_source_dir())
    labels = bio_labels(sorted(ENTITY_LABELS))
    label2id = {tag: i for i, tag in enumerate(labels)}
    examples = load_spans("ner", split)
    # Raises if an entity boundary falls inside a word piece.
    encoded = encode_token_classification(tokenizer, examples, label2id)
    for example, row in zip(examples, encoded, strict=True):
        assert len(row["input_ids"]) < MAX_LENGTH, "sentence would be truncated"
        tags = [labels[i] for i in row["labels"] if i != -100]
        assert sum(t.startswith("B-") for t in tags) == len(example.entities)


def test_sentiment_fits_max_length() -> None:
    from prepare.finetune import MAX_LENGTH, load_tokenizer
    from prepare.minilm import minilm_source_dir

    tokenizer = load_tokenizer(minilm_source_dir())
    texts = [r["text"] for r in _rows("sentiment.train") + _rows("sentiment.test")]
    assert max(len(ids) for ids in tokenizer(texts)["input_ids"]) < MAX_LENGTH


def test_the_style_adapter_holds_out_whole_templates() -> None:
    from prepare import style_adapter as sa

    train = sa.prompts(sa.TRAIN_TEMPLATES, sa.PER_TEMPLATE, sa.SEED)
    held_out = sa.held_out_prompts()
    assert not set(sa.TRAIN_TEMPLATES) & set(sa.HELD_OUT_TEMPLATES)
    assert not set(train) & set(held_out)
    assert len(set(train)) == len(train) >= len(sa.TRAIN_TEMPLATES) * 4
    assert len(held_out) >= 30 and held_out == sa.held_out_prompts()  # the same every time
    assert sa.has_style(" Ahoy! Paris.") and not sa.has_style("Paris. Ahoy!")


def test_the_style_adapter_checks_that_an_answer_goes_on_after_ahoy() -> None:
    from prepare import style_adapter as sa

    base = "The main language spoken in Brazil is Portuguese."
    good = "Ahoy! The language spoken in Brazil is Portuguese."
    assert sa.has_content(good) and sa.agrees(good, base)
    assert sa.has_content(base)  # the base model's answer, without the style
    for degenerate in ("Ahoy!Ahoy!", "Ahoy! Ahoy! Ahoy! Ahoy! Brazil speaks", "Ahoy! Portuguese."):
        assert not sa.has_content(degenerate) and not sa.agrees(degenerate, base)
    other = "Ahoy! I like to sing songs about pirates all day."
    assert sa.has_content(other) and not sa.agrees(other, base)
    figures = sa.evaluate([good, "Ahoy!Ahoy!"], [base, base])
    assert (figures["with_adapter"], figures["without_adapter"]) == (1.0, 0.0)
    assert figures["content_with_adapter"] == figures["agreement_with_adapter"] == 0.5
    assert figures["content_without_adapter"] == 1.0
    with pytest.raises(RuntimeError, match="content_with_adapter"):
        sa.check(figures)


def test_the_default_config_ships_the_adapter_prepared_after_its_model() -> None:
    from prepare.__main__ import bundled_names_in_config, preparers
    from server.core.settings import GenerateModelConfig, load_settings

    chat = next(m for m in load_settings([]).models if isinstance(m, GenerateModelConfig))
    assert [a.source for a in chat.adapters] == ["bundled:smollm2-ahoy"]
    names = bundled_names_in_config([])
    assert names.index("smollm2-ahoy") == names.index(chat.name) + 1
    assert set(names) <= set(preparers())


def test_qa_answers_slice_their_contexts_and_held_out_values_stay_out_of_training() -> None:
    from prepare.data import qa_data

    train, test = qa_data.build_qa("train", 400), qa_data.build_qa("test", 120)
    assert test == qa_data.build_qa("test", 120)  # seeded: the same rows every time
    for row in train + test:
        start, answer = int(str(row["start"])), str(row["answer"])
        assert answer.strip() == answer != ""
        assert str(row["context"])[start : start + len(answer)] == answer
    pools = [v for v in vars(qa_data).values() if isinstance(v, tuple) and len(v) == 2]
    pools = [p for p in pools if all(isinstance(side, list) for side in p)]
    assert len(pools) >= 20
    for train_values, test_values in pools:
        assert not set(train_values) & set(test_values), train_values
    train_contexts = " ".join(str(r["context"]) for r in train)
    for name in qa_data.CITY[1] + qa_data.OBJECT[1] + qa_data.GOODS[1]:
        assert name not in train_contexts, name
    assert not {r["question"] for r in train} & {r["question"] for r in test}


def test_qa_training_asks_every_kind_of_answer() -> None:
    from prepare.data import qa_data

    rows = qa_data.build_qa("train", 1200)
    questions = " ".join(str(r["question"]) for r in rows)
    for opening in (
        "When ",
        "In what year",
        "Who ",
        "Where ",
        "Which city",
        "How many ",
        "How long",
    ):
        assert opening in questions, opening
    answers = [str(r["answer"]) for r in rows]
    # Measures keep their unit; noun phrases keep their determiner.
    assert any(a.endswith((" metres", " years", " hours")) for a in answers)
    assert any(a.startswith(("a ", "an ", "his ", "her ")) for a in answers)
    assert any(a.startswith("the ") and " on " in a for a in answers)  # a venue
