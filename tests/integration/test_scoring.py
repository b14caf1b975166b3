"""Scoring text with the real engine: completions with echo + logprobs, logit_bias, and an
evaluation harness (lm-evaluation-harness's local-completions model) driven as its docs show."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.integration.conftest import CHAT_MODEL
from tests.support.server import MODELS_DIR, ServerProcess

pytestmark = pytest.mark.integration

DATA = Path(__file__).parent / "data"
PROMPT = "The capital of France is"


def test_echo_logprobs_score_the_prompt_consistently(chat_client: openai.OpenAI) -> None:
    reply = chat_client.completions.create(
        model=CHAT_MODEL, prompt=PROMPT, max_tokens=2, echo=True, logprobs=2, temperature=0
    )
    choice = reply.choices[0]
    lp = choice.logprobs
    assert lp is not None and lp.tokens and lp.token_logprobs and lp.text_offset
    assert reply.usage is not None
    prompt_tokens = reply.usage.prompt_tokens
    assert len(lp.tokens) == prompt_tokens + 2 == len(lp.token_logprobs) == len(lp.text_offset)
    assert lp.token_logprobs[0] is None and lp.top_logprobs is not None
    assert lp.top_logprobs[0] is None
    assert all(x is not None and x <= 0 for x in lp.token_logprobs[1:])
    assert all(len(top) >= 1 for top in lp.top_logprobs[1:] if top is not None)
    assert choice.text == "".join(lp.tokens) and choice.text.startswith(PROMPT)
    assert lp.text_offset == [len("".join(lp.tokens[:i])) for i in range(len(lp.tokens))]


def test_prompt_logprobs_equal_the_logprobs_of_generating_it(
    chat_client: openai.OpenAI, chat_tokenizer: Any
) -> None:
    """The logprob the engine gives a token it generates is the one it gives the same token
    when it is the end of an echoed prompt."""
    ids = chat_tokenizer.encode(PROMPT)
    generated = chat_client.completions.create(
        model=CHAT_MODEL, prompt=ids, max_tokens=1, logprobs=1, temperature=0
    )
    lp = generated.choices[0].logprobs
    assert lp is not None and lp.token_logprobs and lp.tokens
    next_id = chat_tokenizer.encode(generated.choices[0].text, add_special_tokens=False)
    scored = chat_client.completions.create(
        model=CHAT_MODEL, prompt=ids + next_id, max_tokens=1, logprobs=1, echo=True
    )
    slp = scored.choices[0].logprobs
    assert slp is not None and slp.token_logprobs
    assert len(next_id) == 1
    assert slp.token_logprobs[len(ids)] == pytest.approx(lp.token_logprobs[0], abs=1e-3)


def test_logit_bias_forces_a_token(chat_client: openai.OpenAI, chat_tokenizer: Any) -> None:
    (forced,) = chat_tokenizer.encode(" banana", add_special_tokens=False)[:1]
    reply = chat_client.completions.create(
        model=CHAT_MODEL,
        prompt=PROMPT,
        max_tokens=4,
        temperature=0,
        logit_bias={str(forced): 100},
    )
    text = reply.choices[0].text
    assert chat_tokenizer.encode(text, add_special_tokens=False) == [forced] * 4
    chat = chat_client.chat.completions.create(
        model=CHAT_MODEL,
        messages=[{"role": "user", "content": "Say hello."}],
        max_tokens=3,
        temperature=0,
        logit_bias={str(forced): 100},
    )
    assert chat.choices[0].message.content == chat_tokenizer.decode([forced] * 3)


@pytest.mark.parametrize("bias", [{"not-a-token": 1}, {"5": 101}, {"5": -100.5}, {"999999999": 1}])
def test_bad_logit_bias_is_a_400_naming_it(chat_server: ServerProcess, bias: Any) -> None:
    body = {"model": CHAT_MODEL, "prompt": "x", "max_tokens": 1, "logit_bias": bias}
    response = chat_server.http.post("/v1/completions", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "logit_bias"


def test_lm_eval_harness_scores_a_multiple_choice_task(
    chat_server: ServerProcess, tmp_path: Path, chat_tokenizer: Any
) -> None:
    """``lm_eval --model local-completions`` on a local task: its loglikelihoods are the sums
    of our continuation token logprobs, and the model knows the capital of France."""
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    task = (DATA / "capitals.yaml").read_text().replace("DATA_FILE", str(DATA / "capitals.jsonl"))
    (tasks / "capitals.yaml").write_text(task)
    model_args = ",".join(
        [
            f"base_url={chat_server.base_url}/v1/completions",
            f"model={CHAT_MODEL}",
            f"tokenizer={MODELS_DIR / CHAT_MODEL}",
            "tokenizer_backend=huggingface",
            "tokenized_requests=True",
            "num_concurrent=1",
            "max_retries=1",
        ]
    )
    out = tmp_path / "results"
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "OPENAI_API_KEY": "x"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "lm_eval",
            "--model",
            "local-completions",
            "--model_args",
            model_args,
            "--tasks",
            "capitals_local",
            "--include_path",
            str(tasks),
            "--output_path",
            str(out),
            "--log_samples",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    results = json.loads(next(out.rglob("results_*.json")).read_text())
    accuracy = results["results"]["capitals_local"]["acc,none"]
    assert 0.0 <= accuracy <= 1.0
    samples = [json.loads(line) for line in next(out.rglob("samples_*.jsonl")).open()]
    assert len(samples) == 3
    france = next(s for s in samples if s["doc"]["country"] == "France")
    assert france["acc"] == 1.0  # " Paris" scores highest
    # The harness's loglikelihood of " Paris" is our own sum of its tokens' logprobs.
    context = "Question: What is the capital of France?\nAnswer:"
    context_ids = chat_tokenizer.encode(context)
    whole = chat_tokenizer.encode(context + " Paris")
    body = {
        "model": CHAT_MODEL,
        "prompt": whole,
        "max_tokens": 1,
        "logprobs": 1,
        "echo": True,
        "temperature": 0,
    }
    ours = httpx.post(f"{chat_server.base_url}/v1/completions", json=body, timeout=60).json()
    token_logprobs = ours["choices"][0]["logprobs"]["token_logprobs"]
    expected = sum(token_logprobs[len(context_ids) : len(whole)])
    # Per choice, the harness logs (loglikelihood, is_greedy); choice 0 is " Paris".
    loglikelihood, _ = france["filtered_resps"][0]
    assert float(loglikelihood) == pytest.approx(expected, abs=1e-3)
