"""Shared helpers for fine-tuning the packaged MiniLM encoder on the demo data.

Everything here runs on CPU from local folders only (no hub access), with
fixed seeds, so that preparing a model twice gives the same weights.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch
from transformers import (
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerFast,
    pipeline,
    set_seed,
)

logger = logging.getLogger("prepare")

DATA_DIR = Path(__file__).resolve().parent / "data"

# Short sequences keep CPU training fast; the demo sentences are all well below.
MAX_LENGTH = 64
# Two cores here; on a host shared with other busy processes one thread avoids OpenMP stalls
# (a descheduled thread holds the other at every barrier): PREPARE_TORCH_THREADS=1.
NUM_THREADS = int(os.environ.get("PREPARE_TORCH_THREADS", "2"))


@dataclass(frozen=True)
class Span:
    """A labelled character span [start, end) of a text."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class TextLabel:
    """A sentence with one class label."""

    text: str
    label: str


@dataclass(frozen=True)
class TextSpans:
    """A sentence with its entity spans."""

    text: str
    entities: tuple[Span, ...]


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of the plain AdamW training loop."""

    epochs: int
    learning_rate: float
    batch_size: int = 16
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    seed: int = 42
    # The word-embedding matrix is half of MiniLM's weights: freezing it makes
    # steps faster and keeps unseen names close to where pre-training put them.
    freeze_word_embeddings: bool = True
    # Freeze the embeddings and this many lowest encoder layers: the backward pass then stops
    # above them (about half the cost of a step with 3 of MiniLM's 6 layers frozen).
    frozen_layers: int = 0


@dataclass(frozen=True)
class EntityScores:
    """Micro-averaged entity-level scores (exact span and type)."""

    precision: float
    recall: float
    f1: float
    n_gold: int
    n_pred: int


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_handwritten_rows(task: str) -> list[dict[str, Any]]:
    """The hand-written evaluation rows of ``task`` (``data/<task>.handwritten.jsonl``)."""
    return _read_jsonl(DATA_DIR / f"{task}.handwritten.jsonl")


def load_classification(name: str, split: str) -> list[TextLabel]:
    """Load `data/<name>.<split>.jsonl` rows of {"text", "label"}."""
    rows = _read_jsonl(DATA_DIR / f"{name}.{split}.jsonl")
    return [TextLabel(str(r["text"]), str(r["label"])) for r in rows]


def load_spans(name: str, split: str) -> list[TextSpans]:
    """Load `data/<name>.<split>.jsonl` rows of {"text", "entities": [{start, end, label}]}."""
    rows = _read_jsonl(DATA_DIR / f"{name}.{split}.jsonl")
    return [
        TextSpans(
            str(r["text"]),
            tuple(Span(int(e["start"]), int(e["end"]), str(e["label"])) for e in r["entities"]),
        )
        for r in rows
    ]


def load_tokenizer(folder: Path) -> PreTrainedTokenizerFast:
    """Load a fast (Rust) tokenizer from a local folder; offset mappings need one."""
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    if not isinstance(tokenizer, PreTrainedTokenizerFast):
        raise TypeError(f"{folder} has no fast tokenizer (tokenizer.json)")
    return tokenizer


def bio_labels(entity_types: Sequence[str]) -> list[str]:
    """Return the BIO tag list: "O" first, then B-/I- per type in the given order."""
    tags = ["O"]
    for kind in entity_types:
        tags += [f"B-{kind}", f"I-{kind}"]
    return tags


def spans_to_token_tags(
    offsets: Sequence[tuple[int, int]], entities: Sequence[Span]
) -> list[str | None]:
    """Tag each token from its character offsets.

    Convention: the first sub-token of an entity is B-<type>; every later token
    of the same entity, including word-piece continuations, is I-<type>.  That
    matches what `aggregation_strategy="simple"` groups back into one entity.
    Special tokens (empty offsets) get None, to be ignored by the loss.
    """
    tags: list[str | None] = []
    for start, end in offsets:
        if start == end:
            tags.append(None)
            continue
        tag = "O"
        for ent in entities:
            if start >= ent.start and end <= ent.end:
                tag = ("B-" if start == ent.start else "I-") + ent.label
                break
            if start < ent.end and end > ent.start:
                raise ValueError(f"token {start}:{end} straddles entity {ent}")
        tags.append(tag)
    return tags


def encode_token_classification(
    tokenizer: PreTrainedTokenizerFast,
    examples: Sequence[TextSpans],
    label2id: dict[str, int],
) -> list[dict[str, list[int]]]:
    """Tokenize examples and align entity spans to per-token label ids (-100 = ignored)."""
    encoded = []
    for ex in examples:
        enc = tokenizer(
            ex.text, truncation=True, max_length=MAX_LENGTH, return_offsets_mapping=True
        )
        tags = spans_to_token_tags(enc["offset_mapping"], ex.entities)
        encoded.append(
            {
                "input_ids": list(enc["input_ids"]),
                "attention_mask": list(enc["attention_mask"]),
                "labels": [-100 if t is None else label2id[t] for t in tags],
            }
        )
    return encoded


def encode_classification(
    tokenizer: PreTrainedTokenizerFast,
    examples: Sequence[TextLabel],
    label2id: dict[str, int],
) -> list[dict[str, list[int]]]:
    """Tokenize sentences and attach their class id."""
    encoded = []
    for ex in examples:
        enc = tokenizer(ex.text, truncation=True, max_length=MAX_LENGTH)
        encoded.append(
            {
                "input_ids": list(enc["input_ids"]),
                "attention_mask": list(enc["attention_mask"]),
                "labels": [label2id[ex.label]],
            }
        )
    return encoded


def _collate(
    rows: Sequence[dict[str, list[int]]], pad_id: int, token_level: bool
) -> dict[str, torch.Tensor]:
    # Pad per batch, not to MAX_LENGTH: most sentences are short.
    width = max(len(r["input_ids"]) for r in rows)

    def pad(values: list[int], fill: int) -> list[int]:
        return values + [fill] * (width - len(values))

    batch = {
        "input_ids": torch.tensor([pad(r["input_ids"], pad_id) for r in rows]),
        "attention_mask": torch.tensor([pad(r["attention_mask"], 0) for r in rows]),
    }
    if "token_type_ids" in rows[0]:
        batch["token_type_ids"] = torch.tensor([pad(r["token_type_ids"], 0) for r in rows])
    if token_level:
        batch["labels"] = torch.tensor([pad(r["labels"], -100) for r in rows])
    else:
        # One value per row for every target key ("labels", or QA's start/end positions).
        for key in rows[0].keys() - {"input_ids", "attention_mask", "token_type_ids"}:
            batch[key] = torch.tensor([r[key][0] for r in rows])
    return batch


@contextmanager
def torch_threads(n: int = NUM_THREADS) -> Iterator[None]:
    """Use `n` intra-op threads inside the block, restoring the previous count after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def seed_all(seed: int) -> None:
    """Seed Python, NumPy and torch; call before creating the randomly initialised head."""
    random.seed(seed)
    set_seed(seed)


