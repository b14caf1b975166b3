"""Per-request facts gathered while serving, read by the access log and the metrics.

Plain types only: the HTTP layer creates a :class:`RequestInfo` per request; routers say
which model and endpoint serve it; services count its tokens.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from dataclasses import dataclass

from server.core.keys import KeyGrant, TokenQuota

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class Lingering:
    """Work of a request that goes on after its answer was sent (a background response):
    what is done when a request ends (its key's usage and limits settled) waits for it."""

    def __init__(self) -> None:
        self._done = False
        self._then: list[Callable[[], None]] = []

    def then(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the work has finished (now if it already has)."""
        if self._done:
            callback()
        else:
            self._then.append(callback)

    def finish(self) -> None:
        """The work has finished (or failed, or was cancelled): run what waited for it."""
        if self._done:
            return
        self._done = True
        callbacks, self._then = self._then, []
        for callback in callbacks:
            callback()


@dataclass
class RequestInfo:
    """What one request was about; routers and services fill it in as they learn it."""

    request_id: str
    started_at: float = 0.0  # time.perf_counter() when the request arrived
    endpoint: str = ""
    model: str = ""
    task: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens the engine's prefix cache already held
    deadline: float | None = None  # time.monotonic() by which work must start (header)
    key: KeyGrant | None = None  # the API key the request came with (None: auth is off)
    quota: TokenQuota | None = None  # the key's token budget, where it has a tpm limit
    lingering: Lingering | None = None  # work that outlives the answer (see linger())

    def linger(self) -> Lingering:
        """Say the request's work goes on after its answer: its tokens are counted (usage,
        tpm) once the returned :class:`Lingering` finishes."""
        if self.lingering is None:
            self.lingering = Lingering()
        return self.lingering

    def reserve_tokens(self, tokens: int) -> None:
        """Reserve ``tokens`` of the key's tpm at admission (no-op without a tpm limit)."""
        if self.quota is not None:
            self.quota.reserve(tokens)

    def served_by(self, model: str, task: str, endpoint: str) -> None:
        """Record the served model (which labels the request's metrics and access log)."""
        self.model, self.task, self.endpoint = model, task, endpoint
