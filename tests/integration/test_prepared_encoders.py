"""Check the prepared demo encoders from disk: labels, held-out quality, MiniLM copy.

Models are read from `$INFERENCE_MODELS_DIR/<name>` (default `<repo>/models`).
A model missing there is prepared into a session temporary directory first,
which trains it (a few minutes on CPU).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from transformers import (
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    AutoTokenizer,
    pipeline,
)

from prepare.finetune import Span, load_classification, load_spans, score_entities
from prepare.minilm import prepare_minilm
from prepare.ner import prepare_ner
from prepare.sentiment import prepare_sentiment

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
MODELS_DIR = Path(os.environ.get("INFERENCE_MODELS_DIR", REPO / "models"))


def _model_dir(
    name: str, prepare: Callable[[Path], None], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    prepared = MODELS_DIR / name
    if (prepared / "config.json").is_file():
        return prepared
    target = tmp_path_factory.mktemp("models") / name
    prepare(target)
    return target


@pytest.fixture(scope="session")
def sentiment_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _model_dir("minilm-sentiment", prepare_sentiment, tmp_path_factory)


@pytest.fixture(scope="session")
def ner_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _model_dir("minilm-ner", prepare_ner, tmp_path_factory)


@pytest.fixture(scope="session")
def minilm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _model_dir("all-minilm-l6-v2", prepare_minilm, tmp_path_factory)


def _assert_hf_folder(folder: Path) -> None:
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        assert (folder / name).is_file(), f"{folder} lacks {name}"


def test_sentiment_labels_and_accuracy(sentiment_dir: Path) -> None:
    _assert_hf_folder(sentiment_dir)
    model = AutoModelForSequenceClassification.from_pretrained(sentiment_dir, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(sentiment_dir, local_files_only=True)
    assert model.config.architectures == ["BertForSequenceClassification"]
    assert model.config.problem_type == "single_label_classification"
    assert model.config.id2label == {0: "negative", 1: "neutral", 2: "positive"}
    assert model.config.label2id == {"negative": 0, "neutral": 1, "positive": 2}

    classify = pipeline("text-classification", model=model, tokenizer=tokenizer, device="cpu")
    examples = load_classification("sentiment", "test")
    predicted = [out["label"] for out in classify([ex.text for ex in examples], batch_size=32)]
    correct = sum(p == ex.label for p, ex in zip(predicted, examples, strict=True))
    assert correct / len(examples) >= 0.85

    demo = classify(
        [
            "I love this place, the food was wonderful!",
            "Terrible service, I will never come back.",
            "The shop opens at nine on weekdays.",
        ]
    )
    assert [out["label"] for out in demo] == ["positive", "negative", "neutral"]


def test_ner_labels_and_entity_f1(ner_dir: Path) -> None:
    _assert_hf_folder(ner_dir)
    model = AutoModelForTokenClassification.from_pretrained(ner_dir, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(ner_dir, local_files_only=True)
    assert model.config.architectures == ["BertForTokenClassification"]
    expected = ["O"] + [f"{p}-{t}" for t in ("PER", "ORG", "LOC", "MISC") for p in "BI"]
    assert model.config.id2label == dict(enumerate(expected))
    assert model.config.label2id == {tag: i for i, tag in enumerate(expected)}

    ner = pipeline(
        "token-classification",
        model=model,
        tokenizer=tokenizer,
        aggregation_strategy="simple",
        device="cpu",
    )
    examples = load_spans("ner", "test")
    outputs = ner([ex.text for ex in examples], batch_size=32)
    predicted = [
        [Span(int(e["start"]), int(e["end"]), str(e["entity_group"])) for e in sentence]
        for sentence in outputs
    ]
    scores = score_entities([ex.entities for ex in examples], predicted)
    assert scores.f1 >= 0.75, scores

    text = "Maria Schneider flew from Berlin to Toronto to meet the Siemens board."
    found = {(text[int(e["start"]) : int(e["end"])], e["entity_group"]) for e in ner(text)}
    assert {("Maria Schneider", "PER"), ("Berlin", "LOC"), ("Toronto", "LOC")} <= found


def test_minilm_copy_is_a_sentence_transformer(minilm_dir: Path) -> None:
    from sentence_transformers import SentenceTransformer

    for name in ("modules.json", "1_Pooling/config.json", "model.safetensors", "tokenizer.json"):
        assert (minilm_dir / name).is_file(), f"{minilm_dir} lacks {name}"
    model = SentenceTransformer(str(minilm_dir), device="cpu")
    emb = model.encode(["A man is eating food.", "Someone is having a meal.", "Stocks fell."])
    assert emb.shape == (3, 384)
    assert float(emb[0] @ emb[1]) > float(emb[0] @ emb[2]) + 0.3
