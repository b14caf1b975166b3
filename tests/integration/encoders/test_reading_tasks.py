"""Question answering, zero-shot classification and fill-mask on the real server: against
Transformers' own pipelines (zero-shot, fill-mask) and its QA model's logits (Transformers 5
has no question-answering pipeline), ONNX Runtime against torch, and bad inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from server.encoders.shared.spec import Features, WorkerSpec
from tests.integration.encoders.models import ReadingModels

pytestmark = pytest.mark.integration

CONTEXT = (
    "The Eiffel Tower was completed in 1889 in Paris. It was designed by the engineering "
    "company of Gustave Eiffel and is 330 metres tall. Around seven million people visit it "
    "every year."
)
QUESTIONS = ["When was the Eiffel Tower completed?", "Who designed it?", "How tall is it?"]
TOPICS = ["sports", "politics", "science", "cooking", "travel"]
TEXTS = ["The match ended in a draw after extra time.", "Parliament passed the budget."]


def _post(http: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post(path, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


# --- question answering ---------------------------------------------------------------------


def _reference_answer(path: Path, question: str, context: str, max_answer_len: int = 15) -> Any:
    """The best span over every window, scored as the 4.x pipeline scored it, computed with
    Transformers' tokenizer and model directly."""
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path))
    model = AutoModelForQuestionAnswering.from_pretrained(str(path)).eval()
    encoded = tokenizer(
        question,
        context,
        truncation="only_second",
        max_length=384,
        stride=128,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=True,
        return_tensors="pt",
    )
    offsets = encoded.pop("offset_mapping")
    encoded.pop("overflow_to_sample_mapping")
    with torch.inference_mode():
        out = model(**encoded)
    best: tuple[float, int, int] = (-1.0, 0, 0)
    for w in range(len(offsets)):
        sequence = np.array([s == 1 for s in encoded.sequence_ids(w)])
        allowed = sequence.copy()
        allowed[0] = True
        real = encoded["attention_mask"][w].numpy().astype(bool)
        allowed &= real

        def norm(x: torch.Tensor, allowed: np.ndarray = allowed) -> np.ndarray:
            v = np.where(allowed, x.numpy(), -10000.0)
            e = np.exp(v - v.max())
            return np.asarray(e / e.sum())

        start, end = norm(out.start_logits[w]), norm(out.end_logits[w])
        for i in np.flatnonzero(sequence):
            for j in range(i, min(i + max_answer_len, len(sequence))):
                if sequence[j] and start[i] * end[j] > best[0]:
                    best = (float(start[i] * end[j]), int(offsets[w][i][0]), int(offsets[w][j][1]))
    return best


def test_qa_answers_slice_the_context_and_match_the_model(
    http: httpx.Client, reading: ReadingModels
) -> None:
    body = {"model": "qa", "question": QUESTIONS, "context": CONTEXT, "top_k": 3}
    result = _post(http, "/v1/qa", body)
    assert [d["index"] for d in result["data"]] == [0, 1, 2]
    assert result["usage"]["prompt_tokens"] > 0
    for question, item in zip(QUESTIONS, result["data"], strict=True):
        answers = item["answers"]
        assert 1 <= len(answers) <= 3
        scores = [a["score"] for a in answers]
        assert scores == sorted(scores, reverse=True)
        for a in answers:
            assert a["answer"] == CONTEXT[a["start"] : a["end"]]
            assert a["answer"]
        score, start, end = _reference_answer(reading.qa, question, CONTEXT)
        no_words = _post(
            http,
            "/v1/qa",
            {"model": "qa", "question": question, "context": CONTEXT, "align_to_words": False},
        )["data"][0]["answers"][0]
        assert (no_words["start"], no_words["end"]) == (start, end)
        assert no_words["score"] == pytest.approx(score, rel=1e-3)


def test_qa_long_context_in_windows(http: httpx.Client, reading: ReadingModels) -> None:
    filler = " ".join(f"Sentence {i} is about nothing in particular at all." for i in range(80))
    context = f"{filler} {CONTEXT} {filler}"
    question = QUESTIONS[0]
    result = _post(http, "/v1/qa", {"model": "qa", "question": question, "context": context})
    answer = result["data"][0]["answers"][0]
    assert answer["answer"] == context[answer["start"] : answer["end"]]
    assert result["usage"]["prompt_tokens"] > 384  # several windows were read
    score, start, end = _reference_answer(reading.qa, question, context)
    off = _post(
        http,
        "/v1/qa",
        {"model": "qa", "question": question, "context": context, "align_to_words": False},
    )["data"][0]["answers"][0]
    assert (off["start"], off["end"]) == (start, end)
    assert off["score"] == pytest.approx(score, rel=1e-3)


