"""Logging set-up: plain text or one JSON object per line, request id on every record."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from server.core.context import REQUEST_ID

_ACCESS_FIELDS = ("model", "key", "status", "latency_ms", "prompt_tokens", "completion_tokens")


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class _TextFormatter(logging.Formatter):
    """Human-readable lines; access records get their fields appended as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = [f"{k}={getattr(record, k)}" for k in _ACCESS_FIELDS if hasattr(record, k)]
        return f"{line} {' '.join(extras)}" if extras else line


def configure_logging(level: str, fmt: str) -> None:
    """Route every logger (ours, uvicorn's, vLLM's) through one handler on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
                rename_fields={"levelname": "level", "name": "logger", "asctime": "time"},
            )
        )
    else:
        handler.setFormatter(
            _TextFormatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own access log would duplicate ours.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
