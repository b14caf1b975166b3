"""Load every served model, then watch their health; either failure is fatal."""

from __future__ import annotations

import asyncio
import logging

from server.core.heap import freeze_startup_heap
from server.core.lifecycle import Lifecycle
from server.core.registry import ModelRegistry

log = logging.getLogger("server.supervisor")

WATCHDOG_INTERVAL_S = 1.0


async def load_and_watch(registry: ModelRegistry, lifecycle: Lifecycle) -> None:
    """Start every model; then, every second, fail the server if a model went bad."""
    try:
        await asyncio.gather(*(model.start() for model in registry))
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.exception("a model failed to load")
        lifecycle.fail(f"model loading failed: {exc}")
        return
    frozen = freeze_startup_heap()
    log.info("all %d models loaded (%d startup objects frozen)", len(registry), frozen)
    while True:
        await asyncio.sleep(WATCHDOG_INTERVAL_S)
        for model in registry:
            if not model.healthy:
                lifecycle.fail(f"the engine of model '{model.name}' died")
                return


async def stop_all(registry: ModelRegistry) -> None:
    """Stop every model; a failure to stop one is logged and does not stop the others."""
    results = await asyncio.gather(*(m.stop() for m in registry), return_exceptions=True)
    for model, result in zip(registry, results, strict=True):
        if isinstance(result, BaseException):
            log.error("stopping model %s failed: %r", model.name, result)
