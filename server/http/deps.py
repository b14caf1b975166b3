"""FastAPI dependencies: typed access to the server's state and the request's info.

The :class:`ServerState` is attached to the app once, by ``create_app``; handlers get its
parts through these dependencies, never from ``app.state`` directly. They are ``async def``
on purpose: FastAPI runs a plain ``def`` dependency in a worker thread, a thread hand-off per
dependency per request that costs more than the lookup.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request

from server.core.context import RequestInfo
from server.core.lifecycle import Lifecycle
from server.core.metrics import Metrics
from server.core.registry import ModelRegistry
from server.core.settings import RequestLimits, Settings
from server.core.state import ServerState
from server.http.request_context import request_info
from server.store.database import Database


def attach_state(app: FastAPI, state: ServerState) -> None:
    """Make ``state`` what this app's dependencies hand out."""
    app.state.server = state


def server_state(app: FastAPI) -> ServerState:
    """The state attached by :func:`attach_state`."""
    state: ServerState = app.state.server
    return state


async def _state(request: Request) -> ServerState:
    return server_state(request.app)


async def _registry(request: Request) -> ModelRegistry:
    return server_state(request.app).registry


async def _metrics(request: Request) -> Metrics:
    return server_state(request.app).metrics


async def _settings(request: Request) -> Settings:
    return server_state(request.app).settings


async def _limits(request: Request) -> RequestLimits:
    return server_state(request.app).settings.limits


async def _lifecycle(request: Request) -> Lifecycle:
    return server_state(request.app).lifecycle


async def _store(request: Request) -> Database:
    return server_state(request.app).store


async def _info(request: Request) -> RequestInfo:
    return request_info(request.scope)


StateDep = Annotated[ServerState, Depends(_state)]
RegistryDep = Annotated[ModelRegistry, Depends(_registry)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]
SettingsDep = Annotated[Settings, Depends(_settings)]
LimitsDep = Annotated[RequestLimits, Depends(_limits)]
LifecycleDep = Annotated[Lifecycle, Depends(_lifecycle)]
StoreDep = Annotated[Database, Depends(_store)]
InfoDep = Annotated[RequestInfo, Depends(_info)]
