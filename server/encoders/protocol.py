"""Request and response shapes of the encoder endpoints: ``/v1/embeddings`` (OpenAI, with
vLLM's and sentence-transformers' extras), ``/v2/embed`` (Cohere), ``/v1/classify``,
``/v1/ner``, ``/rerank`` ``/v1/rerank`` (Jina, vLLM) and ``/v2/rerank`` (Cohere),
``/v1/score`` (vLLM), and ``/v1/summarize`` and ``/v1/translate`` (encoder-decoder models).

Requests reject unknown fields, so a misspelt or unsupported option is a 400 naming it,
never silently dropped.
"""

from __future__ import annotations

from typing import Any, Literal

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
    input_type: str | None = Field(
        None,
        description="search_query, search_document, classification, clustering, or one of "
        "the model's prompt names: selects the instruction prepended to each text.",
    )
    prompt_name: str | None = Field(
        None, description="One of the model's prompts by name (sentence-transformers)."
    )
    truncate_prompt_tokens: int | None = Field(
        None, ge=-1, description="Keep the first N tokens of each input (-1: the model's limit)."
    )


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


# --- Cohere embed -------------------------------------------------------------------------


class ApiVersion(BaseModel):
    version: str = "2"


class BilledUnits(BaseModel):
    input_tokens: int | None = None
    search_units: int | None = None


class MetaTokens(BaseModel):
    input_tokens: int


class CohereMeta(BaseModel):
    """Cohere's ``meta``: API version, billed units and tokens."""

    api_version: ApiVersion = Field(default_factory=ApiVersion)
    billed_units: BilledUnits
    tokens: MetaTokens


EmbeddingType = Literal["float", "int8", "uint8", "binary", "ubinary", "base64"]


class CohereEmbedRequest(EncoderRequest):
    """Cohere's v2 embed request (texts only)."""

    texts: list[str] | None = None
    images: list[Any] | None = Field(None, description="Not supported: texts only.")
    inputs: list[Any] | None = Field(None, description="Not supported: texts only.")
    input_type: str | None = Field(
        None,
        description="search_query, search_document, classification, clustering, or "
        "one of the model's prompt names.",
    )
    embedding_types: list[EmbeddingType] | None = Field(
        None, min_length=1, description="Types to return (default: float)."
    )
    truncate: Literal["NONE", "START", "END"] = Field(
        "END", description="NONE: 400 for a long text; START/END: cut from that end."
    )
    output_dimension: int | None = Field(None, ge=1, description="Truncate and re-normalise.")
    max_tokens: int | None = Field(None, ge=1, description="Tokens per text (model's if unset).")


class EmbeddingsByType(BaseModel):
    """One list per requested type, each with one entry per text."""

    model_config = ConfigDict(populate_by_name=True)

    float_: list[list[float]] | None = Field(None, alias="float")
    int8: list[list[int]] | None = None
    uint8: list[list[int]] | None = None
    binary: list[list[int]] | None = None
    ubinary: list[list[int]] | None = None
    base64: list[str] | None = None


class CohereEmbedResponse(BaseModel):
    """Cohere's EmbedByTypeResponse (documents the shape; the service builds a plain dict)."""

    id: str
    response_type: Literal["embeddings_by_type"] = "embeddings_by_type"
    embeddings: EmbeddingsByType
    texts: list[str]
    meta: CohereMeta


# --- rerank -------------------------------------------------------------------------------


