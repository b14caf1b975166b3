"""The per-task handlers of the Hugging Face task API, in one table by our task name.

A handler reads a task payload's ``inputs`` and ``parameters`` (as the huggingface.js spec of
its pipeline tag defines them), runs one of our task services, and answers in the spec's
output shape. A task added to the encoder models gets its handler here: one entry of
:data:`HANDLERS`, nothing in the route.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.encoders.tasks.seq2seq import SUMMARIZE, TRANSLATE
from server.tasks.common import Run
from server.tasks.encoder_tasks import text_classification, token_classification
from server.tasks.protocol import Text2TextParameters, TranslationParameters
from server.tasks.reading_tasks import (
    embedding_task,
    fill_mask_task,
    question_answering,
    zero_shot_classification,
)
from server.tasks.text2text import text2text


@dataclass(frozen=True, slots=True)
class TaskHandler:
    """One pipeline tag of the Hugging Face task API, served by one of our tasks."""

    pipeline_tag: str
    task: str
    run: Run
    # The spec puts the parameters at the payload's root, not under "parameters".
    root_parameters: bool = False


HANDLERS: dict[str, TaskHandler] = {
    # Feature extraction, and sentence similarity when inputs is its object.
    "embed": TaskHandler("feature-extraction", "embed", embedding_task, root_parameters=True),
    "classify": TaskHandler("text-classification", "classify", text_classification),
    "ner": TaskHandler("token-classification", "ner", token_classification),
    "qa": TaskHandler("question-answering", "qa", question_answering),
    "zero-shot": TaskHandler("zero-shot-classification", "zero-shot", zero_shot_classification),
    "fill-mask": TaskHandler("fill-mask", "fill-mask", fill_mask_task),
    SUMMARIZE: TaskHandler(
        "summarization", SUMMARIZE, text2text(SUMMARIZE, "summary_text", Text2TextParameters)
    ),
    TRANSLATE: TaskHandler(
        "translation",
        TRANSLATE,
        text2text(TRANSLATE, "translation_text", TranslationParameters),
    ),
}
