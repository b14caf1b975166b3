"""Runtime adapters follow the store: each replica loads what was added, unloads what was
removed, and reports one it cannot load while serving the rest (fakes for the engine)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.adapters.service import AdapterService
from server.core.errors import InvalidRequest
from server.core.metrics import Metrics
from server.core.registry import ModelRegistry
from server.core.settings import Settings
from server.runtime.service import parse_entry
from tests.support.app import FakeGenerationModel
from tests.support.fakes import FakeEngine
from tests.support.metrics import metric_value


class _Store:
    """The stored set (what another replica wrote)."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, str | None, float]] = {}

    async def listing(self) -> dict[str, tuple[str, str | None, float]]:
        return dict(self.rows)

    async def archive(self, name: str) -> bytes | None:
        return None


class _Base:
    name = "base"

    async def wait_started(self) -> None:
        return None


class _Replica(AdapterService):
    """The service with the engine work replaced by a record of it."""

    def __init__(self, store: _Store, metrics: Metrics) -> None:
        super().__init__(ModelRegistry(), store, None, metrics)  # type: ignore[arg-type]
        self.here: dict[str, str | None] = {}
        self.broken: set[str] = set()

    async def base_model(self, name: str | None) -> Any:
        return _Base()

    async def _load_here(self, name: str, base: Any, path: str | None, archive: Any) -> None:
        if name in self.broken:
            raise InvalidRequest(f"adapter '{name}' does not fit model 'base'")
        self.here[name] = path

    async def _unload_here(self, name: str) -> None:
        self.here.pop(name, None)
        self.loaded.pop(name, None)
        self.registry.failed.pop(name, None)


async def test_replicas_converge_on_the_stored_set() -> None:
    store, metrics = _Store(), Metrics()
    one, two = _Replica(store, metrics), _Replica(store, Metrics())
    store.rows = {"a": ("base", "/a", 1.0), "b": ("base", "/b", 1.0)}
    for replica in (one, two):
        await replica.sync()
        assert replica.here == {"a": "/a", "b": "/b"}
    del store.rows["a"]
    store.rows["b"] = ("base", "/b2", 2.0)  # replaced under the same name
    for replica in (one, two):
        await replica.sync()
        assert replica.here == {"b": "/b2"}
    await one.sync()  # nothing changed: nothing reloaded
    assert one.loaded == {"b": 2.0}


async def test_a_replica_that_cannot_load_one_reports_it_and_serves_the_rest() -> None:
    store, metrics = _Store(), Metrics()
    replica = _Replica(store, metrics)
    replica.broken = {"bad"}
    store.rows = {"bad": ("base", "/x", 1.0), "good": ("base", "/g", 1.0)}
    await replica.sync()
    assert replica.here == {"good": "/g"}
    assert "does not fit" in replica.registry.failed["bad"]
    text = metrics_text(metrics)
    assert metric_value(text, "inference_adapter_load_failed", model="bad") == 1
    replica.broken = set()  # fixed (e.g. the base model is back): loaded on the next sync
    await replica.sync()
    assert replica.here == {"good": "/g", "bad": "/x"}
    assert replica.registry.failed == {}
    assert metric_value(metrics_text(metrics), "inference_adapter_load_failed", model="bad") == 0


class _Stoppable:
    def __init__(self, name: str, parent: str | None = None) -> None:
        self.name, self.parent, self.stops = name, parent, 0

    async def stop(self) -> None:
        self.stops += 1


async def test_an_adapter_whose_base_is_unloaded_is_followed_once_the_base_is_back() -> None:
    """keep_alive unloaded the base here: an adapter another replica added is neither loaded
    nor reported as failed meanwhile; one unloaded meanwhile is not stopped a second time."""
    registry = ModelRegistry()
    service = AdapterService(registry, _Store(), None, Metrics())  # type: ignore[arg-type]
    registry.asleep["base"] = _Stoppable("base")  # type: ignore[assignment]
    await service._follow("new", "base", "/n", 1.0)
    assert "new" not in service.loaded and "new" not in registry.failed
    old = _Stoppable("old", parent="base")
    registry.asleep["old"] = old  # type: ignore[assignment]
    service.loaded["old"] = 1.0
    await service._unload_here("old")  # stopped already, with its base
    assert old.stops == 0 and "old" not in registry.asleep and "old" not in service.loaded


async def test_an_adapter_loaded_onto_an_unloaded_base_loads_the_base_again(
    tmp_path: Path,
) -> None:
    entry = {"name": "base", "task": "generate", "source": str(tmp_path)}
    settings = Settings(models=[entry])  # type: ignore[list-item]
    registry = ModelRegistry()
    config = parse_entry(entry)
    base = FakeGenerationModel(config, settings, Metrics(), engine=FakeEngine())
    registry.asleep["base"] = base
    woken: list[str] = []

    async def waker(name: str) -> None:
        woken.append(name)
        registry.woken([base])

    registry.waker = waker
    service = AdapterService(registry, _Store(), settings, Metrics())  # type: ignore[arg-type]
    assert await service.base_model(None) is base and woken == ["base"]
    with pytest.raises(InvalidRequest, match="no generative model named 'other'"):
        await service.base_model("other")


def metrics_text(metrics: Metrics) -> str:
    from prometheus_client import generate_latest

    return generate_latest(metrics.registry).decode()
