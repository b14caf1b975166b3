"""Request bodies for each endpoint, built from the seeded sentences."""

from __future__ import annotations

import json
from collections.abc import Sequence

from bench.load import Call
from bench.sentences import sentences

ENDPOINTS = {"embed": "/v1/embeddings", "classify": "/v1/classify", "ner": "/v1/ner"}


def encoder_calls(task: str, model: str, texts: Sequence[str]) -> list[Call]:
    """One single-input request per text for an encoder task (embed, classify, ner)."""
    path = ENDPOINTS[task]
    return [Call(path, {"model": model, "input": text}) for text in texts]


def chat_prompts(count: int, seed: int = 1, sentences_per_prompt: int = 6) -> list[str]:
    """Distinct prompts of roughly 100-150 tokens (a few sentences each)."""
    pool = sentences(count * sentences_per_prompt, seed=seed)
    return [
        " ".join(pool[i * sentences_per_prompt : (i + 1) * sentences_per_prompt])
        for i in range(count)
    ]


def chat_calls(model: str, prompts: Sequence[str], max_tokens: int) -> list[Call]:
    """Non-streamed chat requests that always generate ``max_tokens`` tokens."""
    return [
        Call(
            "/v1/chat/completions",
            {
                "model": model,
                "messages": [{"role": "user", "content": prompt}],
                "max_tokens": max_tokens,
                "ignore_eos": True,
                "temperature": 0.0,
            },
        )
        for prompt in prompts
    ]


def completion_tokens(body: bytes) -> int:
    """Generated tokens reported by a chat completion's ``usage``."""
    return int(json.loads(body)["usage"]["completion_tokens"])
