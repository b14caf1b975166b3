"""The dynamic batcher with a fake runner: limits, ordering, splitting, cancellation, admission."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import pytest

from server.core.errors import DeadlineExceeded, InvalidRequest, Overloaded, Unavailable
from server.core.scheduling import QueueOrder
from server.core.settings import BatchingOptions
from server.encoders.batching import DynamicBatcher, select_batch
from server.encoders.cpu_budget import CpuBudget


class FakeRunner:
    """Records every batch; answers ``payload * 10``; can be held closed to fill the queue."""

    def __init__(self, *, fail_on: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.alone: list[bool] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.started = asyncio.Event()
        self.fail_on = fail_on

    async def __call__(self, payloads: list[int], alone: bool) -> Sequence[int]:
        self.batches.append(list(payloads))
        self.alone.append(alone)
        self.started.set()
        await self.gate.wait()
        if self.fail_on is not None and self.fail_on in payloads:
            raise Unavailable("worker died")
        return [p * 10 for p in payloads]


class Recorder:
    """A BatchObserver that keeps what it is told."""

    def __init__(self) -> None:
        self.batches: list[tuple[int, int, int]] = []
        self.waits: list[float] = []
        self.rejected: list[str] = []

    def on_batch(self, size: int, padded_tokens: int, tokens: int) -> None:
        self.batches.append((size, padded_tokens, tokens))

    def on_queue_wait(self, seconds: float) -> None:
        self.waits.append(seconds)

    def on_rejected(self, reason: str) -> None:
        self.rejected.append(reason)


def make(
    runner: FakeRunner,
    *,
    size: int = 8,
    tokens: int = 10_000,
    wait_ms: float = 5,
    queue: int = 100,
    concurrency: int = 1,
    prefetch: int = 0,
    observer: Recorder | None = None,
) -> DynamicBatcher[int, int]:
    options = BatchingOptions(
        max_batch_size=size, max_batch_tokens=tokens, max_wait_ms=wait_ms, max_queue=queue
    )
    batcher: DynamicBatcher[int, int] = DynamicBatcher(
        runner, options, concurrency=concurrency, prefetch=prefetch, observer=observer
    )
    batcher.start()
    return batcher


async def until(predicate, timeout: float = 2.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.001)


async def hold_runner(batcher: DynamicBatcher[int, int], runner: FakeRunner) -> asyncio.Task:  # type: ignore[type-arg]
    """Occupy the only runner slot with one input (payload 0) until the gate opens."""
    runner.gate.clear()
    task = asyncio.create_task(batcher.submit([0], [1]))
    await runner.started.wait()
    return task


# -- selection policy ----------------------------------------------------------------------------


def test_policy_takes_the_oldest_and_its_length_neighbours() -> None:
    lengths = [50, 5, 48, 6, 49, 7]
    chosen = select_batch(lengths, max_size=3, max_tokens=10_000)
    assert sorted(lengths[i] for i in chosen) == [48, 49, 50]
    assert 0 in chosen


def test_policy_orders_the_batch_by_length() -> None:
    lengths = [9, 3, 7, 5]
    chosen = select_batch(lengths, max_size=4, max_tokens=10_000)
    assert [lengths[i] for i in chosen] == [3, 5, 7, 9]


def test_policy_respects_the_padded_token_budget() -> None:
    lengths = [30, 30, 30, 30, 30]
    chosen = select_batch(lengths, max_size=10, max_tokens=100)
    assert len(chosen) == 3  # 3 x 30 = 90 padded tokens; a fourth would make 120


def test_policy_runs_an_oversized_input_alone() -> None:
    assert select_batch([500, 2, 2], max_size=8, max_tokens=100) == [0]


def test_policy_prefers_the_cheaper_padding() -> None:
    # Oldest is 10; adding 9 pads one token, adding 30 pads 20 per chosen input.
    lengths = [10, 30, 9]
    assert [lengths[i] for i in select_batch(lengths, max_size=2, max_tokens=10_000)] == [9, 10]


# -- batcher -------------------------------------------------------------------------------------


async def test_single_input_round_trip() -> None:
    runner = FakeRunner()
    batcher = make(runner)
    assert await batcher.submit([7], [3]) == [70]
    await batcher.close()


async def test_the_next_batch_goes_to_the_runner_before_the_last_ones_results() -> None:
    """A freed runner gets its next batch before the finished batch's requests resume (each
    writes its answer in the loop step it resumes in, while the runner would wait)."""
    events: list[str] = []

    class Logged(FakeRunner):
        async def __call__(self, payloads: list[int], alone: bool) -> Sequence[int]:
            events.append(f"run {payloads}")
            return await super().__call__(payloads, alone)

    runner = Logged()
    batcher = make(runner, size=1, wait_ms=0)

    async def request(value: int) -> None:
        await batcher.submit([value], [1])
        events.append(f"answer {value}")

    await asyncio.gather(request(1), request(2), request(3))
    assert events[:4] == ["run [1]", "run [2]", "answer 1", "run [3]"]
    await batcher.close()


async def test_concurrent_requests_share_a_batch() -> None:
    runner = FakeRunner()
    observer = Recorder()
    batcher = make(runner, size=16, wait_ms=20, observer=observer)
    results = await asyncio.gather(*(batcher.submit([i], [4]) for i in range(10)))
    assert results == [[i * 10] for i in range(10)]
    assert len(runner.batches) == 1 and sorted(runner.batches[0]) == list(range(10))
    assert observer.batches == [(10, 40, 40)]
    assert len(observer.waits) == 10
    await batcher.close()


async def test_max_batch_size_bounds_every_batch() -> None:
    runner = FakeRunner()
    batcher = make(runner, size=4, wait_ms=20, concurrency=4)
    await asyncio.gather(*(batcher.submit([i], [2]) for i in range(10)))
    assert [len(b) for b in runner.batches] == [4, 4, 2]
    await batcher.close()


async def test_full_batch_does_not_wait_for_max_wait() -> None:
    runner = FakeRunner()
    batcher = make(runner, size=4, wait_ms=5_000)
    start = time.monotonic()
    await asyncio.gather(*(batcher.submit([i], [2]) for i in range(4)))
    assert time.monotonic() - start < 1.0
    await batcher.close()


async def test_token_budget_bounds_padded_tokens() -> None:
    runner = FakeRunner()
    observer = Recorder()
    batcher = make(runner, size=64, tokens=100, wait_ms=10, concurrency=8, observer=observer)
    await asyncio.gather(*(batcher.submit([i], [30]) for i in range(7)))
    assert all(padded <= 100 for _, padded, _ in observer.batches)
    assert [size for size, _, _ in observer.batches] == [3, 3, 1]
    await batcher.close()


async def test_partial_batch_waits_max_wait_while_another_runs() -> None:
    runner = FakeRunner()
    batcher = make(runner, size=8, wait_ms=60, concurrency=2)
    held = await hold_runner(batcher, runner)  # one runner busy, the other free
    start = time.monotonic()
    partial = asyncio.create_task(batcher.submit([1], [2]))
    await until(lambda: len(runner.batches) == 2)
    assert 0.05 <= time.monotonic() - start < 1.0
    runner.gate.set()
    assert await partial == [10]
    await held
    await batcher.close()


async def test_idle_model_runs_a_lone_input_at_once() -> None:
    runner = FakeRunner()
    batcher = make(runner, size=8, wait_ms=5_000)
    start = time.monotonic()
    assert await batcher.submit([1], [2]) == [10]
    assert time.monotonic() - start < 1.0
    assert runner.batches == [[1]] and runner.alone == [True]
    await batcher.close()


async def test_only_a_batch_with_nothing_beside_it_runs_alone() -> None:
    runner = FakeRunner()
    batcher = make(runner, size=2, wait_ms=0, concurrency=2)
    held = await hold_runner(batcher, runner)  # alone: nothing else ran or waited
    beside = asyncio.create_task(batcher.submit([1], [2]))  # another batch runs
    await until(lambda: len(runner.batches) == 2)
    runner.gate.set()
    await asyncio.gather(held, beside)
    assert runner.alone == [True, False]
    await batcher.submit([1, 2, 3], [2, 2, 2])  # split in two: the first has a batch queued
    assert [len(b) for b in runner.batches[2:]] == [2, 1]
    assert runner.alone[2] is False
    await batcher.close()


async def test_zero_max_wait_runs_at_once() -> None:
    runner = FakeRunner()
    batcher = make(runner, size=8, wait_ms=0)
    start = time.monotonic()
    await batcher.submit([1], [2])
    assert time.monotonic() - start < 0.05
    await batcher.close()


async def test_queued_inputs_are_batched_by_length() -> None:
    runner = FakeRunner()
    batcher = make(runner, size=3, wait_ms=0)
    held = await hold_runner(batcher, runner)
    lengths = {1: 50, 2: 5, 3: 48, 4: 6, 5: 49, 6: 7}
    tasks = [asyncio.create_task(batcher.submit([p], [n])) for p, n in lengths.items()]
    await until(lambda: batcher.queued == 6)
    runner.gate.set()
    await asyncio.gather(held, *tasks)
    batches = [[lengths[p] for p in batch] for batch in runner.batches[1:]]
    assert batches == [[48, 49, 50], [5, 6, 7]]
    await batcher.close()


async def test_large_request_is_split_and_reassembled_in_order() -> None:
    runner = FakeRunner()
    batcher = make(runner, size=3, wait_ms=0)
    payloads = list(range(1, 11))
    lengths = [(p * 7) % 5 + 1 for p in payloads]  # varied, so batches reorder inputs
    results = await batcher.submit(payloads, lengths)
    assert results == [p * 10 for p in payloads]
    assert len(runner.batches) == 4
    assert sorted(p for batch in runner.batches for p in batch) == payloads
    await batcher.close()


async def test_cancelled_request_is_dropped_before_it_runs() -> None:
    runner = FakeRunner()
    batcher = make(runner, size=8, wait_ms=0)
    held = await hold_runner(batcher, runner)
    doomed = asyncio.create_task(batcher.submit([1, 2], [3, 3]))
    kept = asyncio.create_task(batcher.submit([3], [3]))
    await until(lambda: batcher.queued == 3)
    doomed.cancel()
    await asyncio.gather(doomed, return_exceptions=True)
    assert batcher.queued == 1
    runner.gate.set()
    assert await kept == [30]
    await held
    assert all(p not in (1, 2) for batch in runner.batches for p in batch)
    await batcher.close()


async def test_full_queue_is_overloaded() -> None:
    runner = FakeRunner()
    observer = Recorder()
    batcher = make(runner, size=8, wait_ms=0, queue=4, observer=observer)
    held = await hold_runner(batcher, runner)
    queued = [asyncio.create_task(batcher.submit([i], [2])) for i in range(1, 5)]
    await until(lambda: batcher.queued == 4)
    with pytest.raises(Overloaded) as info:
        await batcher.submit([9], [2])
    assert info.value.retry_after_s >= 1
    assert observer.rejected == ["queue_full"]
    runner.gate.set()
    await asyncio.gather(held, *queued)
    assert await batcher.submit([9], [2]) == [90]  # room again
    await batcher.close()


async def test_request_larger_than_the_queue_is_invalid() -> None:
    batcher = make(FakeRunner(), queue=4)
    with pytest.raises(InvalidRequest):
        await batcher.submit([1, 2, 3, 4, 5], [1] * 5)
    await batcher.close()


async def test_failed_batch_fails_only_its_requests() -> None:
    runner = FakeRunner(fail_on=1)
    batcher = make(runner, size=1, wait_ms=0, concurrency=2)
    failed, ok = await asyncio.gather(
        batcher.submit([1], [2]), batcher.submit([2], [2]), return_exceptions=True
    )
    assert isinstance(failed, Unavailable)
    assert ok == [20]
    assert await batcher.submit([3], [2]) == [30]
    await batcher.close()


async def test_gauges_follow_requests() -> None:
    runner = FakeRunner()
    batcher = make(runner, size=8, wait_ms=0)
    held = await hold_runner(batcher, runner)
    assert (batcher.running_requests, batcher.waiting_requests) == (1, 0)
    queued = asyncio.create_task(batcher.submit([1, 2], [2, 2]))
    await until(lambda: batcher.queued == 2)
    assert batcher.waiting_requests == 1
    runner.gate.set()
    await asyncio.gather(held, queued)
    assert (batcher.running_requests, batcher.waiting_requests, batcher.queued) == (0, 0, 0)
    await batcher.close()


async def test_close_fails_queued_and_refuses_new_inputs() -> None:
    runner = FakeRunner()
    batcher = make(runner, size=8, wait_ms=0)
    held = await hold_runner(batcher, runner)
    queued = asyncio.create_task(batcher.submit([1], [2]))
    await until(lambda: batcher.queued == 1)
    await batcher.close()
    for task in (held, queued):
        with pytest.raises(Unavailable):
            await task
    with pytest.raises(Unavailable):
        await batcher.submit([2], [2])


async def test_busy_runner_lets_a_partial_batch_keep_filling() -> None:
    runner = FakeRunner()
    batcher = make(runner, size=4, wait_ms=0, prefetch=1)
    held = await hold_runner(batcher, runner)
    first = asyncio.create_task(batcher.submit([1], [2]))
    await until(lambda: batcher.queued == 1)
    await asyncio.sleep(0.02)
    assert len(runner.batches) == 1  # partial: not sent ahead while the runner is busy
    second = asyncio.create_task(batcher.submit([2], [2]))
    await until(lambda: batcher.queued == 2)
    runner.gate.set()
    await asyncio.gather(held, first, second)
    assert runner.batches[1] == [1, 2]  # one batch once the runner was free
    await batcher.close()


async def test_full_batch_is_sent_ahead_to_a_busy_runner() -> None:
    runner = FakeRunner()
    batcher = make(runner, size=2, wait_ms=1_000, prefetch=1)
    held = await hold_runner(batcher, runner)
    full = asyncio.create_task(batcher.submit([1, 2], [2, 2]))
    await until(lambda: len(runner.batches) == 2)  # sent while the first still runs
    later = asyncio.create_task(batcher.submit([3, 4], [2, 2]))
    await asyncio.sleep(0.02)
    assert len(runner.batches) == 2  # prefetch=1: no third batch in flight
    runner.gate.set()
    await asyncio.gather(held, full, later)
    assert runner.batches[2] == [3, 4]
    await batcher.close()


# -- priority and deadlines ----------------------------------------------------------------------


async def test_lower_priority_value_runs_first() -> None:
    runner = FakeRunner()
    batcher = make(runner, size=1, wait_ms=0)
    held = await hold_runner(batcher, runner)
    late = asyncio.create_task(batcher.submit([1], [2], QueueOrder(priority=5)))
    normal = asyncio.create_task(batcher.submit([2], [2]))
    urgent = asyncio.create_task(batcher.submit([3], [2], QueueOrder(priority=-1)))
    await until(lambda: batcher.queued == 3)
    runner.gate.set()
    await asyncio.gather(held, late, normal, urgent)
    assert runner.batches[1:] == [[3], [2], [1]]
    await batcher.close()


async def test_input_past_its_deadline_is_refused_and_never_runs() -> None:
    runner = FakeRunner()
    observer = Recorder()
    batcher = make(runner, size=8, wait_ms=0, observer=observer)
    held = await hold_runner(batcher, runner)
    order = QueueOrder(deadline=time.monotonic() + 0.05)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        await batcher.submit([1, 2], [2, 2], order)
    assert time.monotonic() - started < 1.0  # answered at the deadline, not when a slot frees
    assert batcher.queued == 0 and observer.rejected == ["deadline"]
    runner.gate.set()
    await held
    assert await batcher.submit([3], [2], QueueOrder(deadline=time.monotonic() + 5)) == [30]
    assert all(p not in (1, 2) for batch in runner.batches for p in batch)
    assert batcher.waiting_requests == 0 and batcher.running_requests == 0
    await batcher.close()


async def test_a_batch_of_another_model_on_the_same_cores_means_not_alone() -> None:
    first, second = FakeRunner(), FakeRunner()
    shared = CpuBudget()
    options = BatchingOptions(max_batch_size=8, max_batch_tokens=10_000, max_wait_ms=0)
    one = DynamicBatcher(first, options, concurrency=2, budget=shared)
    other = DynamicBatcher(second, options, concurrency=2, budget=shared)
    one.start()
    other.start()
    held = await hold_runner(one, first)  # a batch of the first model runs
    assert await other.submit([1], [2]) == [10]
    assert first.alone == [True] and second.alone == [False]
    first.gate.set()
    await held
    assert await other.submit([2], [2]) == [20]
    assert second.alone[-1] is True  # nothing runs now
    await one.close()
    await other.close()
