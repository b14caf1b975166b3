"""``create_app(settings)``: wires settings -> core objects -> middleware and routers.

Models are built (cheaply) when the app starts and loaded in a background task, so that
``/health`` answers at once and ``/ready`` turns 200 only when every model is loaded. A model
that fails to load is fatal: the process exits non-zero so its supervisor can restart it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from server import playground
from server.adapters.router import ADMIN_PATHS, adapters_router
from server.adapters.service import AdapterService
from server.admin.router import admin_router
from server.batches.wiring import build_batch_api
from server.core.lifecycle import Lifecycle
from server.core.metrics import Metrics
from server.core.registry import HasAdapters, ModelRegistry, ServedModel
from server.core.settings import EncoderModelConfig, GenerateModelConfig, Settings
from server.core.supervisor import load_and_watch, stop_all
from server.encoders.router import encoder_lane, encoders_router
from server.generation.messages.router import messages_router
from server.generation.responses.router import responses_router
from server.generation.responses.service import ResponsesService
from server.generation.router import generation_router
from server.http import probes
from server.http.auth import ApiKeyMiddleware
from server.http.cors import install_cors
from server.http.drain import DrainMiddleware
from server.http.errors import install_error_handlers
from server.http.fast_lane import FastLaneMiddleware
from server.http.guard import RequestGuardMiddleware
from server.http.key_limits import KeyLimitsMiddleware
from server.http.models import models_router
from server.http.openapi import install_openapi
from server.http.request_context import RequestContextMiddleware
from server.keys.service import KeyService
from server.runtime.keep_alive import KeepAlive
from server.runtime.router import runtime_models_router
from server.runtime.service import ModelService
from server.state import ServerState, attach_state
from server.store.adapters import AdapterStore
from server.store.database import Database
from server.store.keys import KeyStore
from server.store.models import ModelStore
from server.store.responses import ResponseStore
from server.tasks.router import tasks_router

ModelConfig = GenerateModelConfig | EncoderModelConfig
ModelFactory = Callable[[ModelConfig, Settings, Metrics], ServedModel]


def build_model(config: ModelConfig, settings: Settings, metrics: Metrics) -> ServedModel:
    """The served model for one config entry (nothing heavy is loaded until it starts)."""
    if isinstance(config, GenerateModelConfig):
        from server.generation.model import GenerationModel

        return GenerationModel(config, settings, metrics)
    from server.encoders.model import EncoderModel

    return EncoderModel(config, settings, metrics)


def _signal_self_to_stop() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


def create_app(
    settings: Settings,
    *,
    model_factory: ModelFactory = build_model,
    on_fatal: Callable[[], None] = _signal_self_to_stop,
) -> FastAPI:
    """The application for ``settings``; nothing is loaded until its lifespan starts."""
    state = ServerState(
        settings=settings,
        metrics=Metrics(),
        registry=ModelRegistry(),
        lifecycle=Lifecycle(settings.drain_timeout_s, on_fatal),
        store=Database(settings.store),
    )
    owner = uuid.uuid4().hex
    responses = ResponsesService(ResponseStore(state.store, owner=owner))
    # The Batch API: files, batch jobs, and the runner that sends their lines to this app.
    batches = build_batch_api(state, owner)
    keys = KeyService(
        KeyStore(state.store),
        settings.keys,
        state.metrics,
        settings.accepted_api_keys(),
        batches.internal_key,
    )

    adapters = AdapterService(state.registry, AdapterStore(state.store), settings, state.metrics)

    runtime_models = ModelService(
        state.registry, ModelStore(state.store), settings, state.metrics, model_factory
    )
    keep_alive = KeepAlive(
        state.registry, settings, state.metrics, model_factory, runtime_models.config_of
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for config in settings.models:
            model = model_factory(config, settings, state.metrics)
            state.registry.add(model)
            if isinstance(model, HasAdapters):
                for adapter in model.adapter_models():
                    state.registry.add(adapter)
        opener = asyncio.create_task(state.store.open_when_reachable(), name="store-opener")
        loader = asyncio.create_task(
            load_and_watch(state.registry, state.lifecycle), name="model-loader"
        )
        keys.start()
        responses.background.start_sweeper()
        batches.start(app)
        adapters.start()
        runtime_models.start()
        keep_alive.start()
        try:
            yield
        finally:
            await keep_alive.stop()
            await runtime_models.stop()
            await adapters.stop()
            await batches.stop()
            await keys.stop()
            await responses.background.stop()
            for task in (loader, opener):
                task.cancel()
            await asyncio.gather(loader, opener, return_exceptions=True)
            await stop_all(state.registry)
            await state.store.close()

    app = FastAPI(
        title="Inference server",
        version="0.1.0",
        description="OpenAI-compatible API for vLLM generation and Transformers encoders.",
        lifespan=lifespan,
    )
    attach_state(app, state)
    install_error_handlers(app)
    open_paths = probes.PROBE_PATHS
    if settings.metrics_require_auth:
        open_paths = open_paths - {probes.METRICS_PATH}
    open_paths |= playground.open_paths(settings)
    # The hot encoder endpoints, innermost: past every check below, before FastAPI's router.
    app.add_middleware(FastLaneMiddleware, routes=encoder_lane(state.registry, settings.limits))
    # Limits and usage run inside the key check, which sets the request's key.
    app.add_middleware(KeyLimitsMiddleware, limiter=keys.limiter, usage=keys)
    app.add_middleware(
        ApiKeyMiddleware,
        ring=keys,
        open_paths=open_paths,
        admin_key=settings.admin_key,
        admin_paths=ADMIN_PATHS,
    )
    # Each middleware added runs before the ones added earlier: request id and access log
    # first (every answer carries an id and is logged), then the raw-request limits, then the
    # drain (503 once shutting down), then the API key, then the key's limits.
    app.add_middleware(DrainMiddleware, drain=state.lifecycle.drain)
    app.add_middleware(
        RequestGuardMiddleware, limits=settings.limits, streamed_paths=batches.streamed_paths
    )
    app.add_middleware(RequestContextMiddleware, metrics=state.metrics)
    install_cors(app, settings)  # outermost: answers preflights before the key check
    registry, limits = state.registry, settings.limits
    routers = [
        probes.probes_router(state.lifecycle, registry, state.store, state.metrics),
        models_router(registry, settings.owned_by),
        generation_router(registry, limits),
        responses_router(responses, registry),
        messages_router(registry, limits),
        encoders_router(registry, limits),
        tasks_router(registry, limits),
        batches.router,
    ]
    if settings.admin_key:
        routers += [
            admin_router(keys),
            adapters_router(adapters),
            runtime_models_router(runtime_models),
        ]
    for router in routers:
        app.include_router(router)
    playground.install_playground(app, settings)
    install_openapi(app)
    return app
