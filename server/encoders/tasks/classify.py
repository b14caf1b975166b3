"""The classification service: label probabilities for each input text."""

from __future__ import annotations

import numpy as np

from server.core.scheduling import QueueOrder
from server.encoders.model import EncoderModel
from server.encoders.protocol import (
    Classification,
    ClassifyRequest,
    ClassifyResponse,
    LabelScore,
)
from server.encoders.tasks.inputs import as_texts, token_usage
from server.encoders.tasks.reply import Reply


def _classification(
    index: int, scores: np.ndarray, labels: tuple[str, ...], top_k: int
) -> Classification:
    # A stable sort (Python's): equal scores keep the model's label order. The few labels of
    # a classifier sort faster as Python floats than through a numpy call.
    values = scores.tolist()
    order = sorted(range(len(values)), key=lambda i: -values[i])[:top_k]
    ranked = [LabelScore(label=labels[i], score=values[i]) for i in order]
    return Classification(index=index, label=ranked[0].label, score=ranked[0].score, labels=ranked)


async def classify(model: EncoderModel, request: ClassifyRequest, order: QueueOrder) -> Reply:
    """Softmax (single-label) or sigmoid (multi-label) scores, best label first."""
    texts = as_texts(request.input, "input")
    # One row per input: the workers tokenize the texts (see TextFeatures).
    features = model.text.for_workers(texts, cut=model.truncate(request.truncate))
    outputs = await model.run(features, order)
    model.text.check_whole(features, param="input")
    labels = model.description.labels
    top_k = min(request.top_k or len(labels), len(labels))
    usage = token_usage(features)
    body = ClassifyResponse(
        model=model.name,
        data=[_classification(i, scores, labels, top_k) for i, scores in enumerate(outputs)],
        usage=usage,
    )
    return Reply(body, usage.prompt_tokens)
