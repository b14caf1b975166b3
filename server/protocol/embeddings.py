"""``/v1/embeddings`` shapes (OpenAI)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

EmbeddingInput = str | list[str] | list[int] | list[list[int]]


class EmbeddingRequest(BaseModel):
    """OpenAI's embeddings request; ``truncate`` is our extension."""

    model: str
    input: EmbeddingInput = Field(
        description="Text, texts, token ids, or lists of token ids (used as given)."
    )
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1, description="Truncate and re-normalise vectors.")
    user: str | None = None
    truncate: bool | None = Field(None, description="Cut inputs longer than the model's limit.")
    priority: int = Field(
        0,
        ge=-(2**31),
        lt=2**31,
        description="Queue order: lower runs earlier (default 0).",
    )


class Embedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str  # base64 of little-endian float32 when asked for


class Usage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: Usage
