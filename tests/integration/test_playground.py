"""The playground at ``/`` in a real browser (Chromium driven by Playwright) against the real
server: chat streaming and Stop on the vLLM engine, and the encoder views on the bundled models.

One server serves every bundled model for the whole module; a second, encoder-only server with
an API key checks the key prompt. Browser tests skip when Chromium or Playwright is missing,
except under ``CI=true``, where they fail. ``PLAYGROUND_SCREENSHOTS=DIR`` saves the docs'
screenshots (chat and NER views) into DIR.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.support.app import fake_client
from tests.support.browser import local_origins
from tests.support.server import ServerProcess, served

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.integration

CHAT_MODEL = "smollm2-135m-instruct"
EMBED_MODEL, CLASSIFY_MODEL, NER_MODEL = "all-minilm-l6-v2", "minilm-sentiment", "minilm-ner"
API_KEY = "sk-playground-test-key"
RUNNING = "inference_running_requests"
# Emoji and accents before the entities: the API's offsets count code points, JavaScript's
# strings count UTF-16 units, so a page that sliced by the latter would miss every span.
NER_TEXT = (
    "🙂 Angela Merkel met Emmanuel Macron in Paris. Later, Siemens opened an office in Zürich."
)


@pytest.fixture(scope="module")
def origins() -> Iterator[tuple[str, str]]:
    """Two origins of browser apps elsewhere: (allowed by the servers, not allowed)."""
    with local_origins(2) as (allowed, other):
        yield allowed, other


def _encoder(name: str, task: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "task": task, "source": f"bundled:{name}", "workers": 1, **extra}


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, origins: tuple[str, str]
) -> Iterator[ServerProcess]:
    config = {
        "playground": True,
        "cors_allow_origins": [origins[0]],
        "models": [
            {
                "name": CHAT_MODEL,
                "task": "generate",
                "source": f"bundled:{CHAT_MODEL}",
                "engine": {"dtype": "float32", "max_model_len": 2048, "enforce_eager": True},
            },
            _encoder(
                EMBED_MODEL,
                "embed",
                batching={"max_batch_size": 64, "max_batch_tokens": 16384, "max_wait_ms": 2},
            ),
            _encoder(CLASSIFY_MODEL, "classify"),
            _encoder(NER_MODEL, "ner"),
        ],
    }
    with served(tmp_path_factory, "playground", config) as proc:
        yield proc


@pytest.fixture(scope="module")
def auth_server(
    tmp_path_factory: pytest.TempPathFactory, origins: tuple[str, str]
) -> Iterator[ServerProcess]:
    config = {
        "playground": True,
        "api_keys": [API_KEY],
        "cors_allow_origins": [origins[0]],
        "models": [_encoder(EMBED_MODEL, "embed")],
    }
    with served(tmp_path_factory, "playground-auth", config) as proc:
        yield proc


def open_view(page: Page, server: ServerProcess, view: str) -> None:
    page.goto(f"{server.base_url}/#{view}")
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)


def screenshot(page: Page, name: str) -> None:
    folder = os.environ.get("PLAYGROUND_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        clip = {"x": 0, "y": 0, "width": 1280, "height": 520}  # the views, without the blank
        page.screenshot(path=str(Path(folder) / name), clip=clip)


def wait_until(predicate: Any, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.2)


# ---- without a browser -------------------------------------------------------------------


def test_root_is_404_when_the_playground_is_off(tmp_path: Path) -> None:
    with fake_client(tmp_path) as client:
        assert client.get("/").status_code == 404
        assert client.get("/playground/index.html").status_code == 404
        assert client.get("/playground/js/main.js").status_code == 404


def _preflight(server: ServerProcess, origin: str) -> httpx.Response:
    return server.http.options(
        "/v1/chat/completions",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )


def test_cors_preflight_allows_only_the_configured_origin(
    server: ServerProcess, origins: tuple[str, str]
) -> None:
    allowed_origin, other_origin = origins
    allowed = _preflight(server, allowed_origin)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == allowed_origin
    assert "POST" in allowed.headers["access-control-allow-methods"]
    allowed_headers = allowed.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers and "content-type" in allowed_headers
    other = _preflight(server, other_origin)
    assert "access-control-allow-origin" not in other.headers
    simple = server.http.get("/v1/models", headers={"Origin": allowed_origin})
    assert simple.headers["access-control-allow-origin"] == allowed_origin
    simple = server.http.get("/v1/models", headers={"Origin": other_origin})
    assert "access-control-allow-origin" not in simple.headers


# ---- in the browser ----------------------------------------------------------------------


def test_each_view_offers_only_models_of_its_task(page: Page, server: ServerProcess) -> None:
    cards = server.http.get("/v1/models").json()["data"]
    open_view(page, server, "chat")
    for view, task in [
        ("chat", "generate"),
        ("embed", "embed"),
        ("classify", "classify"),
        ("ner", "ner"),
        ("rerank", "rerank"),
    ]:
        options = page.eval_on_selector_all(
            f"#view-{view} .model-select option", "nodes => nodes.map(n => n.value)"
        )
        assert options == [c["id"] for c in cards if c["task"] == task], view
    # No rerank model in this configuration: the view says so and offers no form.
    page.click("#tabs a[data-view=rerank]")
    # The tab switch is handled on the page's hashchange: wait for it, do not race it.
    page.wait_for_selector("#view-rerank .empty", state="visible", timeout=10_000)
    assert "rerank" in page.inner_text("#view-rerank .empty")
    page.wait_for_selector("#view-chat", state="hidden", timeout=10_000)
    assert page.is_hidden("#rerank-form")


def test_chat_streams_an_answer_with_ttft_and_tokens_per_second(
    page: Page, server: ServerProcess
) -> None:
    open_view(page, server, "chat")
    page.fill("#chat-temperature", "0")
    page.fill("#chat-max-tokens", "24")
    page.click("#chat-input")
    page.keyboard.type("first line")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")
    assert page.input_value("#chat-input") == "first line\nsecond line"
    assert page.locator("#chat-log .msg").count() == 0  # Shift+Enter did not send
    page.fill("#chat-input", "What is the capital of France?")
    page.press("#chat-input", "Enter")
    page.wait_for_function(
        "document.querySelector('#chat-state').textContent === 'done'", timeout=120_000
    )
    answer = page.inner_text("#chat-log .msg-assistant .content")
    assert "Paris" in answer
    assert re.fullmatch(r"\d+ ms", page.inner_text("#chat-ttft"))
    assert float(page.inner_text("#chat-tps")) > 0
    assert 1 < int(page.inner_text("#chat-tokens")) <= 24
    assert page.input_value("#chat-input") == ""
    assert page.is_hidden("#chat-error")
    screenshot(page, "chat.png")


def test_the_chat_view_speaks_anthropics_messages_api_too(
    page: Page, server: ServerProcess
) -> None:
    open_view(page, server, "chat")
    page.select_option("#chat-api", "messages")
    page.fill("#chat-temperature", "0")
    page.fill("#chat-max-tokens", "24")
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url))
    for stream in (True, False):
        page.set_checked("#chat-stream", stream)
        page.fill("#chat-input", "What is the capital of France?")
        page.press("#chat-input", "Enter")
        page.wait_for_function(
            "document.querySelector('#chat-state').textContent === 'done'", timeout=120_000
        )
        answer = page.locator("#chat-log .msg-assistant .content").last.inner_text()
        assert "Paris" in answer, (stream, answer)
        assert 1 < int(page.inner_text("#chat-tokens")) <= 24
        page.evaluate("document.querySelector('#chat-state').textContent = ''")
    assert [url.rsplit("/", 2)[-2:] for url in sent if "/v1/" in url] == [["v1", "messages"]] * 2
    assert page.is_hidden("#chat-error")


def test_stop_aborts_the_generation(page: Page, server: ServerProcess) -> None:
    open_view(page, server, "chat")
    page.fill("#chat-temperature", "1")
    page.fill("#chat-max-tokens", "1500")
    page.fill("#chat-input", "Write a very long story about a dragon who learns to cook.")
    page.press("#chat-input", "Enter")
    page.wait_for_function(
        "Number(document.querySelector('#chat-tokens').textContent) >= 5", timeout=120_000
    )
    assert server.metric(RUNNING, model=CHAT_MODEL) == 1
    page.click("#chat-stop")
    page.wait_for_function(
        "document.querySelector('#chat-state').textContent === 'stopped'", timeout=10_000
    )
    wait_until(
        lambda: server.metric(RUNNING, model=CHAT_MODEL) == 0,
        15,
        "the engine still runs the stopped request",
    )
    text = page.inner_text("#chat-log .msg-assistant .content")
    tokens = int(page.inner_text("#chat-tokens"))
    assert text and tokens < 1500
    assert "stopped" in (page.get_attribute("#chat-log .msg-assistant", "class") or "")
    time.sleep(1)
    assert page.inner_text("#chat-log .msg-assistant .content") == text  # nothing more came
    assert page.is_enabled("#chat-send") and page.is_disabled("#chat-stop")


def test_chat_shows_the_servers_error_message(page: Page, server: ServerProcess) -> None:
    open_view(page, server, "chat")
    page.fill("#chat-max-tokens", "999999")
    page.fill("#chat-input", "hi")
    page.press("#chat-input", "Enter")
    page.wait_for_selector("#chat-error:not([hidden])", timeout=30_000)
    direct = server.http.post(
        "/v1/chat/completions",
        json={
            "model": CHAT_MODEL,
            "messages": [{"role": "user", "content": "hi"}],
            "temperature": 0.7,
            "top_p": 1,
            "max_tokens": 999999,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    )
    assert direct.status_code == 400
    assert page.inner_text("#chat-error") == direct.json()["error"]["message"]
    # The question was not answered: it is back in the input, to be sent again.
    assert page.input_value("#chat-input") == "hi"


def _sse(*chunks: dict[str, Any]) -> str:
    return "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"


def test_tool_calls_are_shown(page: Page, server: ServerProcess) -> None:
    # The server makes no tool calls yet; this is the stream shape OpenAI's API sends for one.
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m"}

    def delta(d: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": d, "finish_reason": finish}]}

    fn = {"name": "get_weather", "arguments": ""}
    body = _sse(
        delta({"role": "assistant", "content": None}),
        delta({"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": fn}]}),
        delta({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
        delta({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
        delta({}, "tool_calls"),
    )
    page.route(
        "**/v1/chat/completions",
        lambda route: route.fulfill(status=200, content_type="text/event-stream", body=body),
    )
    open_view(page, server, "chat")
    page.fill("#chat-input", "Weather in Paris?")
    page.press("#chat-input", "Enter")
    page.wait_for_selector(".tool-call")
    assert page.inner_text(".tool-call") == 'get_weather({"city": "Paris"})'
    assert page.get_attribute(".tool-call", "data-id") == "call_1"


def test_ner_highlights_sit_on_the_api_offsets(page: Page, server: ServerProcess) -> None:
    reply = server.http.post("/v1/ner", json={"model": NER_MODEL, "input": NER_TEXT})
    entities = reply.json()["data"][0]["entities"]
    assert any(e["start"] > 0 for e in entities), entities  # past the emoji
    open_view(page, server, "ner")
    page.fill("#ner-input", NER_TEXT)
    page.click("#ner-form button[type=submit]")
    page.wait_for_selector("#ner-result .ner-text")
    marks = page.eval_on_selector_all(
        "#ner-result mark.entity",
        """nodes => nodes.map(n => ({text: n.textContent, type: n.dataset.type,
            start: Number(n.dataset.start), end: Number(n.dataset.end), title: n.title}))""",
    )
    assert [(m["start"], m["end"], m["type"], m["text"]) for m in marks] == [
        (e["start"], e["end"], e["entity_group"], NER_TEXT[e["start"] : e["end"]]) for e in entities
    ]
    for mark, entity in zip(marks, entities, strict=True):
        assert mark["text"] == entity["text"]
        assert f"[{entity['start']}, {entity['end']})" in mark["title"]
        assert f"{entity['score']:.3f}" in mark["title"]
    assert page.inner_text("#ner-result .ner-text") == NER_TEXT  # nothing lost or doubled
    if os.environ.get("PLAYGROUND_SCREENSHOTS"):
        # The docs' picture: the page's own sample text (no emoji font on these machines).
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        page.click("#ner-form button[type=submit]")
        page.wait_for_selector("#ner-result mark.entity")
        screenshot(page, "ner.png")


def test_heatmap_is_the_cosine_matrix(page: Page, server: ServerProcess) -> None:
    texts = [
        "A cat sits on the mat.",
        "A kitten rests on a rug.",
        "Stocks fell sharply today.",
        "The market closed lower.",
        "Bake the bread at 220 degrees.",
    ]
    open_view(page, server, "embed")
    page.fill("#embed-input", "\n".join(texts))
    page.click("#embed-form button[type=submit]")
    page.wait_for_selector("#embed-result table.heatmap")
    cells = page.eval_on_selector_all(
        "#embed-result td.cell",
        "nodes => nodes.map(n => [Number(n.dataset.row), Number(n.dataset.col), "
        "Number(n.dataset.value)])",
    )
    n = len(texts)
    assert len(cells) == n * n
    reply = server.http.post("/v1/embeddings", json={"model": EMBED_MODEL, "input": texts})
    vectors = [d["embedding"] for d in sorted(reply.json()["data"], key=lambda d: d["index"])]
    for row, col, value in cells:
        a, b = vectors[row], vectors[col]
        expected = sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
            sum(x * x for x in a) * sum(y * y for y in b)
        )
        assert value == pytest.approx(expected, abs=1e-4)
        if row == col:
            assert value == pytest.approx(1.0, abs=1e-4)
    assert sorted((r, c) for r, c, _ in cells) == [(r, c) for r in range(n) for c in range(n)]


def test_classify_bars_sum_to_100_percent(page: Page, server: ServerProcess) -> None:
    text = "What a wonderful, moving film; I loved every minute."
    open_view(page, server, "classify")
    page.fill("#classify-input", text)
    page.click("#classify-form button[type=submit]")
    page.wait_for_selector("#classify-result .bar-row")
    rows = page.eval_on_selector_all(
        "#classify-result .bar-row",
        "nodes => nodes.map(n => [n.dataset.label, n.querySelector('.pct').textContent, "
        "n.querySelector('.fill').style.width])",
    )
    percents = [float(pct.rstrip("%")) for _, pct, _ in rows]
    assert len(rows) >= 2
    assert sum(percents) == pytest.approx(100, abs=0.05 * len(rows) + 1e-9)
    for _, pct, width in rows:
        assert float(width.rstrip("%")) == pytest.approx(float(pct.rstrip("%")), abs=0.051)
    api = server.http.post("/v1/classify", json={"model": CLASSIFY_MODEL, "input": text})
    first = api.json()["data"][0]
    assert [label for label, _, _ in rows] == [item["label"] for item in first["labels"]]
    assert page.inner_text("#classify-result .predicted") == first["label"]


def test_browser_app_on_an_allowed_origin_can_call_the_api(
    page: Page, server: ServerProcess, origins: tuple[str, str]
) -> None:
    allowed_origin, other_origin = origins
    fetch = f"""async () => {{
        try {{
            const r = await fetch("{server.base_url}/v1/embeddings", {{
                method: "POST",
                headers: {{"Content-Type": "application/json", "Authorization": "Bearer x"}},
                body: JSON.stringify({{model: "{EMBED_MODEL}", input: "hello"}}),
            }});
            return (await r.json()).data[0].embedding.length;
        }} catch (e) {{ return String(e); }}
    }}"""
    page.goto(f"{allowed_origin}/")
    assert page.evaluate(fetch) == 384
    page.goto(f"{other_origin}/")
    assert "Failed to fetch" in page.evaluate(fetch)  # the browser refuses the answer


def test_page_asks_for_the_key_and_keeps_it_out_of_urls_and_local_storage(
    page: Page, auth_server: ServerProcess
) -> None:
    requests: list[tuple[str, str | None]] = []
    page.on("request", lambda r: requests.append((r.url, r.headers.get("authorization"))))
    page.goto(f"{auth_server.base_url}/#embed")  # the page itself needs no key
    page.wait_for_selector("#auth:not([hidden])", timeout=30_000)
    assert page.inner_text("#server-status") == "API key needed"
    page.fill("#api-key", "wrong-key")
    page.press("#api-key", "Enter")
    page.wait_for_selector("#auth-error:not([hidden])")
    assert "API key" in page.inner_text("#auth-error")  # the server's own message
    page.fill("#api-key", API_KEY)
    page.click("#auth-form button[type=submit]")
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    assert page.is_hidden("#auth")
    page.fill("#embed-input", "one\ntwo")
    page.click("#embed-form button[type=submit]")
    page.wait_for_selector("#embed-result table.heatmap")
    assert page.locator("#embed-result td.cell").count() == 4
    assert API_KEY not in page.url
    assert API_KEY not in page.evaluate("JSON.stringify(Object.entries(localStorage))")
    assert all(API_KEY not in url for url, _ in requests)
    api_calls = [(url, auth) for url, auth in requests if "/v1/" in url]
    assert api_calls[-1] == (f"{auth_server.base_url}/v1/embeddings", f"Bearer {API_KEY}")


def test_cors_preflight_needs_no_key_and_errors_are_readable(
    auth_server: ServerProcess, origins: tuple[str, str]
) -> None:
    allowed_origin = origins[0]
    allowed = _preflight(auth_server, allowed_origin)
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["access-control-allow-origin"] == allowed_origin
    # The real request without a key is refused, in a way the browser app can read.
    refused = auth_server.http.post(
        "/v1/embeddings",
        json={"model": EMBED_MODEL, "input": "x"},
        headers={"Origin": allowed_origin},
    )
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == allowed_origin
    assert "API key" in refused.json()["error"]["message"]
