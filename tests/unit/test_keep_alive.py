"""keep_alive over fake models: an idle model is unloaded (its adapters with it), listed as
unloaded, loaded again by the next request naming it, which waits up to ``load_wait_s`` and
then gets a 503 with Retry-After while the load goes on."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from server.core.errors import Unavailable
from server.core.metrics import Metrics
from server.core.registry import ModelRegistry
from server.core.settings import Settings
from server.runtime.keep_alive import RETRY_AFTER_S, KeepAlive
from server.runtime.service import parse_entry

IDLE = {"name": "idle", "task": "embed", "source": "bundled:x", "keep_alive": 5}
KEPT = {"name": "kept", "task": "embed", "source": "bundled:x"}


class _Model:
    def __init__(self, config: Any, load_s: float = 0.0, parent: str | None = None) -> None:
        self.config, self.load_s, self.parent = config, load_s, parent
        self.name, self.task, self.created = config.name, config.task, 0
        self.ready, self.stopped = False, False

    async def start(self) -> None:
        await asyncio.sleep(self.load_s)
        self.ready = True

    async def stop(self) -> None:
        self.ready, self.stopped = False, True

    def adapter_model(self, adapter: Any) -> _Model:
        return _Model(type("A", (), {"name": adapter, "task": "embed"})(), parent=self.name)


class _Adapter(_Model):
    def __init__(self, base: _Model) -> None:
        super().__init__(type("A", (), {"name": "idle-lora", "task": "embed"})(), parent=base.name)
        self.adapter = "idle-lora"


def _setup(load_s: float = 0.0, wait_s: float = 5.0) -> tuple[KeepAlive, list[_Model]]:
    settings = Settings(models=[IDLE, KEPT], load_wait_s=wait_s)  # type: ignore[list-item]
    registry = ModelRegistry()
    made: list[_Model] = []

    def factory(config: Any, _s: Any, _m: Any) -> Any:
        made.append(_Model(config, load_s))
        return made[-1]

    def config_of(name: str) -> Any:
        return next((c for c in settings.models if c.name == name), None)

    keep = KeepAlive(registry, settings, Metrics(), factory, config_of)
    for entry in (IDLE, KEPT):
        model = _Model(parse_entry(entry))
        model.ready = True
        registry.add(model)
    adapter = _Adapter(registry.get("idle"))  # type: ignore[arg-type]
    adapter.ready = True
    registry.add(adapter)
    return keep, made


async def _idle_for(keep: KeepAlive, seconds: float) -> None:
    await keep.check()  # the first check notes when the models were loaded
    for name in keep._loaded_at:
        keep._loaded_at[name] -= seconds
    await keep.check()


async def test_a_model_idle_past_its_keep_alive_is_unloaded_with_its_adapters() -> None:
    keep, _ = _setup()
    registry = keep.registry
    old = registry.get("idle")
    await _idle_for(keep, 4)
    assert "idle" in registry  # not yet
    registry.used["idle"] = time.monotonic() - 10
    registry.used["idle-lora"] = time.monotonic() - 1  # its adapter was used: kept
    await keep.check()
    assert "idle" in registry
    registry.used["idle-lora"] = time.monotonic() - 10
    await _idle_for(keep, 10)
    assert "idle" not in registry and "idle-lora" not in registry
    assert old.stopped and registry.asleep["idle"] is old  # type: ignore[attr-defined]
    assert registry.state(old) == "unloaded" and registry.state(registry.get("kept")) == "loaded"
    assert {m.name for m in registry.listed()} == {"idle", "idle-lora", "kept"}
    assert registry.ready  # an unloaded model does not make the server unready
    with pytest.raises(Unavailable):
        registry.lookup("idle", _Model, "embed")


async def test_a_request_loads_it_again_and_waits_for_it() -> None:
    keep, made = _setup(load_s=0.05)
    await _idle_for(keep, 10)
    await keep.registry.wake("idle-lora")  # an adapter's request loads its base too
    model = keep.registry.lookup("idle", _Model, "embed")
    assert model is made[0] and model.ready
    adapter = keep.registry.lookup("idle-lora", _Model, "embed")
    assert adapter.parent == "idle" and adapter.ready and not keep.registry.asleep


async def test_past_load_wait_s_it_is_a_503_with_retry_after_and_the_load_goes_on() -> None:
    keep, made = _setup(load_s=0.3, wait_s=0.05)
    await _idle_for(keep, 10)
    with pytest.raises(Unavailable) as refused:
        await keep.registry.wake("idle")
    assert refused.value.retry_after_s == RETRY_AFTER_S
    assert keep.registry.state(keep.registry.get("idle")) == "loading"
    with pytest.raises(Unavailable):  # a second request joins the same load
        await keep.registry.wake("idle")
    await asyncio.sleep(0.5)
    assert len(made) == 1 and keep.registry.lookup("idle", _Model, "embed") is made[0]


async def test_an_adapter_unloaded_while_its_base_loads_again_stays_unloaded() -> None:
    keep, _ = _setup(load_s=0.1)
    await _idle_for(keep, 10)
    waking = asyncio.create_task(keep.registry.wake("idle"))
    await asyncio.sleep(0.03)
    keep.registry.remove("idle-lora")  # DELETE of the adapter meanwhile
    await waking
    assert "idle" in keep.registry and "idle-lora" not in keep.registry
    assert "idle-lora" not in keep.registry.asleep
