"""Per-key limits and usage around each request of a key.

A request of a key with limits is admitted here (rpm, concurrency, a tpm not used up) or
answered 429 with ``Retry-After``; the services reserve its tokens once they know them
(``RequestInfo.reserve_tokens``: the prompt and ``max_tokens``), and its real usage settles
the reservation when it ends. Every answer of a limited key carries OpenAI's
``x-ratelimit-*`` headers. Every answered request (status below 400) of a key is counted in
its usage; the tokens of a request whose work outlives its answer (a background response)
are settled and counted when that work ends (its concurrency slot is freed with the answer,
so that polling it is not refused).
"""

from __future__ import annotations

from typing import Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.core.errors import RateLimited
from server.core.keys import KeyGrant
from server.core.ratelimit import KeyLimiter, Reservation
from server.http.errors import send_error
from server.http.request_context import request_info


class UsageRecorder(Protocol):
    """Where answered requests are counted (``server.keys.service.KeyService``)."""

    def record(self, grant: KeyGrant, model: str, input_tokens: int, output_tokens: int) -> None:
        """Count one answered request."""
        ...


class _Quota:
    """A request's token budget: reservations go to its key's limiter."""

    def __init__(self, limiter: KeyLimiter, grant: KeyGrant, held: Reservation) -> None:
        self.limiter, self.grant, self.held = limiter, grant, held

    def reserve(self, tokens: int) -> None:
        self.limiter.reserve(self.grant, self.held, tokens)


class KeyLimitsMiddleware:
    """Admits, limits and counts the requests of API keys (after ``ApiKeyMiddleware``)."""

    def __init__(self, app: ASGIApp, limiter: KeyLimiter, usage: UsageRecorder) -> None:
        self.app = app
        self.limiter = limiter
        self.usage = usage

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        info = request_info(scope)
        grant = info.key
        if grant is None:
            await self.app(scope, receive, send)
            return
        limited = grant.has_limits
        held: Reservation | None = None
        if limited:
            try:
                held = self.limiter.admit(grant)
            except RateLimited as exc:
                await send_error(scope, send, exc, self.limiter.headers(grant))
                return
            info.quota = _Quota(self.limiter, grant, held)
        status = 500

        async def send_with_limits(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if limited:
                    message["headers"] = [
                        *message.get("headers", []),
                        *self.limiter.headers(grant),
                    ]
            await send(message)

        def account() -> None:
            if held is not None:
                self.limiter.settle(grant, held, info.prompt_tokens + info.completion_tokens)
            if info.model and status < 400:
                self.usage.record(grant, info.model, info.prompt_tokens, info.completion_tokens)

        try:
            await self.app(scope, receive, send_with_limits)
        finally:
            if held is not None:
                self.limiter.release(grant)
            # A background response's tokens come after its answer: counted when it ends.
            if info.lingering is not None:
                info.lingering.then(account)
            else:
                account()
