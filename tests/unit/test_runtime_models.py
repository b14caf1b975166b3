"""Runtime models over a fake store and fake models: validation, the served set, removal,
and replicas following the stored set."""

from __future__ import annotations

from typing import Any

import pytest

from server.core.errors import InvalidRequest, ModelNotFound
from server.core.metrics import Metrics
from server.core.registry import ModelRegistry
from server.core.settings import Settings
from server.runtime.service import ModelConflict, ModelService, parse_entry

FILE_MODEL = {"name": "file-model", "task": "embed", "source": "bundled:x"}


class _Store:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[dict[str, Any], float]] = {}
        self.clock = 0.0

    async def put(self, name: str, config: dict[str, Any]) -> Any:
        self.clock += 1
        self.rows[name] = (config, self.clock)
        return type("Row", (), {"created_at": self.clock})()

    async def delete(self, name: str) -> bool:
        return self.rows.pop(name, None) is not None

    async def listing(self) -> dict[str, tuple[dict[str, Any], float]]:
        return dict(self.rows)


class _Model:
    def __init__(self, config: Any, fails: bool) -> None:
        self.name, self.task, self.created = config.name, config.task, 0
        self.fails, self.ready, self.stopped = fails, False, False

    async def start(self) -> None:
        if self.fails:
            raise OSError("weights not found")
        self.ready = True

    async def stop(self) -> None:
        self.stopped = True


def _service(store: _Store, broken: set[str] | None = None) -> ModelService:
    settings = Settings(models=[FILE_MODEL])  # type: ignore[list-item]
    registry = ModelRegistry()
    made: list[_Model] = []

    def factory(config: Any, _s: Any, _m: Any) -> Any:
        made.append(_Model(config, config.name in (broken or set())))
        return made[-1]

    service = ModelService(registry, store, settings, Metrics(), factory)  # type: ignore[arg-type]
    registry.add(_Model(parse_entry(FILE_MODEL), False))
    return service


def test_an_entry_is_validated_as_the_file_does() -> None:
    with pytest.raises(InvalidRequest, match="task"):
        parse_entry({"name": "m", "task": "dance", "source": "bundled:x"})
    with pytest.raises(InvalidRequest, match="workers"):
        parse_entry({"name": "m", "task": "embed", "source": "bundled:x", "workers": 0})


async def test_add_list_and_remove() -> None:
    store = _Store()
    service = _service(store)
    await service.add({"name": "m", "task": "embed", "source": "bundled:x"})
    assert "m" in service.registry and "m" in store.rows
    states = {row["name"]: (row["origin"], row["state"]) for row in service.listing()}
    assert states == {"file-model": ("config", "loading"), "m": ("runtime", "loaded")}
    with pytest.raises(ModelConflict):
        await service.add({"name": "m", "task": "embed", "source": "bundled:x"})
    with pytest.raises(InvalidRequest, match="configuration file"):
        await service.remove("file-model")
    model = service.registry.get("m")
    await service.remove("m")
    assert "m" not in service.registry and model.stopped  # type: ignore[attr-defined]
    with pytest.raises(ModelNotFound):
        await service.remove("m")


async def test_a_model_that_fails_to_load_is_a_400_and_stored_nowhere() -> None:
    store = _Store()
    service = _service(store, broken={"bad"})
    with pytest.raises(InvalidRequest, match="failed to load: weights not found"):
        await service.add({"name": "bad", "task": "embed", "source": "bundled:x"})
    assert "bad" not in service.registry and store.rows == {}


async def test_replicas_follow_the_stored_set_and_report_what_they_cannot_load() -> None:
    store = _Store()
    one, two = _service(store), _service(store, broken={"b"})
    await one.add({"name": "a", "task": "embed", "source": "bundled:x"})
    await one.add({"name": "b", "task": "embed", "source": "bundled:x"})
    await two.sync()
    assert "a" in two.registry and "b" not in two.registry
    assert "weights not found" in two.registry.failed["b"]
    await one.remove("a")
    await two.sync()
    assert "a" not in two.registry
