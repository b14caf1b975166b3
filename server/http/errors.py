"""Every error leaves the server in the OpenAI shape: domain errors, validation, bugs.

The body comes from the one table in ``server.core.errors`` (:func:`error_body`); here one
helper turns a domain error into a response (:func:`error_response`), one sends it from ASGI
middleware before any routing (:func:`send_error`).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Send

from server.core.errors import (
    InvalidRequest,
    ServerError,
    domain_error_body,
    error_body,
    internal_error_body,
    status_and_type,
)

log = logging.getLogger("server.http")

Headers = list[tuple[bytes, bytes]]


def _retry_after(exc: ServerError) -> dict[str, str]:
    return {} if exc.retry_after_s is None else {"Retry-After": str(exc.retry_after_s)}


def error_response(exc: ServerError) -> JSONResponse:
    """A JSON response for a domain error, with ``Retry-After`` where the client should retry."""
    status, _ = status_and_type(exc)
    return JSONResponse(domain_error_body(exc), status_code=status, headers=_retry_after(exc))


async def send_error(send: Send, exc: ServerError, headers: Headers | None = None) -> None:
    """Answer with a domain error straight from ASGI middleware (before any routing)."""
    payload = json.dumps(domain_error_body(exc)).encode()
    retry = [(k.lower().encode(), v.encode()) for k, v in _retry_after(exc).items()]
    await send(
        {
            "type": "http.response.start",
            "status": exc.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *retry,
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def _param_from_loc(loc: tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    # Union members show up as extra loc entries like 'str' or 'list[...]': keep field names.
    fields = [p for p in parts if not p.startswith(("list[", "function-", "tagged-union["))]
    return ".".join(fields) or None


def validation_error(exc: RequestValidationError) -> InvalidRequest:
    """A readable 400 naming the offending parameter, from a pydantic validation error."""
    errors = exc.errors()
    if not errors:
        return InvalidRequest("Invalid request")
    first = errors[0]
    if first.get("type") == "json_invalid":
        return InvalidRequest("Malformed JSON in request body")
    if first.get("type") == "missing" and tuple(first.get("loc", ())) == ("body",):
        return InvalidRequest("Request body is required")
    param = _param_from_loc(tuple(first.get("loc", ())))
    msg = str(first.get("msg", "Invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return InvalidRequest(f"{param}: {msg}" if param else msg, param=param)


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves the server in the OpenAI shape."""

    @app.exception_handler(ServerError)
    async def _domain(_: Request, exc: ServerError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        type_ = "invalid_request_error" if exc.status_code < 500 else "server_error"
        return JSONResponse(
            error_body(str(exc.detail), type_, None, None),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        # A bug of ours: log it in full, tell the client nothing internal.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(internal_error_body(), status_code=500)
