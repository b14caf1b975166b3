"""Feature extraction, text classification and token classification: the specs of the
Hugging Face tasks onto our embed, classify and ner services (same batcher, same limits)."""

from __future__ import annotations

import numpy as np

from server.encoders.model import EncoderModel
from server.encoders.protocol import (
    ClassifyRequest,
    ClassifyResponse,
    EmbeddingRequest,
    NerRequest,
)
from server.encoders.tasks.classify import classify
from server.encoders.tasks.embed import embed
from server.encoders.tasks.ner import ner
from server.tasks.common import Answer, TaskCall, parse, text_of, texts_of, unsupported
from server.tasks.protocol import (
    FeatureExtractionParameters,
    TextClassificationParameters,
    TokenClassificationParameters,
)

FEATURE_EXTRACTION = "feature-extraction"
TEXT_CLASSIFICATION = "text-classification"
TOKEN_CLASSIFICATION = "token-classification"


async def feature_extraction(call: TaskCall) -> Answer:
    """One vector per text (a list of vectors, also for one text, as TEI answers)."""
    model: EncoderModel = call.model
    inputs, raw, order, limits = call.inputs, call.parameters, call.order, call.limits
    tag = FEATURE_EXTRACTION
    texts = texts_of(inputs, tag, limits)
    params = parse(FeatureExtractionParameters, raw, tag, "parameters")
    if (params.truncation_direction or "right").lower() == "left":
        raise unsupported(
            tag, "truncation_direction", "'left' is not supported: inputs are cut at the end"
        )
    if params.encoding_format == "base64":
        raise unsupported(
            tag, "encoding_format", "'base64' is not supported here: use /v1/embeddings"
        )
    pooling = model.description.pooling
    normalized = pooling is not None and pooling.normalize
    if params.normalize is False and normalized:
        raise unsupported(
            tag, "normalize", "false is not supported: this model normalizes its vectors"
        )
    request = EmbeddingRequest.model_validate(
        {
            "model": model.name,
            "input": texts,
            "truncate": params.truncate,
            "prompt_name": params.prompt_name,
            "dimensions": params.dimensions,
        }
    )
    reply = await embed(model, request, order)
    assert isinstance(reply.body, dict)
    vectors = np.array([row["embedding"] for row in reply.body["data"]], dtype=np.float32)
    if params.normalize and not normalized:
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return Answer(vectors.tolist(), reply.prompt_tokens)


async def text_classification(call: TaskCall) -> Answer:
    """``[[{label, score}, ...]]``: the labels of the one text, best first."""
    model: EncoderModel = call.model
    inputs, raw, order, limits = call.inputs, call.parameters, call.order, call.limits
    tag = TEXT_CLASSIFICATION
    text = text_of(inputs, tag, limits)
    params = parse(TextClassificationParameters, raw, tag, "parameters")
    activation = model.description.activation.value
    if params.function_to_apply not in (None, activation):
        raise unsupported(
            tag,
            "function_to_apply",
            f"is '{params.function_to_apply}'; this model's scores are {activation}",
        )
    request = ClassifyRequest.model_validate(
        {"model": model.name, "input": text, "top_k": params.top_k}
    )
    reply = await classify(model, request, order)
    assert isinstance(reply.body, ClassifyResponse)
    labels = [{"label": s.label, "score": s.score} for s in reply.body.data[0].labels]
    return Answer([labels], reply.prompt_tokens)


async def token_classification(call: TaskCall) -> Answer:
    """The entities of the one text: ``entity_group`` (``entity`` for the none strategy),
    ``score``, ``word``, ``start``, ``end``."""
    model: EncoderModel = call.model
    inputs, raw, order, limits = call.inputs, call.parameters, call.order, call.limits
    tag = TOKEN_CLASSIFICATION
    text = text_of(inputs, tag, limits)
    params = parse(TokenClassificationParameters, raw, tag, "parameters")
    if params.stride is not None:
        raise unsupported(tag, "stride", "is not supported: the server sets the windows' overlap")
    strategy = params.aggregation_strategy or "simple"
    request = NerRequest.model_validate(
        {"model": model.name, "input": text, "aggregation_strategy": strategy}
    )
    reply = await ner(model, request, order)
    assert isinstance(reply.body, dict)  # NerResponse's fields
    ignored = set(params.ignore_labels if params.ignore_labels is not None else ["O"])
    key = "entity" if strategy == "none" else "entity_group"
    entities = [
        {
            key: e["entity_group"],
            "score": e["score"],
            "word": e["text"],
            "start": e["start"],
            "end": e["end"],
        }
        for e in reply.body["data"][0]["entities"]
        if e["entity_group"] not in ignored
    ]
    return Answer(entities, reply.prompt_tokens)
