"""The contract between the generation pipeline and one endpoint's request adapter.

The pipeline (``pipeline.py``) owns what chat and completions share: admission, prompts
turned into engine requests, the wait for the first output, gathering or streaming the
deltas, usage. An adapter owns what differs: how a request becomes prompts and sampling
specs, and how deltas become that endpoint's response objects. One adapter serves one request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from server.core.context import RequestInfo
from server.generation.protocol import PromptTokensDetails, SamplingFields, Usage
from server.generation.service.prompts import PromptBuilder
from server.generation.types import ChoiceDelta, SamplingSpec, TokenInfo

Response = TypeVar("Response", covariant=True)
Chunk = TypeVar("Chunk")


@dataclass
class GatheredChoice:
    """One choice's output gathered over the steps of a non-streaming request."""

    text: list[str] = field(default_factory=list)
    tokens: int = 0
    logprobs: list[TokenInfo] = field(default_factory=list)
    finish_reason: str | None = None
    stop_sequence: str | None = None

    def add(self, delta: ChoiceDelta) -> None:
        self.text.append(delta.text)
        self.tokens += len(delta.token_ids)
        if delta.logprobs:
            self.logprobs.extend(delta.logprobs)
        if delta.finish_reason is not None:
            self.finish_reason = delta.finish_reason
            self.stop_sequence = delta.stop_sequence


def streams(delta: ChoiceDelta) -> bool:
    """Whether a step's delta is sent as a chunk: whenever it made tokens (with the empty text
    of a token that ends inside a character, as vLLM's server sends it: clients count and
    time chunks per token) or finished."""
    return bool(delta.text or delta.token_ids or delta.finish_reason or delta.logprobs)


def usage(prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> Usage:
    """OpenAI's usage; ``cached_tokens`` of the prompt came from the prefix cache."""
    return Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=cached_tokens),
    )


def usage_so_far(info: RequestInfo) -> Usage:
    """The usage of the request ``info`` counts, as far as it has gone."""
    return usage(info.prompt_tokens, info.completion_tokens, info.cached_tokens)


class RequestAdapter(Protocol[Response, Chunk]):
    """One request of one endpoint, as the pipeline sees it."""

    @property
    def request(self) -> SamplingFields:
        """The parsed request (sampling fields, ``n``, ``stream``, ``priority``)."""
        ...

    def prompt_ids(self, prompts: PromptBuilder) -> list[list[int]]:
        """The engine prompts of this request (run off the event loop; may raise 400)."""
        ...

    def spec(self, prompt_tokens: int, max_model_len: int, cap: int) -> SamplingSpec:
        """Sampling for one prompt of ``prompt_tokens`` tokens (may raise 400)."""
        ...

    def prepare(self, prompts: PromptBuilder, prompt_ids: list[list[int]]) -> None:
        """Anything the response needs from the prompts (e.g. echoed text), before it runs."""
        ...

    def on_prompt_logprobs(self, prompt_index: int, tokens: list[TokenInfo | None]) -> None:
        """The logprobs of one prompt's tokens, when its spec asked for them (first step)."""
        ...

    def response(self, choices: list[GatheredChoice], usage: Usage) -> Response:
        """The whole response of a non-streaming request."""
        ...

    def opening(self, usage: Usage) -> list[Chunk]:
        """Chunks sent before any output (``usage``: the prompt's, known by then)."""
        ...

    def chunk(
        self, index: int, prompt_index: int, delta: ChoiceDelta
    ) -> Chunk | list[Chunk] | None:
        """The chunk for one choice's delta (``index`` counts over every prompt's choices),
        or several in order (a delta that starts tool calls); None to send nothing."""
        ...

    def with_usage(self, chunk: Chunk, usage: Usage) -> Chunk:
        """``chunk`` carrying ``usage``."""
        ...

    def usage_chunk(self, usage: Usage) -> Chunk:
        """The last chunk, with the request's usage and no choices."""
        ...
