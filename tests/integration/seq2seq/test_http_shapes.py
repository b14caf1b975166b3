"""The Hugging Face task API with the real ``InferenceClient``, ``/v1/models``, output-token
metrics, the Batch API's lines and bad inputs, on the tiny encoder-decoder models."""

from __future__ import annotations

from typing import Any

import pytest
from huggingface_hub import InferenceClient

from tests.integration.seq2seq.reference import generate, token_id
from tests.support.seq2seq_models import Seq2SeqModels
from tests.support.server import ServerProcess

# InferenceClient refuses every request under HF_HUB_OFFLINE (make test sets it).
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("hub_client_online")]

TEXT = "people met at the market to sell bread , fish and apples ."
PARAMS = {"max_new_tokens": 10, "num_beams": 2}


def _client(server: ServerProcess, name: str) -> InferenceClient:
    return InferenceClient(model=f"{server.base_url}/models/{name}", token="unused")


def test_inference_client_summarization(
    seq2seq_server: ServerProcess, seq2seq_models: Seq2SeqModels
) -> None:
    output = _client(seq2seq_server, "bart").summarization(TEXT, generate_parameters=PARAMS)
    assert output.summary_text == generate(seq2seq_models.bart, [TEXT], **PARAMS).texts[0]
    t5 = _client(seq2seq_server, "t5").summarization(
        TEXT,
        generate_parameters=PARAMS,
        clean_up_tokenization_spaces=True,
        truncation="longest_first",
    )
    expected = generate(seq2seq_models.t5, ["summarize: " + TEXT], clean_up=True, **PARAMS)
    assert t5.summary_text == expected.texts[0]


def test_inference_client_translation(
    seq2seq_server: ServerProcess, seq2seq_models: Seq2SeqModels
) -> None:
    output = _client(seq2seq_server, "marian").translation(TEXT, generate_parameters=PARAMS)
    assert output.translation_text == generate(seq2seq_models.marian, [TEXT], **PARAMS).texts[0]
    m2m = _client(seq2seq_server, "m2m100").translation(
        TEXT, src_lang="fr", tgt_lang="de", generate_parameters=PARAMS
    )
    weights = seq2seq_models.m2m100
    expected = generate(
        weights,
        [TEXT],
        source_token="__fr__",
        forced_bos_token_id=token_id(weights, "__de__"),
        **PARAMS,
    )
    assert m2m.translation_text == expected.texts[0]


def test_task_api_takes_a_list_of_inputs(seq2seq_server: ServerProcess) -> None:
    texts = [TEXT, "a quick brown fox"]
    body = {"inputs": texts, "parameters": {"generate_parameters": PARAMS}}
    response = seq2seq_server.http.post("/models/bart", json=body)
    assert response.status_code == 200, response.text
    ours = seq2seq_server.http.post(
        "/v1/summarize", json={"model": "bart", "input": texts, **PARAMS}
    )
    assert response.json() == [{"summary_text": d["summary_text"]} for d in ours.json()["data"]]


