"""Engine-neutral generation types: what the protocol layer asks for and gets back.

The OpenAI layer (``service/``) speaks only these, so it can be tested against a fake
engine; ``engine/`` translates them to and from vLLM.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class SamplingSpec:
    """One request's sampling parameters, already validated."""

    max_tokens: int
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    min_p: float = 0.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    repetition_penalty: float = 1.0
    logprobs: int | None = None
    prompt_logprobs: int | None = None  # alternatives per prompt token (echo with logprobs)
    logit_bias: tuple[tuple[int, float], ...] = ()  # (token id, bias in [-100, 100])
    json_schema: dict[str, Any] | None = None
    json_object: bool = False
    ignore_eos: bool = False
    priority: int = 0
    # Thinking tokens before the engine ends the thinking (a model with a reasoning parser).
    thinking_token_budget: int | None = None


@dataclass(frozen=True)
class TopToken:
    token: str
    logprob: float
    token_bytes: bytes


@dataclass(frozen=True)
class TokenInfo:
    """The sampled token with its logprob and the most likely alternatives."""

    token: str
    logprob: float
    token_bytes: bytes
    top: tuple[TopToken, ...] = ()


@dataclass
class ChoiceDelta:
    """New output of one choice since the previous step."""

    index: int
    text: str
    token_ids: Sequence[int]
    logprobs: list[TokenInfo] | None = None
    finish_reason: str | None = None
    stop_sequence: str | None = None  # the stop string that ended the choice, if one did


@dataclass
class GenerationStep:
    """One update from the engine for a request.

    ``prompt_logprobs`` comes once, with the first step, when the spec asked for it: one entry
    per prompt token, None for the first (nothing precedes it). ``cached_tokens``: how many of
    the prompt's tokens the engine found in its prefix cache (None where it does not say).
    """

    deltas: list[ChoiceDelta] = field(default_factory=list)
    prompt_logprobs: list[TokenInfo | None] | None = None
    cached_tokens: int | None = None


class GenerationEngine(Protocol):
    """What the OpenAI layer needs from an engine (vLLM in production, a fake in tests)."""

    max_model_len: int
    max_num_seqs: int  # sequences the engine runs at once (admission adds its queue to it)

    @property
    def errored(self) -> bool:
        """True once the engine died; every request then fails."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def generate(
        self, request_id: str, prompt_token_ids: list[int], spec: SamplingSpec
    ) -> AsyncGenerator[GenerationStep, None]:
        """Stream deltas; cancelling the iteration aborts the request in the engine."""
        ...

    def running(self) -> int:
        """Requests the engine is running now."""
        ...

    def waiting(self) -> int:
        """Requests queued in the engine, not yet running."""
        ...

    def unfinished(self) -> int:
        """Requests accepted and not yet finished (running, waiting or being detokenized)."""
        ...


# --- output parsers (the model's own tool-call and reasoning formats) -----------------------


@dataclass(frozen=True)
class ParsedToolCall:
    """A tool call found in the model's text: the function name and its JSON arguments."""

    name: str
    arguments: str


@dataclass(frozen=True)
class ParsedToolCalls:
    """A whole output split into the tool calls it makes and the content around them."""

    calls: tuple[ParsedToolCall, ...]
    content: str | None


class ToolCallParser(Protocol):
    """The model's tool-call format, for one choice of one request (it keeps stream state)."""

    def parse(self, text: str) -> ParsedToolCalls:
        """Calls and content of a complete output; text that is not a well-formed call
        stays content."""
        ...

    def content_delta(self, text: str, token_ids: Sequence[int]) -> str:
        """The part of new output that is surely content (not the start of a call)."""
        ...


class ReasoningParser(Protocol):
    """The model's thinking markers, for one choice of one request (it keeps stream state)."""

    def split(self, text: str) -> tuple[str | None, str | None]:
        """(reasoning, content) of a complete output."""
        ...

    def split_delta(self, text: str, token_ids: Sequence[int]) -> tuple[str, str]:
        """(reasoning, content) of new output."""
        ...


class OutputParsers(Protocol):
    """A model's configured parsers; either may be missing (None names)."""

    tool_call_parser: str | None
    reasoning_parser: str | None

    def tool_calls(self, tools: list[dict[str, Any]]) -> ToolCallParser:
        """A parser for one choice of a request offering ``tools`` (OpenAI's tool objects)."""
        ...

    def reasoning(self) -> ReasoningParser:
        """A reasoning parser for one choice."""
        ...
