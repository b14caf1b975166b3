"""Fine-tune MiniLM into the 3-class `minilm-sentiment` demo classifier."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from transformers import AutoModelForSequenceClassification

from .finetune import (
    TrainConfig,
    accuracy,
    encode_classification,
    load_classification,
    load_tokenizer,
    save,
    seed_all,
    torch_threads,
    train,
)
from .minilm import minilm_source_dir

logger = logging.getLogger("prepare")

NAME = "minilm-sentiment"
LABELS = ["negative", "neutral", "positive"]
CONFIG = TrainConfig(epochs=4, learning_rate=5e-5, seed=42)
# Refuse to ship a model that is not good enough to demo.
MIN_ACCURACY = 0.85


def prepare_sentiment(target: Path) -> None:
    """Train on the committed sentiment data and write a complete HF model folder to `target`.

    Always trains (caching is the caller's job); raises RuntimeError if the
    held-out accuracy is below MIN_ACCURACY.
    """
    started = time.monotonic()
    source = minilm_source_dir()
    train_rows = load_classification("sentiment", "train")
    test_rows = load_classification("sentiment", "test")
    label2id = {label: i for i, label in enumerate(LABELS)}
    logger.info("%s: fine-tuning %s on %d examples", NAME, source, len(train_rows))

    with torch_threads():
        seed_all(CONFIG.seed)  # before loading: the classifier head is randomly initialised
        tokenizer = load_tokenizer(source)
        model = AutoModelForSequenceClassification.from_pretrained(
            source,
            local_files_only=True,
            num_labels=len(LABELS),
            id2label=dict(enumerate(LABELS)),
            label2id=label2id,
            problem_type="single_label_classification",
        )
        encoded = encode_classification(tokenizer, train_rows, label2id)
        train(model, encoded, tokenizer.pad_token_id, CONFIG, NAME, token_level=False)
        score = accuracy(model, tokenizer, test_rows)

    logger.info("%s: held-out accuracy %.3f (n=%d)", NAME, score, len(test_rows))
    if score < MIN_ACCURACY:
        raise RuntimeError(f"{NAME}: held-out accuracy {score:.3f} is below {MIN_ACCURACY}")
    save(model, tokenizer, target)
    logger.info("%s: written to %s in %.0fs", NAME, target, time.monotonic() - started)
