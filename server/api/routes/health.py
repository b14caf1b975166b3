"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from server.api.deps import MetricsDep, RegistryDep
from server.api.errors import error_body
from server.registry import ModelRegistry

router = APIRouter(tags=["health"])


def _failed(request: Request, registry: ModelRegistry) -> bool:
    """A fatal error, or an engine seen dead (the watchdog, which then stops the process,
    notices within a second; a probe should not wait for it)."""
    dead = any(not getattr(model, "healthy", True) for model in registry)
    return dead or request.app.state.fatal_error is not None


@router.get("/health")
async def health(request: Request, registry: RegistryDep) -> Response:
    """200 while the process is alive and its engines are healthy."""
    if _failed(request, registry):
        return JSONResponse(
            error_body("server is shutting down after a fatal error", "server_error", None, None),
            status_code=503,
        )
    return JSONResponse({"status": "ok"})


@router.get("/ready")
async def ready(request: Request, registry: RegistryDep) -> Response:
    """200 once every configured model is loaded; 503 before that and while shutting down."""
    models = {m.name: ("ready" if m.ready else "loading") for m in registry}
    state = request.app.state
    if _failed(request, registry) or state.drain.draining:
        message = "the server is shutting down"
    elif not registry.ready:
        message = "not every model is loaded yet"
    else:
        return JSONResponse({"status": "ready", "models": models})
    body = error_body(message, "service_unavailable_error", None, None)
    body["models"] = models
    return JSONResponse(body, status_code=503)


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(m: MetricsDep) -> Response:
    """Prometheus text format."""
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
