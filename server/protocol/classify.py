"""``/v1/classify`` shapes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from server.protocol.embeddings import Usage


class ClassifyRequest(BaseModel):
    """Classify one text or a list of texts with a sequence-classification model."""

    model: str
    input: str | list[str]
    top_k: int | None = Field(None, ge=1, description="Labels listed per input (default: all).")
    truncate: bool | None = Field(None, description="Cut inputs longer than the model's limit.")
    priority: int = Field(
        0,
        ge=-(2**31),
        lt=2**31,
        description="Queue order: lower runs earlier (default 0).",
    )


class LabelScore(BaseModel):
    label: str
    score: float


class Classification(BaseModel):
    index: int
    label: str
    score: float
    labels: list[LabelScore]


class ClassifyResponse(BaseModel):
    object: Literal["list"] = "list"
    model: str
    data: list[Classification]
    usage: Usage
