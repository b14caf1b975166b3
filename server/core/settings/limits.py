"""What one request may ask for."""

from __future__ import annotations

from pydantic import Field

from server.core.settings.base import Strict


class RequestLimits(Strict):
    """What one request may ask for; a request over a limit is refused before any work (400,
    or 413 for the body) with a message naming the limit."""

    max_body_bytes: int = Field(
        8 * 1024 * 1024, ge=1024, description="Request body size; larger bodies get 413."
    )
    max_header_count: int = Field(64, ge=8, description="Header fields per request.")
    max_header_bytes: int = Field(16 * 1024, ge=1024, description="Total size of the headers.")
    max_inputs: int = Field(
        2048, ge=1, description="Inputs (texts, documents, prompts) in one request."
    )
    max_input_chars: int = Field(
        1_000_000, ge=1, description="Characters in one input, message or prompt."
    )
    max_prompts: int = Field(
        64, ge=1, description="Prompts in one /v1/completions request (each is an engine request)."
    )
    max_n: int = Field(16, ge=1, le=128, description="Choices per generation request (n).")
    max_stop_sequences: int = Field(16, ge=1, description="Stop sequences per request.")
    max_tokens: int = Field(
        16384, ge=1, description="Tokens one generation may ask for (and the default cap)."
    )
    max_top_logprobs: int = Field(20, ge=0, description="Alternatives per token (top_logprobs).")
