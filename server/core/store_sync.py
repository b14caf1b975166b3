"""``StoreSync``: a replica's loop that follows a set kept in the shared store.

Runtime models and runtime adapters are recorded in the store; every replica runs one loop
per set that calls the set's ``sync()`` every ``interval_s`` while the store is open. Until
the first pass has run, the registry's ``pending`` holds the loop's label (the server is not
ready before it) and passes come every 0.1 s. A failed pass is logged and tried again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("server.store_sync")

FIRST_PASS_RETRY_S = 0.1


class StoreSync:
    """Calls ``sync`` every ``interval_s`` while ``store_open()``; see the module docstring."""

    def __init__(
        self,
        label: str,
        sync: Callable[[], Awaitable[None]],
        store_open: Callable[[], bool],
        pending: set[str],
        interval_s: float,
    ) -> None:
        self.label = label
        self._sync = sync
        self._store_open = store_open
        self._pending = pending
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._pending.add(self.label)
        self._task = asyncio.create_task(self._run(), name=self.label.replace(" ", "-"))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                if self._store_open():
                    await self._sync()
                    self._pending.discard(self.label)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s: sync failed", self.label)
            first = self.label in self._pending
            await asyncio.sleep(FIRST_PASS_RETRY_S if first else self.interval_s)