class RerankDocument(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str


class RerankRequest(EncoderRequest):
    """Score documents against a query, best first (Jina's and vLLM's rerank)."""

    query: str
    documents: list[str | RerankDocument]
    top_n: int | None = Field(None, ge=1, description="Return only the best N documents.")
    return_documents: bool = False
    max_tokens_per_doc: int | None = Field(
        None, ge=1, description="Cut each document to its first N tokens."
    )
    truncate: bool | None = Field(None, description="Cut inputs longer than the model's limit.")


class CohereRerankRequest(RerankRequest):
    """Cohere's v2 rerank request; like Cohere, long documents are cut unless told not to."""

    truncate: bool | None = Field(True, description="Cut inputs longer than the model's limit.")


class RerankResult(BaseModel):
    index: int
    relevance_score: float
    document: RerankDocument | None = None


class RerankResponse(BaseModel):
    id: str
    model: str
    results: list[RerankResult]
    usage: EncoderUsage


class CohereRerankResponse(BaseModel):
    id: str
    results: list[RerankResult]
    meta: CohereMeta


# --- score (vLLM) -------------------------------------------------------------------------


class ScoreRequest(EncoderRequest):
    """vLLM's score request: pairs 1:1, 1:N or N:N of ``text_1`` and ``text_2``."""

    text_1: str | list[str]
    text_2: str | list[str]
    user: str | None = None
    truncate: bool | None = Field(None, description="Cut inputs longer than the model's limit.")


class ScoreData(BaseModel):
    index: int
    object: Literal["score"] = "score"
    score: float


class ScoreResponse(BaseModel):
    id: str
    object: Literal["list"] = "list"
    created: int
    model: str
    data: list[ScoreData]
    usage: EncoderUsage


# --- summarize and translate (encoder-decoder models) ---------------------------------------


class GenerationOptions(BaseModel):
    """``generate()``'s parameters that the Hugging Face specs name, bounded by the server's
    limits; unset ones take the model's generation config."""

    model_config = ConfigDict(extra="forbid")

    max_new_tokens: int | None = Field(None, ge=1, description="Most tokens to generate.")
    min_new_tokens: int | None = Field(None, ge=0, description="Fewest tokens to generate.")
    num_beams: int | None = Field(None, ge=1, description="Beam search width (1: greedy).")
    do_sample: bool | None = Field(None, description="Sample instead of greedy or beam search.")
    temperature: float | None = Field(None, gt=0, description="Sampling temperature.")
    top_k: int | None = Field(None, ge=0, description="Sample from the k likeliest tokens.")
    top_p: float | None = Field(None, gt=0, le=1, description="Nucleus sampling mass.")
    repetition_penalty: float | None = Field(None, gt=0, description="Penalty for repeats.")
    no_repeat_ngram_size: int | None = Field(
        None, ge=0, description="No n-gram of this size may occur twice."
    )
    early_stopping: bool | Literal["never"] | None = Field(
        None, description="Beam search: stop when num_beams candidates are finished."
    )


class Seq2SeqRequest(EncoderRequest, GenerationOptions):
    """What summarize and translate requests share."""

    input: str | list[str]
    truncate: bool | None = Field(None, description="Cut inputs longer than the model's limit.")
    clean_up_tokenization_spaces: bool = Field(
        False, description="Remove spaces before punctuation in the output (' .' -> '.')."
    )


class SummarizeRequest(Seq2SeqRequest):
    """Summarize one text or a list of texts with an encoder-decoder model."""


class TranslateRequest(Seq2SeqRequest):
    """Translate one text or a list of texts with an encoder-decoder model."""

    src_lang: str | None = Field(
        None, description="Source language: a code of M2M100/NLLB, or T5's pair with tgt_lang."
    )
    tgt_lang: str | None = Field(None, description="Target language (see src_lang).")


class GenerationUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class Summary(BaseModel):
    index: int
    summary_text: str


class SummarizeResponse(BaseModel):
    object: Literal["list"] = "list"
    model: str
    data: list[Summary]
    usage: GenerationUsage


class Translation(BaseModel):
    index: int
    translation_text: str


class TranslateResponse(BaseModel):
    object: Literal["list"] = "list"
    model: str
    data: list[Translation]
    usage: GenerationUsage


AnyEncoderRequest = (
    EmbeddingRequest
    | CohereEmbedRequest
    | ClassifyRequest
    | NerRequest
    | RerankRequest
    | ScoreRequest
    | Seq2SeqRequest
)
