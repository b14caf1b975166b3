"""The NER service: entities with character offsets into each input text."""

from __future__ import annotations

from server.core.scheduling import QueueOrder
from server.encoders.model import EncoderModel
from server.encoders.protocol import NerRequest
from server.encoders.tasks.entities import entities
from server.encoders.tasks.inputs import as_texts, token_usage
from server.encoders.tasks.reply import Reply


async def ner(model: EncoderModel, request: NerRequest, order: QueueOrder) -> Reply:
    """Entities per text; a text longer than the model's limit runs as overlapping windows
    (the workers tokenize it: see TextFeatures)."""
    texts = as_texts(request.input, "input")
    features = model.text.for_workers(texts, cut=True, windowed=True)
    outputs = await model.run(features, order)
    labels = model.description.labels
    results = []
    for index, (text, feature, scores) in enumerate(zip(texts, features, outputs, strict=True)):
        assert feature.token_info is not None, "the worker sent no token spans"
        spans = entities(
            feature.windows, scores, feature.token_info, request.aggregation_strategy, labels
        )
        found = [
            {
                "entity_group": span.entity,
                "text": text[span.start : span.end],
                "start": span.start,
                "end": span.end,
                "score": float(span.score),
            }
            for span in spans
        ]
        results.append({"index": index, "entities": found})
    tokens = token_usage(features).prompt_tokens
    # NerResponse's fields, as a plain dict: written as JSON without building the models.
    body = {
        "object": "list",
        "model": model.name,
        "data": results,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return Reply(body, tokens)
