"""One table from domain errors to HTTP status and the OpenAI error body."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Send

from server.errors import (
    DeadlineExceeded,
    InvalidRequest,
    ModelNotFound,
    Overloaded,
    PayloadTooLarge,
    ServerError,
    Unauthorized,
    Unavailable,
)

log = logging.getLogger("server.api")

# Most specific first: the first class the error is an instance of wins.
ERROR_TABLE: tuple[tuple[type[ServerError], int, str], ...] = (
    (ModelNotFound, 404, "invalid_request_error"),
    (InvalidRequest, 400, "invalid_request_error"),
    (Unauthorized, 401, "authentication_error"),
    (PayloadTooLarge, 413, "invalid_request_error"),
    (Overloaded, 429, "rate_limit_error"),
    (Unavailable, 503, "service_unavailable_error"),
    (DeadlineExceeded, 504, "timeout_error"),
)


def error_body(message: str, type_: str, param: str | None, code: str | None) -> dict[str, Any]:
    """The OpenAI error shape."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


async def send_error(
    send: Send,
    status: int,
    body: dict[str, Any],
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Answer with an error body straight from ASGI middleware (before any routing)."""
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def status_and_type(exc: ServerError) -> tuple[int, str]:
    """The HTTP status and OpenAI error type for a domain error."""
    for cls, status, type_ in ERROR_TABLE:
        if isinstance(exc, cls):
            return status, type_
    return 500, "server_error"


def error_response(exc: ServerError) -> JSONResponse:
    """A JSON response for a domain error, with ``Retry-After`` where the client should retry."""
    status, type_ = status_and_type(exc)
    headers: dict[str, str] = {}
    retry_after = getattr(exc, "retry_after_s", None)
    if isinstance(exc, Overloaded | Unavailable) and retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return JSONResponse(
        error_body(exc.message, type_, exc.param, exc.code), status_code=status, headers=headers
    )


def _param_from_loc(loc: tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    # Union members show up as extra loc entries like 'str' or 'list[...]': keep field names.
    fields = [p for p in parts if not p.startswith(("list[", "function-", "tagged-union["))]
    return ".".join(fields) or None


def validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    """A readable message and the offending parameter from a pydantic validation error."""
    errors = exc.errors()
    if not errors:
        return "Invalid request", None
    first = errors[0]
    if first.get("type") == "json_invalid":
        return "Malformed JSON in request body", None
    if first.get("type") == "missing" and tuple(first.get("loc", ())) == ("body",):
        return "Request body is required", None
    param = _param_from_loc(tuple(first.get("loc", ())))
    msg = str(first.get("msg", "Invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return (f"{param}: {msg}" if param else msg), param


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves the server in the OpenAI shape."""

    @app.exception_handler(ServerError)
    async def _domain(_: Request, exc: ServerError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = validation_message(exc)
        return JSONResponse(error_body(message, "invalid_request_error", param, None), 400)

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
        return JSONResponse(
            error_body("Internal server error", "server_error", None, None), status_code=500
        )
