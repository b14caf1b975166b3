"""``quantize: int8`` on the three reading heads (QA spans, zero-shot NLI logits, fill-mask's
vocabulary), served side by side with the same models in fp32 (``reading_server``): the same
best answer, label and token on a fixed input set, and scores close to fp32's.

The models are the fitted reading models (heads fitted, encoder frozen, to decide the fixed
inputs clearly): random heads score near-uniformly, where int8 keeping fp32's best would be a
coin toss. Tolerances: ONNX Runtime's dynamic quantization rounds each MatMul's weights to int8
per output channel and its activations to uint8 with one range per tensor at run time; on
MiniLM that leaves hidden states at cosine 0.97-0.99 to fp32's (docs/performance.md), and
heads fitted on frozen features amplify that more than heads trained with their encoder. Every
score is a probability; each TOLERANCE is 1.4-2x the largest difference measured on this set
(QA 0.14, zero-shot 0.07, multi-label 0.11, fill-mask 0.015 where they were written; 0.21,
0.08, 0.16 and 0.032 on an AVX-512 VNNI EPYC, whose int8 kernels round differently), and where
fp32's best beats its second by more than twice the tolerance, int8 must choose the same best.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.encoders.models import (
    FILL_MASK_EXAMPLES,
    QA_EXAMPLES,
    ZERO_SHOT_EXAMPLES,
    ZERO_SHOT_LABELS,
)
from tests.support.server import ServerProcess

pytestmark = pytest.mark.integration

# The largest difference allowed between a score and its fp32 score (see the module's doc).
TOLERANCE = {"qa": 0.3, "zero-shot": 0.12, "zero-shot multi-label": 0.25, "fill-mask": 0.05}
CONTEXTS = [context for context, _ in QA_EXAMPLES]
QUESTIONS = [[question for question, _ in items] for _, items in QA_EXAMPLES]
TEXTS = [text for text, _ in ZERO_SHOT_EXAMPLES]
MASKED = [text for text, _ in FILL_MASK_EXAMPLES]


def _post(server: ServerProcess, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = server.http.post(path, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _both(server: ServerProcess, path: str, body: dict[str, Any]) -> tuple[Any, Any]:
    """The answers of ``model`` (fp32) and of ``model-int8`` to the same request."""
    fp32 = _post(server, path, body)["data"]
    int8 = _post(server, path, {**body, "model": f"{body['model']}-int8"})["data"]
    return fp32, int8


def test_the_int8_models_run_quantized(reading_server: ServerProcess) -> None:
    cards = {c["id"]: c for c in reading_server.http.get("/v1/models").json()["data"]}
    for name in ("qa", "nli", "masked"):
        assert cards[name]["runtime"] == "torch"
        assert cards[f"{name}-int8"]["runtime"] == "onnx-int8"
        assert cards[f"{name}-int8"]["task"] == cards[name]["task"]


def _check(kind: str, pairs: list[tuple[list[Any], list[Any], dict[Any, float]]]) -> None:
    """Each pair: fp32's (key, score) list best first, int8's, and int8's scores by key.

    Scores of the same key may differ by at most TOLERANCE[kind]; so where fp32's best beats
    its second by more than twice that, int8 must pick the same best (and does not merely
    happen to). Most inputs of the set must be that clear, or the test would check nothing.
    """
    tolerance = TOLERANCE[kind]
    differences, clear = [], 0
    for fp32, int8, int8_scores in pairs:
        for key, score in fp32:
            if key in int8_scores:
                differences.append(abs(int8_scores[key] - score))
        margin = fp32[0][1] - (fp32[1][1] if len(fp32) > 1 else 0.0)
        if margin > 2 * tolerance:
            clear += 1
            assert int8[0][0] == fp32[0][0], (kind, fp32[:3], int8[:3])
    worst = max(differences)
    print(
        f"int8 {kind}: largest score difference {worst:.4f} over {len(differences)} scores; "
        f"{clear} of {len(pairs)} inputs decided by more than {2 * tolerance}"
    )
    assert 1e-6 < worst <= tolerance  # really quantized (not the fp32 graph again), and close
    assert clear >= len(pairs) // 2


def test_int8_qa_gives_the_same_best_answers(reading_server: ServerProcess) -> None:
    pairs = []
    for context, questions in zip(CONTEXTS, QUESTIONS, strict=True):
        body = {"model": "qa", "question": questions, "context": context, "top_k": 5}
        fp32, int8 = _both(reading_server, "/v1/qa", body)
        for a, b in zip(fp32, int8, strict=True):
            for answer in b["answers"]:
                assert answer["answer"] == context[answer["start"] : answer["end"]]
            spans = [((x["start"], x["end"]), x["score"]) for x in a["answers"]]
            got = [((x["start"], x["end"]), x["score"]) for x in b["answers"]]
            pairs.append((spans, got, dict(got)))
    _check("qa", pairs)


@pytest.mark.parametrize("multi", [False, True])
def test_int8_zero_shot_gives_the_same_labels(reading_server: ServerProcess, multi: bool) -> None:
    labels = list(ZERO_SHOT_LABELS)
    body = {"model": "nli", "input": TEXTS, "candidate_labels": labels, "multi_label": multi}
    fp32, int8 = _both(reading_server, "/v1/zero-shot", body)
    pairs = []
    for a, b in zip(fp32, int8, strict=True):
        assert b["label"] == b["labels"][0]["label"]
        labels = [(x["label"], x["score"]) for x in a["labels"]]
        got = [(x["label"], x["score"]) for x in b["labels"]]
        pairs.append((labels, got, dict(got)))
    _check("zero-shot multi-label" if multi else "zero-shot", pairs)


def test_int8_fill_mask_gives_the_same_tokens(reading_server: ServerProcess) -> None:
    body = {"model": "masked", "input": MASKED, "top_k": 5}
    fp32, int8 = _both(reading_server, "/v1/fill-mask", body)
    pairs = []
    for a, b in zip(fp32, int8, strict=True):
        assert len(a["masks"]) == len(b["masks"])
        for want, got in zip(a["masks"], b["masks"], strict=True):
            tokens = [(c["token"], c["score"]) for c in want]
            found = [(c["token"], c["score"]) for c in got]
            pairs.append((tokens, found, dict(found)))
    _check("fill-mask", pairs)
