"""Optional API-key authentication (``Authorization: Bearer KEY``), checked in constant time.

Pure ASGI middleware in front of routing: the decision is made on the raw path the server
will route, so path tricks cannot reach a protected handler without a key.
"""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from server.api.errors import error_body, send_error

ALWAYS_OPEN = frozenset({"/health", "/ready"})


class ApiKeyMiddleware:
    """Answers 401 in the OpenAI shape unless the request carries an accepted key."""

    def __init__(self, app: ASGIApp, keys: list[str], open_paths: frozenset[str]) -> None:
        self.app = app
        self.keys = [k.encode() for k in keys]
        self.open_paths = open_paths

    def _authorized(self, scope: Scope) -> bool:
        header = b""
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                header = value
                break
        scheme, _, token = header.partition(b" ")
        if scheme.lower() != b"bearer" or not token:
            return False
        # Compare with every key, always: the time taken does not reveal which one matched.
        matched = False
        for key in self.keys:
            matched |= hmac.compare_digest(token.strip(), key)
        return matched

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.open_paths:
            await self.app(scope, receive, send)
            return
        if self._authorized(scope):
            await self.app(scope, receive, send)
            return
        body = error_body(
            "Missing or invalid API key (send 'Authorization: Bearer KEY')",
            "authentication_error",
            None,
            "invalid_api_key",
        )
        await send_error(send, 401, body, [(b"www-authenticate", b"Bearer")])
