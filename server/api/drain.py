"""Graceful shutdown: on SIGTERM, refuse new work (503), let in-flight requests finish.

``Drain`` counts the requests in flight; ``DrainMiddleware`` keeps the count and, once
draining has begun, answers new requests with 503 (``/health`` and ``/metrics`` still answer,
``/ready`` turns 503 so load balancers stop sending). The server process ends the drain when
nothing is in flight or ``drain_timeout_s`` has passed (see ``server.__main__``).
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Receive, Scope, Send

from server.api.errors import error_body, send_error

log = logging.getLogger("server.drain")

# Answered during a drain: probes and scrapes, which are not work.
_PROBES = frozenset({"/health", "/ready", "/metrics"})
RETRY_AFTER_S = 1


class Drain:
    """The drain's state: whether it has begun, when it must end, what is in flight."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.in_flight = 0
        self._deadline: float | None = None

    @property
    def draining(self) -> bool:
        return self._deadline is not None

    def begin(self) -> None:
        if self._deadline is None:
            self._deadline = time.monotonic() + self.timeout_s
            log.info(
                "draining: refusing new requests, %d in flight, up to %.0f s",
                self.in_flight,
                self.timeout_s,
            )

    def finished(self) -> bool:
        """True once a begun drain has nothing left in flight or has run out of time."""
        if self._deadline is None:
            return False
        if self.in_flight == 0:
            return True
        if time.monotonic() >= self._deadline:
            log.warning("drain timeout: %d request(s) still in flight", self.in_flight)
            return True
        return False


class DrainMiddleware:
    """Counts requests in flight; refuses new ones once the drain has begun."""

    def __init__(self, app: ASGIApp, drain: Drain) -> None:
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in _PROBES:
            await self.app(scope, receive, send)
            return
        if self.drain.draining:
            body = error_body(
                "the server is shutting down; retry on another instance",
                "service_unavailable_error",
                None,
                "shutting_down",
            )
            headers = [(b"retry-after", str(RETRY_AFTER_S).encode()), (b"connection", b"close")]
            await send_error(send, 503, body, headers)
            return
        self.drain.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.drain.in_flight -= 1
