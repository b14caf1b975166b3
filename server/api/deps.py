"""FastAPI dependencies: typed access to the app's registry, metrics and settings.

They are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in a worker
thread, a thread hand-off per dependency per request that costs more than the lookup.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from server.api.context import RequestInfo, request_info
from server.metrics import Metrics
from server.registry import ModelRegistry
from server.settings import RequestLimits, Settings


async def _registry(request: Request) -> ModelRegistry:
    registry: ModelRegistry = request.app.state.registry
    return registry


async def _metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _limits(request: Request) -> RequestLimits:
    limits: RequestLimits = request.app.state.settings.limits
    return limits


async def _info(request: Request) -> RequestInfo:
    return request_info(request)


RegistryDep = Annotated[ModelRegistry, Depends(_registry)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
SettingsDep = Annotated[Settings, Depends(_settings)]
InfoDep = Annotated[RequestInfo, Depends(_info)]
LimitsDep = Annotated[RequestLimits, Depends(_limits)]
