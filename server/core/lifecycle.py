"""The process's life: the drain on SIGTERM and the fatal error that ends it.

``Drain`` counts the requests in flight; once draining has begun the HTTP layer refuses new
work (503) and ``/ready`` turns 503 so load balancers stop sending. The server process ends
the drain when nothing is in flight or ``drain_timeout_s`` has passed (``server.__main__``).
A fatal error (a model failed to load, an engine died) makes the process exit non-zero so
that its supervisor restarts it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("server.lifecycle")

FATAL_EXIT_CODE = 3


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


class Lifecycle:
    """Draining, the fatal error if any, and the exit code the process should end with."""

    def __init__(self, drain_timeout_s: float, on_fatal: Callable[[], None]) -> None:
        self.drain = Drain(drain_timeout_s)
        self.fatal_error: str | None = None
        self.exit_code = 0
        self._on_fatal = on_fatal

    @property
    def failed(self) -> bool:
        return self.fatal_error is not None

    def fail(self, reason: str) -> None:
        """Mark the server unhealthy and make the process exit non-zero (once)."""
        if self.fatal_error is None:
            log.critical("fatal: %s; shutting down", reason)
            self.fatal_error = reason
            self.exit_code = FATAL_EXIT_CODE
            self._on_fatal()
