"""``log_access`` writes what a ``logger.info`` record would, in both log formats."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from server.core.logs import configure_logging, log_access

FIELDS = {
    "method": "POST",
    "path": "/v1/embeddings",
    "model": "minilm",
    "key": None,
    "status": 200,
    "latency_ms": 1.23,
    "prompt_tokens": 12,
    "completion_tokens": 0,
}
TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}")


@pytest.fixture
def stderr() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield io.StringIO()
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def _configure(level: str, fmt: str, stream: io.StringIO) -> None:
    """configure_logging, its handler writing to ``stream`` instead of stderr."""
    configure_logging(level, fmt)
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)


def _both(fmt: str, stream: io.StringIO, logger: logging.Logger) -> tuple[str, str]:
    _configure("info", fmt, stream)
    log_access(logger, "POST /v1/embeddings 200", "req-1", FIELDS)
    logger.info("%s %s %s", "POST", "/v1/embeddings", 200, extra={"request_id": "req-1", **FIELDS})
    fast, slow = stream.getvalue().splitlines()
    return fast, slow


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_the_line_is_the_records_line(fmt: str, stderr: io.StringIO) -> None:
    fast, slow = _both(fmt, stderr, logging.getLogger("server.access"))
    assert TIME.search(fast) and TIME.search(slow)
    assert TIME.sub("T", fast) == TIME.sub("T", slow)
    if fmt == "json":
        record = json.loads(fast)
        assert record["logger"] == "server.access" and record["prompt_tokens"] == 12
    else:
        assert fast.endswith("latency_ms=1.23 prompt_tokens=12 completion_tokens=0")


def test_levels_and_other_handlers_are_respected(stderr: io.StringIO) -> None:
    _configure("warning", "text", stderr)
    logger = logging.getLogger("server.access")
    log_access(logger, "quiet", "req-2", FIELDS)
    assert stderr.getvalue() == ""
    _configure("info", "text", stderr)
    captured = io.StringIO()
    extra = logging.StreamHandler(captured)
    logging.getLogger().addHandler(extra)
    log_access(logger, "GET /health 200", "req-3", {"status": 200})
    assert "GET /health 200" in captured.getvalue()  # a real record reached the added handler
    assert "[req-3] GET /health 200 status=200" in stderr.getvalue()
