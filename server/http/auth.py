"""API-key authentication (``Authorization: Bearer KEY``, or ``x-api-key: KEY`` as Anthropic's
clients send it), and the admin key of ``/admin/v1/*``.

Pure ASGI middleware in front of routing: the decision is made on the raw path the server
will route, so path tricks cannot reach a protected handler without a key. Which keys are
valid is the key ring's business (static keys of the configuration, keys of the store, the
batch runner's own); here a request is let through with its key's grant in its
``RequestInfo``, or answered 401.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Protocol

from starlette.types import ASGIApp, Receive, Scope, Send

from server.core.errors import ServerError, Unauthorized, Unavailable
from server.core.keys import KeyGrant
from server.http.errors import send_error
from server.http.request_context import request_info

ADMIN_PREFIX = "/admin/"
# Sent by the batch runner beside its own key: the id of the key its batch was created with.
ON_BEHALF_HEADER = b"x-batch-api-key"


class KeyRing(Protocol):
    """The keys the server accepts (``server.keys.service.KeyService``)."""

    @property
    def required(self) -> bool:
        """Whether every API request needs a valid key."""
        ...

    async def wait_loaded(self) -> bool:
        """Whether the keys are known (waits a bounded time for the first read)."""
        ...

    def authenticate(self, token: bytes, on_behalf: str | None = None) -> KeyGrant | None:
        """The grant of the key ``token``, None if it is no valid key."""
        ...


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


def _bearer(headers: list[tuple[bytes, bytes]]) -> bytes:
    """The key of ``Authorization: Bearer KEY`` (the only way the admin key is sent)."""
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            return token.strip() if scheme.lower() == b"bearer" else b""
    return b""


def _header(headers: list[tuple[bytes, bytes]], wanted: bytes) -> str | None:
    for name, value in headers:
        if name == wanted:
            return value.decode("latin-1")
    return None


def _digest(token: bytes) -> bytes:
    return hashlib.sha256(token).digest()


class RouteOff(ServerError):
    """An administrative route while no admin key is configured (404, as if absent)."""

    status = 404
    error_type = "invalid_request_error"


def _admin_off(path: str) -> RouteOff:
    return RouteOff(
        f"No such route: {path} (the admin API is off: no admin key is configured)",
        code="not_found",
    )


def _unauthorized() -> Unauthorized:
    return Unauthorized(
        "Missing or invalid API key (send 'Authorization: Bearer KEY' or 'x-api-key: KEY')",
        code="invalid_api_key",
    )


class ApiKeyMiddleware:
    """Answers 401 in the API family's shape unless the request carries an accepted key
    (when keys are required); ``/admin/`` paths take the admin key only."""

    def __init__(
        self,
        app: ASGIApp,
        ring: KeyRing,
        open_paths: frozenset[str],
        admin_key: str | None = None,
        admin_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.admin_paths = admin_paths
        self.ring = ring
        self.open_paths = open_paths
        # A digest compared to a digest: equal lengths, so timing reveals nothing of the key.
        self.admin_digest = _digest(admin_key.encode()) if admin_key else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in self.open_paths:
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", [])
        if path.startswith(ADMIN_PREFIX) or path in self.admin_paths:
            if self.admin_digest is None:  # no admin key: the admin routes are off
                await send_error(scope, send, _admin_off(path))
                return
            if hmac.compare_digest(_digest(_bearer(headers)), self.admin_digest):
                await self.app(scope, receive, send)
                return
            await send_error(scope, send, _unauthorized(), [(b"www-authenticate", b"Bearer")])
            return
        if not await self.ring.wait_loaded():
            error = Unavailable("API keys cannot be read: the store is unavailable")
            await send_error(scope, send, error)
            return
        grant = self.ring.authenticate(_token(headers), _header(headers, ON_BEHALF_HEADER))
        if grant is None and self.ring.required:
            await send_error(scope, send, _unauthorized(), [(b"www-authenticate", b"Bearer")])
            return
        request_info(scope).key = grant
        await self.app(scope, receive, send)
