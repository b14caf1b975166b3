"""Runtime adapters: load on this replica and record in the store; follow the store.

A load is tried here first: an adapter that does not fit (missing files, rank over the
limit, another base model) is a 400 and nothing is stored. Every ``interval_s`` each replica
reads the stored set and loads or unloads to match it; one it cannot load is reported
(``registry.failed``, the ``adapter_load_failed`` metric) and the rest are served.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from server.adapters.archive import unpack
from server.core.errors import InvalidRequest, ModelNotFound
from server.core.metrics import Metrics
from server.core.registry import ModelRegistry
from server.core.settings import AdapterConfig, Settings
from server.core.store_sync import StoreSync
from server.generation.model import AdapterModel, GenerationModel
from server.store.adapters import AdapterStore

log = logging.getLogger("server.adapters")

SYNC_INTERVAL_S = 2.0


class AdapterService:
    """The runtime adapters of one replica."""

    def __init__(
        self,
        registry: ModelRegistry,
        store: AdapterStore,
        settings: Settings,
        metrics: Metrics,
        interval_s: float = SYNC_INTERVAL_S,
    ) -> None:
        self.registry = registry
        self.store = store
        self.settings = settings
        self.metrics = metrics
        self._follower = StoreSync(
            "runtime adapters",
            self.sync,
            lambda: self.store.db.is_open,
            registry.pending,
            interval_s,
        )
        self.loaded: dict[str, float] = {}  # runtime adapter -> its stored created_at
        self._lock = asyncio.Lock()

    # --- the API ----------------------------------------------------------------------------

    async def base_model(self, name: str | None) -> GenerationModel:
        """The generative model an adapter goes on: ``name``, or the only one there is; one
        unloaded after its keep_alive is loaded again first (503 while that takes long)."""
        bases = {
            m.name: m
            for m in self.registry.listed()
            if isinstance(m, GenerationModel) and m.parent is None
        }
        if name is None:
            if len(bases) != 1:
                raise InvalidRequest(
                    "several generative models are served: name the adapter's base in 'model'",
                    param="model",
                )
            (name,) = bases
        if name not in bases:
            raise InvalidRequest(f"no generative model named '{name}' is served", param="model")
        await self.registry.wake(name)
        base = self.registry.get(name)
        assert isinstance(base, GenerationModel)
        return base

    async def load(
        self, name: str, model: str | None, path: str | None, archive: bytes | None = None
    ) -> None:
        """Serve adapter ``name`` here, then record it for every replica (400 if it is bad,
        and then nothing changes)."""
        base = await self.base_model(model)
        async with self._lock:
            if name in self.registry:
                raise InvalidRequest(
                    f"the name '{name}' is already served: unload it first", param="lora_name"
                )
            await self._load_here(name, base, path, archive)
            try:
                row = await self.store.put(name, base.name, path, archive)
            except BaseException:
                await self._unload_here(name)
                raise
            self.loaded[name] = row.created_at

    async def unload(self, name: str) -> None:
        """Stop serving runtime adapter ``name`` here and on every replica (404 if none)."""
        async with self._lock:
            stored = await self.store.delete(name)
            if name not in self.loaded and not stored:
                raise ModelNotFound(name)
            await self._unload_here(name)

    # --- this replica -----------------------------------------------------------------------

    async def _load_here(
        self, name: str, base: GenerationModel, path: str | None, archive: bytes | None
    ) -> None:
        if archive is not None:
            path = await asyncio.to_thread(unpack, archive)
        if path is None:
            raise InvalidRequest("'lora_path' is required", param="lora_path")
        # Not validated here: a missing folder is the adapter check's 400, not a config error.
        config = AdapterConfig.model_construct(name=name, source=path)
        adapter = AdapterModel(config, base, self.settings, self.metrics)
        await adapter.start()  # InvalidAdapter (400) when it does not fit
        self.registry.add(adapter)

    async def _unload_here(self, name: str) -> None:
        self.loaded.pop(name, None)
        self.registry.failed.pop(name, None)
        asleep = name in self.registry.asleep  # stopped already, with its idle base
        with contextlib.suppress(ModelNotFound):
            model = self.registry.remove(name)
            if not asleep:
                await model.stop()

    async def sync(self) -> None:
        """Load and unload here to match the stored set."""
        async with self._lock:  # read under the lock: a load or removal may be under way
            desired = await self.store.listing()
            for name in [n for n in self.loaded if n not in desired]:
                log.info("adapter %s: unloaded (removed from the store)", name)
                await self._unload_here(name)
            for name, (model, path, created) in desired.items():
                if self.loaded.get(name) == created:
                    continue
                if name in self.loaded:  # replaced by a newer one of that name
                    await self._unload_here(name)
                await self._follow(name, model, path, created)

    async def _follow(self, name: str, model: str, path: str | None, created: float) -> None:
        if model in self.registry.asleep:
            return  # its base is unloaded here (keep_alive): loaded once the base is back
        try:
            base = await self.base_model(model)
            await base.wait_started()
            archive = await self.store.archive(name)
            await self._load_here(name, base, path, archive)
        except Exception as exc:
            if self.registry.failed.get(name) != str(exc):
                log.error("adapter %s: cannot be loaded here: %s", name, exc)
            self.registry.failed[name] = str(exc)
            self.metrics.adapter_load_failed.labels(name).set(1)
            return
        self.loaded[name] = created
        self.registry.failed.pop(name, None)
        self.metrics.adapter_load_failed.labels(name).set(0)
        log.info("adapter %s: loaded on %s from the store", name, model)

    # --- the loop ---------------------------------------------------------------------------

    def start(self) -> None:
        self._follower.start()

    async def stop(self) -> None:
        await self._follower.stop()
