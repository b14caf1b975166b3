"""The Batch API's pure rules: input-file validation and when a batch is over."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from server.batches.state import final_status
from server.batches.validation import InvalidFile, LineValidator, Validated, requests, split_lines
from server.store.batches import Counts

CHAT = "/v1/chat/completions"


def line(custom_id: Any = "a", url: Any = CHAT, method: Any = "POST", **extra: Any) -> str:
    item = {"custom_id": custom_id, "method": method, "url": url, "body": {"model": "m"}}
    item.update(extra)
    return json.dumps({k: v for k, v in item.items() if v is not None})


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def validate(chunks: AsyncIterator[bytes], max_lines: int) -> Validated:
    """Read a whole file as the runner does, keeping only what validation found."""
    validator = LineValidator(CHAT, max_lines)
    try:
        async for _ in requests(chunks, validator):
            pass
    except InvalidFile as invalid:
        return invalid.result
    return validator.result


def check(text: str, max_lines: int = 100, chunk: int = 7) -> Any:
    return asyncio.run(validate(_chunks(text.encode(), chunk), max_lines))


def test_a_valid_file_counts_its_requests_and_ignores_blank_lines() -> None:
    result = check("\n".join([line("a"), "", line("b"), line("c")]) + "\n")
    assert result.valid and result.requests == 3 and result.errors == []


@pytest.mark.parametrize(
    ("bad", "code", "param"),
    [
        ("{not json", "invalid_json_line", None),
        ("[1, 2]", "invalid_json_line", None),
        (line(custom_id=None), "missing_required_parameter", "custom_id"),
        (line(custom_id=7), "missing_required_parameter", "custom_id"),
        (line(custom_id="a"), "duplicate_custom_id", "custom_id"),
        (line(custom_id="z", url="/v1/embeddings"), "mismatched_endpoint", "url"),
        (line(custom_id="z", method="GET"), "invalid_method", "method"),
        (line(custom_id="z", body=None), "missing_required_parameter", "body"),
    ],
)
def test_each_bad_line_fails_the_batch_naming_its_line(
    bad: str, code: str, param: str | None
) -> None:
    result = check("\n".join([line("a"), line("b"), bad]))
    assert not result.valid
    assert result.errors == [
        {"code": code, "message": result.errors[0]["message"], "param": param, "line": 3}
    ]


def test_errors_name_every_bad_line() -> None:
    result = check("\n".join([line("a"), "oops", line("a"), line("b", url="/v1/x")]))
    assert [(e["line"], e["code"]) for e in result.errors] == [
        (2, "invalid_json_line"),
        (3, "duplicate_custom_id"),
        (4, "mismatched_endpoint"),
    ]


def test_more_lines_than_the_limit_fail_the_batch() -> None:
    result = check("\n".join(line(f"r{i}") for i in range(4)), max_lines=3)
    assert [(e["code"], e["line"]) for e in result.errors] == [("too_many_requests", 4)]
    assert "batches.max_lines" in result.errors[0]["message"]


def test_an_empty_file_fails() -> None:
    assert [e["code"] for e in check("\n\n").errors] == ["empty_file"]


def test_lines_split_across_chunks_and_crlf() -> None:
    async def collect() -> list[tuple[int, bytes]]:
        return [x async for x in split_lines(_chunks(b"ab\r\ncd\n\nef", 1))]

    assert asyncio.run(collect()) == [(1, b"ab"), (2, b"cd"), (3, b""), (4, b"ef")]


def test_requests_of_a_valid_file() -> None:
    text = "\n".join([line("a"), "", line("b")]).encode()

    async def collect() -> list[Any]:
        return [x async for x in requests(_chunks(text, 5), LineValidator(CHAT, 100))]

    assert asyncio.run(collect()) == [(1, "a", {"model": "m"}), (3, "b", {"model": "m"})]


@pytest.mark.parametrize(
    ("status", "counts", "expired", "final"),
    [
        ("in_progress", Counts(total=2, done=1, failed=1), False, "completed"),
        ("in_progress", Counts(total=2, done=1, queued=1), False, None),
        ("in_progress", Counts(total=2, done=1, running=1), False, None),
        ("in_progress", Counts(total=2, done=1, queued=1), True, "expired"),
        ("in_progress", Counts(total=2, done=1, running=1), True, None),
        ("cancelling", Counts(total=2, done=1, queued=1), False, "cancelled"),
        ("cancelling", Counts(total=2, running=1, queued=1), False, None),
        ("cancelling", Counts(), False, "cancelled"),
        ("completed", Counts(total=1, done=1), False, None),
    ],
)
def test_final_status(status: str, counts: Counts, expired: bool, final: str | None) -> None:
    now = 1000.0
    assert final_status(status, counts, now - 1 if expired else now + 1, now) == final
