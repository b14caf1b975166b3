"""The embeddings service: vectors for texts or token ids, OpenAI-shaped."""

from __future__ import annotations

import base64
from typing import Any, cast

import numpy as np

from server.core.errors import InvalidRequest
from server.core.scheduling import QueueOrder
from server.encoders.model import EncoderModel
from server.encoders.protocol import EmbeddingInput, EmbeddingRequest
from server.encoders.tasks.inputs import as_texts, check_count, token_usage
from server.encoders.tokenization import Features


def _token_lists(raw: EmbeddingInput) -> list[list[int]] | None:
    """The token-id lists of a token-id input, None for text."""
    if isinstance(raw, str) or not raw:
        return None
    if isinstance(raw[0], int):
        return [cast(list[int], raw)]
    if isinstance(raw[0], list):
        return cast(list[list[int]], raw)
    return None


async def _features(model: EncoderModel, request: EmbeddingRequest) -> list[Features]:
    raw = request.input
    truncate = model.truncate(request.truncate)
    token_lists = _token_lists(raw)
    if token_lists is not None:
        check_count(len(token_lists), "input")
        return model.text.features_from_ids(token_lists, truncate=truncate, param="input")
    texts = as_texts(cast(str | list[str], raw), "input")
    encodings = await model.text.encode(texts, truncate=truncate, param="input")
    return [model.text.features(encoding) for encoding in encodings]


def _vectors(outputs: list[np.ndarray], dimensions: int | None) -> np.ndarray:
    vectors = np.stack(outputs)
    if dimensions is not None:
        vectors = vectors[:, :dimensions]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.maximum(norms, 1e-12)
    return vectors.astype(np.float32, copy=False)


async def embed(
    model: EncoderModel, request: EmbeddingRequest, order: QueueOrder
) -> dict[str, Any]:
    """The response body as a plain dict (serialized by the route without re-validation)."""
    size = model.description.output_dim
    if request.dimensions is not None and size is not None and request.dimensions > size:
        raise InvalidRequest(
            f"dimensions is {request.dimensions}, larger than this model's {size}",
            param="dimensions",
        )
    features = await _features(model, request)
    vectors = _vectors(await model.run(features, order), request.dimensions)
    if request.encoding_format == "base64":
        data: list[Any] = [base64.b64encode(v.astype("<f4").tobytes()).decode() for v in vectors]
    else:
        data = vectors.tolist()
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": vector}
            for i, vector in enumerate(data)
        ],
        "model": model.name,
        "usage": token_usage(features).model_dump(),
    }
