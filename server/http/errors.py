"""Every error leaves the server in its API family's shape: domain errors, validation, bugs.

The body comes from the family's table (:func:`server.http.families.error_family`, by path:
OpenAI's from ``server.core.errors``, Anthropic's on ``/v1/messages``); here one helper turns a
domain error into a response (:func:`error_response`), one sends it from ASGI middleware
before any routing (:func:`send_error`).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope, Send

from server.core.errors import InvalidRequest, ServerError
from server.http.families import OPENAI, ErrorFamily, error_family

log = logging.getLogger("server.http")

Headers = list[tuple[bytes, bytes]]


def _retry_after(exc: ServerError) -> dict[str, str]:
    return {} if exc.retry_after_s is None else {"Retry-After": str(exc.retry_after_s)}


def error_response(exc: ServerError, family: ErrorFamily = OPENAI) -> JSONResponse:
    """A JSON response for a domain error, with ``Retry-After`` where the client should retry."""
    return JSONResponse(family.body(exc), status_code=family.status(exc), headers=_retry_after(exc))


async def send_error(
    scope: Scope, send: Send, exc: ServerError, headers: Headers | None = None
) -> None:
    """Answer with a domain error straight from ASGI middleware (before any routing), in the
    shape of the API family that ``scope``'s path belongs to."""
    family = error_family(scope.get("path", ""))
    payload = json.dumps(family.body(exc)).encode()
    retry = [(k.lower().encode(), v.encode()) for k, v in _retry_after(exc).items()]
    await send(
        {
            "type": "http.response.start",
            "status": family.status(exc),
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
    """Every error leaves the server in the shape of the API family of its path."""

    @app.exception_handler(ServerError)
    async def _domain(request: Request, exc: ServerError) -> JSONResponse:
        return error_response(exc, error_family(request.url.path))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(validation_error(exc), error_family(request.url.path))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        family = error_family(request.url.path)
        return JSONResponse(
            family.http_body(exc.status_code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        # A bug of ours: log it in full, tell the client nothing internal.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_family(request.url.path).internal_body(), status_code=500)
