"""The summarize and translate services: text in, generated text out, on encoder-decoder models.

``generate_texts`` is the one path both tasks (and every HTTP shape of them) take: the
task's prefix (configured, else T5's from the model config), the languages of a multilingual
model (M2M100, NLLB: the source code in the input, the target as the forced first token),
the generation parameters bounded by the model's limits, then the batcher and the workers'
``generate()``, and the ids decoded with the model's tokenizer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from server.core.errors import InvalidRequest
from server.core.scheduling import QueueOrder
from server.encoders.model import EncoderModel
from server.encoders.protocol import (
    GenerationOptions,
    GenerationUsage,
    SummarizeRequest,
    SummarizeResponse,
    Summary,
    TranslateRequest,
    TranslateResponse,
    Translation,
)
from server.encoders.shared.spec import Features, GenerationParams, Seq2SeqInfo
from server.encoders.tasks.inputs import as_texts
from server.encoders.tasks.reply import Reply

SUMMARIZE = "summarize"
TRANSLATE = "translate"


@dataclass(frozen=True, slots=True)
class TextJob:
    """How a list of texts is to be summarized or translated (every HTTP shape maps to it)."""

    task: str
    options: GenerationOptions
    truncate: bool | None = None
    clean_up_tokenization_spaces: bool = False
    src_lang: str | None = None
    tgt_lang: str | None = None


@dataclass(frozen=True, slots=True)
class Generated:
    """The texts generated for a job, and the tokens counted both ways."""

    texts: list[str]
    prompt_tokens: int
    completion_tokens: int

    @property
    def usage(self) -> GenerationUsage:
        total = self.prompt_tokens + self.completion_tokens
        return GenerationUsage(
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            total_tokens=total,
        )


def _info(model: EncoderModel) -> Seq2SeqInfo:
    info = model.description.seq2seq
    if info is None:  # the registry's task check makes this unreachable from a route
        raise InvalidRequest(f"model '{model.name}' is not an encoder-decoder model")
    return info


def _translation_prefix(info: Seq2SeqInfo, job: TextJob) -> str:
    """T5's prefix for the requested pair, or the only one it has."""
    pairs = {k: v for k, v in info.prefixes.items() if k.startswith("translation_")}
    if not pairs:
        if job.src_lang or job.tgt_lang:
            raise InvalidRequest(
                "this model translates one fixed language pair: src_lang and tgt_lang "
                "cannot choose another",
                param="src_lang" if job.src_lang else "tgt_lang",
            )
        return ""
    names = ", ".join(f"{k.split('_')[1]}->{k.split('_')[3]}" for k in pairs if k.count("_") == 3)
    if job.src_lang and job.tgt_lang:
        key = f"translation_{job.src_lang}_to_{job.tgt_lang}"
        if key not in pairs:
            raise InvalidRequest(
                f"this model translates {names}; not {job.src_lang}->{job.tgt_lang}",
                param="src_lang",
            )
        return pairs[key]
    if len(pairs) == 1 and not (job.src_lang or job.tgt_lang):
        return next(iter(pairs.values()))
    raise InvalidRequest(
        f"give both src_lang and tgt_lang: this model translates {names}", param="tgt_lang"
    )


def _prefix(model: EncoderModel, info: Seq2SeqInfo, job: TextJob) -> str:
    configured = model.config.seq2seq.prefix
    if configured is not None:
        return configured
    if job.task == SUMMARIZE:
        return info.prefixes.get("summarization", "")
    if info.languages:
        return ""
    return _translation_prefix(info, job)


def _language(info: Seq2SeqInfo, code: str, param: str) -> int:
    token = info.languages.get(code)
    if token is None:
        known = sorted(info.languages)
        shown = ", ".join(known[:12]) + (
            f" (and {len(known) - 12} more)" if len(known) > 12 else ""
        )
        raise InvalidRequest(
            f"{param} '{code}' is not a language of this model: {shown}", param=param
        )
    return token


def _languages(
    model: EncoderModel, info: Seq2SeqInfo, job: TextJob
) -> tuple[int | None, int | None]:
    """The token ids of the source and target languages of a multilingual model."""
    options = model.config.seq2seq
    src = job.src_lang or options.src_lang
    tgt = job.tgt_lang or options.tgt_lang
    if not info.languages:
        return None, None
    if job.task != TRANSLATE:
        return None, info.forced_bos_token_id
    if tgt is None and info.forced_bos_token_id is None:
        raise InvalidRequest(
            "tgt_lang is required: this model translates into many languages", param="tgt_lang"
        )
    source = _language(info, src, "src_lang") if src else None
    target = _language(info, tgt, "tgt_lang") if tgt else info.forced_bos_token_id
    return source, target


