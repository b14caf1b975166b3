"""CORS for browser apps on other origins (``cors_allow_origins``; empty: no CORS headers).

Installed outermost, so that a preflight (``OPTIONS`` with ``Origin`` and
``Access-Control-Request-Method``) is answered before the API-key middleware and the request
guard see it: browsers never send credentials on a preflight. Every other answer, errors from
those middlewares included, carries the allow headers for an allowed origin, so the page can
read the server's own error message.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from server.core.settings import Settings

ALLOWED_METHODS = ["GET", "POST", "OPTIONS"]
# Any request header: SDKs add their own (the OpenAI SDK sends several X-Stainless-* headers;
# Anthropic's sends x-api-key, anthropic-version and anthropic-beta), and no cookie is ever
# honoured, so allowing them all gives a page nothing it could misuse.
ALLOWED_HEADERS = ["*"]
EXPOSED_HEADERS = ["X-Request-Id", "request-id", "Retry-After"]
PREFLIGHT_MAX_AGE_S = 600


def install_cors(app: FastAPI, settings: Settings) -> None:
    """Add CORS to ``app`` for ``settings.cors_allow_origins``; call it after every other
    middleware so that it runs first. Keys travel in ``Authorization``, never in cookies, so
    credentials are not allowed."""
    if not settings.cors_allow_origins:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_allow_origins,
        allow_methods=ALLOWED_METHODS,
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        allow_credentials=False,
        max_age=PREFLIGHT_MAX_AGE_S,
    )
