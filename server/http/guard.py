"""Limits on the raw request, enforced before routing or parsing: header count and size
(400) and body size (413).

A body with a ``Content-Length`` over the limit is refused before a byte of it is read. A
chunked body (no length) is read up to the limit, and refused as soon as it goes over.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.core.errors import InvalidRequest, LimitExceeded, PayloadTooLarge
from server.core.settings import RequestLimits
from server.http.errors import send_error

# Rejected bodies are still read and discarded up to this many bytes, so that a client that
# is still sending sees the 413 rather than a connection reset; beyond it the connection closes.
_DISCARD_LIMIT = 64 * 1024 * 1024


class RequestGuardMiddleware:
    """Refuses requests whose headers or body are over ``limits``. The bodies of
    ``streamed_paths`` (uploads) are left to their routes, which limit them as they stream
    them to storage."""

    def __init__(
        self, app: ASGIApp, limits: RequestLimits, streamed_paths: frozenset[str] = frozenset()
    ) -> None:
        self.app = app
        self.limits = limits
        self.streamed_paths = streamed_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limits = self.limits
        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        if len(headers) > limits.max_header_count:
            error = LimitExceeded(
                None,
                len(headers),
                limits.max_header_count,
                "max_header_count",
                "the number of header fields",
            )
            await send_error(scope, send, error)
            return
        header_bytes = sum(len(name) + len(value) for name, value in headers)
        if header_bytes > limits.max_header_bytes:
            error = LimitExceeded(
                None,
                header_bytes,
                limits.max_header_bytes,
                "max_header_bytes",
                "the size of the headers in bytes",
            )
            await send_error(scope, send, error)
            return
        if scope.get("path") in self.streamed_paths:
            await self.app(scope, receive, send)
            return
        length = _content_length(headers)
        if length == -1:
            await send_error(scope, send, InvalidRequest("Content-Length is not a valid number"))
            return
        if length is not None and length > limits.max_body_bytes:
            # A client waiting for "100 Continue" has sent nothing yet: answer at once.
            if not _expects_continue(headers):
                await _discard(receive, length)
            await self._too_large(scope, send, length)
            return
        if length is None and _has_chunked_body(headers):
            buffered = await self._read_chunked(scope, receive, send)
            if buffered is None:
                return
            receive = _replay(buffered, receive)
        await self.app(scope, receive, send)

    async def _too_large(self, scope: Scope, send: Send, size: int) -> None:
        error = PayloadTooLarge(
            None, size, self.limits.max_body_bytes, "max_body_bytes", "the request body in bytes"
        )
        await send_error(scope, send, error, [(b"connection", b"close")])

    async def _read_chunked(self, scope: Scope, receive: Receive, send: Send) -> bytes | None:
        """The whole body if within the limit; None once answered (413) or disconnected."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.limits.max_body_bytes:
                if message.get("more_body", False):
                    await _discard(receive, _DISCARD_LIMIT)
                await self._too_large(scope, send, size)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The declared body length; None when absent, -1 when malformed."""
    for name, value in headers:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else -1
    return None


def _expects_continue(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(name == b"expect" and value.lower() == b"100-continue" for name, value in headers)


def _has_chunked_body(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(
        name == b"transfer-encoding" and b"chunked" in value.lower() for name, value in headers
    )


async def _discard(receive: Receive, up_to: int) -> None:
    """Read and drop the rest of a refused body, at most ``up_to`` bytes."""
    seen = 0
    while seen <= min(up_to, _DISCARD_LIMIT):
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands over the buffered body once, then the real messages."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
