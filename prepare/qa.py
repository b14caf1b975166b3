"""Fine-tune MiniLM into `minilm-qa`, an extractive question-answering model.

Trained on generated factual contexts (``data/qa_data.py``); scored on held-out templates
and on the hand-written ``data/qa.handwritten.jsonl`` with SQuAD's exact match and F1.
"""

from __future__ import annotations

import collections
import logging
import re
import string
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForQuestionAnswering, PreTrainedModel, PreTrainedTokenizerFast

from .data.qa_data import build_qa
from .finetune import (
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

NAME = "minilm-qa"
TRAIN_SIZE = 1200
TEST_SIZE = 120
MAX_LENGTH = 128
MAX_ANSWER_TOKENS = 15
CONFIG = TrainConfig(epochs=1, learning_rate=4e-4, batch_size=16, seed=42, frozen_layers=3)
# Refuse to ship a model that does not answer held-out phrasings. Below what this seed reaches
# here (0.775) by a margin: another CPU sums floats in another order and lands a few answers
# apart, and a floor it misses would stop the whole preparation.
MIN_EXACT = 0.65


@dataclass(frozen=True)
class QAScores:
    """SQuAD exact match and token F1 (after lower-casing, removing punctuation/articles)."""

    exact: float
    f1: float
    n: int


def load_handwritten() -> list[dict[str, Any]]:
    """The hand-written evaluation rows {"context", "question", "answer", "start"}."""
    return load_handwritten_rows("qa")


def encode_qa(
    tokenizer: PreTrainedTokenizerFast, rows: Sequence[dict[str, Any]]
) -> list[dict[str, list[int]]]:
    """Tokenize (question, context) pairs and mark the answer's first and last tokens."""
    encoded = []
    for row in rows:
        enc = tokenizer(
            str(row["question"]),
            str(row["context"]),
            truncation="only_second",
            max_length=MAX_LENGTH,
            return_offsets_mapping=True,
        )
        start_char = int(row["start"])
        end_char = start_char + len(str(row["answer"]))
        sequence = enc.sequence_ids()
        inside = [
            i
            for i, (a, b) in enumerate(enc["offset_mapping"])
            if sequence[i] == 1 and b > start_char and a < end_char
        ]
        start, end = (inside[0], inside[-1]) if inside else (0, 0)
        if not start or not end:
            continue  # the answer was cut off
        encoded.append(
            {
                "input_ids": list(enc["input_ids"]),
                "attention_mask": list(enc["attention_mask"]),
                "token_type_ids": list(enc["token_type_ids"]),
                "start_positions": [start],
                "end_positions": [end],
            }
        )
    return encoded


EVAL_BATCH = 32


@torch.inference_mode()
def answers(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerFast,
    questions: Sequence[str],
    contexts: Sequence[str],
) -> list[str]:
    """The best context span of each (question, context) pair (start logit + end logit, at
    most MAX_ANSWER_TOKENS long), scored in padded batches."""
    found: list[str] = []
    for first in range(0, len(questions), EVAL_BATCH):
        batch_contexts = list(contexts[first : first + EVAL_BATCH])
        enc = tokenizer(
            list(questions[first : first + EVAL_BATCH]),
            batch_contexts,
            truncation="only_second",
            max_length=384,
            padding=True,
            return_offsets_mapping=True,
            return_tensors="pt",
        )
        offsets = enc.pop("offset_mapping").tolist()
        out = model(**enc)
        n = enc["input_ids"].shape[1]
        allowed = np.triu(np.ones((n, n), dtype=bool)) & ~np.triu(
            np.ones((n, n), dtype=bool), MAX_ANSWER_TOKENS
        )
        for row, context in enumerate(batch_contexts):
            sequence = np.array([s == 1 for s in enc.sequence_ids(row)])
            start = np.where(sequence, out.start_logits[row].numpy(), -1e9)
            end = np.where(sequence, out.end_logits[row].numpy(), -1e9)
            scores = np.where(allowed, start[:, None] + end[None, :], -1e18)
            i, j = np.unravel_index(int(scores.argmax()), scores.shape)
            found.append(context[offsets[row][i][0] : offsets[row][j][1]])
    return found


def answer(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast, question: str, context: str
) -> str:
    """The best context span for one question."""
    return answers(model, tokenizer, [question], [context])[0]


def _normalize(text: str) -> str:
    text = "".join(c for c in text.lower() if c not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def _f1(predicted: str, gold: str) -> float:
    p, g = _normalize(predicted).split(), _normalize(gold).split()
    common = sum((collections.Counter(p) & collections.Counter(g)).values())
    if not common:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def qa_scores(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast, rows: Sequence[dict[str, Any]]
) -> QAScores:
    """Exact match and F1 of the model's answers over ``rows``."""
    model.eval()
    predictions = answers(
        model, tokenizer, [str(r["question"]) for r in rows], [str(r["context"]) for r in rows]
    )
    exact = f1 = 0.0
    for row, predicted in zip(rows, predictions, strict=True):
        exact += _normalize(predicted) == _normalize(str(row["answer"]))
        f1 += _f1(predicted, str(row["answer"]))
    return QAScores(exact / len(rows), f1 / len(rows), len(rows))


def prepare_qa(target: Path) -> None:
    """Train on generated contexts and write a complete HF model folder to `target`.

    Raises RuntimeError if the exact match on held-out templates is below MIN_EXACT.
    """
    started = time.monotonic()
    source = minilm_source_dir()
    train_rows = build_qa("train", TRAIN_SIZE)
    logger.info("%s: fine-tuning %s on %d questions", NAME, source, len(train_rows))
    with torch_threads():
        seed_all(CONFIG.seed)  # before loading: the span head is randomly initialised
        tokenizer = load_tokenizer(source)
        model = AutoModelForQuestionAnswering.from_pretrained(source, local_files_only=True)
        encoded = encode_qa(tokenizer, train_rows)
        train(model, encoded, tokenizer.pad_token_id, CONFIG, NAME, token_level=False)
        held_out = qa_scores(model, tokenizer, build_qa("test", TEST_SIZE))
        written = qa_scores(model, tokenizer, load_handwritten())
    logger.info(
        "%s: held-out templates exact %.3f F1 %.3f (n=%d); hand-written exact %.3f F1 %.3f (n=%d)",
        NAME,
        held_out.exact,
        held_out.f1,
        held_out.n,
        written.exact,
        written.f1,
        written.n,
    )
    if held_out.exact < MIN_EXACT:
        raise RuntimeError(f"{NAME}: held-out exact match {held_out.exact:.3f} < {MIN_EXACT}")
    save(model, tokenizer, target)
    logger.info("%s: written to %s in %.0fs", NAME, target, time.monotonic() - started)
