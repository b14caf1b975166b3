"""Validation of a batch's input file, line by line, as OpenAI does it: a line that is not a
JSON object, lacks ``custom_id``, repeats one, targets another URL than the batch's endpoint
or another method than POST fails the whole batch, with errors naming the lines. A line's
body is checked later, by the endpoint itself, when the line runs.

The file is read once: :func:`requests` validates each line as it hands the valid ones to the
store, and raises :class:`InvalidFile` at the end if any line failed (the store's transaction
then stores nothing)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from server.batches.protocol import batch_error

MAX_ERRORS = 100  # errors reported per batch (the rest are counted in the last message)
MAX_CUSTOM_ID = 512


@dataclass
class Validated:
    """The errors of a file (none: valid) and how many requests it has."""

    requests: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    error_count: int = 0

    @property
    def valid(self) -> bool:
        return self.error_count == 0


class InvalidFile(Exception):
    """The input file failed validation; ``result`` names its errors."""

    def __init__(self, result: Validated) -> None:
        super().__init__(f"{result.error_count} invalid lines")
        self.result = result


Request = tuple[str, dict[str, Any]]  # a line's custom_id and body


class LineValidator:
    """Feed it the file's lines in order; it keeps the valid ones and the errors."""

    def __init__(self, endpoint: str, max_lines: int) -> None:
        self.endpoint = endpoint
        self.max_lines = max_lines
        self.result = Validated()
        self._seen: set[str] = set()
        self._count = 0

    def _error(self, code: str, message: str, line: int | None, param: str | None = None) -> None:
        self.result.error_count += 1
        if len(self.result.errors) < MAX_ERRORS:
            self.result.errors.append(batch_error(code, message, line=line, param=param))

    def feed(self, number: int, raw: bytes) -> Request | None:
        """Line ``number`` (from 1) of the file, without its newline: its request if valid."""
        if not raw.strip():
            return None  # blank lines (a trailing newline) carry no request
        self._count += 1
        if self._count == self.max_lines + 1:
            self._error(
                "too_many_requests",
                f"the file has more than {self.max_lines} requests, this server's limit "
                "(batches.max_lines)",
                number,
            )
        if self._count > self.max_lines:
            return None
        try:
            item = json.loads(raw)
        except (UnicodeDecodeError, ValueError):
            self._error("invalid_json_line", "this line is not valid JSON", number)
            return None
        if not isinstance(item, dict):
            self._error("invalid_json_line", "this line is not a JSON object", number)
            return None
        return self._check(number, item)

    def _check(self, number: int, item: dict[str, Any]) -> Request | None:
        custom_id = item.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            self._error(
                "missing_required_parameter",
                "'custom_id' is missing (each line needs a unique string custom_id)",
                number,
                "custom_id",
            )
            return None
        if len(custom_id) > MAX_CUSTOM_ID:
            self._error(
                "invalid_value",
                f"'custom_id' is longer than {MAX_CUSTOM_ID} characters",
                number,
                "custom_id",
            )
            return None
        if custom_id in self._seen:
            self._error(
                "duplicate_custom_id",
                f"the custom_id '{custom_id}' appears on an earlier line; each must be unique",
                number,
                "custom_id",
            )
            return None
        self._seen.add(custom_id)
        method = item.get("method")
        if method != "POST":
            self._error(
                "invalid_method",
                f"'method' must be 'POST', got {json.dumps(method)}",
                number,
                "method",
            )
            return None
        url = item.get("url")
        if url != self.endpoint:
            self._error(
                "mismatched_endpoint",
                f"'url' is {json.dumps(url)}, but this batch's endpoint is '{self.endpoint}'",
                number,
                "url",
            )
            return None
        body = item.get("body")
        if not isinstance(body, dict):
            self._error(
                "missing_required_parameter", "'body' must be a JSON object", number, "body"
            )
            return None
        self.result.requests += 1
        return custom_id, body

    def finish(self) -> Validated:
        if self._count == 0:
            self._error("empty_file", "the input file has no requests", None)
        if self.result.error_count > len(self.result.errors):
            hidden = self.result.error_count - len(self.result.errors)
            self.result.errors[-1]["message"] += f" ({hidden} more errors not shown)"
        return self.result


async def split_lines(chunks: AsyncIterable[bytes]) -> AsyncIterator[tuple[int, bytes]]:
    """The lines of a file read chunk by chunk, numbered from 1, without their newlines."""
    rest = b""
    number = 0
    async for chunk in chunks:
        rest += chunk
        *complete, rest = rest.split(b"\n")
        for raw in complete:
            number += 1
            yield number, raw.rstrip(b"\r")
    if rest:
        yield number + 1, rest.rstrip(b"\r")


async def requests(
    chunks: AsyncIterable[bytes], validator: LineValidator
) -> AsyncIterator[tuple[int, str, dict[str, Any]]]:
    """The requests of an input file read once, chunk by chunk: line, custom_id, body, while
    every line is valid so far; :class:`InvalidFile` after the last line if any was not."""
    async for number, raw in split_lines(chunks):
        request = validator.feed(number, raw)
        if request is not None and validator.result.valid:
            yield number, *request
    result = validator.finish()
    if not result.valid:
        raise InvalidFile(result)
