"""The server's summaries and translations equal Transformers' ``generate()`` on the same
weights and parameters: greedy and beam search, batched and alone, several lengths at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.integration.seq2seq.reference import generate, token_id
from tests.support.seq2seq_models import Seq2SeqModels
from tests.support.server import ServerProcess

pytestmark = pytest.mark.integration

TEXTS = [
    "the cat sat on the mat .",
    "people met at the market to sell bread , fish and apples while the rain fell on the town",
    "a quick brown fox",
    "she wrote a long letter to her brother who lived far away , and the team won the match",
]
GREEDY = {"max_new_tokens": 12, "num_beams": 1, "do_sample": False}
BEAMS = {
    "max_new_tokens": 10,
    "min_new_tokens": 3,
    "num_beams": 3,
    "early_stopping": True,
    "no_repeat_ngram_size": 2,
    "repetition_penalty": 1.3,
}
# (served name, endpoint, output field, folder attribute, prefix the model's config gives)
MODELS = [
    ("t5", "/v1/summarize", "summary_text", "t5", "summarize: "),
    ("bart", "/v1/summarize", "summary_text", "bart", ""),
    ("marian", "/v1/translate", "translation_text", "marian", ""),
]


def _post(server: ServerProcess, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = server.http.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _outputs(body: dict[str, Any], key: str) -> list[str]:
    assert [item["index"] for item in body["data"]] == list(range(len(body["data"])))
    return [item[key] for item in body["data"]]


@pytest.mark.parametrize("params", [GREEDY, BEAMS], ids=["greedy", "beams"])
@pytest.mark.parametrize(("name", "path", "key", "folder", "prefix"), MODELS)
def test_a_batch_equals_generate(
    seq2seq_server: ServerProcess,
    seq2seq_models: Seq2SeqModels,
    name: str,
    path: str,
    key: str,
    folder: str,
    prefix: str,
    params: dict[str, Any],
) -> None:
    weights = getattr(seq2seq_models, folder)
    expected = generate(weights, [prefix + t for t in TEXTS], **params)
    alone = [generate(weights, [prefix + t], **params).texts[0] for t in TEXTS]
    assert expected.texts == alone  # the reference itself: padding changes nothing
    assert all(expected.texts), expected.texts
    body = _post(seq2seq_server, path, {"model": name, "input": TEXTS, **params})
    assert _outputs(body, key) == expected.texts
    usage = body["usage"]
    assert usage["completion_tokens"] == expected.generated_tokens
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


@pytest.mark.parametrize("params", [GREEDY, BEAMS], ids=["greedy", "beams"])
def test_concurrent_requests_batch_together_and_each_equals_generate(
    seq2seq_server: ServerProcess, seq2seq_models: Seq2SeqModels, params: dict[str, Any]
) -> None:
    expected = generate(seq2seq_models.bart, TEXTS * 2, **params).texts
    before = seq2seq_server.metric("inference_batch_size_count", model="bart")
    before_sum = seq2seq_server.metric("inference_batch_size_sum", model="bart")

    def one(text: str) -> str:
        body = _post(seq2seq_server, "/v1/summarize", {"model": "bart", "input": text, **params})
        return str(body["data"][0]["summary_text"])

    with ThreadPoolExecutor(len(expected)) as pool:
        assert list(pool.map(one, TEXTS * 2)) == expected
    batches = seq2seq_server.metric("inference_batch_size_count", model="bart") - before
    inputs = seq2seq_server.metric("inference_batch_size_sum", model="bart") - before_sum
    assert inputs == len(expected)
    assert batches < len(expected)  # some requests shared a batch


def test_mixed_parameters_in_one_batch(
    seq2seq_server: ServerProcess, seq2seq_models: Seq2SeqModels
) -> None:
    """Requests with different parameters may meet in a batch; each decodes with its own."""
    jobs = [(text, GREEDY if i % 2 else BEAMS) for i, text in enumerate(TEXTS)]

    def one(job: tuple[str, dict[str, Any]]) -> str:
        text, params = job
        body = _post(seq2seq_server, "/v1/translate", {"model": "marian", "input": text, **params})
        return str(body["data"][0]["translation_text"])

    with ThreadPoolExecutor(len(jobs)) as pool:
        served = list(pool.map(one, jobs))
    assert served == [generate(seq2seq_models.marian, [t], **p).texts[0] for t, p in jobs]


def test_t5_translation_takes_its_prefix_from_the_pair(
    seq2seq_server: ServerProcess, seq2seq_models: Seq2SeqModels
) -> None:
    for tgt, language in (("de", "German"), ("fr", "French")):
        body = _post(
            seq2seq_server,
            "/v1/translate",
            {"model": "t5", "input": TEXTS[:2], "src_lang": "en", "tgt_lang": tgt, **GREEDY},
        )
        prefixed = [f"translate English to {language}: {t}" for t in TEXTS[:2]]
        assert (
            _outputs(body, "translation_text")
            == generate(seq2seq_models.t5, prefixed, **GREEDY).texts
        )


def test_m2m100_languages_are_the_source_token_and_the_forced_bos(
    seq2seq_server: ServerProcess, seq2seq_models: Seq2SeqModels
) -> None:
    weights = seq2seq_models.m2m100
    for src, tgt in (("en", "de"), ("fr", "en")):
        body = _post(
            seq2seq_server,
            "/v1/translate",
            {"model": "m2m100", "input": TEXTS, "src_lang": src, "tgt_lang": tgt, **BEAMS},
        )
        expected = generate(
            weights,
            TEXTS,
            source_token=f"__{src}__",
            forced_bos_token_id=token_id(weights, f"__{tgt}__"),
            **BEAMS,
        )
        assert _outputs(body, "translation_text") == expected.texts


@pytest.mark.parametrize(("name", "prefix"), [("t5", "summarize: "), ("bart", "")])
def test_clean_up_tokenization_spaces(
    seq2seq_server: ServerProcess, seq2seq_models: Seq2SeqModels, name: str, prefix: str
) -> None:
    """As Transformers decodes: T5's Unigram tokenizer cleans up, BART's BPE one does not."""
    texts = [TEXTS[1], "we can't go there , it's late and they're tired ."]
    for clean_up in (False, True):
        body = _post(
            seq2seq_server,
            "/v1/summarize",
            {"model": name, "input": texts, "clean_up_tokenization_spaces": clean_up, **GREEDY},
        )
        weights = getattr(seq2seq_models, name)
        expected = generate(weights, [prefix + t for t in texts], clean_up=clean_up, **GREEDY)
        assert _outputs(body, "summary_text") == expected.texts


def test_truncation_cuts_long_inputs_as_the_tokenizer_does(
    seq2seq_server: ServerProcess, seq2seq_models: Seq2SeqModels
) -> None:
    long = " ".join(TEXTS * 6)
    refused = seq2seq_server.http.post(
        "/v1/summarize", json={"model": "bart", "input": long, **GREEDY}
    )
    assert refused.status_code == 400, refused.text
    assert "tokens" in refused.json()["error"]["message"]
    body = _post(
        seq2seq_server,
        "/v1/summarize",
        {"model": "bart", "input": long, "truncate": True, **GREEDY},
    )
    expected = generate(seq2seq_models.bart, [long], truncation=True, **GREEDY)
    assert _outputs(body, "summary_text") == expected.texts
