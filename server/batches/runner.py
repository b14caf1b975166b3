"""The background side of batches: validation, the line runner, finalization, heartbeats.

Every replica runs one. Each round it validates the batches nobody holds yet, finalizes the
batches whose lines are all finished (or that were cancelled or ran past their window),
and publishes the gauges. Claims on batches and lines carry leases that a heartbeat renews;
a replica that dies stops renewing, and what it held passes to another one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from server.batches.dispatch import Dispatcher
from server.batches.lines import LineRunner, idle_wait
from server.batches.protocol import STATUSES, batch_error
from server.batches.state import STAMP_OF, final_status
from server.batches.validation import InvalidFile, LineValidator, requests
from server.core.metrics import Metrics
from server.core.settings import BatchSettings
from server.store.batch_files import finalize
from server.store.batches import BatchStore, Counts
from server.store.errors import StoreUnavailable
from server.store.files import FileStore
from server.store.tables import StoredBatch

log = logging.getLogger("server.batches")

# Attempts to write a batch's files before it is failed with the store's message.
FINALIZE_ATTEMPTS = 3
# How often uploads a dead server left unfinished are looked for.
PURGE_EVERY_S = 600.0


class BatchRunner:
    """Runs every batch of the shared queue that this process takes part in."""

    def __init__(
        self,
        store: BatchStore,
        files: FileStore,
        dispatcher: Dispatcher,
        settings: BatchSettings,
        metrics: Metrics,
        may_run: Callable[[], bool],
    ) -> None:
        self.store = store
        self.files = files
        self.settings = settings
        self.metrics = metrics
        self.lines = LineRunner(store, dispatcher, settings, metrics, may_run)
        self._round_wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._held: set[str] = set()  # batches validated or finalized here now
        self._seen: set[str] = set()  # active batches already logged
        self._failures: dict[str, int] = {}

    def start(self) -> None:
        loops = {
            "batch-claims": self.lines.claim_loop(),
            "batch-results": self.lines.write_loop(),
            "batch-rounds": self._rounds(),
            "batch-heartbeat": self._heartbeat(),
        }
        self._tasks = [asyncio.create_task(c, name=n) for n, c in loops.items()]
        for task in self._tasks:
            task.add_done_callback(_surface)

    def wake(self) -> None:
        """A batch was created or cancelled: look now rather than at the next round."""
        self.lines.wake.set()
        self._round_wake.set()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.lines.stop()

    # --- the rounds --------------------------------------------------------------------------

    async def _rounds(self) -> None:
        recovered = False
        purged_at = 0.0
        idle = 0  # rounds in a row with no batch active and no line running
        while True:
            self._round_wake.clear()
            active = True
            try:
                if not recovered:
                    await self._recover()
                    recovered = True
                await self._validate_pending()
                counts = await self._finish_ready()
                await self._publish(counts)
                active = bool(counts) or self.lines.in_flight > 0
                if time.monotonic() - purged_at > PURGE_EVERY_S:
                    purged_at = time.monotonic()
                    if purged := await self.files.purge_stale_uploads():
                        log.info("files: purged %d unfinished uploads", purged)
            except StoreUnavailable:
                pass  # the store's log says why; the next round tries again
            idle = 0 if active else idle + 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._round_wake.wait(), idle_wait(self.settings.poll_s, idle)
                )

    async def _recover(self) -> None:
        # On SQLite only this process uses the database: whatever a previous run held (the
        # lines in flight when it stopped) is given back now instead of after the lease.
        if self.store.database.dialect == "sqlite":
            released = await self.store.release_all(everyone=True)
            if released:
                log.info("batches: %d lines in flight when the server stopped run again", released)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.settings.lease_s / 3)
            with contextlib.suppress(StoreUnavailable):
                await self.store.renew_lines(self.settings.lease_s)
                for batch_id in list(self._held):
                    await self.store.renew_batch(batch_id, self.settings.lease_s)

    # --- validation --------------------------------------------------------------------------

    async def _validate_pending(self) -> None:
        for row in await self.store.claim_batches(("validating",), self.settings.lease_s):
            self._held.add(row.id)
            try:
                await self._validate(row)
            finally:
                self._held.discard(row.id)

    async def _validate(self, row: StoredBatch) -> None:
        if await self.files.get(row.input_file_id) is None:
            error = batch_error("invalid_file", f"the input file {row.input_file_id} was deleted")
            await self._fail(row.id, ("validating",), [error])
            return
        validator = LineValidator(row.endpoint, self.settings.max_lines)
        lines = requests(self.files.chunks(row.input_file_id), validator)
        try:
            started = await self.store.start(row.id, lines, {"in_progress_at": int(time.time())})
        except InvalidFile as invalid:
            await self._fail(row.id, ("validating",), invalid.result.errors)
            log.info("batch %s: failed validation (%d errors)", row.id, invalid.result.error_count)
            return
        if started:
            self._seen.add(row.id)
            count = validator.result.requests
            log.info("batch %s: started, %d requests to %s", row.id, count, row.endpoint)
            self.lines.wake.set()

    async def _fail(
        self, batch_id: str, only_from: tuple[str, ...], errors: list[dict[str, Any]]
    ) -> None:
        stamps = {"failed_at": int(time.time()), "errors": {"object": "list", "data": errors}}
        await self.store.transition(
            batch_id, "failed", only_from, stamps=stamps, require_owner=True
        )

    # --- finalization ------------------------------------------------------------------------

    async def _finish_ready(self) -> dict[str, Counts]:
        """Finalize the batches that are over; the line counts of those still active."""
        # A batch whose finalizer died mid-way: its files were never written (one transaction).
        for row in await self.store.claim_batches(("finalizing",), self.settings.lease_s):
            await self._write(row.id, "completed", "finalizing")
        active = await self.store.active()
        counts = await self.store.counts([row.id for row in active])
        now = time.time()
        for row in active:
            found = counts.get(row.id, Counts())
            self._log_resumed(row, found)
            final = final_status(row.status, found, row.expires_at, now)
            if final is None:
                continue
            status = "finalizing" if final == "completed" else row.status
            stamps = {"finalizing_at": int(now)} if final == "completed" else {}
            held = await self.store.transition(
                row.id,
                status,
                (row.status,),
                stamps=stamps,
                owner=self.store.owner,
                lease_s=self.settings.lease_s,
                unheld=True,
            )
            if held is not None:
                await self._write(row.id, final, status)
        return counts

    def _log_resumed(self, row: StoredBatch, counts: Counts) -> None:
        if row.id in self._seen:
            return
        self._seen.add(row.id)
        finished = counts.done + counts.failed
        if finished:
            log.info(
                "batch %s: resumed, %d of %d requests finished, %d left",
                row.id,
                finished,
                counts.total,
                counts.total - finished,
            )

    async def _write(self, batch_id: str, final: str, status: str) -> None:
        """Write the files and the final status; after repeated store faults, fail the batch
        with the store's message (its finished lines are kept, none is reported lost)."""
        self._held.add(batch_id)
        try:
            stamps = {STAMP_OF[final]: int(time.time())}
            row = await finalize(self.store.database, batch_id, self.store.owner, final, stamps)
        except StoreUnavailable as exc:
            attempts = self._failures[batch_id] = self._failures.get(batch_id, 0) + 1
            log.warning("batch %s: could not write its files (%s)", batch_id, exc.message)
            if attempts >= FINALIZE_ATTEMPTS:
                message = f"the batch's output files could not be stored: {exc.message}"
                error = batch_error("output_write_failed", message)
                with contextlib.suppress(StoreUnavailable):
                    await self._fail(batch_id, (status,), [error])
                    log.error("batch %s: failed: %s", batch_id, message)
                    self._failures.pop(batch_id, None)
            return
        finally:
            self._held.discard(batch_id)
        self._failures.pop(batch_id, None)
        if row is not None:
            log.info("batch %s: %s", batch_id, final)

    async def _publish(self, counts: dict[str, Counts]) -> None:
        by_status = await self.store.status_counts()
        for status in STATUSES:
            self.metrics.batches.labels(status).set(by_status.get(status, 0))
        self.metrics.batch_lines_queued.set(sum(c.queued for c in counts.values()))


def _surface(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("batch loop %s stopped", task.get_name(), exc_info=task.exception())