def freeze_lower_layers(model: PreTrainedModel, count: int) -> None:
    """Stop training the embeddings and the ``count`` lowest encoder layers of a BERT model."""
    base = getattr(model, model.base_model_prefix)
    base.embeddings.requires_grad_(False)
    for layer in base.encoder.layer[:count]:
        layer.requires_grad_(False)


def train(
    model: PreTrainedModel,
    rows: Sequence[dict[str, list[int]]],
    pad_id: int,
    config: TrainConfig,
    name: str,
    token_level: bool,
) -> None:
    """Fine-tune `model` in place with AdamW and a linear warm-up/decay schedule.

    `token_level` says whether rows carry one label per token or one per text.
    """
    generator = torch.Generator().manual_seed(config.seed)
    steps_per_epoch = math.ceil(len(rows) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    warmup = max(1, int(total_steps * config.warmup_fraction))

    if config.freeze_word_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    if config.frozen_layers:
        freeze_lower_layers(model, config.frozen_layers)
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {
            "params": [p for n, p in trainable if not n.endswith(no_decay)],
            "weight_decay": config.weight_decay,
        },
        {"params": [p for n, p in trainable if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=config.learning_rate)

    def lr_factor(step: int) -> float:
        # Linear warm-up to the peak rate, then linear decay to zero.
        return min((step + 1) / warmup, max(0.0, (total_steps - step) / (total_steps - warmup)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)

    model.train()
    started = time.monotonic()
    for epoch in range(config.epochs):
        order = torch.randperm(len(rows), generator=generator).tolist()
        epoch_loss = 0.0
        for i in range(0, len(order), config.batch_size):
            chunk = [rows[j] for j in order[i : i + config.batch_size]]
            batch = _collate(chunk, pad_id, token_level)
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for _, p in trainable], 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            epoch_loss += loss.item()
            step = i // config.batch_size + 1
            if step % 20 == 0:
                logger.info(
                    "%s: step %d/%d, %.0fs elapsed",
                    name,
                    step,
                    steps_per_epoch,
                    time.monotonic() - started,
                )
        logger.info(
            "%s: epoch %d/%d, mean loss %.4f, %.0fs elapsed",
            name,
            epoch + 1,
            config.epochs,
            epoch_loss / steps_per_epoch,
            time.monotonic() - started,
        )
    model.eval()


@torch.inference_mode()
def predict_classes(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast, texts: Sequence[str]
) -> list[str]:
    """Return the predicted label name for each text."""
    model.eval()
    id2label = cast(dict[int, str], model.config.id2label)
    predictions: list[str] = []
    for i in range(0, len(texts), 32):
        batch = tokenizer(
            list(texts[i : i + 32]),
            truncation=True,
            max_length=MAX_LENGTH,
            padding=True,
            return_tensors="pt",
        )
        logits = model(**batch).logits
        predictions += [id2label[int(k)] for k in logits.argmax(dim=-1)]
    return predictions


def accuracy(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast, examples: Sequence[TextLabel]
) -> float:
    """Fraction of examples whose predicted label equals the gold label."""
    predicted = predict_classes(model, tokenizer, [ex.text for ex in examples])
    return sum(p == ex.label for p, ex in zip(predicted, examples, strict=True)) / len(examples)


def score_entities(
    gold: Sequence[Sequence[Span]], predicted: Sequence[Sequence[Span]]
) -> EntityScores:
    """Micro precision/recall/F1 where an entity counts only on exact span and type match."""
    true_pos = n_gold = n_pred = 0
    for gold_spans, pred_spans in zip(gold, predicted, strict=True):
        g, p = set(gold_spans), set(pred_spans)
        true_pos += len(g & p)
        n_gold += len(g)
        n_pred += len(p)
    precision = true_pos / n_pred if n_pred else 0.0
    recall = true_pos / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return EntityScores(precision, recall, f1, n_gold, n_pred)


def predict_entities(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast, texts: Sequence[str]
) -> list[list[Span]]:
    """Run the Transformers token-classification pipeline with "simple" aggregation."""
    ner = pipeline(
        "token-classification",
        model=model,
        tokenizer=tokenizer,
        aggregation_strategy="simple",
        device="cpu",
    )
    outputs = ner(list(texts), batch_size=32)
    return [
        [Span(int(e["start"]), int(e["end"]), str(e["entity_group"])) for e in sentence]
        for sentence in outputs
    ]


def entity_scores(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast, examples: Sequence[TextSpans]
) -> EntityScores:
    """Entity-level scores of `model` on `examples` through the pipeline."""
    predicted = predict_entities(model, tokenizer, [ex.text for ex in examples])
    return score_entities([ex.entities for ex in examples], predicted)


def save(model: PreTrainedModel, tokenizer: PreTrainedTokenizerFast, target: Path) -> None:
    """Write config, safetensors weights and tokenizer files into `target`."""
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target)  # writes model.safetensors (the default format)
    # The Rust tokenizer remembers the padding/truncation of its last call (and the
    # source's fixed 128-token padding); ship it without either, like hub tokenizers.
    tokenizer.backend_tokenizer.no_truncation()
    tokenizer.backend_tokenizer.no_padding()
    tokenizer.save_pretrained(target)
    # The weights come out owner-only (0600); the server may run as another user.
    for path in target.iterdir():
        if path.is_file():
            path.chmod(0o644)
