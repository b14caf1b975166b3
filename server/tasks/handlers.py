"""The per-task handlers of the Hugging Face task API, in one table by our task name.

A handler reads a task payload's ``inputs`` and ``parameters`` (as the huggingface.js spec of
its pipeline tag defines them), runs the task service of the encoder models, and answers in
the spec's output shape. A task added to the encoder models gets its handler here: one entry
of :data:`HANDLERS`, nothing in the route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from server.core.errors import InvalidRequest
from server.core.limits import check_text, check_texts
from server.core.scheduling import QueueOrder
from server.core.settings import RequestLimits
from server.encoders.model import EncoderModel
from server.encoders.protocol import GenerationOptions
from server.encoders.tasks.seq2seq import SUMMARIZE, TRANSLATE, TextJob, generate_texts
from server.tasks.protocol import Text2TextParameters, TranslationParameters

P = TypeVar("P", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Answer:
    """A handler's result: the spec's output and the tokens counted."""

    body: Any
    prompt_tokens: int
    completion_tokens: int = 0


# (model, inputs, parameters, order, limits) -> answer
Run = Callable[[EncoderModel, Any, dict[str, Any], QueueOrder, RequestLimits], Awaitable[Answer]]


@dataclass(frozen=True, slots=True)
class TaskHandler:
    """One pipeline tag of the Hugging Face task API, served by one of our tasks."""

    pipeline_tag: str
    task: str
    run: Run


def parse(model: type[P], raw: dict[str, Any] | None, tag: str, param: str) -> P:
    """``raw`` as ``model``; a 400 naming the pipeline tag and the field otherwise."""
    try:
        return model.model_validate(raw or {})
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = ".".join(str(part) for part in error["loc"])
        where = f"{param}.{loc}" if loc else param
        raise InvalidRequest(f"{tag}: {where}: {error['msg']}", param=where) from None


def texts_of(inputs: Any, tag: str, limits: RequestLimits) -> list[str]:
    """The texts of ``inputs``: a string, or a list of strings (one output each)."""
    if isinstance(inputs, str) and inputs:
        check_text("inputs", inputs, limits)
        return [inputs]
    if isinstance(inputs, list) and inputs and all(isinstance(t, str) and t for t in inputs):
        check_texts("inputs", inputs, limits)
        return inputs
    raise InvalidRequest(
        f"this model serves {tag}: inputs must be a non-empty string (or a list of them)",
        param="inputs",
    )


def _truncate(truncation: str | None) -> bool | None:
    return None if truncation is None else truncation != "do_not_truncate"


def _text2text(task: str, key: str, params_model: type[Text2TextParameters]) -> Run:
    tag = "summarization" if task == SUMMARIZE else "translation"

    async def run(
        model: EncoderModel,
        inputs: Any,
        raw: dict[str, Any],
        order: QueueOrder,
        limits: RequestLimits,
    ) -> Answer:
        texts = texts_of(inputs, tag, limits)
        params = parse(params_model, raw, tag, "parameters")
        options = parse(
            GenerationOptions, params.generate_parameters, tag, "parameters.generate_parameters"
        )
        job = TextJob(
            task=task,
            options=options,
            truncate=_truncate(params.truncation),
            clean_up_tokenization_spaces=bool(params.clean_up_tokenization_spaces),
            src_lang=getattr(params, "src_lang", None),
            tgt_lang=getattr(params, "tgt_lang", None),
        )
        result = await generate_texts(model, texts, job, order, param="inputs")
        outputs = [{key: text} for text in result.texts]
        return Answer(outputs, result.prompt_tokens, result.completion_tokens)

    return run


HANDLERS: dict[str, TaskHandler] = {
    SUMMARIZE: TaskHandler(
        "summarization", SUMMARIZE, _text2text(SUMMARIZE, "summary_text", Text2TextParameters)
    ),
    TRANSLATE: TaskHandler(
        "translation",
        TRANSLATE,
        _text2text(TRANSLATE, "translation_text", TranslationParameters),
    ),
}
