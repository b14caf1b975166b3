"""What every request handler may need, in one typed object built by ``create_app``."""

from __future__ import annotations

from dataclasses import dataclass

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
