"""Liveness, readiness and Prometheus metrics: ``/health``, ``/ready``, ``/metrics``.

``PROBE_PATHS`` is the one list of these paths: they stay open during a drain, are not
documented as model routes, and (except ``/metrics`` when configured) need no API key.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from server.core.errors import ServerError, Unavailable, domain_error_body
from server.core.lifecycle import Lifecycle
from server.core.metrics import Metrics
from server.core.registry import ModelRegistry
from server.store.database import Database

HEALTH_PATH = "/health"
READY_PATH = "/ready"
METRICS_PATH = "/metrics"
PROBE_PATHS = frozenset({HEALTH_PATH, READY_PATH, METRICS_PATH})


def _failed(lifecycle: Lifecycle, registry: ModelRegistry) -> bool:
    """A fatal error, or an engine seen dead (the watchdog, which then stops the process,
    notices within a second; a probe should not wait for it)."""
    return lifecycle.failed or not registry.healthy


def probes_router(
    lifecycle: Lifecycle, registry: ModelRegistry, store: Database, metrics: Metrics
) -> APIRouter:
    """The probe routes of one server."""
    router = APIRouter(tags=["health"])

    @router.get(HEALTH_PATH)
    async def health() -> Response:
        """200 while the process is alive and its engines are healthy."""
        if _failed(lifecycle, registry):
            error = ServerError("server is shutting down after a fatal error")
            return JSONResponse(domain_error_body(error), status_code=503)
        return JSONResponse({"status": "ok"})

    @router.get(READY_PATH)
    async def ready() -> Response:
        """200 once every configured model is loaded and the store answers; 503 before that,
        while the database is unreachable and while shutting down."""
        models = {m.name: ("ready" if m.ready else "loading") for m in registry}
        if _failed(lifecycle, registry) or lifecycle.drain.draining:
            message = "the server is shutting down"
        elif not registry.ready:
            message = "not every model is loaded yet"
        elif not await store.ping():
            message = "the store (database) is unavailable"
        else:
            body: dict[str, object] = {"status": "ready", "models": models}
            if registry.failed:
                body["failed"] = dict(registry.failed)
            return JSONResponse(body)
        body = domain_error_body(Unavailable(message, code=None))
        body["models"] = models
        if registry.failed:
            body["failed"] = dict(registry.failed)
        return JSONResponse(body, status_code=503)

    @router.get(METRICS_PATH, response_class=PlainTextResponse)
    async def metrics_text() -> Response:
        """Prometheus text format."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router
