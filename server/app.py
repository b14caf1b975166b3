"""``create_app(settings)``: the FastAPI application, its lifespan and its routers.

Models are built (cheaply) when the app starts and loaded in a background task, so that
``/health`` answers at once and ``/ready`` turns 200 only when every model is loaded. A model
that fails to load is fatal: the process exits non-zero so its supervisor can restart it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from server import playground
from server.api.auth import ALWAYS_OPEN, ApiKeyMiddleware
from server.api.drain import Drain, DrainMiddleware
from server.api.errors import install_error_handlers
from server.api.guard import RequestGuardMiddleware
from server.api.middleware import RequestContextMiddleware
from server.api.openapi import install_openapi
from server.api.routes import health, models
from server.heap import freeze_startup_heap
from server.metrics import Metrics
from server.registry import ModelRegistry, ServedModel
from server.settings import EncoderModelConfig, GenerateModelConfig, Settings

log = logging.getLogger("server.app")

ModelConfig = GenerateModelConfig | EncoderModelConfig
ModelFactory = Callable[[ModelConfig, Settings, Metrics], ServedModel]
FATAL_EXIT_CODE = 3


def build_model(config: ModelConfig, settings: Settings, metrics: Metrics) -> ServedModel:
    """The served model for one config entry (engines are imported only when configured)."""
    if isinstance(config, GenerateModelConfig):
        from server.generation.model import GenerationModel

        return GenerationModel(config, settings, metrics)
    from server.encoders.model import EncoderModel

    return EncoderModel(config, settings, metrics)


def _signal_self_to_stop() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


WATCHDOG_INTERVAL_S = 1.0


async def _load_and_watch(app: FastAPI, registry: ModelRegistry) -> None:
    """Load every model, then watch their health; either failure is fatal."""
    try:
        await asyncio.gather(*(model.start() for model in registry))
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.exception("a model failed to load")
        app.state.fail(f"model loading failed: {exc}")
        return
    frozen = freeze_startup_heap()
    log.info("all %d models loaded (%d startup objects frozen)", len(registry), frozen)
    while True:
        await asyncio.sleep(WATCHDOG_INTERVAL_S)
        for model in registry:
            # ``healthy`` is optional on ServedModel: models without it never go bad.
            if not getattr(model, "healthy", True):
                app.state.fail(f"the engine of model '{model.name}' died")
                return


def create_app(
    settings: Settings,
    *,
    model_factory: ModelFactory = build_model,
    on_fatal: Callable[[], None] = _signal_self_to_stop,
) -> FastAPI:
    """The application for ``settings``; nothing is loaded until its lifespan starts."""
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        registry = ModelRegistry(model_factory(cfg, settings, metrics) for cfg in settings.models)
        app.state.registry = registry
        loader = asyncio.create_task(_load_and_watch(app, registry), name="model-loader")
        try:
            yield
        finally:
            loader.cancel()
            await asyncio.gather(loader, return_exceptions=True)
            results = await asyncio.gather(*(m.stop() for m in registry), return_exceptions=True)
            for model, result in zip(registry, results, strict=True):
                if isinstance(result, BaseException):
                    log.error("stopping model %s failed: %r", model.name, result)

    app = FastAPI(
        title="Inference server",
        version="0.1.0",
        description="OpenAI-compatible API for vLLM generation and Transformers encoders.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.registry = ModelRegistry()
    app.state.fatal_error = None
    app.state.drain = Drain(settings.drain_timeout_s)
    app.state.exit_code = 0

    def fail(reason: str) -> None:
        """Mark the server unhealthy and make the process exit non-zero."""
        if app.state.fatal_error is None:
            log.critical("fatal: %s; shutting down", reason)
            app.state.fatal_error = reason
            app.state.exit_code = FATAL_EXIT_CODE
            on_fatal()

    app.state.fail = fail
    install_error_handlers(app)
    keys = settings.accepted_api_keys()
    if keys:
        open_paths = ALWAYS_OPEN if settings.metrics_require_auth else ALWAYS_OPEN | {"/metrics"}
        open_paths |= playground.open_paths(settings)
        app.add_middleware(ApiKeyMiddleware, keys=keys, open_paths=open_paths)
    # Each middleware added runs before the ones added earlier: request id and access log
    # first (every answer carries an id and is logged), then the raw-request limits, then the
    # drain (503 once shutting down), then the API key.
    app.add_middleware(DrainMiddleware, drain=app.state.drain)
    app.add_middleware(RequestGuardMiddleware, limits=settings.limits)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    playground.install_cors(app, settings)  # outermost: answers preflights before the key check
    for router in _routers():
        app.include_router(router)
    playground.install_playground(app, settings)
    install_openapi(app)
    return app


def _routers() -> list[APIRouter]:
    from server.api.routes import completions, tokenize

    routers = [health.router, models.router, completions.router, tokenize.router]
    try:
        from server.api.routes import encoders
    except ImportError:  # the encoder endpoints are optional while being built
        return routers
    return [*routers, encoders.router]
