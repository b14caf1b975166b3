"""Summarization and translation: the text2text specs onto the text tasks of either kind of
model (an encoder-decoder model, or a generative one with task prompts)."""

from __future__ import annotations

from server.core.registry import ServedModel
from server.encoders.protocol import GenerationOptions
from server.encoders.tasks.seq2seq import SUMMARIZE, TextJob
from server.tasks.common import Answer, Run, TaskCall, parse, texts_of
from server.tasks.protocol import Text2TextParameters
from server.tasks.text_tasks import run_text


def _truncate(truncation: str | None) -> bool | None:
    return None if truncation is None else truncation != "do_not_truncate"


def text2text(task: str, key: str, params_model: type[Text2TextParameters]) -> Run:
    """The handler of ``task`` (summarize or translate), answering ``[{key: text}]``."""
    tag = "summarization" if task == SUMMARIZE else "translation"

    async def run(call: TaskCall) -> Answer:
        texts = texts_of(call.inputs, tag, call.limits)
        params = parse(params_model, call.parameters, tag, "parameters")
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
        model: ServedModel = call.model
        result = await run_text(model, texts, job, call.order, call.info, param="inputs")
        outputs = [{key: text} for text in result.texts]
        return Answer(outputs, result.prompt_tokens, result.completion_tokens)

    return run
