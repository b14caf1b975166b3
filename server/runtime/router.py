"""``/admin/v1/models``: add a model from a config entry, remove one, list desired and actual
state (the admin key is checked by the middleware)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Response

from server.runtime.service import ModelService

MODELS_PATH = "/admin/v1/models"


def runtime_models_router(service: ModelService) -> APIRouter:
    router = APIRouter(tags=["admin"])

    @router.post(MODELS_PATH, status_code=201)
    async def add_model(entry: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
        """Serve a model from a config entry (the configuration file's fields), here and on
        every replica; answered once it is loaded here (400 if it cannot be)."""
        stored = await service.add(entry)
        return {**stored, "origin": "runtime", "state": "loaded"}

    @router.delete(MODELS_PATH + "/{name:path}", status_code=204)
    async def remove_model(name: str) -> Response:
        """Stop serving a model added at run time, here and on every replica: its in-flight
        requests finish, then its engine or workers are freed."""
        await service.remove(name)
        return Response(status_code=204)

    @router.get(MODELS_PATH)
    async def list_models() -> dict[str, Any]:
        """Every model: its config fields, ``origin`` (config or runtime) and ``state``
        (loaded, loading, unloaded, failed) on this replica."""
        return {"object": "list", "data": service.listing()}

    return router
