"""Background responses (``background: true``) and the store's housekeeping.

A background response is stored ``queued`` before the client hears of it, then runs here:
``in_progress`` while it runs (its ``updated_at`` refreshed as a lease), then its final
status. A cancel (from any replica) writes ``cancelled``; the run sees it on its next
heartbeat and stops, and never overwrites it. A response whose server died stops being
refreshed: the sweeper of any replica marks it ``failed`` once its lease ran out, so an
accepted response never stays ``in_progress`` for ever. Expired responses are purged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from server.core.errors import Overloaded, ServerError
from server.store.errors import StoreUnavailable
from server.store.responses import ResponseStore

log = logging.getLogger("server.generation.responses")

HEARTBEAT_S = 5.0
LEASE_S = 30.0
OVERLOADED_RETRY_S = 1.0

Run = Callable[[], Awaitable[Any]]


def _failed(body: dict[str, Any], code: str, message: str) -> dict[str, Any]:
    return body | {"status": "failed", "error": {"code": code, "message": message}}


class BackgroundRuns:
    """The background responses this process runs, and the sweeper of every replica's."""

    def __init__(self, store: ResponseStore) -> None:
        self.store = store
        self._runs: dict[str, asyncio.Task[None]] = {}
        self._sweeper: asyncio.Task[None] | None = None

    def start(
        self, body: dict[str, Any], run: Run, on_end: Callable[[], None] | None = None
    ) -> None:
        """Run a stored ``queued`` response; ``on_end`` is called once it has ended, however
        (done, failed, cancelled)."""
        task = asyncio.create_task(self._run(body, run), name=f"response-{body['id']}")
        self._runs[body["id"]] = task

        def ended(_: asyncio.Task[None]) -> None:
            self._runs.pop(body["id"], None)
            if on_end is not None:
                on_end()

        task.add_done_callback(ended)

    def cancel(self, response_id: str) -> None:
        task = self._runs.get(response_id)
        if task is not None:
            task.cancel()

    async def _run(self, body: dict[str, Any], run: Run) -> None:
        try:
            await self._run_stored(body, run)
        except StoreUnavailable:
            # Its row is no longer refreshed: the sweeper marks it failed after the lease.
            log.warning("background response %s: the store failed under it", body["id"])

    async def _run_stored(self, body: dict[str, Any], run: Run) -> None:
        running = body | {"status": "in_progress"}
        if not await self.store.update(running, only_from=("queued",)):
            return  # cancelled or deleted before it started
        beat = asyncio.create_task(self._heartbeat(body["id"], asyncio.current_task()))
        try:
            final = await self._until_admitted(run)
            await self.store.update(final.model_dump(mode="json"))
        except asyncio.CancelledError:
            raise
        except ServerError as exc:
            await self.store.update(_failed(running, exc.code or exc.error_type, exc.message))
        except Exception:
            log.exception("background response %s failed", body["id"])
            await self.store.update(_failed(running, "server_error", "internal server error"))
        finally:
            beat.cancel()

    async def _until_admitted(self, run: Run) -> Any:
        # A background response waits for room instead of failing on a full queue.
        while True:
            try:
                return await run()
            except Overloaded:
                await asyncio.sleep(OVERLOADED_RETRY_S)

    async def _heartbeat(self, response_id: str, task: asyncio.Task[Any] | None) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                status = await self.store.heartbeat(response_id)
            except StoreUnavailable:
                continue
            if status not in ("queued", "in_progress") and task is not None:
                task.cancel()  # cancelled or deleted, possibly by another replica
                return

    # --- the sweeper -------------------------------------------------------------------------

    def start_sweeper(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep(), name="response-sweeper")

    async def _sweep(self) -> None:
        interval = min(self.store.settings.purge_interval_s, LEASE_S / 2)
        since_purge = float("inf")
        while True:
            try:
                await self._fail_orphans()
                if since_purge >= self.store.settings.purge_interval_s:
                    purged = await self.store.purge_expired()
                    since_purge = 0.0
                    if purged:
                        log.info("purged %d expired responses", purged)
            except StoreUnavailable:
                pass  # the store's own log says why; try again next round
            await asyncio.sleep(interval)
            since_purge += interval

    async def _fail_orphans(self) -> None:
        for row in await self.store.orphans(LEASE_S):
            if row.id in self._runs:
                continue
            message = "the server running this background response stopped before it finished"
            if await self.store.update(_failed(dict(row.body), "server_error", message)):
                log.warning("background response %s: its server stopped; marked failed", row.id)

    async def stop(self) -> None:
        """Stop the sweeper; the responses still running here end ``failed`` (the server is
        stopping), not silently abandoned."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        runs = list(self._runs.items())
        for _, task in runs:
            task.cancel()
        await asyncio.gather(*(t for _, t in runs), return_exceptions=True)
        for response_id, _ in runs:
            row = None
            with contextlib.suppress(StoreUnavailable):
                row = await self.store.get(response_id)
            if row is not None:
                message = "the server stopped before this background response finished"
                with contextlib.suppress(StoreUnavailable):
                    await self.store.update(_failed(dict(row.body), "server_error", message))
        if self._sweeper is not None:
            await asyncio.gather(self._sweeper, return_exceptions=True)
