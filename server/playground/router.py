"""Mounting the playground: ``GET /`` (the page) and ``/playground/...`` (its static assets).

The page holds no secret and needs no key, so its paths are open even when the API requires
one: :func:`open_paths` lists them exactly (one entry per file, no prefix match), for the API-key
middleware. The API calls the page makes carry the key the user types.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from starlette.responses import Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

from server.core.settings import Settings

log = logging.getLogger("server.playground")

STATIC_DIR = Path(__file__).parent / "static"
ASSETS_PREFIX = "/playground"
INDEX = STATIC_DIR / "index.html"
# The page is small and changes with the server: let browsers revalidate instead of guessing.
_CACHE_HEADERS = {"Cache-Control": "no-cache"}


def static_files() -> list[Path]:
    """Every file the playground serves, relative to ``static/``."""
    return sorted(p.relative_to(STATIC_DIR) for p in STATIC_DIR.rglob("*") if p.is_file())


def open_paths(settings: Settings) -> frozenset[str]:
    """The URL paths served without an API key: none unless the playground is on."""
    if not settings.playground:
        return frozenset()
    assets = (f"{ASSETS_PREFIX}/{path.as_posix()}" for path in static_files())
    return frozenset({"/", *assets})


class _NoCacheStaticFiles(StaticFiles):
    """StaticFiles whose answers tell the browser to revalidate (ETag) before reuse."""

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(_CACHE_HEADERS)
        return response


def install_playground(app: FastAPI, settings: Settings) -> None:
    """Serve the playground on ``app`` when ``settings.playground`` is true.

    Adds ``GET /`` (the page) and mounts ``static/`` at ``/playground``; neither appears in the
    OpenAPI schema. With the playground off nothing is added and ``/`` stays 404. The API-key
    middleware must also be given :func:`open_paths` for the page to load without a key.
    """
    if not settings.playground:
        return

    @app.get("/", include_in_schema=False)
    async def playground_index() -> FileResponse:
        return FileResponse(INDEX, media_type="text/html", headers=_CACHE_HEADERS)

    app.mount(ASSETS_PREFIX, _NoCacheStaticFiles(directory=STATIC_DIR), name="playground")
    log.info("playground on: GET / serves the web page (%d static files)", len(static_files()))
