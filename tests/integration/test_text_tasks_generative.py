"""Summarize and translate on the bundled chat model (vLLM) through its task prompts: the
same HTTP shapes as the encoder-decoder models, answered by the chat pipeline, so each output
equals a chat completion of the prompt at temperature 0."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from huggingface_hub import InferenceClient

from server.core.settings.models import DEFAULT_SUMMARIZE_PROMPT, DEFAULT_TRANSLATE_PROMPT
from tests.integration.conftest import CHAT_MODEL
from tests.integration.conftest import TEXT_TASK_MAX_TOKENS as MAX_TOKENS
from tests.support.server import ServerProcess

# InferenceClient refuses every request under HF_HUB_OFFLINE (make test sets it).
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("hub_client_online")]

TEXT = (
    "The city council met on Tuesday and voted to build a new library near the river. "
    "Construction starts in spring and should take two years."
)


@pytest.fixture(scope="module")
def text_server(chat_server: ServerProcess) -> ServerProcess:
    return chat_server  # it serves the text tasks with at most MAX_TOKENS new tokens


def _chat(server: ServerProcess, prompt: str, **sampling: Any) -> tuple[str, int]:
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="unused")
    result = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=[{"role": "user", "content": prompt}],
        temperature=0,
        **sampling,
    )
    assert result.usage is not None
    return (result.choices[0].message.content or "").strip(), result.usage.completion_tokens


def test_summarize_is_the_chat_completion_of_the_prompt(text_server: ServerProcess) -> None:
    response = text_server.http.post(
        "/v1/summarize", json={"model": CHAT_MODEL, "input": [TEXT, TEXT[:60]]}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    expected = [
        _chat(text_server, DEFAULT_SUMMARIZE_PROMPT.format(text=t), max_tokens=MAX_TOKENS)
        for t in (TEXT, TEXT[:60])
    ]
    assert [d["summary_text"] for d in body["data"]] == [text for text, _ in expected]
    assert all(text for text, _ in expected)
    assert body["usage"]["completion_tokens"] == sum(n for _, n in expected)


def test_translate_and_the_inference_client(text_server: ServerProcess) -> None:
    prompt = DEFAULT_TRANSLATE_PROMPT.format(text="The cat is black.", tgt_lang="French")
    expected, _ = _chat(text_server, prompt, max_tokens=20)
    response = text_server.http.post(
        "/v1/translate",
        json={
            "model": CHAT_MODEL,
            "input": "The cat is black.",
            "tgt_lang": "French",
            "max_new_tokens": 20,
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"][0]["translation_text"] == expected
    client = InferenceClient(model=f"{text_server.base_url}/models/{CHAT_MODEL}", token="unused")
    translated = client.translation(
        "The cat is black.",
        src_lang="English",
        tgt_lang="French",
        generate_parameters={"max_new_tokens": 20},
    )
    assert translated.translation_text == expected
    summary = client.summarization(TEXT)
    assert (
        summary.summary_text
        == _chat(text_server, DEFAULT_SUMMARIZE_PROMPT.format(text=TEXT), max_tokens=MAX_TOKENS)[0]
    )


@pytest.mark.parametrize(
    ("path", "body", "words"),
    [
        ("/v1/summarize", {"input": TEXT, "num_beams": 4}, ["num_beams", "generative"]),
        ("/v1/summarize", {"input": TEXT, "no_repeat_ngram_size": 3}, ["no_repeat_ngram_size"]),
        ("/v1/summarize", {"input": TEXT, "truncate": True}, ["truncate"]),
        ("/v1/summarize", {"input": TEXT, "repetition_penalty": 3.0}, ["repetition_penalty"]),
        ("/v1/translate", {"input": TEXT}, ["tgt_lang"]),
    ],
)
def test_what_a_chat_completion_cannot_do_is_400(
    text_server: ServerProcess, path: str, body: dict[str, Any], words: list[str]
) -> None:
    response = text_server.http.post(path, json={"model": CHAT_MODEL, **body})
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    for word in words:
        assert word in message, message


def test_models_list_the_text_tasks(text_server: ServerProcess) -> None:
    card = text_server.http.get(f"/v1/models/{CHAT_MODEL}").json()
    assert card["tasks"] == ["generate", "summarize", "translate"]
    assert card["pipeline_tags"] == ["text-generation", "summarization", "translation"]
