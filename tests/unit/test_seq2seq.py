"""Our own logic of the summarize and translate path, without a worker: the bounds on
generation parameters, languages and prefixes, decoding clean-up, what a model serves."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pytest
from pydantic import ValidationError

from server.core.errors import InvalidRequest
from server.core.pipeline_tags import pipeline_tags
from server.core.settings import EncoderModelConfig
from server.core.settings.models import Seq2SeqOptions
from server.encoders.model import EncoderModel
from server.encoders.pool.worker_pool import _pack
from server.encoders.protocol import GenerationOptions
from server.encoders.shared.endpoints import served_tasks
from server.encoders.shared.spec import (
    Features,
    GenerationParams,
    Head,
    ModelDescription,
    Seq2SeqInfo,
)
from server.encoders.tasks.seq2seq import (
    SUMMARIZE,
    TRANSLATE,
    TextJob,
    _languages,
    _prefix,
    _with_source,
    generation_params,
)
from server.encoders.tokenization import clean_up_tokenization

T5_PREFIXES = {
    "summarization": "summarize: ",
    "translation_en_to_de": "translate English to German: ",
    "translation_en_to_fr": "translate English to French: ",
}


def _model(**options: Any) -> EncoderModel:
    return cast(
        EncoderModel, SimpleNamespace(config=SimpleNamespace(seq2seq=Seq2SeqOptions(**options)))
    )


def _description(info: Seq2SeqInfo) -> ModelDescription:
    return ModelDescription(head=Head.SEQ2SEQ, architecture="X", max_length=8, seq2seq=info)


def test_clean_up_matches_transformers() -> None:
    from transformers import PreTrainedTokenizerBase

    text = "we can 't go , it 's late . they 're here ! ok ? i 'm sure they 've gone n't"
    assert clean_up_tokenization(text) == PreTrainedTokenizerBase.clean_up_tokenization(None, text)  # type: ignore[arg-type]


def test_parameters_are_bounded_by_the_model_limits() -> None:
    model = _model(max_new_tokens=32, max_num_beams=4)
    info = Seq2SeqInfo(default_max_new_tokens=141)
    params = generation_params(model, info, GenerationOptions(), None)
    assert params.max_new_tokens == 32  # the model's default, capped by the limit
    assert params.arguments() == {"max_new_tokens": 32}
    ok = GenerationOptions(max_new_tokens=8, num_beams=4, early_stopping="never", top_p=0.5)
    assert generation_params(model, info, ok, 7).arguments() == {
        "max_new_tokens": 8,
        "num_beams": 4,
        "early_stopping": "never",
        "top_p": 0.5,
        "forced_bos_token_id": 7,
    }
    for bad, param in (
        (GenerationOptions(max_new_tokens=33), "max_new_tokens"),
        (GenerationOptions(num_beams=5), "num_beams"),
        (GenerationOptions(max_new_tokens=4, min_new_tokens=5), "min_new_tokens"),
    ):
        with pytest.raises(InvalidRequest) as caught:
            generation_params(model, info, bad, None)
        assert caught.value.param == param


def test_prefixes_come_from_the_config_or_the_pair() -> None:
    info = Seq2SeqInfo(prefixes=T5_PREFIXES)
    model = _model()
    opts = GenerationOptions()
    assert _prefix(model, info, TextJob(SUMMARIZE, opts)) == "summarize: "
    pair = TextJob(TRANSLATE, opts, src_lang="en", tgt_lang="fr")
    assert _prefix(model, info, pair) == "translate English to French: "
    with pytest.raises(InvalidRequest, match="en->de, en->fr"):
        _prefix(model, info, TextJob(TRANSLATE, opts))
    assert _prefix(_model(prefix="tl;dr: "), info, TextJob(SUMMARIZE, opts)) == "tl;dr: "
    single = Seq2SeqInfo(prefixes={"translation_en_to_de": "de: "})
    assert _prefix(model, single, TextJob(TRANSLATE, opts)) == "de: "
    assert _prefix(model, Seq2SeqInfo(), TextJob(TRANSLATE, opts)) == ""


def test_languages_of_a_multilingual_model() -> None:
    info = Seq2SeqInfo(languages={"en": 5, "de": 6, "fr": 7})
    opts = GenerationOptions()
    assert _languages(_model(), info, TextJob(TRANSLATE, opts, tgt_lang="de")) == (None, 6)
    job = TextJob(TRANSLATE, opts, src_lang="fr", tgt_lang="en")
    assert _languages(_model(), info, job) == (7, 5)
    assert _languages(_model(tgt_lang="de"), info, TextJob(TRANSLATE, opts)) == (None, 6)
    with pytest.raises(InvalidRequest, match="tgt_lang is required"):
        _languages(_model(), info, TextJob(TRANSLATE, opts))
    with pytest.raises(InvalidRequest, match="'xx' is not a language"):
        _languages(_model(), info, TextJob(TRANSLATE, opts, tgt_lang="xx"))


def test_the_source_language_replaces_the_default_one() -> None:
    assert _with_source([5, 10, 11, 2], [1, 0, 0, 1], {5, 6, 7}, 7) == [7, 10, 11, 2]
    # A code that is only text (not a special position) is left alone.
    assert _with_source([10, 6, 2], [0, 0, 1], {5, 6, 7}, 7) == [7, 10, 6, 2]


def test_what_an_encoder_decoder_model_serves() -> None:
    t5 = _description(Seq2SeqInfo(prefixes=T5_PREFIXES))
    plain = _description(Seq2SeqInfo())
    assert served_tasks("summarize", t5) == ("summarize", "translate")
    assert served_tasks("summarize", plain) == ("summarize",)
    assert served_tasks("translate", plain) == ("translate",)
    assert pipeline_tags(["summarize", "translate"]) == ["summarization", "translation"]
    assert pipeline_tags(["embed", "rerank", "score"]) == [
        "feature-extraction",
        "sentence-similarity",
        "text-ranking",
    ]


def test_a_batch_carries_each_inputs_parameters() -> None:
    a, b = GenerationParams(max_new_tokens=4), GenerationParams(max_new_tokens=4, num_beams=2)
    batch = _pack(3, [Features(np.array([1, 2], np.int32), generation=g) for g in (a, b)])
    assert batch.generation == [a, b]
    assert _pack(4, [Features(np.array([1], np.int32))]).generation is None
    with pytest.raises(ValueError, match="mixes"):
        _pack(
            5, [Features(np.array([1], np.int32)), Features(np.array([1], np.int32), generation=a)]
        )


def test_seq2seq_tasks_run_on_torch_only() -> None:
    base = {"name": "m", "task": "summarize", "source": "some/model"}
    assert EncoderModelConfig(**base, backend="auto").task == "summarize"
    with pytest.raises(ValidationError, match="runs on torch"):
        EncoderModelConfig(**base, backend="onnx")


def test_chat_sampling_of_generation_options() -> None:
    from server.tasks.text_tasks import chat_sampling

    assert chat_sampling(GenerationOptions(max_new_tokens=9, top_k=5), 0) == {
        "priority": 0,
        "max_tokens": 9,
        "temperature": 0.0,  # greedy, as generate() without do_sample
    }
    sampled = GenerationOptions(do_sample=True, temperature=0.7, top_p=0.9, num_beams=1)
    assert chat_sampling(sampled, 3) == {"priority": 3, "temperature": 0.7, "top_p": 0.9}
    for bad in ("num_beams", "no_repeat_ngram_size", "min_new_tokens"):
        with pytest.raises(InvalidRequest, match=bad):
            chat_sampling(GenerationOptions.model_validate({bad: 2}), 0)


def test_text_task_prompts_are_checked() -> None:
    from server.core.settings.models import TextTaskPrompts

    assert TextTaskPrompts().tasks == ("summarize", "translate")
    assert TextTaskPrompts(translate=None).tasks == ("summarize",)
    with pytest.raises(ValidationError, match=r"\{text\}"):
        TextTaskPrompts(summarize="Summarize this.")
    with pytest.raises(ValidationError, match="only"):
        TextTaskPrompts(summarize="{text} in {style}")
