"""``/v1/ner`` shapes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from server.protocol.embeddings import Usage

AggregationStrategy = Literal["none", "simple", "first", "average", "max"]


class NerRequest(BaseModel):
    """Named entities in one text or a list of texts (token-classification pipeline semantics)."""

    model: str
    input: str | list[str]
    aggregation_strategy: AggregationStrategy = Field(
        "simple", description="How tokens become entities, as in Transformers' pipeline."
    )
    priority: int = Field(
        0,
        ge=-(2**31),
        lt=2**31,
        description="Queue order: lower runs earlier (default 0).",
    )


class Entity(BaseModel):
    entity_group: str
    text: str = Field(description="input[start:end]")
    start: int
    end: int
    score: float


class NerResult(BaseModel):
    index: int
    entities: list[Entity]


class NerResponse(BaseModel):
    object: Literal["list"] = "list"
    model: str
    data: list[NerResult]
    usage: Usage
