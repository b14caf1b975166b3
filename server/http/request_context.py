"""ASGI middleware: request ids, one access-log line and request metrics per request.

Pure ASGI (not ``BaseHTTPMiddleware``) so streaming responses and client disconnects pass
through untouched.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.core.context import REQUEST_ID, RequestInfo
from server.core.errors import InvalidRequest
from server.core.logs import log_access
from server.core.metrics import Metrics
from server.http.errors import send_error
from server.http.families import error_family

log = logging.getLogger("server.access")

REQUEST_ID_HEADER = b"x-request-id"
# Optional: milliseconds from arrival within which the request's work must start; past it the
# request is refused (504) instead of being run late.
DEADLINE_HEADER = b"x-request-deadline-ms"
MAX_DEADLINE_MS = 24 * 3600 * 1000
# A client-supplied id is reused only if it is a sane token (it goes into logs and headers).
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


INFO_KEY = "info"  # where the request's RequestInfo lives in the ASGI scope's state


def new_request_id() -> str:
    return uuid.uuid4().hex


def _deadline_budget(value: str) -> float | None:
    """Seconds from a deadline header value (a positive whole number of ms); None if invalid."""
    text = value.strip()
    if not text.isdigit() or not 0 < int(text) <= MAX_DEADLINE_MS:
        return None
    return int(text) / 1000.0


async def _bad_deadline(scope: Scope, send: Send, request_id: str) -> None:
    error = InvalidRequest(
        f"X-Request-Deadline-Ms must be a whole number of milliseconds from 1 to {MAX_DEADLINE_MS}",
        param="X-Request-Deadline-Ms",
    )
    await send_error(scope, send, error, _id_headers(scope, request_id))


def _id_headers(scope: Scope, request_id: str) -> list[tuple[bytes, bytes]]:
    """``X-Request-Id``, and the header the path's API family reads the id from if another."""
    headers = [(REQUEST_ID_HEADER, request_id.encode())]
    other = error_family(scope.get("path", "")).request_id_header
    if other is not None:
        headers.append((other, request_id.encode()))
    return headers


def request_info(scope: Scope) -> RequestInfo:
    """The request's :class:`RequestInfo` (created by :class:`RequestContextMiddleware`)."""
    info: RequestInfo = scope["state"][INFO_KEY]
    return info


class RequestContextMiddleware:
    """Assigns the request id, echoes it as ``X-Request-Id`` (and as ``request-id`` on
    Anthropic's paths), logs and counts the request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        supplied = ""
        deadline_ms: str | None = None
        for key, value in scope.get("headers", []):
            if key == REQUEST_ID_HEADER:
                supplied = value.decode("latin-1")
            elif key == DEADLINE_HEADER:
                deadline_ms = value.decode("latin-1")
        request_id = supplied if _SAFE_ID.match(supplied) else new_request_id()
        start = time.perf_counter()
        info = RequestInfo(request_id=request_id, started_at=start)
        if deadline_ms is not None:
            budget = _deadline_budget(deadline_ms)
            if budget is None:
                await _bad_deadline(scope, send, request_id)
                return
            info.deadline = time.monotonic() + budget
        scope.setdefault("state", {})[INFO_KEY] = info
        token = REQUEST_ID.set(request_id)
        status = 500
        recorded = False

        def record() -> None:
            nonlocal recorded
            if not recorded:
                recorded = True
                self._record(scope, info, status, time.perf_counter() - start)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers += _id_headers(scope, request_id)
                message["headers"] = headers
            await send(message)
            # Count the request the moment its last byte is sent: a streaming response's
            # handler returns only after its disconnect listener is torn down, by which time
            # the client may already have read the metrics.
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                record()

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)
            record()

    def _record(self, scope: Scope, info: RequestInfo, status: int, latency: float) -> None:
        path = scope.get("path", "")
        method = scope.get("method", "")
        log_access(
            log,
            f"{method} {path} {status}",
            info.request_id,
            {
                "method": method,
                "path": path,
                "model": info.model or None,
                "key": info.key.name if info.key is not None else None,
                "status": status,
                "latency_ms": round(latency * 1000, 2),
                "prompt_tokens": info.prompt_tokens,
                "completion_tokens": info.completion_tokens,
            },
        )
        # Only requests that resolved to a served model are labelled by it: client-chosen
        # names must not create unbounded label sets.
        if info.model:
            labels = (info.model, info.task, info.endpoint)
            self.metrics.count_request(
                labels, status, latency, info.prompt_tokens, info.completion_tokens
            )
