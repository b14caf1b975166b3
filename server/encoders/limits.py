"""Per-request limits of the encoder endpoints: how many inputs, how long each, checked
before any tokenization."""

from __future__ import annotations

from server.core.limits import check_text, check_texts
from server.core.settings import RequestLimits
from server.encoders.protocol import (
    AnyEncoderRequest,
    CohereEmbedRequest,
    RerankRequest,
    ScoreRequest,
)
from server.encoders.reading_protocol import FillMaskRequest, QaRequest, ZeroShotRequest


def _check_one_or_many(param: str, value: str | list[str], limits: RequestLimits) -> None:
    if isinstance(value, str):
        check_text(param, value, limits)
    else:
        check_texts(param, value, limits)


def check_encoder(
    request: AnyEncoderRequest | QaRequest | ZeroShotRequest | FillMaskRequest,
    limits: RequestLimits,
) -> None:
    """An encoder request within ``limits``: number of inputs and characters in each."""
    if isinstance(request, RerankRequest):
        check_text("query", request.query, limits)
        documents = [d if isinstance(d, str) else d.text for d in request.documents]
        check_texts("documents", documents, limits)
        return
    if isinstance(request, ScoreRequest):
        _check_one_or_many("text_1", request.text_1, limits)
        _check_one_or_many("text_2", request.text_2, limits)
        return
    if isinstance(request, QaRequest):
        _check_one_or_many("question", request.question, limits)
        check_text("context", request.context, limits)
        return
    if isinstance(request, ZeroShotRequest):
        _check_one_or_many("input", request.input, limits)
        check_texts("candidate_labels", request.candidate_labels, limits)
        return
    if isinstance(request, CohereEmbedRequest):
        check_texts("texts", request.texts or [], limits)
        return
    inputs = request.input
    if isinstance(inputs, str):
        check_text("input", inputs, limits)
    elif inputs and not isinstance(inputs[0], int):  # one list of token ids is one input
        check_texts("input", inputs, limits)
