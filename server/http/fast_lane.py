"""The hot POST endpoints, dispatched by exact path before FastAPI's router.

Single-input encoder requests are cheap for the workers, so what the API process spends on
each one decides the encoder path's throughput. FastAPI's own layers (its exception and
exit-stack middleware, route matching, the dependency solver, the body field) cost about as
much per request as our whole handler. A lane route skips them: this innermost middleware
(inside the request id, limits, drain and key checks) reads the body, validates it into the
route's pydantic model under FastAPI's rules, runs the route's handler and answers its errors
through the same tables as the app's exception handlers, so a client sees the same bytes.

The FastAPI routes stay registered for the same paths: they describe the endpoints in the
OpenAPI schema, and take what the lane does not (another method, a path with a trailing
slash). A bug (any other exception) goes up to the app's 500 handler, as from a route.
"""

from __future__ import annotations

import email.message
import functools
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import get_route_path
from starlette.types import ASGIApp, Receive, Scope, Send

from server.core.errors import ServerError
from server.http.disconnect import client_closed
from server.http.errors import error_response, validation_error
from server.http.families import ErrorFamily, error_family

# The same words as FastAPI's for a body it cannot read as text.
UNREADABLE_BODY = "There was an error parsing the body"


class UnreadableBody(Exception):
    """The body is not text JSON can read (bad UTF-8, nested too deep): FastAPI's 400."""


@dataclass(frozen=True)
class LaneRoute:
    """One lane endpoint: the model its JSON body is validated into, and its handler."""

    body: type[BaseModel]
    handle: Callable[[Any, Request], Awaitable[Response]]


@functools.lru_cache(maxsize=64)  # clients send the same few content types
def _is_json(content_type: str | None) -> bool:
    # FastAPI's strict content type: only application/json and application/*+json are JSON.
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


def _missing() -> RequestValidationError:
    return RequestValidationError(
        [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
    )


def parse_body(model: type[BaseModel], raw: bytes, content_type: str | None) -> BaseModel:
    """``raw`` validated into ``model`` as a FastAPI body parameter would be: the same
    ``RequestValidationError`` (locations under ``body``) for the same input."""
    if not raw:
        raise _missing()
    value: Any = raw
    if _is_json(content_type):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise RequestValidationError(
                [
                    {
                        "type": "json_invalid",
                        "loc": ("body", exc.pos),
                        "msg": "JSON decode error",
                        "input": {},
                        "ctx": {"error": exc.msg},
                    }
                ]
            ) from exc
        except Exception as exc:  # what FastAPI answers "cannot parse" for
            raise UnreadableBody(UNREADABLE_BODY) from exc
        if value is None:
            raise _missing()
    try:
        return model.model_validate(value, from_attributes=True)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in errors]
        ) from exc


def _error(exc: Exception, family: ErrorFamily) -> Response:
    """What the app's exception handlers answer for ``exc``, in ``family``'s shape."""
    if isinstance(exc, UnreadableBody):
        return JSONResponse(family.http_body(400, UNREADABLE_BODY), status_code=400)
    if isinstance(exc, RequestValidationError):
        return error_response(validation_error(exc), family)
    assert isinstance(exc, ServerError)
    return error_response(exc, family)


class FastLaneMiddleware:
    """Serves POSTs to ``routes`` (by exact path); everything else goes on to the app."""

    def __init__(self, app: ASGIApp, routes: Mapping[str, LaneRoute]) -> None:
        self.app = app
        self.routes = dict(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = None
        if scope["type"] == "http" and scope["method"] == "POST":
            route = self.routes.get(get_route_path(scope))
        if route is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        response: Response
        try:
            raw = await request.body()
            body = parse_body(route.body, raw, request.headers.get("content-type"))
            response = await route.handle(body, request)
        except ClientDisconnect:
            response = client_closed()  # gone while sending its body: nobody to answer
        except (RequestValidationError, ServerError, UnreadableBody) as exc:
            response = _error(exc, error_family(scope["path"]))
        await response(scope, receive, send)
