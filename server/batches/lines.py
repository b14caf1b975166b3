"""The line runner: claims lines from the shared queue, runs a bounded number at once, and
commits each result as it finishes (results that finish together share one transaction).

A line is claimed with a lease that a heartbeat renews while it runs; its result is written
only while the claim is still this process's. A process that dies stops renewing: once the
lease runs out, another replica (or this one, restarted) claims the line and runs it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable

from server.batches.dispatch import Dispatcher, Outcome, output_line
from server.core.errors import internal_error_body
from server.core.metrics import Metrics
from server.core.settings import BatchSettings
from server.store.batches import FAILED, BatchStore, Claimed, LineResult
from server.store.errors import StoreUnavailable

log = logging.getLogger("server.batches")

RETRY_S = 1.0
WRITE_PAGE = 256


# An idle replica looks for work less and less often, up to this many poll intervals apart
# (each look is a store query; on a busy encoder server they cost a few percent of the API
# process for nothing). Work created here wakes it at once; another replica's waits at most
# this long.
IDLE_BACKOFF = 8


def idle_wait(poll_s: float, idle_looks: int) -> float:
    """The wait before the next look after ``idle_looks`` empty ones in a row."""
    return poll_s * min(2 ** min(idle_looks, 3), IDLE_BACKOFF)


class LineRunner:
    """Runs batch lines of every batch in progress, at most ``max_in_flight`` at once."""

    def __init__(
        self,
        store: BatchStore,
        dispatcher: Dispatcher,
        settings: BatchSettings,
        metrics: Metrics,
        may_run: Callable[[], bool],
    ) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.settings = settings
        self.metrics = metrics
        self.may_run = may_run  # models loaded and not draining
        self.wake = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self._results: asyncio.Queue[tuple[LineResult, asyncio.Future[bool]]] = asyncio.Queue()

    @property
    def in_flight(self) -> int:
        return len(self._running)

    async def claim_loop(self) -> None:
        """Claim lines whenever there is room; sleep until a line ends or a batch starts."""
        limit = self.settings.max_in_flight
        # Claim in groups (not one transaction per line) once a quarter of the slots are free.
        threshold = max(1, limit // 4)
        idle = 0  # empty looks in a row with nothing running: each one waits longer
        while True:
            free = limit - len(self._running)
            claimed: list[Claimed] = []
            if free >= threshold and self.may_run():
                with contextlib.suppress(StoreUnavailable):
                    claimed = await self.store.claim_lines(free, self.settings.lease_s)
            for line in claimed:
                task = asyncio.create_task(self._run(line), name=f"batch-line-{line.line}")
                self._running.add(task)
                task.add_done_callback(self._ended)
            idle = 0 if claimed or self._running else idle + 1
            if not claimed or len(self._running) >= limit:
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), idle_wait(self.settings.poll_s, idle))

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self.wake.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("batch line task failed", exc_info=task.exception())

    async def _run(self, line: Claimed) -> None:
        outcome = await self._outcome(line)
        while outcome.retry:
            await asyncio.sleep(RETRY_S)  # overloaded or loading: the claim stays ours
            outcome = await self._outcome(line)
        assert outcome.output is not None
        result = LineResult(line.batch_id, line.line, outcome.state, outcome.output)
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        await self._results.put((result, done))
        if await done:
            self.metrics.batch_lines.labels(line.endpoint, outcome.state).inc()

    async def _outcome(self, line: Claimed) -> Outcome:
        try:
            return await self.dispatcher.run(line)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("batch %s line %d: internal error", line.batch_id, line.line)
            body = json.dumps(internal_error_body())
            return Outcome(False, FAILED, output_line(line.custom_id, 500, "", body))

    async def write_loop(self) -> None:
        """Commit finished lines, those that finished together in one transaction; a store
        fault keeps them (and their claims) until it can write again."""
        while True:
            page = [await self._results.get()]
            written: list[bool] = []
            while not self._results.empty() and len(page) < WRITE_PAGE:
                page.append(self._results.get_nowait())
            while True:
                try:
                    written = await self.store.record([result for result, _ in page])
                    break
                except StoreUnavailable:
                    await asyncio.sleep(RETRY_S)
            for (_, done), ok in zip(page, written, strict=True):
                if not done.done():
                    done.set_result(ok)

    async def stop(self) -> None:
        """Cancel the lines running here and give them back to the queue at once."""
        tasks = list(self._running)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(StoreUnavailable):
            await self.store.release_all()
