"""Which head a configured task runs (imports neither torch nor transformers: a worker of a
verified ONNX export decides it from the task and ``config.json`` alone)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from server.encoders.shared.spec import Head

SEQ2SEQ_TASKS = ("summarize", "translate")
_TASK_HEADS = {
    "embed": Head.EMBED,
    "classify": Head.SEQUENCE,
    "ner": Head.TOKENS,
    "zero-shot": Head.SEQUENCE,  # an NLI model: its raw logits (see loading.activation_for)
    "qa": Head.SPAN,
    "fill-mask": Head.MASKED,
}


def choose_head(task: str, architectures: Sequence[str] | None) -> Head:
    """The head a configured task needs (rerank: cross-encoder if the folder has one)."""
    if task in _TASK_HEADS:
        return _TASK_HEADS[task]
    if task in SEQ2SEQ_TASKS:
        return Head.SEQ2SEQ
    if any(a.endswith("ForSequenceClassification") for a in architectures or ()):
        return Head.SEQUENCE
    return Head.EMBED


def architectures_of(model_dir: Path) -> list[str]:
    """The ``architectures`` a model folder's ``config.json`` names (empty if none)."""
    path = model_dir / "config.json"
    if not path.is_file():
        return []
    value = json.loads(path.read_text()).get("architectures") or []
    return [str(a) for a in value] if isinstance(value, list) else []
