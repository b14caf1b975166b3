"""Request and response shapes of the encoder endpoints: ``/v1/embeddings`` (OpenAI),
``/v1/classify``, ``/v1/ner`` and ``/v1/rerank`` (as Cohere and Jina define rerank).

Requests reject unknown fields, so a misspelt or unsupported option is a 400 naming it,
never silently dropped.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class EncoderRequest(BaseModel):
    """What every encoder request has: the model and its place in the queue."""

    model_config = ConfigDict(extra="forbid")

    model: str
    priority: int = Field(
        0,
        ge=-(2**31),
        lt=2**31,
        description="Queue order: lower runs earlier (default 0).",
    )


class EncoderUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int

    @classmethod
    def of(cls, tokens: int) -> EncoderUsage:
        """EncoderUsage of an encoder request: every token is a prompt token."""
        return cls(prompt_tokens=tokens, total_tokens=tokens)


# --- embeddings ---------------------------------------------------------------------------

EmbeddingInput = str | list[str] | list[int] | list[list[int]]


class EmbeddingRequest(EncoderRequest):
    """OpenAI's embeddings request; ``truncate`` is our extension."""

    input: EmbeddingInput = Field(
        description="Text, texts, token ids, or lists of token ids (used as given)."
    )
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1, description="Truncate and re-normalise vectors.")
    user: str | None = None
    truncate: bool | None = Field(None, description="Cut inputs longer than the model's limit.")


class Embedding(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str  # base64 of little-endian float32 when asked for


class EmbeddingResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[Embedding]
    model: str
    usage: EncoderUsage


# --- classification -----------------------------------------------------------------------


class ClassifyRequest(EncoderRequest):
    """Classify one text or a list of texts with a sequence-classification model."""

    input: str | list[str]
    top_k: int | None = Field(None, ge=1, description="Labels listed per input (default: all).")
    truncate: bool | None = Field(None, description="Cut inputs longer than the model's limit.")


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
    usage: EncoderUsage


# --- named entities -----------------------------------------------------------------------

AggregationStrategy = Literal["none", "simple", "first", "average", "max"]


class NerRequest(EncoderRequest):
    """Named entities in one text or a list of texts (token-classification pipeline semantics)."""

    input: str | list[str]
    aggregation_strategy: AggregationStrategy = Field(
        "simple", description="How tokens become entities, as in Transformers' pipeline."
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
    usage: EncoderUsage


# --- rerank -------------------------------------------------------------------------------


class RerankRequest(EncoderRequest):
    """Score documents against a query, best first."""

    query: str
    documents: list[str]
    top_n: int | None = Field(None, ge=1, description="Return only the best N documents.")
    return_documents: bool = False
    truncate: bool | None = Field(None, description="Cut inputs longer than the model's limit.")


class RerankDocument(BaseModel):
    text: str


class RerankResult(BaseModel):
    index: int
    relevance_score: float
    document: RerankDocument | None = None


class RerankResponse(BaseModel):
    model: str
    results: list[RerankResult]
    usage: EncoderUsage


AnyEncoderRequest = EmbeddingRequest | ClassifyRequest | NerRequest | RerankRequest
