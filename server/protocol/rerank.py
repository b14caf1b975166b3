"""``/v1/rerank`` shapes (as Cohere and Jina define them)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from server.protocol.embeddings import Usage


class RerankRequest(BaseModel):
    """Score documents against a query, best first."""

    model: str
    query: str
    documents: list[str]
    top_n: int | None = Field(None, ge=1, description="Return only the best N documents.")
    return_documents: bool = False
    truncate: bool | None = Field(None, description="Cut inputs longer than the model's limit.")
    priority: int = Field(
        0,
        ge=-(2**31),
        lt=2**31,
        description="Queue order: lower runs earlier (default 0).",
    )


class RerankDocument(BaseModel):
    text: str


class RerankResult(BaseModel):
    index: int
    relevance_score: float
    document: RerankDocument | None = None


class RerankResponse(BaseModel):
    model: str
    results: list[RerankResult]
    usage: Usage
