"""Optional API-key authentication (``Authorization: Bearer KEY``, or ``x-api-key: KEY`` as
Anthropic's clients send it), checked in constant time.

Pure ASGI middleware in front of routing: the decision is made on the raw path the server
will route, so path tricks cannot reach a protected handler without a key.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from server.core.errors import Unauthorized
from server.http.errors import send_error


def _digest(token: bytes) -> bytes:
    return hashlib.sha256(token).digest()


def _token(headers: list[tuple[bytes, bytes]]) -> bytes:
    """The key a request carries: ``Authorization: Bearer KEY`` first, else ``x-api-key``."""
    api_key = b""
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            return token.strip() if scheme.lower() == b"bearer" else b""
        if name == b"x-api-key" and not api_key:
            api_key = value.strip()
    return api_key


class ApiKeyMiddleware:
    """Answers 401 in the OpenAI shape unless the request carries an accepted key."""

    def __init__(self, app: ASGIApp, keys: list[str], open_paths: frozenset[str]) -> None:
        self.app = app
        # Digests, compared digest to digest: equal lengths, so the time taken reveals
        # neither a key's length nor which key matched.
        self.digests = [_digest(k.encode()) for k in keys]
        self.open_paths = open_paths

    def _authorized(self, scope: Scope) -> bool:
        token = _token(scope.get("headers", []))
        if not token:
            return False
        digest = _digest(token)
        matched = False
        for key in self.digests:
            matched |= hmac.compare_digest(digest, key)
        return matched

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.open_paths:
            await self.app(scope, receive, send)
            return
        if self._authorized(scope):
            await self.app(scope, receive, send)
            return
        error = Unauthorized(
            "Missing or invalid API key (send 'Authorization: Bearer KEY' or 'x-api-key: KEY')",
            code="invalid_api_key",
        )
        await send_error(scope, send, error, [(b"www-authenticate", b"Bearer")])
