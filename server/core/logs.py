"""Logging set-up: plain text or one JSON object per line, request id on every record."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping
from typing import TextIO

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


# The handler configure_logging installed, and its format: what log_access writes as.
_CONFIGURED: tuple[logging.StreamHandler[TextIO], str] | None = None


def configure_logging(level: str, fmt: str) -> None:
    """Route every logger (ours, uvicorn's, vLLM's) through one handler on stderr."""
    global _CONFIGURED
    handler: logging.StreamHandler[TextIO] = logging.StreamHandler(sys.stderr)
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
    _CONFIGURED = (handler, fmt)
    root.setLevel(level.upper())
    # uvicorn's own access log would duplicate ours.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


class _AsctimeCache:
    """``Formatter.formatTime``'s default text, its date and time part made once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def __call__(self, created: float) -> str:
        second = int(created)
        if second != self._second:
            self._second = second
            self._text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created))
        return f"{self._text},{int((created - second) * 1000):03d}"


_asctime = _AsctimeCache()


def log_access(
    logger: logging.Logger, message: str, request_id: str, fields: Mapping[str, object]
) -> None:
    """One access record at INFO: the line ``logger.info(message, extra=...)`` would give.

    While the handler of :func:`configure_logging` is the only one, the line is formatted
    here and written to its stream: a log record, the caller lookup and the formatter cost
    more per request than the rest of a small encoder request's work in this process. Any
    other set-up (handlers added, levels, ``propagate``) gets a real record.
    """
    if not logger.isEnabledFor(logging.INFO):
        return
    configured = _CONFIGURED
    root = logging.getLogger()
    if (
        configured is None
        or root.handlers != [configured[0]]
        or logger.handlers
        or not logger.propagate
        or configured[0].level > logging.INFO
    ):
        logger.info(message, extra={"request_id": request_id, **fields})
        return
    handler, fmt = configured
    asctime = _asctime(time.time())
    if fmt == "json":
        record = {
            "time": asctime,
            "level": "INFO",
            "logger": logger.name,
            "request_id": request_id,
            "message": message,
            **fields,
        }
        line = json.dumps(record, default=str)
    else:
        extras = " ".join(f"{k}={fields[k]}" for k in _ACCESS_FIELDS if k in fields)
        line = f"{asctime} INFO {logger.name} [{request_id}] {message}"
        line = f"{line} {extras}" if extras else line
    handler.acquire()
    try:
        handler.stream.write(line + handler.terminator)
        handler.stream.flush()
    except Exception:
        handler.handleError(logger.makeRecord(logger.name, logging.INFO, "", 0, line, (), None))
    finally:
        handler.release()
