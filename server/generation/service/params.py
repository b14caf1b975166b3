"""OpenAI request fields -> ``SamplingSpec``: defaults, refusals by name, context checks."""

from __future__ import annotations

from server.core.errors import ContextLengthExceeded, InvalidRequest, UnsupportedParameter
from server.generation.protocol import ChatCompletionRequest, CompletionRequest, SamplingFields
from server.generation.types import SamplingSpec

# Parameters that would change the output and that we do not implement (yet).
_UNSUPPORTED = (
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "functions",
    "function_call",
    "prediction",
    "audio",
    "web_search_options",
    "suffix",
    "reasoning_effort",
)


def refuse_unsupported(request: SamplingFields, handled: frozenset[str] = frozenset()) -> None:
    """A 400 naming the first output-changing parameter we do not support; ``handled`` names
    the ones the endpoint implements itself."""
    for name in _UNSUPPORTED:
        if name in handled:
            continue
        value = getattr(request, name)
        if value is not None and value != [] and value != {}:
            raise UnsupportedParameter(name)
    if request.modalities not in (None, ["text"]):
        raise UnsupportedParameter("modalities", "supports only ['text']")
    if request.best_of not in (None, 1, request.n):
        raise UnsupportedParameter("best_of", "must equal n")
    if request.stream_options is not None and not request.stream:
        raise InvalidRequest(
            "stream_options is only allowed when stream is true", param="stream_options"
        )


def _stop(request: SamplingFields) -> tuple[str, ...]:
    stop = request.stop
    if stop is None:
        return ()
    items = (stop,) if isinstance(stop, str) else tuple(stop)
    if any(not s for s in items):
        raise InvalidRequest("stop sequences must not be empty", param="stop")
    return items


def max_tokens_for(
    requested: int | None, prompt_tokens: int, max_model_len: int, param: str, cap: int
) -> int:
    """The output budget: the request's, or all the context the prompt leaves up to ``cap``.

    Raises ``ContextLengthExceeded`` with the numbers when they do not fit.
    """
    room = max_model_len - prompt_tokens
    if room <= 0:
        raise ContextLengthExceeded(
            f"This model's maximum context length is {max_model_len} tokens, but the prompt "
            f"has {prompt_tokens} tokens. Please shorten the prompt.",
            param=param,
        )
    if requested is None:
        return min(room, cap)
    if requested > room:
        raise ContextLengthExceeded(
            f"This model's maximum context length is {max_model_len} tokens. However, you "
            f"requested {prompt_tokens + requested} tokens ({prompt_tokens} in the prompt, "
            f"{requested} for the completion). Please reduce the prompt or the completion "
            "length.",
            param="max_tokens",
        )
    return requested


LOGIT_BIAS_RANGE = 100.0


def logit_bias(request: SamplingFields) -> tuple[tuple[int, float], ...]:
    """``logit_bias`` as (token id, bias) pairs; a key that is not a token id or a bias
    outside [-100, 100] is a 400 (ids beyond the vocabulary are checked with the tokenizer)."""
    if not request.logit_bias:
        return ()
    pairs = []
    for key, bias in request.logit_bias.items():
        if not key.strip().isdigit():
            raise InvalidRequest(
                f"logit_bias keys must be token ids, got {key!r}", param="logit_bias"
            )
        if not -LOGIT_BIAS_RANGE <= bias <= LOGIT_BIAS_RANGE:
            raise InvalidRequest(
                f"logit_bias values must be between -100 and 100, got {bias} for token {key}",
                param="logit_bias",
            )
        pairs.append((int(key), float(bias)))
    return tuple(pairs)


def _common(
    request: SamplingFields,
    max_tokens: int,
    logprobs: int | None,
    prompt_logprobs: int | None = None,
) -> SamplingSpec:
    fmt = request.response_format
    schema = (
        fmt.json_schema.schema_ if fmt and fmt.type == "json_schema" and fmt.json_schema else None
    )
    return SamplingSpec(
        max_tokens=max_tokens,
        n=request.n,
        temperature=1.0 if request.temperature is None else request.temperature,
        top_p=1.0 if request.top_p is None else request.top_p,
        top_k=0 if request.top_k in (None, -1) else int(request.top_k),
        min_p=request.min_p or 0.0,
        seed=request.seed,
        stop=_stop(request),
        presence_penalty=request.presence_penalty or 0.0,
        frequency_penalty=request.frequency_penalty or 0.0,
        repetition_penalty=request.repetition_penalty or 1.0,
        logprobs=logprobs,
        prompt_logprobs=prompt_logprobs,
        logit_bias=logit_bias(request),
        json_schema=schema,
        json_object=bool(fmt and fmt.type == "json_object"),
        ignore_eos=request.ignore_eos,
        priority=request.priority,
    )


def chat_spec(
    request: ChatCompletionRequest,
    prompt_tokens: int,
    max_model_len: int,
    cap: int,
    handled: frozenset[str] = frozenset(),
) -> SamplingSpec:
    """Sampling for a chat request whose prompt has ``prompt_tokens`` tokens; ``cap`` bounds
    the output when the request sets no maximum."""
    refuse_unsupported(request, handled)
    if (
        request.max_tokens is not None
        and request.max_completion_tokens is not None
        and (request.max_tokens != request.max_completion_tokens)
    ):
        raise InvalidRequest(
            "max_tokens and max_completion_tokens disagree; send one of them",
            param="max_completion_tokens",
        )
    if request.top_logprobs is not None and not request.logprobs:
        raise InvalidRequest("top_logprobs requires logprobs to be true", param="top_logprobs")
    requested = request.max_completion_tokens or request.max_tokens
    budget = max_tokens_for(requested, prompt_tokens, max_model_len, "messages", cap)
    logprobs = (request.top_logprobs or 0) if request.logprobs else None
    return _common(request, budget, logprobs)


def completion_spec(
    request: CompletionRequest, prompt_tokens: int, max_model_len: int, cap: int
) -> SamplingSpec:
    """Sampling for one prompt of a completion request."""
    refuse_unsupported(request)
    # OpenAI's completions default is 16 tokens, unlike chat.
    requested = 16 if request.max_tokens is None else request.max_tokens
    budget = max_tokens_for(requested, prompt_tokens, max_model_len, "prompt", cap)
    # echo with logprobs scores the prompt too (what evaluation harnesses rely on).
    prompt_logprobs = request.logprobs if request.echo else None
    return _common(request, budget, request.logprobs, prompt_logprobs)
