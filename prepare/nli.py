"""Fine-tune MiniLM into `minilm-nli`, an entailment classifier for zero-shot classification.

Trained on (text, "This example is {label}.") pairs from generated topic sentences
(``data/topic_data.py``): entailment for the text's own topic, contradiction for another.
Scored as the zero-shot task scores it (softmax of the entailment logits over the candidate
labels) on held-out topics whose labels never occur in training, and on the hand-written
``data/zero_shot.handwritten.jsonl`` (news sections and product kinds, also unseen).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForSequenceClassification,
    PreTrainedModel,
    PreTrainedTokenizerFast,
)

from .data.topic_data import build_topic_pairs, build_topic_test
from .finetune import (
    MAX_LENGTH,
    TrainConfig,
    load_handwritten_rows,
    load_tokenizer,
    save,
    seed_all,
    torch_threads,
    train,
)
from .minilm import minilm_source_dir

logger = logging.getLogger("prepare")

NAME = "minilm-nli"
LABELS = ["contradiction", "entailment"]
TRAIN_PAIRS = 900
TEST_TEXTS = 120
HYPOTHESIS = "This example is {}."
CONFIG = TrainConfig(epochs=1, learning_rate=2e-4, batch_size=16, seed=42, frozen_layers=3)
# Refuse to ship a model that cannot tell held-out topics apart.
MIN_ACCURACY = 0.75


def load_handwritten() -> list[dict[str, Any]]:
    """The hand-written rows {"text", "candidate_labels", "label"}."""
    return load_handwritten_rows("zero_shot")


def encode_pairs(
    tokenizer: PreTrainedTokenizerFast, rows: Sequence[dict[str, Any]]
) -> list[dict[str, list[int]]]:
    """Tokenize (premise, hypothesis) pairs with their NLI class id."""
    label2id = {label: i for i, label in enumerate(LABELS)}
    encoded = []
    for row in rows:
        enc = tokenizer(
            str(row["premise"]), str(row["hypothesis"]), truncation=True, max_length=MAX_LENGTH
        )
        encoded.append(
            {
                "input_ids": list(enc["input_ids"]),
                "attention_mask": list(enc["attention_mask"]),
                "token_type_ids": list(enc["token_type_ids"]),
                "labels": [label2id[str(row["label"])]],
            }
        )
    return encoded


@torch.inference_mode()
def zero_shot_accuracy(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast, rows: Sequence[dict[str, Any]]
) -> float:
    """How often the best label (softmax of entailment over the candidates) is the gold one."""
    model.eval()
    entailment = LABELS.index("entailment")
    correct = 0
    for row in rows:
        labels = [str(label) for label in row["candidate_labels"]]
        batch = tokenizer(
            [str(row["text"])] * len(labels),
            [HYPOTHESIS.format(label) for label in labels],
            truncation=True,
            max_length=MAX_LENGTH,
            padding=True,
            return_tensors="pt",
        )
        logits = model(**batch).logits[:, entailment]
        correct += labels[int(logits.argmax())] == row["label"]
    return correct / len(rows)


def prepare_nli(target: Path) -> None:
    """Train on generated topic pairs and write a complete HF model folder to `target`.

    Raises RuntimeError if the accuracy on held-out topics is below MIN_ACCURACY.
    """
    started = time.monotonic()
    source = minilm_source_dir()
    train_rows = build_topic_pairs("train", TRAIN_PAIRS)
    logger.info("%s: fine-tuning %s on %d pairs", NAME, source, len(train_rows))
    with torch_threads():
        seed_all(CONFIG.seed)  # before loading: the classifier head is randomly initialised
        tokenizer = load_tokenizer(source)
        model = AutoModelForSequenceClassification.from_pretrained(
            source,
            local_files_only=True,
            num_labels=len(LABELS),
            id2label=dict(enumerate(LABELS)),
            label2id={label: i for i, label in enumerate(LABELS)},
            problem_type="single_label_classification",
        )
        train(
            model, encode_pairs(tokenizer, train_rows), tokenizer.pad_token_id, CONFIG, NAME, False
        )
        held_out = zero_shot_accuracy(model, tokenizer, build_topic_test(TEST_TEXTS))
        written_rows = load_handwritten()
        written = zero_shot_accuracy(model, tokenizer, written_rows)
    logger.info(
        "%s: zero-shot accuracy on unseen labels: held-out topics %.3f (n=%d), "
        "hand-written %.3f (n=%d)",
        NAME,
        held_out,
        TEST_TEXTS,
        written,
        len(written_rows),
    )
    if held_out < MIN_ACCURACY:
        raise RuntimeError(f"{NAME}: held-out zero-shot accuracy {held_out:.3f} < {MIN_ACCURACY}")
    save(model, tokenizer, target)
    logger.info("%s: written to %s in %.0fs", NAME, target, time.monotonic() - started)
