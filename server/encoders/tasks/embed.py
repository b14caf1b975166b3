"""The embeddings services: vectors for texts or token ids, OpenAI-shaped (``/v1/embeddings``)
and Cohere-shaped (``/v2/embed``), with the model's instructions chosen per request."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from server.core.errors import InvalidRequest, UnsupportedParameter
from server.core.scheduling import QueueOrder
from server.encoders.model import EncoderModel
from server.encoders.protocol import CohereEmbedRequest, EmbeddingInput, EmbeddingRequest
from server.encoders.shared.spec import Payload, TextFeatures
from server.encoders.tasks.embedding_types import base64_rows, by_type
from server.encoders.tasks.inputs import as_texts, check_count, token_usage
from server.encoders.tasks.reply import Reply, cohere_meta
from server.encoders.tokenization import Side


def _token_lists(raw: EmbeddingInput) -> list[list[int]] | None:
    """The token-id lists of a token-id input, None for text."""
    if isinstance(raw, str) or not raw:
        return None
    if isinstance(raw[0], int):
        return [cast(list[int], raw)]
    if isinstance(raw[0], list):
        return cast(list[list[int]], raw)
    return None


def _vllm_limit(model: EncoderModel, tokens: int) -> int:
    """vLLM's ``truncate_prompt_tokens``: -1 is the model's limit, more than it is a 400."""
    limit = model.text.max_length
    if tokens == -1:
        return limit
    if tokens == 0 or tokens > limit:
        raise InvalidRequest(
            f"truncate_prompt_tokens is {tokens}; it must be -1 or between 1 and this model's "
            f"limit of {limit}",
            param="truncate_prompt_tokens",
        )
    return tokens


_TRUNCATE_HINT = '"truncate": true'
_COHERE_TRUNCATE_HINT = '"truncate": "END" or "START"'


async def _features(model: EncoderModel, request: EmbeddingRequest) -> Sequence[Payload]:
    raw = request.input
    prompt = model.prompt(input_type=request.input_type, prompt_name=request.prompt_name)
    if request.truncate_prompt_tokens is not None:
        side, limit = Side.END, _vllm_limit(model, request.truncate_prompt_tokens)
    else:
        side, limit = (Side.END if model.truncate(request.truncate) else Side.NONE), None
    token_lists = _token_lists(raw)
    if token_lists is not None:
        if prompt:
            raise InvalidRequest(
                "an instruction (input_type, prompt_name) needs text input, not token ids",
                param="input",
            )
        check_count(len(token_lists), "input")
        return model.text.features_from_ids(
            token_lists, truncate=side is not Side.NONE, param="input", limit=limit
        )
    texts = as_texts(cast(str | list[str], raw), "input")
    if limit is None:  # the model's own limit: the workers tokenize (see TextFeatures)
        return _for_workers(model, texts, prompt=prompt, side=side)
    return await model.text.encode_prompted(
        texts, prompt=prompt, side=side, limit=limit, param="input", hint=_TRUNCATE_HINT
    )


def _for_workers(
    model: EncoderModel, texts: list[str], *, prompt: str, side: Side
) -> list[TextFeatures]:
    """``prompt + text`` for the workers to tokenize: it is cut at the end (as
    ``encode_prompted`` cuts it) or refused when too long, never cut at the start."""
    texts = [prompt + text for text in texts] if prompt else texts
    return model.text.for_workers(texts, cut=side is Side.END)


def _check_dimensions(model: EncoderModel, dimensions: int | None, param: str) -> None:
    size = model.description.output_dim
    if dimensions is not None and size is not None and dimensions > size:
        raise InvalidRequest(
            f"{param} is {dimensions}, larger than this model's {size}", param=param
        )


def _vectors(outputs: list[np.ndarray], dimensions: int | None, param: str) -> np.ndarray:
    vectors = np.stack(outputs)
    if dimensions is not None:
        if dimensions > vectors.shape[1]:
            raise InvalidRequest(
                f"{param} is {dimensions}, larger than this model's {vectors.shape[1]}",
                param=param,
            )
        vectors = vectors[:, :dimensions]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.maximum(norms, 1e-12)
    return vectors.astype(np.float32, copy=False)


async def embed(model: EncoderModel, request: EmbeddingRequest, order: QueueOrder) -> Reply:
    """The OpenAI body as a plain dict (serialized by the route without re-validation)."""
    _check_dimensions(model, request.dimensions, "dimensions")
    features = await _features(model, request)
    outputs = await model.run(features, order)
    model.text.check_whole(features, param="input", hint=_TRUNCATE_HINT)
    vectors = _vectors(outputs, request.dimensions, "dimensions")
    if request.encoding_format == "base64":
        data: list[Any] = base64_rows(vectors)
    else:  # float64 rows: the route writes them as JSON exactly as Python floats (see router)
        data = list(vectors.astype(np.float64))
    usage = token_usage(features)
    body = {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": vector}
            for i, vector in enumerate(data)
        ],
        "model": model.name,
        "usage": usage.model_dump(),
    }
    return Reply(body, usage.prompt_tokens)


async def cohere_embed(
    model: EncoderModel, request: CohereEmbedRequest, order: QueueOrder
) -> Reply:
    """Cohere's v2 embed: every requested embedding type of every text."""
    for name in ("images", "inputs"):
        if getattr(request, name) is not None:
            raise UnsupportedParameter(name, "is not supported: this server embeds texts")
    if request.texts is None:
        raise InvalidRequest("texts is required", param="texts")
    texts = as_texts(request.texts, "texts")
    _check_dimensions(model, request.output_dimension, "output_dimension")
    prompt = model.prompt(input_type=request.input_type)
    limit = model.text.max_length
    if request.max_tokens is not None:
        limit = min(limit, request.max_tokens)
    side = Side(request.truncate.lower())
    features: Sequence[Payload]
    if limit == model.text.max_length and side is not Side.START:
        features = _for_workers(model, texts, prompt=prompt, side=side)
    else:
        features = await model.text.encode_prompted(
            texts,
            prompt=prompt,
            side=side,
            limit=limit,
            param="texts",
            hint=_COHERE_TRUNCATE_HINT,
        )
    outputs = await model.run(features, order)
    model.text.check_whole(features, param="texts", hint=_COHERE_TRUNCATE_HINT)
    vectors = _vectors(outputs, request.output_dimension, "output_dimension")
    kinds = list(dict.fromkeys(request.embedding_types or ["float"]))
    tokens = sum(len(f) for f in features)
    body = {
        "id": str(uuid.uuid4()),
        "response_type": "embeddings_by_type",
        "embeddings": by_type(vectors, kinds),
        "texts": texts,
        "meta": cohere_meta(tokens, input_tokens=tokens).model_dump(exclude_none=True),
    }
    return Reply(body, tokens)