@pytest.mark.parametrize(
    ("path", "body", "status", "words"),
    [
        ("/models/nope", {"inputs": TEXT}, 404, ["nope"]),
        ("/models/bart", {"inputs": TEXT, "max_length": 5}, 400, ["summarization", "max_length"]),
        ("/models/bart", {"inputs": 12}, 400, ["summarization", "inputs"]),
        ("/models/bart", {"inputs": ""}, 400, ["summarization"]),
        ("/models/marian", {"inputs": {"question": "q", "context": "c"}}, 400, ["translation"]),
        (
            "/models/bart",
            {"inputs": TEXT, "parameters": {"top_k": 3}},
            400,
            ["summarization", "top_k"],
        ),
        (
            "/models/bart",
            {"inputs": TEXT, "parameters": {"generate_parameters": {"num_beams": 99}}},
            400,
            ["num_beams", "4"],
        ),
        (
            "/models/bart",
            {"inputs": TEXT, "parameters": {"generate_parameters": {"max_new_tokens": 0}}},
            400,
            ["max_new_tokens"],
        ),
        (
            "/models/bart",
            {"inputs": TEXT, "parameters": {"truncation": "sideways"}},
            400,
            ["truncation"],
        ),
        ("/models/m2m100", {"inputs": TEXT}, 400, ["tgt_lang"]),
        ("/models/m2m100", {"inputs": TEXT, "parameters": {"tgt_lang": "xx"}}, 400, ["xx", "de"]),
        ("/v1/summarize", {"model": "bart", "input": []}, 400, ["input"]),
        ("/v1/summarize", {"model": "bart", "input": TEXT, "max_new_tokens": 25}, 400, ["24"]),
        ("/v1/summarize", {"model": "bart", "input": TEXT, "beams": 2}, 400, ["beams"]),
        (
            "/v1/summarize",
            {"model": "bart", "input": TEXT, "min_new_tokens": 9, "max_new_tokens": 4},
            400,
            ["min_new_tokens"],
        ),
        ("/v1/summarize", {"model": "marian", "input": TEXT}, 400, ["marian", "summarize"]),
        ("/v1/translate", {"model": "bart", "input": TEXT}, 400, ["bart", "translate"]),
        ("/v1/translate", {"model": "t5", "input": TEXT}, 400, ["src_lang", "en->de"]),
        (
            "/v1/translate",
            {"model": "t5", "input": TEXT, "src_lang": "de", "tgt_lang": "en"},
            400,
            ["de->en"],
        ),
        ("/v1/translate", {"model": "marian", "input": TEXT, "tgt_lang": "de"}, 400, ["tgt_lang"]),
    ],
)
def test_bad_requests_are_clear_4xx(
    seq2seq_server: ServerProcess, path: str, body: dict[str, Any], status: int, words: list[str]
) -> None:
    response = seq2seq_server.http.post(path, json=body)
    assert response.status_code == status, response.text
    message = response.json()["error"]["message"]
    for word in words:
        assert word in message, message


def test_models_list_pipeline_tags(seq2seq_server: ServerProcess) -> None:
    cards = {c["id"]: c for c in seq2seq_server.http.get("/v1/models").json()["data"]}
    # T5's config has prefixes for both tasks: it serves both.
    assert cards["t5"]["tasks"] == ["summarize", "translate"]
    assert cards["t5"]["pipeline_tags"] == ["summarization", "translation"]
    assert cards["bart"]["pipeline_tags"] == ["summarization"]
    assert cards["marian"]["tasks"] == ["translate"]
    assert cards["marian"]["runtime"] == "torch"


def test_output_tokens_are_counted(seq2seq_server: ServerProcess) -> None:
    labels = {"model": "marian", "endpoint": "/v1/translate"}
    before = seq2seq_server.metric("inference_generation_tokens_total", **labels)
    body = seq2seq_server.http.post(
        "/v1/translate", json={"model": "marian", "input": [TEXT, TEXT], **PARAMS}
    ).json()
    generated = body["usage"]["completion_tokens"]
    assert generated > 0
    after = seq2seq_server.metric("inference_generation_tokens_total", **labels)
    assert after - before == generated


def test_batch_api_runs_summarize_and_translate_lines(seq2seq_server: ServerProcess) -> None:
    import openai

    from tests.integration.batches_support import lines_of, request_line, submit, wait

    api = openai.OpenAI(base_url=f"{seq2seq_server.base_url}/v1", api_key="unused")
    for path, model, key in (
        ("/v1/summarize", "bart", "summary_text"),
        ("/v1/translate", "marian", "translation_text"),
    ):
        lines = [
            request_line(f"l{i}", path, {"model": model, "input": text, **PARAMS})
            for i, text in enumerate([TEXT, "a quick brown fox"])
        ]
        batch = wait(api, submit(api, lines, path).id, ("completed", "failed"))
        assert batch.status == "completed", batch
        outputs = {line["custom_id"]: line for line in lines_of(api, batch.output_file_id)}
        for i, text in enumerate([TEXT, "a quick brown fox"]):
            direct = seq2seq_server.http.post(path, json={"model": model, "input": text, **PARAMS})
            body = outputs[f"l{i}"]["response"]["body"]
            assert body["data"][0][key] == direct.json()["data"][0][key]
