"""Per-request limits of chat and completions, checked before any tokenization or engine work.

The body size and header limits are enforced earlier, on the raw request, by
``server.http.guard.RequestGuardMiddleware``.
"""

from __future__ import annotations

from server.core.limits import at_most, check_count, check_text, check_texts
from server.core.settings import RequestLimits
from server.generation.protocol import ChatCompletionRequest, CompletionRequest, SamplingFields


def _sampling(request: SamplingFields, limits: RequestLimits) -> None:
    at_most("n", request.n, limits.max_n, "max_n")
    if isinstance(request.stop, list):
        what = "the number of stop sequences"
        at_most("stop", len(request.stop), limits.max_stop_sequences, "max_stop_sequences", what)
    if request.max_tokens is not None:
        at_most("max_tokens", request.max_tokens, limits.max_tokens, "max_tokens")


def check_chat(request: ChatCompletionRequest, limits: RequestLimits) -> None:
    """A chat request within ``limits``: sampling, messages, their sizes, top_logprobs."""
    _sampling(request, limits)
    if request.max_completion_tokens is not None:
        at_most(
            "max_completion_tokens", request.max_completion_tokens, limits.max_tokens, "max_tokens"
        )
    if request.top_logprobs is not None:
        at_most("top_logprobs", request.top_logprobs, limits.max_top_logprobs, "max_top_logprobs")
    check_count("messages", request.messages, limits)
    if request.tools:
        check_count("tools", request.tools, limits)
    for i, message in enumerate(request.messages):
        check_text("messages", message.text(), limits, f"messages[{i}].content")


def check_completion(request: CompletionRequest, limits: RequestLimits) -> None:
    """A completion request within ``limits``: sampling, prompts (how many, how long), logprobs.

    Each prompt becomes its own engine request, so their number is bounded by
    ``max_prompts`` as well as ``max_inputs`` (the smaller is named); one list of token ids
    is one prompt.
    """
    _sampling(request, limits)
    if request.logprobs is not None:
        at_most("logprobs", request.logprobs, limits.max_top_logprobs, "max_top_logprobs")
    prompt = request.prompt
    if isinstance(prompt, str):
        check_text("prompt", prompt, limits)
    elif prompt and not isinstance(prompt[0], int):
        tighter = "max_prompts" if limits.max_prompts < limits.max_inputs else "max_inputs"
        check_texts("prompt", prompt, limits, tighter)
