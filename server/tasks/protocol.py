"""The payloads of the Hugging Face task API (huggingface.js ``packages/tasks`` specs)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Truncation = Literal["do_not_truncate", "longest_first", "only_first", "only_second"]


class TaskPayload(BaseModel):
    """Every task's request: ``inputs`` and the task's ``parameters`` (checked per task)."""

    model_config = ConfigDict(extra="forbid")

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
