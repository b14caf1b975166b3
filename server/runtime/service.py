"""Runtime models: start here and record in the store; follow the store.

An added model is started on the answering replica first: a config entry that does not
validate is a 400, and one that fails to load is recorded nowhere (a 400 naming why). A
removed model leaves the registry at once (new requests: 404), finishes its in-flight
requests, then stops and frees its engine or workers. Every ``interval_s`` each replica loads
and removes models to match the stored set; one it cannot load is reported on ``/ready``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter, ValidationError

from server.core.errors import InvalidRequest, ModelNotFound
from server.core.metrics import Metrics
from server.core.registry import HasAdapters, ModelRegistry, ServedModel
from server.core.settings import ModelConfig, Settings
from server.core.store_sync import StoreSync
from server.store.models import ModelStore

log = logging.getLogger("server.runtime")

SYNC_INTERVAL_S = 2.0
ModelFactory = Callable[[Any, Settings, Metrics], ServedModel]
_ENTRY: TypeAdapter[Any] = TypeAdapter(ModelConfig)


class ModelConflict(InvalidRequest):
    """The name is served already (409)."""

    status = 409

    def __init__(self, name: str) -> None:
        super().__init__(f"a model named '{name}' is served already", param="name", code="conflict")


def parse_entry(entry: dict[str, Any]) -> Any:
    """A config entry as the configuration file takes it; 400 naming the bad field."""
    try:
        return _ENTRY.validate_python(entry)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InvalidRequest(f"{field}: {first['msg']}", param=field or None) from None


class ModelService:
    """The runtime models of one replica."""

    def __init__(
        self,
        registry: ModelRegistry,
        store: ModelStore,
        settings: Settings,
        metrics: Metrics,
        factory: ModelFactory,
        interval_s: float = SYNC_INTERVAL_S,
    ) -> None:
        self.registry = registry
        self.store = store
        self.settings = settings
        self.metrics = metrics
        self.factory = factory
        self._follower = StoreSync(
            "runtime models", self.sync, lambda: self.store.db.is_open, registry.pending, interval_s
        )
        self.configured = {m.name for m in settings.models}
        self.loaded: dict[str, float] = {}  # runtime model -> its stored created_at
        self.entries: dict[str, dict[str, Any]] = {}  # runtime model -> its config entry
        self._lock = asyncio.Lock()

    # --- the API ----------------------------------------------------------------------------

    async def add(self, entry: dict[str, Any]) -> dict[str, Any]:
        config = parse_entry(entry)
        async with self._lock:
            if config.name in self.registry:
                raise ModelConflict(config.name)
            try:
                await self._start_here(config)
            except InvalidRequest:
                raise
            except Exception as exc:
                raise InvalidRequest(
                    f"model '{config.name}' failed to load: {exc}", param="source"
                ) from None
            stored = config.model_dump(mode="json")
            row = await self.store.put(config.name, stored)
            self.loaded[config.name], self.entries[config.name] = row.created_at, stored
            return stored

    async def remove(self, name: str) -> None:
        if name in self.configured:
            raise InvalidRequest(
                f"model '{name}' is in the configuration file: remove it there", param="name"
            )
        async with self._lock:
            stored = await self.store.delete(name)
            if name not in self.loaded and not stored:
                raise ModelNotFound(name)
            await self._stop_here(name)

    def config_of(self, name: str) -> Any | None:
        """The config entry of model ``name``: the file's, or the one it was added with."""
        for config in self.settings.models:
            if config.name == name:
                return config
        entry = self.entries.get(name)
        return parse_entry(entry) if entry is not None else None

    def listing(self) -> list[dict[str, Any]]:
        """Every model, configured and added: its config fields, origin and state."""
        rows: list[dict[str, Any]] = []
        for config in self.settings.models:
            rows.append(self._row(config.model_dump(mode="json"), "config"))
        for entry in self.entries.values():
            rows.append(self._row(entry, "runtime"))
        for name, why in self.registry.failed.items():
            if name not in self.entries and name not in self.configured:
                rows.append({"name": name, "origin": "runtime", "state": "failed", "error": why})
        return rows

    def _row(self, entry: dict[str, Any], origin: str) -> dict[str, Any]:
        name = entry["name"]
        if name in self.registry.failed:
            state = "failed"
        elif name in self.registry or name in self.registry.asleep:
            state = self.registry.state(self.registry.get(name))
        else:
            state = "unloaded"
        return {**entry, "origin": origin, "state": state}

    # --- this replica -----------------------------------------------------------------------

    async def _start_here(self, config: Any) -> None:
        model = self.factory(config, self.settings, self.metrics)
        extra = list(model.adapter_models()) if isinstance(model, HasAdapters) else []
        try:
            await model.start()
            for adapter in extra:
                await adapter.start()
        except BaseException:
            with contextlib.suppress(Exception):
                await model.stop()
            raise
        self.registry.add(model)
        for adapter in extra:
            self.registry.add(adapter)

    async def _stop_here(self, name: str) -> None:
        self.loaded.pop(name, None)
        self.entries.pop(name, None)
        self.registry.failed.pop(name, None)
        asleep = set(self.registry.asleep)  # unloaded after keep_alive: stopped already
        gone: list[ServedModel] = []
        with contextlib.suppress(ModelNotFound):
            gone.append(self.registry.remove(name))
        for model in self.registry.listed():  # its adapters go with it
            if getattr(model, "parent", None) == name:
                gone.append(self.registry.remove(model.name))
        gone = [m for m in gone if m.name not in asleep]
        await finish(gone, self.settings.drain_timeout_s)
        for model in reversed(gone):
            await model.stop()
        log.info("model %s: removed", name)

    async def sync(self) -> None:
        async with self._lock:  # read under the lock: a load or removal may be under way
            desired = await self.store.listing()
            for name in [n for n in self.loaded if n not in desired]:
                await self._stop_here(name)
            for name, (entry, created) in desired.items():
                if self.loaded.get(name) == created or name in self.configured:
                    continue
                if name in self.loaded:
                    await self._stop_here(name)
                try:
                    await self._start_here(parse_entry(entry))
                except Exception as exc:
                    if self.registry.failed.get(name) != str(exc):
                        log.error("model %s: cannot be loaded here: %s", name, exc)
                    self.registry.failed[name] = str(exc)
                    continue
                self.registry.failed.pop(name, None)
                self.loaded[name], self.entries[name] = created, entry

    # --- the loop ---------------------------------------------------------------------------

    def start(self) -> None:
        self._follower.start()

    async def stop(self) -> None:
        await self._follower.stop()
        # The runtime models are in the registry: the server's shutdown stops them.


async def finish(models: list[ServedModel], timeout_s: float) -> None:
    """Wait (up to ``timeout_s``) until ``models`` have no request in flight."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and any(in_flight(m) for m in models):
        await asyncio.sleep(0.1)


def in_flight(model: ServedModel) -> int:
    service = getattr(model, "_service", None)
    count = getattr(service, "in_flight", 0) + getattr(service, "starting", 0)
    return int(count) if isinstance(count, int) else 0
