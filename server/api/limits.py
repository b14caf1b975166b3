"""Per-request limits on what a parsed request asks for, checked before any work starts.

Each check raises ``LimitExceeded`` (400) naming the parameter and the configured limit. The
body size and header limits are enforced earlier, on the raw request, by
``server.api.guard.RequestGuardMiddleware``.
"""

from __future__ import annotations

from collections.abc import Sequence

from server.errors import LimitExceeded
from server.protocol.classify import ClassifyRequest
from server.protocol.embeddings import EmbeddingRequest
from server.protocol.generation import ChatCompletionRequest, CompletionRequest, SamplingFields
from server.protocol.ner import NerRequest
from server.protocol.rerank import RerankRequest
from server.settings import RequestLimits

EncoderRequest = EmbeddingRequest | ClassifyRequest | NerRequest | RerankRequest


def _at_most(param: str, value: int, limit: int, limit_name: str, what: str | None = None) -> None:
    if value > limit:
        raise LimitExceeded(param, value, limit, limit_name, what)


def _count(param: str, items: Sequence[object], limits: RequestLimits) -> None:
    what = f"the number of items in '{param}'"
    _at_most(param, len(items), limits.max_inputs, "max_inputs", what)


def _text(param: str, text: str, limits: RequestLimits, where: str | None = None) -> None:
    what = f"the length of '{where or param}' in characters"
    _at_most(param, len(text), limits.max_input_chars, "max_input_chars", what)


def _texts(param: str, texts: Sequence[object], limits: RequestLimits) -> None:
    """At most ``max_inputs`` items; each string at most ``max_input_chars`` characters."""
    _count(param, texts, limits)
    for i, text in enumerate(texts):
        if isinstance(text, str):
            _text(param, text, limits, f"{param}[{i}]")


def _sampling(request: SamplingFields, limits: RequestLimits) -> None:
    _at_most("n", request.n, limits.max_n, "max_n")
    if isinstance(request.stop, list):
        what = "the number of stop sequences"
        _at_most("stop", len(request.stop), limits.max_stop_sequences, "max_stop_sequences", what)
    if request.max_tokens is not None:
        _at_most("max_tokens", request.max_tokens, limits.max_tokens, "max_tokens")


def check_chat(request: ChatCompletionRequest, limits: RequestLimits) -> None:
    """A chat request within ``limits``: sampling, messages, their sizes, top_logprobs."""
    _sampling(request, limits)
    if request.max_completion_tokens is not None:
        _at_most(
            "max_completion_tokens", request.max_completion_tokens, limits.max_tokens, "max_tokens"
        )
    if request.top_logprobs is not None:
        _at_most("top_logprobs", request.top_logprobs, limits.max_top_logprobs, "max_top_logprobs")
    _count("messages", request.messages, limits)
    for i, message in enumerate(request.messages):
        _text("messages", message.text(), limits, f"messages[{i}].content")


def check_completion(request: CompletionRequest, limits: RequestLimits) -> None:
    """A completion request within ``limits``: sampling, prompts, their sizes, logprobs."""
    _sampling(request, limits)
    if request.logprobs is not None:
        _at_most("logprobs", request.logprobs, limits.max_top_logprobs, "max_top_logprobs")
    prompt = request.prompt
    if isinstance(prompt, str):
        _text("prompt", prompt, limits)
    elif prompt and not isinstance(prompt[0], int):
        _texts("prompt", prompt, limits)


def check_encoder(request: EncoderRequest, limits: RequestLimits) -> None:
    """An encoder request within ``limits``: number of inputs and characters in each."""
    if isinstance(request, RerankRequest):
        _text("query", request.query, limits)
        _texts("documents", request.documents, limits)
        return
    inputs = request.input
    if isinstance(inputs, str):
        _text("input", inputs, limits)
    elif not (inputs and isinstance(inputs[0], int)):  # one list of token ids is one input
        _texts("input", inputs, limits)