def generation_params(
    model: EncoderModel, info: Seq2SeqInfo, options: GenerationOptions, forced_bos: int | None
) -> GenerationParams:
    """The request's parameters within the model's limits (400 naming the one over)."""
    limits = model.config.seq2seq
    max_new = options.max_new_tokens
    if max_new is None:
        max_new = min(info.default_max_new_tokens, limits.max_new_tokens)
    elif max_new > limits.max_new_tokens:
        raise InvalidRequest(
            f"max_new_tokens is {max_new}, more than this model's limit of {limits.max_new_tokens}",
            param="max_new_tokens",
        )
    if options.min_new_tokens is not None and options.min_new_tokens > max_new:
        raise InvalidRequest(
            f"min_new_tokens ({options.min_new_tokens}) is more than max_new_tokens ({max_new})",
            param="min_new_tokens",
        )
    if options.num_beams is not None and options.num_beams > limits.max_num_beams:
        raise InvalidRequest(
            f"num_beams is {options.num_beams}, more than this model's limit of "
            f"{limits.max_num_beams}",
            param="num_beams",
        )
    return GenerationParams(
        max_new_tokens=max_new,
        min_new_tokens=options.min_new_tokens,
        num_beams=options.num_beams,
        do_sample=options.do_sample,
        temperature=options.temperature,
        top_k=options.top_k,
        top_p=options.top_p,
        repetition_penalty=options.repetition_penalty,
        no_repeat_ngram_size=options.no_repeat_ngram_size,
        early_stopping=options.early_stopping,
        forced_bos_token_id=forced_bos,
    )


def _with_source(ids: list[int], special: list[int], languages: set[int], source: int) -> list[int]:
    """``ids`` with the tokenizer's default source language code replaced by ``source``."""
    for position, (token, flag) in enumerate(zip(ids, special, strict=True)):
        if flag and token in languages:
            return [*ids[:position], source, *ids[position + 1 :]]
    return [source, *ids]


async def generate_texts(
    model: EncoderModel, texts: list[str], job: TextJob, order: QueueOrder, param: str = "input"
) -> Generated:
    """One generated text per input text, in order."""
    info = _info(model)
    prefix = _prefix(model, info, job)
    source, target = _languages(model, info, job)
    params = generation_params(model, info, job.options, target)
    encodings = await model.text.encode(
        [prefix + text for text in texts], truncate=model.truncate(job.truncate), param=param
    )
    languages = set(info.languages.values())
    features = []
    for encoding in encodings:
        ids = list(encoding.ids)
        if source is not None:
            ids = _with_source(ids, list(encoding.special_tokens_mask), languages, source)
        features.append(Features(np.array(ids, dtype=np.int32), generation=params))
    outputs = await model.run(features, order)
    generated = [output[output >= 0] for output in outputs]
    clean_up = job.clean_up_tokenization_spaces and info.clean_up_applies
    decoded = [
        model.text.decode(ids.tolist(), clean_up_tokenization_spaces=clean_up) for ids in generated
    ]
    return Generated(
        texts=decoded,
        prompt_tokens=sum(len(f) for f in features),
        completion_tokens=sum(len(ids) for ids in generated),
    )


def job_of(task: str, request: SummarizeRequest | TranslateRequest) -> TextJob:
    """The job a ``/v1/summarize`` or ``/v1/translate`` request asks for."""
    options = GenerationOptions.model_validate(
        request.model_dump(include=set(GenerationOptions.model_fields))
    )
    return TextJob(
        task=task,
        options=options,
        truncate=request.truncate,
        clean_up_tokenization_spaces=request.clean_up_tokenization_spaces,
        src_lang=getattr(request, "src_lang", None),
        tgt_lang=getattr(request, "tgt_lang", None),
    )


async def summarize(model: EncoderModel, request: SummarizeRequest, order: QueueOrder) -> Reply:
    """A summary of each input text."""
    texts = as_texts(request.input, "input")
    result = await generate_texts(model, texts, job_of(SUMMARIZE, request), order)
    body = SummarizeResponse(
        model=model.name,
        data=[Summary(index=i, summary_text=text) for i, text in enumerate(result.texts)],
        usage=result.usage,
    )
    return Reply(body, result.prompt_tokens, result.completion_tokens)


async def translate(model: EncoderModel, request: TranslateRequest, order: QueueOrder) -> Reply:
    """A translation of each input text."""
    texts = as_texts(request.input, "input")
    result = await generate_texts(model, texts, job_of(TRANSLATE, request), order)
    body = TranslateResponse(
        model=model.name,
        data=[Translation(index=i, translation_text=text) for i, text in enumerate(result.texts)],
        usage=result.usage,
    )
    return Reply(body, result.prompt_tokens, result.completion_tokens)
