"""The dynamic batcher: one per encoder model, in the API process.

Requests put their inputs (already tokenized, so their lengths are known) into one queue. A
scheduler task takes a batch when a runner is free and either the batch is full, or its oldest
input has waited ``max_wait_ms``, or no batch runs at all; the runner (the worker pool) runs
it. An idle model does not wait: a lone request would only lose ``max_wait_ms`` for nothing
(under load a batch is running, and the next one fills while it runs). While every runner is
busy, only a full batch is sent ahead (``prefetch``): a partial one keeps filling until a
runner frees up, so that batches grow under load instead of splitting into small ones.
Results go back to each request in its own input order, however its inputs were split.

Several API keys queued at the first priority share the model: the queue gives them turns
(``queue.PendingQueue``) and batches take the inputs in those turns, at most
``shared_batch_size`` of them, so that one key's lone request waits for a short batch, not
behind another key's flood in full-size ones. The model stays shared for ``SHARED_HOLD_S``
after a second key last submitted: a client that sends one request at a time is not queued
between its requests, and full batches sent ahead in that gap would be in front of its next
one.

Each batch asks the model's :class:`~server.encoders.cpu_budget.CpuBudget` whether it runs
``alone`` (nothing else runs or waits: the runner may then give it every core of the model)
and hands the answer to the runner.

Nothing here imports torch: the runner is any :data:`BatchFn` (``async (payloads, alone) ->
results``), so the whole scheduling logic is tested with a fake one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from itertools import islice
from typing import Generic, Protocol, TypeVar

from server.core.errors import InvalidRequest, Overloaded, Unavailable
from server.core.scheduling import QueueOrder, deadline_exceeded
from server.core.settings import BatchingOptions
from server.encoders.batching.policy import padded_tokens, select_batch
from server.encoders.batching.queue import Call, Item, PendingQueue
from server.encoders.cpu_budget import CpuBudget

log = logging.getLogger("server.batching")

P = TypeVar("P")
R = TypeVar("R")

# What runs one batch: ``async (payloads, alone) -> results``, one result per payload.
BatchFn = Callable[[list[P], bool], Awaitable[Sequence[R]]]

# Inputs looked at when choosing a batch: enough to find similar lengths, few enough that
# choosing stays cheap when the queue is long.
_WINDOW_PER_SLOT = 4

# Seconds the model stays shared after inputs of two keys were last submitted (see above).
SHARED_HOLD_S = 2.0


class BatchObserver(Protocol):
    """Receives what the batcher measures (metrics live elsewhere)."""

    def on_batch(self, size: int, padded_tokens: int, tokens: int) -> None:
        """A batch was handed to the runner."""

    def on_queue_wait(self, seconds: float) -> None:
        """An input left the queue after waiting ``seconds``."""

    def on_rejected(self, reason: str) -> None:
        """A request was refused before any of it ran."""


class NullObserver:
    """An observer that records nothing."""

    def on_batch(self, size: int, padded_tokens: int, tokens: int) -> None:
        pass

    def on_queue_wait(self, seconds: float) -> None:
        pass

    def on_rejected(self, reason: str) -> None:
        pass


class DynamicBatcher(Generic[P, R]):
    """Groups concurrent inputs into model batches bounded by size, padded tokens and wait.

    ``concurrency`` is how many batches run at once (the worker count); ``prefetch`` is how
    many full batches per runner may wait ahead, so a runner never idles between two;
    ``budget`` says which batches run alone (shared by the models on one set of cores).
    """

    def __init__(
        self,
        runner: BatchFn[P, R],
        options: BatchingOptions,
        *,
        concurrency: int = 1,
        prefetch: int = 0,
        observer: BatchObserver | None = None,
        name: str = "batcher",
        budget: CpuBudget | None = None,
    ) -> None:
        self._runner = runner
        self._max_size = options.max_batch_size
        self._shared_size = min(options.shared_batch_size, options.max_batch_size)
        self._max_tokens = options.max_batch_tokens
        self._max_wait = options.max_wait_ms / 1000.0
        self._max_queue = options.max_queue
        self._observer: BatchObserver = observer or NullObserver()
        self._name = name
        self._window = max(options.max_batch_size * _WINDOW_PER_SLOT, 64)
        self._runners = concurrency
        self._max_in_flight = concurrency * (1 + prefetch)
        self._in_flight = 0
        self._budget = budget or CpuBudget()  # a model on a GPU: a budget of its own
        self._pending = PendingQueue()
        self._pending_tokens = 0
        self._tenants: dict[str, float] = {}  # key name -> when it last submitted
        self._wake = asyncio.Event()
        self._scheduler: asyncio.Task[None] | None = None
        self._batches: set[asyncio.Task[None]] = set()
        self._waiting_calls = 0
        self._running_calls = 0
        self._closed = False

    # -- gauges -------------------------------------------------------------------------------

    @property
    def queued(self) -> int:
        """Inputs waiting in the queue."""
        return len(self._pending)

    @property
    def waiting_requests(self) -> int:
        """Requests with at least one input still queued."""
        return self._waiting_calls

    @property
    def running_requests(self) -> int:
        """Requests whose inputs are all in running batches."""
        return self._running_calls

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the scheduler task (call from the event loop that will submit)."""
        if self._scheduler is None:
            self._scheduler = asyncio.create_task(self._schedule(), name=f"{self._name}-scheduler")
            self._scheduler.add_done_callback(self._scheduler_done)

    async def close(self) -> None:
        """Refuse new inputs, fail the queued ones and cancel running batches."""
        self._closed = True
        tasks = [t for t in (self._scheduler, *self._batches) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for item in list(self._pending):
            self._fail(item, Unavailable("the model is shutting down"))
        self._pending = PendingQueue()
        self._pending_tokens = 0

    def _scheduler_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            # A bug in the scheduler: say so loudly and stop accepting work that would hang.
            log.error("%s: scheduler crashed", self._name, exc_info=task.exception())
            self._closed = True
            for item in list(self._pending):
                self._fail(item, Unavailable("the batcher stopped; see the server log"))

    # -- submitting ---------------------------------------------------------------------------

    async def submit(
        self, payloads: Sequence[P], lengths: Sequence[int], order: QueueOrder | None = None
    ) -> list[R]:
        """Run every payload (of the given token lengths); results in the same order.

        ``order`` places the inputs in the queue (priority) and bounds their wait (deadline).
        Raises ``Overloaded`` when the queue cannot take them all, ``Unavailable`` when
        closed, ``DeadlineExceeded`` when some had not started by the deadline, and whatever
        the runner raised for a batch holding one of them. Cancelling the caller drops its
        inputs that have not started running.
        """
        order = order or QueueOrder()
        n = len(payloads)
        if n == 0:
            return []
        if self._closed:
            raise Unavailable("the model is shutting down")
        if n > self._max_queue:
            raise InvalidRequest(
                f"too many inputs: {n}, this model queues at most {self._max_queue}",
                param="input",
            )
        if len(self._pending) + n > self._max_queue:
            self._observer.on_rejected("queue_full")
            raise Overloaded(f"the queue of this model is full ({self._max_queue} inputs)")
        loop = asyncio.get_running_loop()
        now = time.monotonic()
        self._tenants[order.tenant] = now
        call = Call(queued=n)
        items = [
            Item(length, payload, loop.create_future(), now, call, order.priority, order.tenant)
            for payload, length in zip(payloads, lengths, strict=True)
        ]
        was_empty = not self._pending
        for item in items:
            self._pending.add(item)
            self._pending_tokens += item.length
        self._waiting_calls += 1
        # Wake the scheduler only when it has something to do: first input, or a full batch.
        if was_empty or self._is_full(self._shared()):
            self._wake.set()
        try:
            remaining = order.remaining()
            if remaining is not None:
                try:
                    async with asyncio.timeout(remaining):
                        await call.started.wait()
                except TimeoutError:
                    self._observer.on_rejected("deadline")
                    raise deadline_exceeded("queue") from None
            return [await item.future for item in items]
        finally:
            self._forget(call, items)

    def _forget(self, call: Call, items: list[Item]) -> None:
        if call.queued:
            self._waiting_calls -= 1
        else:
            self._running_calls -= 1
        for item in items:
            if item in self._pending:
                self._pending.remove(item)
                self._pending_tokens -= item.length
            if not item.future.done():
                item.future.cancel()
            elif not item.future.cancelled():
                item.future.exception()  # mark as retrieved: one failure is reported once

    # -- scheduling ---------------------------------------------------------------------------

    def _shared(self) -> bool:
        """Whether several keys use the model now: queued together, or both within the last
        ``SHARED_HOLD_S``."""
        if self._pending.shared:
            return True
        if len(self._tenants) < 2:
            return False
        since = time.monotonic() - SHARED_HOLD_S
        for tenant, last in list(self._tenants.items()):
            if last < since:
                del self._tenants[tenant]
        return len(self._tenants) > 1

    def _is_full(self, shared: bool) -> bool:
        size = self._shared_size if shared else self._max_size
        return len(self._pending) >= size or self._pending_tokens >= self._max_tokens

    async def _schedule(self) -> None:
        while True:
            batch = await self._next_batch()
            alone = self._budget.start_batch(queued=bool(self._pending))
            self._in_flight += 1
            task = asyncio.create_task(self._execute(batch, alone))
            self._batches.add(task)
            task.add_done_callback(self._batches.discard)

    async def _next_batch(self) -> list[Item]:
        """Wait until a batch should go (see the module docstring), then take it."""
        while True:
            if not self._pending:
                await self._sleep()
                continue
            shared = self._shared()
            full = self._is_full(shared)
            # Shared between keys, nothing is sent ahead: a key's next turn must not queue
            # behind batches of another key's inputs already handed to the runners.
            ahead = full and not shared
            busy = self._in_flight >= (self._max_in_flight if ahead else self._runners)
            if busy:
                await self._sleep()  # until a batch finishes or this one fills up
                continue
            if not full and self._in_flight:
                oldest = next(iter(self._pending))
                delay = oldest.enqueued + self._max_wait - time.monotonic()
                if delay > 0:
                    await self._sleep(delay)
                    continue
            return self._take(shared)

    async def _sleep(self, timeout: float | None = None) -> None:
        """Until woken (first input, a full batch, a finished batch) or ``timeout``."""
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()

    def _take(self, shared: bool) -> list[Item]:
        if self._pending.shared:
            # Several keys queued: the next inputs in their turns, in a smaller batch (the
            # length grouping would pass over a lone key's input of another length).
            batch = self._in_turn()
        else:
            window = list(islice(self._pending, self._window))
            lengths = [item.length for item in window]
            size = self._shared_size if shared else self._max_size
            chosen = select_batch(lengths, size, self._max_tokens)
            batch = [window[i] for i in chosen]
        now = time.monotonic()
        for item in batch:
            self._pending.remove(item)
            self._pending_tokens -= item.length
            item.call.queued -= 1
            if item.call.queued == 0:
                self._waiting_calls -= 1
                self._running_calls += 1
                item.call.started.set()
            self._observer.on_queue_wait(now - item.enqueued)
        batch_lengths = [item.length for item in batch]
        self._observer.on_batch(len(batch), padded_tokens(batch_lengths), sum(batch_lengths))
        return batch

    def _in_turn(self) -> list[Item]:
        """The first inputs in queue order, up to the shared batch size and the token budget
        (the first one always, even alone over the budget)."""
        batch: list[Item] = []
        longest = 0
        for item in islice(self._pending, self._shared_size):
            longest = max(longest, item.length)
            if batch and longest * (len(batch) + 1) > self._max_tokens:
                break
            batch.append(item)
        return batch

    async def _execute(self, batch: list[Item], alone: bool) -> None:
        released = False
        try:
            results = await self._runner([item.payload for item in batch], alone)
            if len(results) != len(batch):
                raise RuntimeError(f"runner returned {len(results)} results for {len(batch)}")
            # The runner is free: its next batch goes out before these results do. Each
            # result resumes a request that writes its answer in one step of the loop, and
            # the scheduler woken after them all would leave the runner idle meanwhile
            # (about 3 ms for 20 answers). One yield lets the woken scheduler take the next
            # batch, whose task the loop then starts ahead of the requests resumed below.
            # With nothing queued there is no next batch, and no reason to yield.
            self._release()
            released = True
            if self._pending:
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            for item in batch:
                self._fail(item, Unavailable("the model is shutting down"))
            raise
        except Exception as exc:
            for item in batch:
                self._fail(item, exc)
        else:
            for item, result in zip(batch, results, strict=True):
                if not item.future.done():
                    item.future.set_result(result)
        finally:
            if not released:
                self._release()

    def _release(self) -> None:
        """A batch left its runner: the scheduler may send the next one."""
        self._in_flight -= 1
        self._budget.end_batch()
        self._wake.set()

    @staticmethod
    def _fail(item: Item, exc: BaseException) -> None:
        if not item.future.done():
            item.future.set_exception(exc)
