"""Summarize and translate on either kind of model: an encoder-decoder model's ``generate()``
in the encoder workers, or a generative model's chat completion of its task prompt.

``run_text`` is the one dispatch both HTTP shapes use (``/v1/summarize``, ``/v1/translate``
and the Hugging Face task API); the generation parameters a chat completion cannot honour
(beams, n-gram blocking, a minimum length) are a 400 naming them on a generative model.
"""

from __future__ import annotations

from typing import Any

from server.core.context import RequestInfo
from server.core.errors import InvalidRequest
from server.core.registry import ModelRegistry, ServedModel
from server.core.scheduling import QueueOrder
from server.encoders.model import EncoderModel
from server.encoders.protocol import GenerationOptions
from server.encoders.tasks.seq2seq import TRANSLATE, Generated, TextJob, generate_texts
from server.generation.model import GenerationModel
from server.generation.text_tasks import run_text_task, task_prompt
from server.http.route import ModelRoute

# generate() parameters a chat completion has no counterpart for, and their no-op values.
_NO_CHAT_COUNTERPART = {
    "num_beams": (None, 1),
    "no_repeat_ngram_size": (None, 0),
    "early_stopping": (None, False),
    "min_new_tokens": (None, 0),
}


async def text_model(
    registry: ModelRegistry, name: str, task: str, path: str, info: RequestInfo
) -> ServedModel:
    """The model called ``name`` that serves ``task`` (an encoder-decoder or a generative
    model with that task's prompt), with the usual 404, 400 and 503."""
    served = registry.get(name)
    if isinstance(served, GenerationModel):
        return await ModelRoute(registry, GenerationModel, task, path).model(name, info)
    return await ModelRoute(registry, EncoderModel, task, path).model(name, info)


def chat_sampling(options: GenerationOptions, priority: int) -> dict[str, Any]:
    """``options`` as a chat completion's sampling fields: greedy unless ``do_sample``, as
    ``generate()`` decides."""
    for name, no_ops in _NO_CHAT_COUNTERPART.items():
        if getattr(options, name) not in no_ops:
            raise InvalidRequest(
                f"{name} is not supported on a generative model (it serves this task with a "
                "chat completion); use an encoder-decoder model for beam search",
                param=name,
            )
    sampling: dict[str, Any] = {"priority": priority}
    if options.max_new_tokens is not None:
        sampling["max_tokens"] = options.max_new_tokens
    if options.repetition_penalty is not None:
        sampling["repetition_penalty"] = options.repetition_penalty
    if options.do_sample:
        for name in ("temperature", "top_k", "top_p"):
            if getattr(options, name) is not None:
                sampling[name] = getattr(options, name)
    else:
        sampling["temperature"] = 0.0
    return sampling


async def _chat_texts(
    model: GenerationModel, texts: list[str], job: TextJob, order: QueueOrder, info: RequestInfo
) -> Generated:
    if job.truncate:
        raise InvalidRequest(
            "truncate is not supported on a generative model: its context holds the text",
            param="truncate",
        )
    languages: dict[str, str] = {}
    if job.task == TRANSLATE:
        if not job.tgt_lang:
            raise InvalidRequest("tgt_lang is required (a language name)", param="tgt_lang")
        languages = {"tgt_lang": job.tgt_lang, "src_lang": job.src_lang or "the source language"}
    prompts = [task_prompt(model, job.task, text, **languages) for text in texts]
    result = await run_text_task(model, prompts, chat_sampling(job.options, order.priority), info)
    return Generated(result.texts, result.prompt_tokens, result.completion_tokens)


async def run_text(
    model: ServedModel,
    texts: list[str],
    job: TextJob,
    order: QueueOrder,
    info: RequestInfo,
    param: str = "input",
) -> Generated:
    """One output per text from ``model``, whichever kind it is."""
    if isinstance(model, GenerationModel):
        return await _chat_texts(model, texts, job, order, info)
    assert isinstance(model, EncoderModel)
    return await generate_texts(model, texts, job, order, param=param)
