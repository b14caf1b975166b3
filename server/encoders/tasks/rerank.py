"""The rerank service: a cross-encoder's score, or an embedding model's cosine similarity."""

from __future__ import annotations

import numpy as np

from server.core.errors import InvalidRequest
from server.core.scheduling import QueueOrder
from server.encoders.model import EncoderModel
from server.encoders.protocol import RerankDocument, RerankRequest, RerankResponse, RerankResult
from server.encoders.tasks.inputs import as_texts, token_usage
from server.encoders.tokenization import Features
from server.encoders.workers.spec import Head


async def _cross_encoder(
    model: EncoderModel, query: str, documents: list[str], truncate: bool, order: QueueOrder
) -> tuple[np.ndarray, list[Features]]:
    encodings = await model.text.encode_pairs(query, documents, truncate=truncate)
    features = [model.text.features(encoding, pair=True) for encoding in encodings]
    outputs = await model.run(features, order)
    return np.array([float(output[0]) for output in outputs]), features


async def _cosine(
    model: EncoderModel, query: str, documents: list[str], truncate: bool, order: QueueOrder
) -> tuple[np.ndarray, list[Features]]:
    encodings = await model.text.encode([query], truncate=truncate, param="query")
    encodings += await model.text.encode(documents, truncate=truncate, param="documents")
    features = [model.text.features(encoding) for encoding in encodings]
    vectors = np.stack(await model.run(features, order)).astype(np.float64)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors[1:] @ vectors[0], features


async def rerank(model: EncoderModel, request: RerankRequest, order: QueueOrder) -> RerankResponse:
    """Documents sorted by relevance to the query, best first."""
    if not request.query:
        raise InvalidRequest("query must not be empty", param="query")
    documents = as_texts(request.documents, "documents")
    truncate = model.truncate(request.truncate)
    score = _cross_encoder if model.description.head is Head.SEQUENCE else _cosine
    scores, features = await score(model, request.query, documents, truncate, order)
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
    return RerankResponse(model=model.name, results=results, usage=token_usage(features))
