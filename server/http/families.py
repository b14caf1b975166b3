"""Error tables by API family: how a domain error is told to a client of each API.

OpenAI's table is the one in ``server.core.errors`` (:func:`error_body`); Anthropic's is here.
:func:`error_family` picks the table from the request path, in this one place: the exception
handlers, the middleware's early answers (:func:`server.http.errors.send_error`) and the SSE
error events all ask it. A new API dialect adds a table and a path prefix, not a branch in
every handler.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.core.errors import (
    INTERNAL_ERROR,
    Overloaded,
    ServerError,
    domain_error_body,
    error_body,
    internal_error_body,
)


@dataclass(frozen=True)
class ErrorFamily:
    """One API family's error shape: statuses, bodies and the headers its clients read."""

    name: str
    # Status overrides by error class (most specific first), where the family differs.
    statuses: tuple[tuple[type[ServerError], int], ...] = ()
    # The header that carries the request id besides ``X-Request-Id`` (None: no other).
    request_id_header: bytes | None = None
    types: dict[int, str] = field(default_factory=dict)

    def status(self, exc: ServerError) -> int:
        """The HTTP status of ``exc`` in this family."""
        for cls, status in self.statuses:
            if isinstance(exc, cls):
                return status
        return exc.status

    def body(self, exc: ServerError) -> dict[str, Any]:
        """The JSON body of a domain error."""
        if not self.types:
            return domain_error_body(exc)
        return self._body(self.status(exc), exc.message)

    def http_body(self, status: int, message: str) -> dict[str, Any]:
        """The body of a plain HTTP error (404 route, 405 method) with ``message``."""
        if not self.types:
            type_ = "invalid_request_error" if status < 500 else "server_error"
            return error_body(message, type_, None, None)
        return self._body(status, message)

    def internal_body(self) -> dict[str, Any]:
        """The body of a bug of ours (nothing internal is told)."""
        return internal_error_body() if not self.types else self._body(500, INTERNAL_ERROR)

    def _body(self, status: int, message: str) -> dict[str, Any]:
        fallback = "invalid_request_error" if status < 500 else "api_error"
        return {
            "type": "error",
            "error": {"type": self.types.get(status, fallback), "message": message},
        }


OPENAI = ErrorFamily("openai")

# Anthropic's error types by status (https://docs.anthropic.com/en/api/errors); a full queue
# is 529 ``overloaded_error`` there, where OpenAI's clients expect 429.
ANTHROPIC = ErrorFamily(
    "anthropic",
    statuses=((Overloaded, 529),),
    request_id_header=b"request-id",
    types={
        400: "invalid_request_error",
        401: "authentication_error",
        402: "billing_error",
        403: "permission_error",
        404: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
        500: "api_error",
        503: "overloaded_error",
        504: "timeout_error",
        529: "overloaded_error",
    },
)

# Path prefixes served in another family than OpenAI's.
_PREFIXES: tuple[tuple[str, ErrorFamily], ...] = (("/v1/messages", ANTHROPIC),)


def error_family(path: str) -> ErrorFamily:
    """The error family of the API served at ``path``."""
    for prefix, family in _PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            return family
    return OPENAI
