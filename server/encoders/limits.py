"""Per-request limits of the encoder endpoints: how many inputs, how long each, checked
before any tokenization."""

from __future__ import annotations

from server.core.limits import check_text, check_texts
from server.core.settings import RequestLimits
from server.encoders.protocol import AnyEncoderRequest, RerankRequest


def check_encoder(request: AnyEncoderRequest, limits: RequestLimits) -> None:
    """An encoder request within ``limits``: number of inputs and characters in each."""
    if isinstance(request, RerankRequest):
        check_text("query", request.query, limits)
        check_texts("documents", request.documents, limits)
        return
    inputs = request.input
    if isinstance(inputs, str):
        check_text("input", inputs, limits)
    elif inputs and not isinstance(inputs[0], int):  # one list of token ids is one input
        check_texts("input", inputs, limits)
