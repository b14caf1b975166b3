"""The payloads of the Hugging Face task API (huggingface.js ``packages/tasks`` specs)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Truncation = Literal["do_not_truncate", "longest_first", "only_first", "only_second"]


class TaskPayload(BaseModel):
    """Every task's request: ``inputs`` and the task's ``parameters`` (checked per task).

    Feature extraction's spec puts its parameters at the root, beside ``inputs``: other keys
    are kept (``model_extra``) for the handler to accept or refuse."""

    model_config = ConfigDict(extra="allow")

    inputs: Any = Field(description="The task's input: a text, texts, or a task object.")
    parameters: dict[str, Any] | None = Field(None, description="The task's parameters.")
    options: dict[str, Any] | None = Field(
        None, description="The legacy Inference API's options (use_cache...): ignored."
    )


class Text2TextParameters(BaseModel):
    """Summarization's parameters (``SummarizationParameters``)."""

    model_config = ConfigDict(extra="forbid")

    clean_up_tokenization_spaces: bool | None = None
    truncation: Truncation | None = None
    generate_parameters: dict[str, Any] | None = None


class TranslationParameters(Text2TextParameters):
    """Translation's parameters: summarization's and the two languages."""

    src_lang: str | None = None
    tgt_lang: str | None = None


class FeatureExtractionParameters(BaseModel):
    """Feature extraction's parameters (TEI's embed options)."""

    model_config = ConfigDict(extra="forbid")

    normalize: bool | None = None
    prompt_name: str | None = None
    truncate: bool | None = None
    truncation_direction: Literal["left", "right", "Left", "Right"] | None = None
    dimensions: int | None = Field(None, ge=1)
    encoding_format: Literal["float", "base64"] | None = None


class TextClassificationParameters(BaseModel):
    """Text classification's parameters."""

    model_config = ConfigDict(extra="forbid")

    function_to_apply: Literal["sigmoid", "softmax", "none"] | None = None
    top_k: int | None = Field(None, ge=1)


class TokenClassificationParameters(BaseModel):
    """Token classification's parameters."""

    model_config = ConfigDict(extra="forbid")

    aggregation_strategy: Literal["none", "simple", "first", "average", "max"] | None = None
    ignore_labels: list[str] | None = None
    stride: int | None = Field(None, ge=0)


class QuestionAnsweringParameters(BaseModel):
    """Question answering's parameters."""

    model_config = ConfigDict(extra="forbid")

    top_k: int | None = Field(None, ge=1, le=100)
    doc_stride: int | None = Field(None, ge=0)
    max_answer_len: int | None = Field(None, ge=1)
    max_seq_len: int | None = Field(None, ge=1)
    max_question_len: int | None = Field(None, ge=1)
    handle_impossible_answer: bool | None = None
    align_to_words: bool | None = None
    padding: str | None = None


class ZeroShotClassificationParameters(BaseModel):
    """Zero-shot classification's parameters."""

    model_config = ConfigDict(extra="forbid")

    candidate_labels: list[str]
    hypothesis_template: str | None = None
    multi_label: bool | None = None


class FillMaskParameters(BaseModel):
    """Fill-mask's parameters."""

    model_config = ConfigDict(extra="forbid")

    top_k: int | None = Field(None, ge=1, le=100)
    targets: list[str] | None = None
