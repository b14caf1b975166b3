"""The playground's QA, zero-shot and fill-mask views in a real browser (Debian's Chromium
driven by Playwright) against a real server of the small reading models (``reading_server``).

Every view is checked against the API's own answer to the same request: the page must show
what the server said, where it said it (code-point offsets), and nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.support.server import ServerProcess

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.integration

# Emoji and accents before the answers: the API's offsets count code points, JavaScript's
# strings UTF-16 units, so a page that sliced by the latter would mark the wrong characters.
CONTEXT = (
    "🙂 Zürich's Großmünster 🏛 was built around 1100. The Eiffel Tower was completed in "
    "1889 in Paris; it was designed by the company of Gustave Eiffel and is 330 metres tall."
)
QUESTION = "When was the Eiffel Tower completed?"
TEXT = "The central bank raised interest rates by half a point on Thursday."
LABELS = ["economy", "sports", "cooking", "politics", "weather"]


def open_view(page: Page, server: ServerProcess, view: str) -> None:
    page.goto(f"{server.base_url}/#{view}")
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    page.wait_for_selector(f"#view-{view}", state="visible", timeout=10_000)


def api(server: ServerProcess, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = server.http.post(path, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_the_new_views_offer_only_models_of_their_task(
    page: Page, reading_server: ServerProcess
) -> None:
    cards = reading_server.http.get("/v1/models").json()["data"]
    open_view(page, reading_server, "qa")
    for view, task in (("qa", "qa"), ("zero-shot", "zero-shot"), ("fill-mask", "fill-mask")):
        options = page.eval_on_selector_all(
            f"#view-{view} .model-select option", "nodes => nodes.map(n => n.value)"
        )
        expected = [c["id"] for c in cards if c["task"] == task]
        assert expected and options == expected, view
        assert page.is_hidden(f"#view-{view} .empty")
        page.click(f"#tabs a[data-view={view}]")
        page.wait_for_selector(f"#view-{view}", state="visible", timeout=10_000)
        assert page.get_attribute(f"#tabs a[data-view={view}]", "class") == "active"


def test_qa_highlights_the_answer_at_the_api_offsets(
    page: Page, reading_server: ServerProcess
) -> None:
    body = {"model": "qa", "question": QUESTION, "context": CONTEXT, "top_k": 3}
    answers = api(reading_server, "/v1/qa", body)["data"][0]["answers"]
    best = answers[0]
    assert best["start"] > 2, best  # past the first emoji
    open_view(page, reading_server, "qa")
    page.select_option("#qa-model", "qa")
    page.fill("#qa-question", QUESTION)
    page.fill("#qa-context", CONTEXT)
    page.fill("#qa-top-k", "3")
    page.click("#qa-form button[type=submit]")
    page.wait_for_selector("#qa-result .qa-context")
    mark = page.eval_on_selector(
        "#qa-result mark.answer",
        """n => ({text: n.textContent, start: Number(n.dataset.start),
            end: Number(n.dataset.end), score: Number(n.dataset.score), title: n.title})""",
    )
    assert (mark["start"], mark["end"]) == (best["start"], best["end"])
    assert mark["text"] == CONTEXT[best["start"] : best["end"]] == best["answer"]
    assert mark["score"] == pytest.approx(best["score"], rel=1e-6)
    assert f"[{best['start']}, {best['end']})" in mark["title"]
    assert page.locator("#qa-result mark").count() == 1
    assert page.inner_text("#qa-result .qa-context") == CONTEXT  # nothing lost or doubled
    assert page.inner_text("#qa-result .best") == best["answer"]
    listed = page.eval_on_selector_all(
        "#qa-result .answers li",
        """nodes => nodes.map(n => [Number(n.dataset.start), Number(n.dataset.end),
            n.querySelector('.score').textContent])""",
    )
    assert listed == [[a["start"], a["end"], f"{a['score']:.4f}"] for a in answers]
    assert page.is_hidden("#qa-error")


def test_qa_shows_the_empty_answer_when_allowed(page: Page, reading_server: ServerProcess) -> None:
    body = {
        "model": "qa",
        "question": QUESTION,
        "context": CONTEXT,
        "top_k": 100,
        "handle_impossible_answer": True,
    }
    answers = api(reading_server, "/v1/qa", body)["data"][0]["answers"]
    empty = [i for i, a in enumerate(answers) if a["answer"] == ""]
    assert len(empty) == 1
    open_view(page, reading_server, "qa")
    page.select_option("#qa-model", "qa")
    page.fill("#qa-question", QUESTION)
    page.fill("#qa-context", CONTEXT)
    page.fill("#qa-top-k", "100")
    page.check("#qa-impossible")
    page.click("#qa-form button[type=submit]")
    page.wait_for_selector("#qa-result .answers li")
    items = page.locator("#qa-result .answers li")
    assert items.count() == len(answers)
    assert "no answer" in items.nth(empty[0]).inner_text()


@pytest.mark.parametrize("multi", [False, True])
def test_zero_shot_bars_are_the_api_scores(
    page: Page, reading_server: ServerProcess, multi: bool
) -> None:
    template = "The news is about {}."
    body = {
        "model": "nli",
        "input": TEXT,
        "candidate_labels": LABELS,
        "hypothesis_template": template,
        "multi_label": multi,
    }
    first = api(reading_server, "/v1/zero-shot", body)["data"][0]
    open_view(page, reading_server, "zero-shot")
    page.select_option("#zero-shot-model", "nli")
    page.fill("#zero-shot-input", TEXT)
    page.fill("#zero-shot-labels", " , ".join(LABELS) + ", ")  # spaces and a blank dropped
    page.fill("#zero-shot-template", template)
    page.set_checked("#zero-shot-multi", multi)
    page.click("#zero-shot-form button[type=submit]")
    page.wait_for_selector("#zero-shot-result .bar-row")
    rows = page.eval_on_selector_all(
        "#zero-shot-result .bar-row",
        "nodes => nodes.map(n => [n.dataset.label, Number(n.dataset.score), "
        "n.querySelector('.pct').textContent, n.querySelector('.fill').style.width])",
    )
    assert [r[0] for r in rows] == [item["label"] for item in first["labels"]]
    assert sorted(r[0] for r in rows) == sorted(LABELS)
    for (_, score, pct, width), item in zip(rows, first["labels"], strict=True):
        assert score == pytest.approx(item["score"], rel=1e-6)
        assert pct == f"{100 * item['score']:.1f}%"
        assert float(width.rstrip("%")) == pytest.approx(100 * item["score"], abs=1e-3)
    total = sum(score for _, score, _, _ in rows)
    if multi:
        assert total != pytest.approx(1.0, abs=1e-3)  # each label alone
    else:
        assert total == pytest.approx(1.0, abs=1e-5)
    assert page.inner_text("#zero-shot-result .predicted") == first["label"]


def test_zero_shot_shows_the_servers_error(page: Page, reading_server: ServerProcess) -> None:
    open_view(page, reading_server, "zero-shot")
    page.select_option("#zero-shot-model", "nli")
    page.fill("#zero-shot-template", "No slot for the label.")
    page.click("#zero-shot-form button[type=submit]")
    page.wait_for_selector("#zero-shot-error:not([hidden])")
    assert "hypothesis_template" in page.inner_text("#zero-shot-error")
    page.fill("#zero-shot-labels", " , ")
    page.click("#zero-shot-form button[type=submit]")
    page.wait_for_function(
        "document.querySelector('#zero-shot-error').textContent.includes('label')"
    )
    assert page.inner_text("#zero-shot-error") == "Enter at least one label."


@pytest.mark.parametrize(
    "text", ["Paris is the [MASK] of 🙂 France.", "Paris is the [MASK] of [MASK]."]
)
def test_fill_mask_lists_the_api_candidates(
    page: Page, reading_server: ServerProcess, text: str
) -> None:
    body = {"model": "masked", "input": text, "top_k": 4}
    masks = api(reading_server, "/v1/fill-mask", body)["data"][0]["masks"]
    open_view(page, reading_server, "fill-mask")
    page.select_option("#fill-mask-model", "masked")
    page.fill("#fill-mask-input", text)
    page.fill("#fill-mask-top-k", "4")
    page.click("#fill-mask-form button[type=submit]")
    page.wait_for_selector("#fill-mask-result .mask-group")
    groups = page.eval_on_selector_all(
        "#fill-mask-result .mask-group",
        """nodes => nodes.map(g => [...g.querySelectorAll('li')].map(n => ({
            token: Number(n.dataset.token), score: Number(n.dataset.score),
            text: n.querySelector('.token').textContent,
            shown: n.querySelector('.score').textContent,
            sequence: n.querySelector('.sequence').textContent})))""",
    )
    assert len(groups) == len(masks) == text.count("[MASK]")
    for shown, expected in zip(groups, masks, strict=True):
        assert [(c["token"], c["text"], c["sequence"]) for c in shown] == [
            (c["token"], c["token_str"], c["sequence"]) for c in expected
        ]
        assert [c["shown"] for c in shown] == [f"{c['score']:.4f}" for c in expected]
    assert page.locator("#fill-mask-result h3").count() == (len(masks) if len(masks) > 1 else 0)


def test_fill_mask_without_a_mask_shows_the_models_mask_token(
    page: Page, reading_server: ServerProcess
) -> None:
    text = "Paris is the capital of France."
    body = {"model": "masked", "input": text, "top_k": 5}
    direct = reading_server.http.post("/v1/fill-mask", json=body)
    assert direct.status_code == 400
    open_view(page, reading_server, "fill-mask")
    page.select_option("#fill-mask-model", "masked")
    page.fill("#fill-mask-input", text)
    page.click("#fill-mask-form button[type=submit]")
    page.wait_for_selector("#fill-mask-error:not([hidden])")
    assert page.inner_text("#fill-mask-error") == direct.json()["error"]["message"]
    assert "[MASK]" in page.inner_text("#fill-mask-error")
    assert page.locator("#fill-mask-result .mask-group").count() == 0
