"""Request and response shapes of ``/v1/qa`` (extractive question answering),
``/v1/zero-shot`` (an NLI model scoring candidate labels) and ``/v1/fill-mask``.

As the other encoder requests, they reject unknown fields (a 400 naming the field).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from server.encoders.protocol import Classification, EncoderRequest, EncoderUsage

# --- question answering -------------------------------------------------------------------


class QaRequest(EncoderRequest):
    """One or several questions on one context (question-answering pipeline semantics)."""

    question: str | list[str]
    context: str
    top_k: int = Field(1, ge=1, le=100, description="Answers per question, best first.")
    doc_stride: int = Field(
        128, ge=0, description="Tokens shared by consecutive windows of a long context."
    )
    max_answer_len: int = Field(15, ge=1, description="Longest answer, in tokens.")
    max_question_len: int = Field(64, ge=1, description="Questions are cut to this many tokens.")
    handle_impossible_answer: bool = Field(
        False, description="Allow the empty answer (the context does not answer)."
    )
    align_to_words: bool = Field(True, description="Widen answers to whole words.")


class QaAnswer(BaseModel):
    answer: str = Field(description="context[start:end]")
    start: int
    end: int
    score: float


class QaResult(BaseModel):
    index: int
    answers: list[QaAnswer]


class QaResponse(BaseModel):
    object: Literal["list"] = "list"
    model: str
    data: list[QaResult]
    usage: EncoderUsage


# --- zero-shot classification -------------------------------------------------------------


class ZeroShotRequest(EncoderRequest):
    """Score candidate labels for each text with an NLI model (one model input per label)."""

    input: str | list[str]
    candidate_labels: list[str]
    hypothesis_template: str = Field(
        "This example is {}.", description="The hypothesis for a label; '{}' is the label."
    )
    multi_label: bool = Field(
        False,
        description="Score each label alone (entailment vs contradiction) instead of a "
        "softmax over the labels.",
    )
    truncate: bool | None = Field(None, description="Cut inputs longer than the model's limit.")


class ZeroShotResponse(BaseModel):
    object: Literal["list"] = "list"
    model: str
    data: list[Classification]
    usage: EncoderUsage


# --- fill-mask ----------------------------------------------------------------------------


class FillMaskRequest(EncoderRequest):
    """The likeliest tokens for each mask token of one text or a list of texts."""

    input: str | list[str]
    top_k: int = Field(5, ge=1, le=100, description="Candidates per mask token.")
    targets: list[str] | None = Field(None, description="Score only these words.")
    truncate: bool | None = Field(None, description="Cut inputs longer than the model's limit.")


class MaskCandidate(BaseModel):
    token: int
    token_str: str
    score: float
    sequence: str = Field(description="The input with this candidate in the mask's place.")


class FillMaskResult(BaseModel):
    index: int
    masks: list[list[MaskCandidate]] = Field(description="Candidates per mask token, in order.")


class FillMaskResponse(BaseModel):
    object: Literal["list"] = "list"
    model: str
    data: list[FillMaskResult]
    usage: EncoderUsage


# The requests of the three endpoints.
ReadingRequest = QaRequest | ZeroShotRequest | FillMaskRequest
