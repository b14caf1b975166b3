"""The Hugging Face pipeline tags of our tasks: what ``/v1/models`` lists beside the task
names, and what the Hugging Face task API (``POST /models/{name}``) answers for."""

from __future__ import annotations

from collections.abc import Iterable

PIPELINE_TAGS: dict[str, tuple[str, ...]] = {
    "generate": ("text-generation",),
    "embed": ("feature-extraction", "sentence-similarity"),
    "classify": ("text-classification",),
    "ner": ("token-classification",),
    "rerank": ("text-ranking",),
    "score": (),
    "summarize": ("summarization",),
    "translate": ("translation",),
    "qa": ("question-answering",),
    "zero-shot": ("zero-shot-classification",),
    "fill-mask": ("fill-mask",),
}


def pipeline_tags(tasks: Iterable[str]) -> list[str]:
    """The pipeline tags of ``tasks``, each once, in the tasks' order."""
    return list(dict.fromkeys(tag for task in tasks for tag in PIPELINE_TAGS.get(task, ())))
