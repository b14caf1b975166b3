"""``keep_alive``: a model idle that long is unloaded, and loaded again on demand.

Every second the models with a ``keep_alive`` are checked: one that nobody asked for (nor for
any of its adapters) in that many seconds, with nothing in flight, is moved out of the served
set (``/v1/models`` lists it as ``unloaded``) and stopped, its adapters with it, which frees its
engine or workers. The next request naming it (or one of its adapters) loads a new one from
the same config entry, and waits for it up to ``load_wait_s``; after that it is a 503 with
Retry-After while the load goes on (``loading``). Requests that come meanwhile wait for the
same load.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from server.core.errors import Unavailable
from server.core.metrics import Metrics
from server.core.registry import ModelRegistry, ServedModel
from server.core.settings import Settings
from server.runtime.service import ModelFactory, finish, in_flight

log = logging.getLogger("server.runtime")

CHECK_INTERVAL_S = 1.0
RETRY_AFTER_S = 5


class KeepAlive:
    """Unloads idle models of one replica and loads them again on demand."""

    def __init__(
        self,
        registry: ModelRegistry,
        settings: Settings,
        metrics: Metrics,
        factory: ModelFactory,
        config_of: Callable[[str], Any | None],
        interval_s: float = CHECK_INTERVAL_S,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.metrics = metrics
        self.factory = factory
        self.config_of = config_of  # a model's config entry by name (None: not a model)
        self.interval_s = interval_s
        self._loaded_at: dict[str, float] = {}
        self._loads: dict[str, asyncio.Task[None]] = {}
        self._task: asyncio.Task[None] | None = None
        registry.waker = self.wake

    # --- unloading --------------------------------------------------------------------------

    async def check(self) -> None:
        """Unload every model idle past its keep_alive."""
        now = time.monotonic()
        for model in self.registry:
            keep_alive = getattr(getattr(model, "config", None), "keep_alive", None)
            if keep_alive is None or getattr(model, "parent", None) or not model.ready:
                continue
            group = self._group(model.name)
            loaded = self._loaded_at.setdefault(model.name, now)
            last = max([loaded, *(self.registry.used.get(m.name, 0.0) for m in group)])
            if now - last >= keep_alive and not any(in_flight(m) for m in group):
                await self.unload(model.name)

    def _group(self, name: str) -> list[ServedModel]:
        """The served model ``name`` and its adapters."""
        found = [self.registry.get(name)]
        return found + [m for m in self.registry if getattr(m, "parent", None) == name]

    async def unload(self, name: str) -> None:
        group = self._group(name)
        self.registry.sleep(group)
        self._loaded_at.pop(name, None)
        await finish(group, self.settings.drain_timeout_s)
        for model in reversed(group):
            try:
                await model.stop()
            except Exception:
                log.exception("model %s: stopping it failed", model.name)
        log.info("model %s: unloaded after %s s idle", name, group[0].config.keep_alive)  # type: ignore[attr-defined]

    # --- loading on demand ------------------------------------------------------------------

    async def wake(self, name: str) -> None:
        """Load ``name`` (or the model it is an adapter of) again; wait up to
        ``load_wait_s``, then 503 with Retry-After while the load goes on."""
        sleeping = self.registry.asleep.get(name)
        if sleeping is None:
            return
        base = getattr(sleeping, "parent", None) or name
        load = self._loads.get(base)
        if load is None:
            load = asyncio.create_task(self._load(base), name=f"load-{base}")
            self._loads[base] = load
        try:
            await asyncio.wait_for(asyncio.shield(load), self.settings.load_wait_s)
        except TimeoutError:
            raise Unavailable(
                f"model '{name}' is loading again after being idle: retry shortly",
                retry_after_s=RETRY_AFTER_S,
            ) from None
        except Exception as exc:
            raise Unavailable(
                f"model '{name}' could not be loaded again: {exc}", retry_after_s=RETRY_AFTER_S
            ) from None

    async def _load(self, base: str) -> None:
        asleep = [m for m in self.registry.asleep.values() if m.name == base]
        asleep += [m for m in self.registry.asleep.values() if getattr(m, "parent", None) == base]
        names = {m.name for m in asleep}
        self.registry.waking |= names
        started = time.monotonic()
        try:
            config = self.config_of(base)
            if config is None:
                raise RuntimeError("its config entry is gone")
            model = self.factory(config, self.settings, self.metrics)
            make = getattr(model, "adapter_model", None)
            adapters = [
                make(old.adapter)
                for old in asleep
                if make and old.name != base and hasattr(old, "adapter")
            ]
            try:
                await model.start()
                for adapter in adapters:
                    await adapter.start()
            except BaseException:
                with contextlib.suppress(Exception):
                    await model.stop()
                raise
            if base in self.registry.asleep:  # not removed meanwhile
                # Adapters unloaded while their base was loading stay unloaded.
                gone = [a for a in adapters if a.name not in self.registry.asleep]
                for adapter in gone:
                    await adapter.stop()
                self.registry.woken([model, *(a for a in adapters if a not in gone)])
                self._loaded_at[base] = time.monotonic()
                log.info("model %s: loaded again in %.1f s", base, time.monotonic() - started)
            else:
                await model.stop()
        except Exception:
            log.exception("model %s: loading it again failed", base)
            raise
        finally:
            self.registry.waking -= names
            self._loads.pop(base, None)

    # --- the loop ---------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="keep-alive")

    async def stop(self) -> None:
        for task in [self._task, *self._loads.values()]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.check()
            except Exception:
                log.exception("keep_alive check failed")
