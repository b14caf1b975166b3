"""Per-request facts gathered while serving, read by the access log and the metrics."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

from starlette.requests import Request

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


@dataclass
class RequestInfo:
    """What one request was about; routes and services fill it in as they learn it."""

    request_id: str
    started_at: float = 0.0  # time.perf_counter() when the request arrived
    endpoint: str = ""
    model: str = ""
    task: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    first_token_at: float | None = None
    deadline: float | None = None  # time.monotonic() by which work must start (header)


def request_info(request: Request) -> RequestInfo:
    """The request's :class:`RequestInfo` (created by the middleware)."""
    info: RequestInfo = request.scope["state"]["info"]
    return info
