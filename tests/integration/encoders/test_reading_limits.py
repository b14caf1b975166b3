"""Inputs over the limits of the reading tasks, with and without truncation, and the Batch API
with good and bad lines of the three tasks, on ``reading_server`` (the NLI model's limit is
128 tokens there, the others' 512)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.server import ServerProcess

pytestmark = pytest.mark.integration

CONTEXT = "The Eiffel Tower was completed in 1889 in Paris. It is 330 metres tall."
LONG_QUESTION = "Which of the many towers " + "and old bridges " * 130 + "was completed first?"


def _error(response: Any, param: str) -> str:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    assert error["param"] == param
    message: str = error["message"]
    return message


def test_a_question_over_the_window_is_cut_unless_asked_for_whole(
    reading_server: ServerProcess,
) -> None:
    http = reading_server.http
    body = {"model": "qa", "question": LONG_QUESTION, "context": CONTEXT}
    cut = http.post("/v1/qa", json=body)  # max_question_len 64: the question is cut
    assert cut.status_code == 200, cut.text
    answer = cut.json()["data"][0]["answers"][0]
    assert answer["answer"] == CONTEXT[answer["start"] : answer["end"]]
    assert cut.json()["usage"]["prompt_tokens"] < 64 + 40
    whole = http.post("/v1/qa", json={**body, "max_question_len": 1000})
    assert "question" in _error(whole, "question")


def test_a_context_over_the_window_is_read_in_windows(reading_server: ServerProcess) -> None:
    filler = "Nothing happened in this sentence at all. " * 150  # ~1,200 tokens
    context = filler + CONTEXT
    body = {"model": "qa", "question": "When was the Eiffel Tower completed?", "context": context}
    reply = reading_server.http.post("/v1/qa", json=body)
    assert reply.status_code == 200, reply.text
    answer = reply.json()["data"][0]["answers"][0]
    assert answer["answer"] == context[answer["start"] : answer["end"]]
    assert answer["start"] >= len(filler)  # found in the last window
    assert reply.json()["usage"]["prompt_tokens"] > 1200


def test_zero_shot_over_the_limit(reading_server: ServerProcess) -> None:
    http = reading_server.http
    text = "The central bank raised interest rates. " * 40
    body = {"model": "nli", "input": text, "candidate_labels": ["economy", "sports"]}
    assert "128" in _error(http.post("/v1/zero-shot", json=body), "input")
    cut = http.post("/v1/zero-shot", json={**body, "truncate": True})
    assert cut.status_code == 200, cut.text
    labels = cut.json()["data"][0]["labels"]
    assert sorted(x["label"] for x in labels) == ["economy", "sports"]
    assert sum(x["score"] for x in labels) == pytest.approx(1.0, abs=1e-5)


def test_fill_mask_over_the_limit(reading_server: ServerProcess) -> None:
    http = reading_server.http
    early = "Paris is the [MASK] of France. " + "More words follow here. " * 200
    body = {"model": "masked", "input": early}
    assert "512" in _error(http.post("/v1/fill-mask", json=body), "input")
    cut = http.post("/v1/fill-mask", json={**body, "truncate": True})
    assert cut.status_code == 200, cut.text
    assert len(cut.json()["data"][0]["masks"]) == 1
    # Cutting the end of the input cuts its only mask away: a 400 that says so.
    late = "More words follow here. " * 200 + "Paris is the [MASK] of France."
    message = _error(
        http.post("/v1/fill-mask", json={**body, "input": late, "truncate": True}), "input"
    )
    assert "truncated away" in message


def test_batch_api_lines_good_and_bad(reading_server: ServerProcess) -> None:
    from openai import OpenAI

    from tests.integration.batches_support import lines_of, request_line, submit, wait

    http = reading_server.http
    api = OpenAI(base_url=f"{reading_server.base_url}/v1", api_key="unused")
    good = {
        "/v1/qa": {"model": "qa", "question": ["When?", "Where?"], "context": CONTEXT},
        "/v1/zero-shot": {
            "model": "nli",
            "input": ["Rates rose.", "The match was a draw."],
            "candidate_labels": ["economy", "sports"],
            "multi_label": True,
        },
        "/v1/fill-mask": {"model": "masked", "input": "Paris is the [MASK] of [MASK]."},
    }
    bad = {
        "/v1/qa": {"model": "qa", "question": "When?", "context": " "},
        "/v1/zero-shot": {"model": "nli", "input": "Rates rose.", "candidate_labels": []},
        "/v1/fill-mask": {"model": "masked", "input": "No mask here."},
    }
    for url in good:
        lines = [request_line("good", url, good[url]), request_line("bad", url, bad[url])]
        done = wait(api, submit(api, lines, url).id, ("completed", "failed"))
        assert done.status == "completed", done
        assert (done.request_counts.completed, done.request_counts.failed) == (1, 1)
        (ok,) = lines_of(api, done.output_file_id)
        (failed,) = lines_of(api, done.error_file_id)
        assert ok["custom_id"] == "good" and ok["response"]["status_code"] == 200
        assert ok["response"]["body"]["data"] == http.post(url, json=good[url]).json()["data"]
        direct = http.post(url, json=bad[url])
        assert failed["custom_id"] == "bad" and direct.status_code == 400
        assert failed["response"]["status_code"] == 400
        assert failed["response"]["body"] == direct.json()