def test_qa_impossible_answer_and_limits(http: httpx.Client) -> None:
    body = {
        "model": "qa",
        "question": "Who?",
        "context": CONTEXT,
        "handle_impossible_answer": True,
        "top_k": 50,
    }
    answers = _post(http, "/v1/qa", body)["data"][0]["answers"]
    empty = [a for a in answers if a["answer"] == ""]
    assert len(empty) == 1 and empty[0]["start"] == empty[0]["end"] == 0
    short = _post(
        http, "/v1/qa", {"model": "qa", "question": "Who?", "context": CONTEXT, "max_answer_len": 1}
    )
    a = short["data"][0]["answers"][0]
    assert " " not in a["answer"].strip()
    for bad, param in (
        ({"question": "", "context": CONTEXT}, "question"),
        ({"question": "Who?", "context": "  "}, "context"),
        ({"question": "Who?", "context": "x" * 1_000_001}, "context"),
        ({"question": "Who?", "context": CONTEXT, "top_k": 0}, None),
    ):
        response = http.post("/v1/qa", json={"model": "qa", **bad})
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        if param is not None:
            assert error["param"] == param
    wrong = http.post("/v1/qa", json={"model": "nli", "question": "q", "context": "c"})
    assert wrong.status_code == 400 and "qa" in wrong.json()["error"]["message"]


# --- zero-shot ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def zero_shot_pipeline(reading: ReadingModels) -> Any:
    from transformers import pipeline

    return pipeline("zero-shot-classification", model=str(reading.nli))


@pytest.mark.parametrize(
    ("labels", "multi", "template"),
    [
        (TOPICS, False, None),
        (TOPICS, True, None),
        (["sports"], False, None),
        ([f"topic number {i}" for i in range(30)], False, None),
        (TOPICS[:3], True, "The text is about {}."),
    ],
)
def test_zero_shot_equals_the_pipeline(
    http: httpx.Client,
    zero_shot_pipeline: Any,
    labels: list[str],
    multi: bool,
    template: str | None,
) -> None:
    body: dict[str, Any] = {
        "model": "nli",
        "input": TEXTS,
        "candidate_labels": labels,
        "multi_label": multi,
    }
    kwargs: dict[str, Any] = {"candidate_labels": labels, "multi_label": multi}
    if template is not None:
        body["hypothesis_template"] = template
        kwargs["hypothesis_template"] = template
    result = _post(http, "/v1/zero-shot", body)
    for text, item in zip(TEXTS, result["data"], strict=True):
        expected = zero_shot_pipeline(text, **kwargs)
        got = {x["label"]: x["score"] for x in item["labels"]}
        want = dict(zip(expected["labels"], expected["scores"], strict=True))
        assert set(got) == set(labels)
        for label in labels:
            assert got[label] == pytest.approx(want[label], abs=1e-5)
        assert item["label"] == item["labels"][0]["label"]
        if not multi and len(labels) > 1:
            assert sum(got.values()) == pytest.approx(1.0, abs=1e-5)


def test_zero_shot_bad_inputs(http: httpx.Client) -> None:
    base = {"model": "nli", "input": "A text."}
    for extra, param in (
        ({"candidate_labels": []}, "candidate_labels"),
        ({"candidate_labels": ["a", " "]}, "candidate_labels"),
        ({"candidate_labels": ["a"], "hypothesis_template": "No slot."}, "hypothesis_template"),
    ):
        response = http.post("/v1/zero-shot", json={**base, **extra})
        assert response.status_code == 400, response.text
        assert response.json()["error"]["param"] == param
    long = {"model": "nli", "input": "word " * 300, "candidate_labels": ["a", "b"]}
    response = http.post("/v1/zero-shot", json=long)
    assert response.status_code == 400
    assert "128" in response.json()["error"]["message"]
    assert http.post("/v1/zero-shot", json={**long, "truncate": True}).status_code == 200


# --- fill-mask ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fill_mask_pipeline(reading: ReadingModels) -> Any:
    from transformers import pipeline

    return pipeline("fill-mask", model=str(reading.masked))


