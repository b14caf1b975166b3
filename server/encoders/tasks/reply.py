"""What a task service hands the route: the body to send and the tokens it counted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from server.encoders.protocol import BilledUnits, CohereMeta, MetaTokens


@dataclass(frozen=True, slots=True)
class Reply:
    """A response body (a model, or a plain dict for long vectors) and its tokens counted."""

    body: BaseModel | dict[str, Any]
    prompt_tokens: int
    completion_tokens: int = 0  # generated: summarize and translate


def cohere_meta(tokens: int, **billed: int) -> CohereMeta:
    """Cohere's ``meta``: API version 2, the billed units given, and the input tokens."""
    return CohereMeta(billed_units=BilledUnits(**billed), tokens=MetaTokens(input_tokens=tokens))
