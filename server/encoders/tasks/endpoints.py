"""Which endpoints a loaded encoder model can serve."""

from __future__ import annotations

from enum import StrEnum

from server.encoders.workers.spec import Head, ModelDescription


class Endpoint(StrEnum):
    """The encoder endpoints, by path."""

    EMBEDDINGS = "/v1/embeddings"
    CLASSIFY = "/v1/classify"
    NER = "/v1/ner"
    RERANK = "/v1/rerank"

    @property
    def task(self) -> str:
        """The task a model needs for this endpoint (named in wrong-task errors)."""
        return _TASKS[self]


_TASKS = {
    Endpoint.EMBEDDINGS: "embed",
    Endpoint.CLASSIFY: "classify",
    Endpoint.NER: "ner",
    Endpoint.RERANK: "rerank",
}


def supports(task: str, description: ModelDescription, endpoint: Endpoint) -> bool:
    """True if a model configured for ``task`` and loaded as ``description`` serves ``endpoint``.

    Embedding models also rerank (cosine similarity); a sequence classifier with a single
    label is a cross-encoder and reranks too.
    """
    head = description.head
    if endpoint is Endpoint.EMBEDDINGS:
        return head is Head.EMBED
    if endpoint is Endpoint.CLASSIFY:
        return head is Head.SEQUENCE and task == "classify"
    if endpoint is Endpoint.NER:
        return head is Head.TOKENS
    return head is Head.EMBED or (head is Head.SEQUENCE and len(description.labels) == 1)
