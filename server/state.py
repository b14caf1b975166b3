"""The server's state: what ``create_app`` builds once and binds its routers and services to."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI

from server.core.lifecycle import Lifecycle
from server.core.metrics import Metrics
from server.core.registry import ModelRegistry
from server.core.settings import Settings
from server.store.database import Database


@dataclass(frozen=True)
class ServerState:
    """The settings, metrics, served models, lifecycle and database of one server."""

    settings: Settings
    metrics: Metrics
    registry: ModelRegistry
    lifecycle: Lifecycle
    store: Database


def attach_state(app: FastAPI, state: ServerState) -> None:
    """Keep ``state`` with ``app``, for the process that runs it (the CLI waits on its
    lifecycle) and for tests; request handlers never read it (their routers are bound)."""
    app.state.server = state


def server_state(app: FastAPI) -> ServerState:
    """The state attached by :func:`attach_state`."""
    state: ServerState = app.state.server
    return state
