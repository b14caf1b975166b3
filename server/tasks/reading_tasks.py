"""Question answering, zero-shot classification, fill-mask and sentence similarity: the
specs of the Hugging Face tasks onto our qa, zero-shot, fill-mask and embed services (same
batcher, same limits)."""

from __future__ import annotations

from typing import Any

import numpy as np

from server.core.errors import InvalidRequest
from server.core.limits import check_text, check_texts
from server.encoders.model import EncoderModel
from server.encoders.protocol import EmbeddingRequest
from server.encoders.reading_protocol import (
    FillMaskRequest,
    FillMaskResponse,
    QaRequest,
    QaResponse,
    ZeroShotRequest,
    ZeroShotResponse,
)
from server.encoders.tasks.embed import embed
from server.encoders.tasks.fill_mask import fill_mask
from server.encoders.tasks.qa import qa
from server.encoders.tasks.zero_shot import zero_shot
from server.tasks.common import Answer, TaskCall, parse, text_of, unsupported
from server.tasks.encoder_tasks import feature_extraction
from server.tasks.protocol import (
    FillMaskParameters,
    QuestionAnsweringParameters,
    ZeroShotClassificationParameters,
)

QUESTION_ANSWERING = "question-answering"
ZERO_SHOT_CLASSIFICATION = "zero-shot-classification"
FILL_MASK = "fill-mask"
SENTENCE_SIMILARITY = "sentence-similarity"


def _given(**values: Any) -> dict[str, Any]:
    """The values that are set (the spec's unset parameters take our defaults)."""
    return {name: value for name, value in values.items() if value is not None}


async def question_answering(call: TaskCall) -> Answer:
    """``{answer, score, start, end}``, or a list of them best first when ``top_k`` > 1."""
    model: EncoderModel = call.model
    inputs, raw, order, limits = call.inputs, call.parameters, call.order, call.limits
    tag = QUESTION_ANSWERING
    if not (
        isinstance(inputs, dict)
        and isinstance(inputs.get("question"), str)
        and isinstance(inputs.get("context"), str)
    ):
        raise InvalidRequest(
            f"this model serves {tag}: inputs must be an object with 'question' and 'context'",
            param="inputs",
        )
    check_text("inputs.question", inputs["question"], limits)
    check_text("inputs.context", inputs["context"], limits)
    params = parse(QuestionAnsweringParameters, raw, tag, "parameters")
    if params.max_seq_len is not None:
        raise unsupported(tag, "max_seq_len", "is not supported: the server sets the window")
    request = QaRequest.model_validate(
        _given(
            model=model.name,
            question=inputs["question"],
            context=inputs["context"],
            top_k=params.top_k,
            doc_stride=params.doc_stride,
            max_answer_len=params.max_answer_len,
            max_question_len=params.max_question_len,
            handle_impossible_answer=params.handle_impossible_answer,
            align_to_words=params.align_to_words,
        )
    )
    reply = await qa(model, request, order)
    assert isinstance(reply.body, QaResponse)
    answers = [a.model_dump() for a in reply.body.data[0].answers]
    body: Any = answers if request.top_k > 1 else answers[0]
    return Answer(body, reply.prompt_tokens)


async def zero_shot_classification(call: TaskCall) -> Answer:
    """``[{label, score}, ...]``, best first."""
    model: EncoderModel = call.model
    inputs, raw, order, limits = call.inputs, call.parameters, call.order, call.limits
    tag = ZERO_SHOT_CLASSIFICATION
    text = text_of(inputs, tag, limits)
    params = parse(ZeroShotClassificationParameters, raw, tag, "parameters")
    request = ZeroShotRequest.model_validate(
        _given(
            model=model.name,
            input=text,
            candidate_labels=params.candidate_labels,
            hypothesis_template=params.hypothesis_template,
            multi_label=params.multi_label,
        )
    )
    reply = await zero_shot(model, request, order)
    assert isinstance(reply.body, ZeroShotResponse)
    labels = [{"label": s.label, "score": s.score} for s in reply.body.data[0].labels]
    return Answer(labels, reply.prompt_tokens)


async def fill_mask_task(call: TaskCall) -> Answer:
    """``[{sequence, score, token, token_str}, ...]``; a list of such lists for several
    mask tokens, as the pipeline answers."""
    model: EncoderModel = call.model
    inputs, raw, order, limits = call.inputs, call.parameters, call.order, call.limits
    tag = FILL_MASK
    text = text_of(inputs, tag, limits)
    params = parse(FillMaskParameters, raw, tag, "parameters")
    request = FillMaskRequest.model_validate(
        _given(model=model.name, input=text, top_k=params.top_k, targets=params.targets)
    )
    reply = await fill_mask(model, request, order)
    assert isinstance(reply.body, FillMaskResponse)
    masks = [[c.model_dump() for c in mask] for mask in reply.body.data[0].masks]
    return Answer(masks[0] if len(masks) == 1 else masks, reply.prompt_tokens)


async def embedding_task(call: TaskCall) -> Answer:
    """Feature extraction, or sentence similarity when ``inputs`` is its object."""
    inputs = call.inputs
    if isinstance(inputs, dict) and "source_sentence" in inputs:
        return await sentence_similarity(call)
    return await feature_extraction(call)


async def sentence_similarity(call: TaskCall) -> Answer:
    """The cosine similarity of ``source_sentence`` and each of ``sentences``."""
    model: EncoderModel = call.model
    inputs, raw, order, limits = call.inputs, call.parameters, call.order, call.limits
    tag = SENTENCE_SIMILARITY
    source, sentences = inputs.get("source_sentence"), inputs.get("sentences")
    if not (
        isinstance(source, str)
        and source
        and isinstance(sentences, list)
        and sentences
        and all(isinstance(s, str) and s for s in sentences)
    ):
        raise InvalidRequest(
            f"this model serves feature-extraction and {tag}: inputs of {tag} must have a "
            "non-empty 'source_sentence' and a non-empty list of non-empty 'sentences'",
            param="inputs",
        )
    if raw:
        name = next(iter(raw))
        raise unsupported(tag, name, "is not supported")
    check_text("inputs.source_sentence", source, limits)
    check_texts("inputs.sentences", sentences, limits)
    request = EmbeddingRequest.model_validate({"model": model.name, "input": [source, *sentences]})
    reply = await embed(model, request, order)
    assert isinstance(reply.body, dict)
    vectors = np.array([row["embedding"] for row in reply.body["data"]], dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return Answer((vectors[1:] @ vectors[0]).tolist(), reply.prompt_tokens)
