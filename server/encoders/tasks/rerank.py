"""The rerank and score services: a cross-encoder's score, or an embedding model's cosine.

One function scores pairs of texts for every shape (Jina's and vLLM's rerank, Cohere's
rerank, vLLM's score), so the same texts get the same scores on every path.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Sequence

import numpy as np

from server.core.errors import InvalidRequest
from server.core.registry import now
from server.core.scheduling import QueueOrder
from server.encoders.model import EncoderModel
from server.encoders.protocol import (
    CohereRerankRequest,
    CohereRerankResponse,
    RerankDocument,
    RerankRequest,
    RerankResponse,
    RerankResult,
    ScoreData,
    ScoreRequest,
    ScoreResponse,
)
from server.encoders.shared.spec import Features, Head
from server.encoders.tasks.inputs import as_texts, token_usage
from server.encoders.tasks.reply import Reply, cohere_meta
from server.encoders.tokenization import THREAD_THRESHOLD_CHARS


async def _cross_encoder(
    model: EncoderModel, firsts: list[str], seconds: list[str], truncate: bool, order: QueueOrder
) -> tuple[np.ndarray, list[Features]]:
    pairs = list(zip(firsts * len(seconds) if len(firsts) == 1 else firsts, seconds, strict=True))
    if sum(len(a) + len(b) for a, b in pairs) > THREAD_THRESHOLD_CHARS:
        encodings = await asyncio.to_thread(model.text.encode_pair_list, pairs, truncate=truncate)
    else:
        encodings = model.text.encode_pair_list(pairs, truncate=truncate)
    features = [model.text.features(encoding, pair=True) for encoding in encodings]
    outputs = await model.run(features, order)
    return np.array([float(output[0]) for output in outputs]), features


async def _cosine(
    model: EncoderModel,
    firsts: list[str],
    seconds: list[str],
    truncate: bool,
    order: QueueOrder,
    params: tuple[str, str],
) -> tuple[np.ndarray, list[Features]]:
    encodings = await model.text.encode(firsts, truncate=truncate, param=params[0])
    encodings += await model.text.encode(seconds, truncate=truncate, param=params[1])
    features = [model.text.features(encoding) for encoding in encodings]
    vectors = np.stack(await model.run(features, order)).astype(np.float64)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    left, right = vectors[: len(firsts)], vectors[len(firsts) :]
    return np.sum(left * right, axis=1), features


async def score_pairs(
    model: EncoderModel,
    firsts: list[str],
    seconds: list[str],
    truncate: bool,
    order: QueueOrder,
    params: tuple[str, str] = ("query", "documents"),
) -> tuple[np.ndarray, list[Features]]:
    """One score per ``seconds[i]``, against ``firsts[i]`` (or ``firsts[0]`` for all)."""
    if model.description.head is Head.SEQUENCE:
        return await _cross_encoder(model, firsts, seconds, truncate, order)
    return await _cosine(model, firsts, seconds, truncate, order, params)


def _document_texts(documents: Sequence[str | RerankDocument]) -> list[str]:
    texts = [d if isinstance(d, str) else d.text for d in documents]
    return as_texts(texts, "documents")


async def _ranked(
    model: EncoderModel, request: RerankRequest, order: QueueOrder
) -> tuple[list[RerankResult], list[Features]]:
    if not request.query:
        raise InvalidRequest("query must not be empty", param="query")
    documents = _document_texts(request.documents)
    scored = documents
    if request.max_tokens_per_doc is not None:
        limit = request.max_tokens_per_doc
        scored = [model.text.first_tokens(document, limit) for document in documents]
    truncate = model.truncate(request.truncate)
    scores, features = await score_pairs(model, [request.query], scored, truncate, order)
    # Stable: equal scores keep the caller's order.
    ranking = np.argsort(-scores, kind="stable")[: request.top_n or len(documents)]
    results = [
        RerankResult(
            index=int(i),
            relevance_score=float(scores[i]),
            document=RerankDocument(text=documents[i]) if request.return_documents else None,
        )
        for i in ranking
    ]
    return results, features


async def rerank(model: EncoderModel, request: RerankRequest, order: QueueOrder) -> Reply:
    """Documents sorted by relevance to the query, best first (Jina's and vLLM's shape)."""
    results, features = await _ranked(model, request, order)
    usage = token_usage(features)
    body = RerankResponse(
        id=f"rerank-{uuid.uuid4().hex}", model=model.name, results=results, usage=usage
    )
    return Reply(body, usage.prompt_tokens)


async def cohere_rerank(
    model: EncoderModel, request: CohereRerankRequest, order: QueueOrder
) -> Reply:
    """The same ranking in Cohere's v2 shape: ``id``, ``results``, ``meta``."""
    results, features = await _ranked(model, request, order)
    tokens = token_usage(features).prompt_tokens
    # Cohere bills one search unit per query with up to 100 documents.
    units = max(1, math.ceil(len(request.documents) / 100))
    body = CohereRerankResponse(
        id=str(uuid.uuid4()), results=results, meta=cohere_meta(tokens, search_units=units)
    )
    return Reply(body, tokens)


async def score(model: EncoderModel, request: ScoreRequest, order: QueueOrder) -> Reply:
    """vLLM's score: one score per pair, in the caller's order."""
    firsts = as_texts(request.text_1, "text_1")
    seconds = as_texts(request.text_2, "text_2")
    if len(firsts) > 1 and len(firsts) != len(seconds):
        raise InvalidRequest(
            f"text_1 has {len(firsts)} texts and text_2 {len(seconds)}: "
            "give one text_1, or as many as text_2 (pairs 1:1, 1:N or N:N)",
            param="text_1",
        )
    truncate = model.truncate(request.truncate)
    scores, features = await score_pairs(
        model, firsts, seconds, truncate, order, ("text_1", "text_2")
    )
    usage = token_usage(features)
    body = ScoreResponse(
        id=f"score-{uuid.uuid4().hex}",
        created=now(),
        model=model.name,
        data=[ScoreData(index=i, score=float(value)) for i, value in enumerate(scores)],
        usage=usage,
    )
    return Reply(body, usage.prompt_tokens)
