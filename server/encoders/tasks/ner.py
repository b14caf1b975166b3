"""The NER service: entities with character offsets into each input text."""

from __future__ import annotations

from server.core.scheduling import QueueOrder
from server.encoders.model import EncoderModel
from server.encoders.protocol import Entity, NerRequest, NerResponse, NerResult
from server.encoders.tasks.entities import entities
from server.encoders.tasks.inputs import as_texts, token_usage
from server.encoders.tasks.reply import Reply


async def ner(model: EncoderModel, request: NerRequest, order: QueueOrder) -> Reply:
    """Entities per text; a text longer than the model's limit runs as overlapping windows."""
    texts = as_texts(request.input, "input")
    text_encoder = model.text
    windows = await text_encoder.windows(texts)
    features = [text_encoder.features(w) for text_windows in windows for w in text_windows]
    outputs = await model.run(features, order)
    labels = model.description.labels
    results = []
    position = 0
    for index, (text, text_windows) in enumerate(zip(texts, windows, strict=True)):
        scores = outputs[position : position + len(text_windows)]
        position += len(text_windows)
        spans = entities(
            text, text_windows, scores, request.aggregation_strategy, labels, text_encoder
        )
        results.append(
            NerResult(
                index=index,
                entities=[
                    Entity(
                        entity_group=span.entity,
                        text=text[span.start : span.end],
                        start=span.start,
                        end=span.end,
                        score=float(span.score),
                    )
                    for span in spans
                ],
            )
        )
    usage = token_usage(features)
    return Reply(NerResponse(model=model.name, data=results, usage=usage), usage.prompt_tokens)
