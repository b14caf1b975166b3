"""Fine-tune MiniLM into the `minilm-ner` demo token classifier (BIO, CoNLL types)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from transformers import AutoModelForTokenClassification

from .finetune import (
    TrainConfig,
    bio_labels,
    encode_token_classification,
    entity_scores,
    load_spans,
    load_tokenizer,
    save,
    seed_all,
    torch_threads,
    train,
)
from .minilm import minilm_source_dir

logger = logging.getLogger("prepare")

NAME = "minilm-ner"
ENTITY_TYPES = ["PER", "ORG", "LOC", "MISC"]
LABELS = bio_labels(ENTITY_TYPES)
CONFIG = TrainConfig(epochs=6, learning_rate=1e-4, seed=42)
# Refuse to ship a model that is not good enough to demo.
MIN_F1 = 0.75


def prepare_ner(target: Path) -> None:
    """Train on the committed NER data and write a complete HF model folder to `target`.

    Token labels: B-<type> on an entity's first sub-token, I-<type> on all its
    other sub-tokens (see finetune.spans_to_token_tags).  Always trains; raises
    RuntimeError if the held-out entity F1 is below MIN_F1.
    """
    started = time.monotonic()
    source = minilm_source_dir()
    train_rows = load_spans("ner", "train")
    test_rows = load_spans("ner", "test")
    label2id = {label: i for i, label in enumerate(LABELS)}
    logger.info("%s: fine-tuning %s on %d sentences", NAME, source, len(train_rows))

    with torch_threads():
        seed_all(CONFIG.seed)  # before loading: the classifier head is randomly initialised
        tokenizer = load_tokenizer(source)
        model = AutoModelForTokenClassification.from_pretrained(
            source,
            local_files_only=True,
            num_labels=len(LABELS),
            id2label=dict(enumerate(LABELS)),
            label2id=label2id,
        )
        encoded = encode_token_classification(tokenizer, train_rows, label2id)
        train(model, encoded, tokenizer.pad_token_id, CONFIG, NAME, token_level=True)
        scores = entity_scores(model, tokenizer, test_rows)

    logger.info(
        "%s: held-out entity F1 %.3f (precision %.3f, recall %.3f, n=%d sentences, %d entities)",
        NAME,
        scores.f1,
        scores.precision,
        scores.recall,
        len(test_rows),
        scores.n_gold,
    )
    if scores.f1 < MIN_F1:
        raise RuntimeError(f"{NAME}: held-out entity F1 {scores.f1:.3f} is below {MIN_F1}")
    save(model, tokenizer, target)
    logger.info("%s: written to %s in %.0fs", NAME, target, time.monotonic() - started)
