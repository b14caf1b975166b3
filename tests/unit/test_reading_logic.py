"""The logic of QA, zero-shot and fill-mask that needs no model: scores, merging, output rows."""

from __future__ import annotations

import numpy as np
import pytest

from server.batches.protocol import ENDPOINTS
from server.core.pipeline_tags import pipeline_tags
from server.encoders.reading_protocol import QaAnswer
from server.encoders.shared.endpoints import Endpoint
from server.encoders.shared.spec import ROW_HEADS, Head, rows_per_input
from server.encoders.tasks.qa import _merge
from server.encoders.tasks.zero_shot import _scores, nli_indices


def test_nli_indices_find_entailment_and_contradiction() -> None:
    assert nli_indices(("contradiction", "neutral", "entailment")) == (2, 0)
    assert nli_indices(("ENTAILMENT", "NEUTRAL", "CONTRADICTION")) == (0, 2)
    assert nli_indices(("not_entailment", "entailment")) == (1, 0)


def test_single_label_scores_sum_to_one_and_multi_label_scores_alone() -> None:
    logits = np.array([[0.0, 0.0, 2.0], [1.0, 0.0, 0.0], [0.0, 5.0, 0.0]])
    single = _scores(logits, 2, 0, multi=False)
    assert single.sum() == pytest.approx(1.0)
    assert single.argmax() == 0
    multi = _scores(logits, 2, 0, multi=True)
    assert multi == pytest.approx([1 / (1 + np.exp(-2)), 1 / (1 + np.e), 0.5])


def test_merge_keeps_each_span_once_best_first() -> None:
    answers = [
        QaAnswer(answer="a", start=0, end=1, score=0.2),
        QaAnswer(answer="a", start=0, end=1, score=0.5),
        QaAnswer(answer="b", start=2, end=3, score=0.4),
    ]
    merged = _merge(answers, None, 5)
    assert [(a.start, a.score) for a in merged] == [(0, 0.5), (2, 0.4)]
    with_null = _merge(answers, 0.45, 2)
    assert [a.answer for a in with_null] == ["a", ""]


def test_rows_per_input_counts_tokens_or_masks() -> None:
    ids = np.array([1, 103, 2, 103, 103, 5, 6], dtype=np.int32)
    lengths = np.array([3, 2, 2], dtype=np.int32)
    assert rows_per_input(Head.MASKED, ids, lengths, 103).tolist() == [1, 2, 0]
    assert rows_per_input(Head.SPAN, ids, lengths, None).tolist() == [3, 2, 2]
    assert Head.SEQUENCE not in ROW_HEADS


def test_endpoints_batches_and_pipeline_tags() -> None:
    assert {Endpoint.QA.task, Endpoint.ZERO_SHOT.task, Endpoint.FILL_MASK.task} == {
        "qa",
        "zero-shot",
        "fill-mask",
    }
    assert {"/v1/qa", "/v1/zero-shot", "/v1/fill-mask"} <= set(ENDPOINTS)
    assert pipeline_tags(["qa", "zero-shot", "fill-mask"]) == [
        "question-answering",
        "zero-shot-classification",
        "fill-mask",
    ]
