"""Graceful shutdown in the HTTP layer: count requests in flight, refuse new ones (503) once
the drain has begun (probes and scrapes still answer; ``/ready`` itself turns 503)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from server.core.errors import Unavailable
from server.core.lifecycle import Drain
from server.http.errors import send_error
from server.http.probes import PROBE_PATHS

RETRY_AFTER_S = 1


class DrainMiddleware:
    """Counts requests in flight; refuses new ones once the drain has begun."""

    def __init__(self, app: ASGIApp, drain: Drain) -> None:
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in PROBE_PATHS:
            await self.app(scope, receive, send)
            return
        if self.drain.draining:
            error = Unavailable(
                "the server is shutting down; retry on another instance",
                retry_after_s=RETRY_AFTER_S,
                code="shutting_down",
            )
            await send_error(scope, send, error, [(b"connection", b"close")])
            return
        self.drain.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.drain.in_flight -= 1
