"""Engine logprobs as OpenAI's logprobs objects (chat's and the legacy completions')."""

from __future__ import annotations

from server.generation.protocol import (
    ChoiceLogprobs,
    CompletionLogprobs,
    TokenLogprob,
    TopLogprob,
)
from server.generation.types import TokenInfo


def _bytes(raw: bytes) -> list[int]:
    return list(raw)


def chat_logprobs(tokens: list[TokenInfo]) -> ChoiceLogprobs:
    """Chat's ``logprobs.content`` for these tokens."""
    return ChoiceLogprobs(
        content=[
            TokenLogprob(
                token=t.token,
                logprob=t.logprob,
                bytes=_bytes(t.token_bytes),
                top_logprobs=[
                    TopLogprob(token=a.token, logprob=a.logprob, bytes=_bytes(a.token_bytes))
                    for a in t.top
                ],
            )
            for t in tokens
        ]
    )


def completion_logprobs(tokens: list[TokenInfo], text_offset: int) -> CompletionLogprobs:
    """The legacy completions ``logprobs`` object; offsets start at ``text_offset``."""
    offsets: list[int] = []
    position = text_offset
    for t in tokens:
        offsets.append(position)
        position += len(t.token)
    return CompletionLogprobs(
        tokens=[t.token for t in tokens],
        token_logprobs=[t.logprob for t in tokens],
        top_logprobs=[{a.token: a.logprob for a in t.top} for t in tokens],
        text_offset=offsets,
    )


def prompt_logprobs(first_token: str, tokens: list[TokenInfo | None]) -> CompletionLogprobs:
    """The legacy ``logprobs`` of echoed prompt tokens: the first token (``first_token``, with
    nothing before it to condition on) has null logprob and alternatives."""
    texts = [first_token, *(t.token if t is not None else "" for t in tokens[1:])]
    offsets = []
    position = 0
    for text in texts:
        offsets.append(position)
        position += len(text)
    return CompletionLogprobs(
        tokens=texts,
        token_logprobs=[None, *(t.logprob if t is not None else None for t in tokens[1:])],
        top_logprobs=[
            None,
            *({a.token: a.logprob for a in t.top} if t is not None else None for t in tokens[1:]),
        ],
        text_offset=offsets,
    )


def joined(first: CompletionLogprobs, then: CompletionLogprobs) -> CompletionLogprobs:
    """``first``'s tokens followed by ``then``'s (offsets are already absolute)."""
    return CompletionLogprobs(
        tokens=first.tokens + then.tokens,
        token_logprobs=first.token_logprobs + then.token_logprobs,
        top_logprobs=first.top_logprobs + then.top_logprobs,
        text_offset=first.text_offset + then.text_offset,
    )
