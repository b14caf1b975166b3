"""Helpers of the Batch API's integration tests: JSONL inputs, submitting, waiting."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import openai

ENCODER = "all-minilm-l6-v2"


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    return ("\n".join(json.dumps(x) for x in lines) + "\n").encode()


def request_line(custom_id: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"custom_id": custom_id, "method": "POST", "url": url, "body": body}


def embed_lines(count: int, words: int = 40) -> list[dict[str, Any]]:
    text = " ".join(["batch"] * words)
    return [
        request_line(f"e{i}", "/v1/embeddings", {"model": ENCODER, "input": f"{i} {text}"})
        for i in range(count)
    ]


def submit(api: openai.OpenAI, lines: list[dict[str, Any]], endpoint: str) -> Any:
    uploaded = api.files.create(file=("input.jsonl", io.BytesIO(jsonl(lines))), purpose="batch")
    return api.batches.create(
        input_file_id=uploaded.id,
        endpoint=endpoint,  # type: ignore[arg-type]
        completion_window="24h",
    )


def wait(api: openai.OpenAI, batch_id: str, until: tuple[str, ...], timeout: float = 300) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        batch = api.batches.retrieve(batch_id)
        if batch.status in until:
            return batch
        assert time.monotonic() < deadline, batch
        time.sleep(0.25)


def wait_completed(api: openai.OpenAI, batch_id: str, at_least: int, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while True:
        counts = api.batches.retrieve(batch_id).request_counts
        if counts.completed >= at_least:
            return counts.completed
        assert time.monotonic() < deadline, counts
        time.sleep(0.1)


def lines_of(api: openai.OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    if file_id is None:
        return []
    return [json.loads(x) for x in api.files.content(file_id).text.splitlines()]