def _same_candidates(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    assert [(c["token"], c["token_str"], c["sequence"]) for c in got] == [
        (c["token"], c["token_str"], c["sequence"]) for c in want
    ]
    assert [c["score"] for c in got] == pytest.approx([c["score"] for c in want], rel=1e-3)


@pytest.mark.parametrize(
    ("text", "extra"),
    [
        ("Paris is the [MASK] of France.", {"top_k": 5}),
        ("Paris is the [MASK] of [MASK].", {"top_k": 3}),
        ("Paris is the [MASK] of France.", {"targets": ["capital", "city", "town"]}),
    ],
)
def test_fill_mask_equals_the_pipeline(
    http: httpx.Client, fill_mask_pipeline: Any, text: str, extra: dict[str, Any]
) -> None:
    result = _post(http, "/v1/fill-mask", {"model": "masked", "input": [text, text], **extra})
    expected = fill_mask_pipeline(text, **extra)
    if isinstance(expected[0], dict):
        expected = [expected]
    for item in result["data"]:
        assert len(item["masks"]) == len(expected)
        for got, want in zip(item["masks"], expected, strict=True):
            _same_candidates(got, want)


def test_fill_mask_without_mask_token_names_it(http: httpx.Client) -> None:
    response = http.post("/v1/fill-mask", json={"model": "masked", "input": "No mask here."})
    assert response.status_code == 400
    error = response.json()["error"]
    assert "[MASK]" in error["message"] and error["param"] == "input"
    long = {"model": "masked", "input": "The [MASK] sat. " + "word " * 600}
    assert http.post("/v1/fill-mask", json=long).status_code == 400
    assert http.post("/v1/fill-mask", json={**long, "truncate": True}).status_code == 200


# --- ONNX Runtime against torch ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "task"), [("qa", "qa"), ("nli", "zero-shot"), ("masked", "fill-mask")]
)
def test_onnx_equals_torch(reading: ReadingModels, name: str, task: str) -> None:
    from server.encoders.tokenization import TextEncoder
    from server.encoders.workers.main import _load

    path = getattr(reading, name)
    outputs = {}
    for backend in ("torch", "onnx"):
        spec = WorkerSpec(
            model=name,
            task=task,
            path=str(path),
            device="cpu",
            dtype="float32",
            threads=2,
            backend=backend,
        )
        forward, description = _load(spec)
        assert description.backend == backend
        text = TextEncoder(description)
        if task == "fill-mask":
            encodings = text.encode_now(
                ["Paris is the [MASK] of France.", "A [MASK] and a [MASK] [MASK]."],
                truncate=False,
                param="input",
            )
            features = [text.features(e) for e in encodings]
        else:
            pairs = [(q, CONTEXT) for q in QUESTIONS]
            features = [
                text.features(e, pair=True) for e in text.encode_pair_list(pairs, truncate=False)
            ]
        outputs[backend] = _forward(forward, features)
    for a, b in zip(outputs["torch"], outputs["onnx"], strict=True):
        assert a.shape == b.shape
        assert np.abs(a - b).max() < 1e-3


def _forward(forward: Any, features: list[Features]) -> list[np.ndarray]:
    lengths = np.array([len(f) for f in features], dtype=np.int32)
    ids = np.concatenate([f.ids for f in features])
    types = None
    if features[0].type_ids is not None:
        types = np.concatenate([f.type_ids for f in features if f.type_ids is not None])
    from server.encoders.shared import ipc

    return [np.asarray(forward(ipc.RunBatch(0, ids, lengths, types)))]


# --- /v1/models -----------------------------------------------------------------------------


def test_models_list_the_tasks_and_pipeline_tags(http: httpx.Client) -> None:
    cards = {card["id"]: card for card in http.get("/v1/models").json()["data"]}
    for name, task, tag in (
        ("qa", "qa", "question-answering"),
        ("nli", "zero-shot", "zero-shot-classification"),
        ("masked", "fill-mask", "fill-mask"),
    ):
        assert cards[name]["task"] == task
        assert tag in cards[name]["pipeline_tags"]


# --- batching and the Batch API ---------------------------------------------------------------


def test_each_label_is_one_batcher_input(http: httpx.Client) -> None:
    from tests.support.metrics import metric_value

    labels = {"model": "nli", "task": "zero-shot"}
    before = http.get("/metrics").text
    body = {"model": "nli", "input": "A text.", "candidate_labels": [f"l{i}" for i in range(20)]}
    _post(http, "/v1/zero-shot", body)
    after = http.get("/metrics").text
    inputs = metric_value(after, "inference_batch_size_sum", **labels) - metric_value(
        before, "inference_batch_size_sum", **labels
    )
    assert inputs == 20


def test_batch_api_lines(encoder_server: Any, http: httpx.Client) -> None:
    from openai import OpenAI

    from tests.integration.batches_support import lines_of, request_line, submit, wait

    api = OpenAI(base_url=f"{encoder_server.base_url}/v1", api_key="unused")
    bodies = {
        "/v1/qa": {"model": "qa", "question": QUESTIONS[0], "context": CONTEXT},
        "/v1/zero-shot": {"model": "nli", "input": TEXTS[0], "candidate_labels": TOPICS},
        "/v1/fill-mask": {"model": "masked", "input": "Paris is the [MASK] of France."},
    }
    for url, body in bodies.items():
        expected = _post(http, url, body)
        submitted = submit(api, [request_line("a", url, body)], url)
        batch = wait(api, submitted.id, ("completed", "failed"))
        assert batch.status == "completed", batch
        (line,) = lines_of(api, batch.output_file_id)
        assert line["response"]["status_code"] == 200
        assert line["response"]["body"]["data"] == expected["data"]
