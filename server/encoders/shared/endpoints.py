"""Which endpoints and tasks a loaded encoder model serves: the one place that decides it.

``EncoderModel`` answers with it for the router (``require``) and ``/v1/models`` (``tasks``).
"""

from __future__ import annotations

from enum import StrEnum

from server.encoders.shared.spec import Head, ModelDescription

# What /v1/models lists, in this order.
TASK_ORDER = (
    "embed",
    "classify",
    "ner",
    "rerank",
    "score",
    "summarize",
    "translate",
    "qa",
    "zero-shot",
    "fill-mask",
)


class Endpoint(StrEnum):
    """The encoder endpoints, by path."""

    EMBEDDINGS = "/v1/embeddings"
    COHERE_EMBED = "/v2/embed"
    CLASSIFY = "/v1/classify"
    NER = "/v1/ner"
    RERANK = "/v1/rerank"
    JINA_RERANK = "/rerank"
    COHERE_RERANK = "/v2/rerank"
    SCORE = "/v1/score"
    SUMMARIZE = "/v1/summarize"
    TRANSLATE = "/v1/translate"
    QA = "/v1/qa"
    ZERO_SHOT = "/v1/zero-shot"
    FILL_MASK = "/v1/fill-mask"

    @property
    def task(self) -> str:
        """The task a model needs for this endpoint (named in wrong-task errors)."""
        return _TASKS[self]


_TASKS = {
    Endpoint.EMBEDDINGS: "embed",
    Endpoint.COHERE_EMBED: "embed",
    Endpoint.CLASSIFY: "classify",
    Endpoint.NER: "ner",
    Endpoint.RERANK: "rerank",
    Endpoint.JINA_RERANK: "rerank",
    Endpoint.COHERE_RERANK: "rerank",
    Endpoint.SCORE: "score",
    Endpoint.SUMMARIZE: "summarize",
    Endpoint.TRANSLATE: "translate",
    Endpoint.QA: "qa",
    Endpoint.ZERO_SHOT: "zero-shot",
    Endpoint.FILL_MASK: "fill-mask",
}


def serves_task(task: str, description: ModelDescription, wanted: str) -> bool:
    """True if a model configured for ``task`` and loaded as ``description`` serves ``wanted``.

    Embedding models also rerank and score (cosine similarity); a sequence classifier with a
    single label is a cross-encoder and reranks and scores too. An encoder-decoder model
    serves its task, and both when its config has T5's prefixes for both.
    """
    head = description.head
    if wanted in ("summarize", "translate"):
        if head is not Head.SEQ2SEQ or description.seq2seq is None:
            return False
        keys = description.seq2seq.prefixes
        if wanted == "summarize":
            return task == wanted or "summarization" in keys
        return task == wanted or any(key.startswith("translation") for key in keys)
    if wanted == "embed":
        return head is Head.EMBED
    if wanted == "classify":
        return head is Head.SEQUENCE and task == "classify"
    if wanted == "ner":
        return head is Head.TOKENS
    if wanted == "qa":
        return head is Head.SPAN
    if wanted == "fill-mask":
        return head is Head.MASKED
    if wanted == "zero-shot":
        return head is Head.SEQUENCE and task == "zero-shot"
    if head is not Head.EMBED and head is not Head.SEQUENCE:
        return False
    return head is Head.EMBED or (head is Head.SEQUENCE and len(description.labels) == 1)


def served_tasks(task: str, description: ModelDescription) -> tuple[str, ...]:
    """Every task such a model serves, in :data:`TASK_ORDER`."""
    return tuple(t for t in TASK_ORDER if serves_task(task, description, t))
