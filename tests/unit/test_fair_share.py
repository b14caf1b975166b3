"""Fair share between API keys: in the encoder queue a key with one input waiting is behind
one input of each other key, not behind another key's thousand; in generation admission a
busy model keeps room for other keys, and with priority scheduling a key's requests rank
behind other keys' earlier ones. Client priority (batch lines) still comes first."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from server.core.context import RequestInfo
from server.core.errors import Overloaded
from server.core.keys import KeyGrant
from server.core.metrics import Metrics
from server.core.scheduling import QueueOrder
from server.core.settings import BatchingOptions
from server.encoders.batching import DynamicBatcher
from server.encoders.batching.queue import Call, Item, PendingQueue
from server.generation.protocol import ChatCompletionRequest
from server.generation.service.pipeline import RANK_SPAN, GenerationService
from server.generation.service.prompts import PromptBuilder
from tests.support.fakes import FakeEngine, FakeTokenizer
from tests.unit.test_batcher import FakeRunner, make, until


def _item(tenant: str, at: float, priority: int = 0, payload: int = 0) -> Item:
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    return Item(1, payload, future, at, Call(1), priority, tenant)


async def test_tenants_take_turns_within_a_priority_and_priority_comes_first() -> None:
    queue = PendingQueue()
    flood = [_item("flooder", float(t)) for t in range(1000)]
    for item in flood:
        queue.add(item)
    lone = _item("lone", 2000.0)
    batch_line = _item("lone", 1.5, priority=10)  # a batch line: behind all online inputs
    queue.add(lone)
    queue.add(batch_line)
    order = list(queue)
    assert order[:3] == [flood[0], lone, flood[1]]
    assert order[-1] is batch_line and len(order) == 1002
    # The flooder's next input is still older than the lone one: it leads the next round.
    queue.remove(flood[0])
    assert list(queue)[:2] == [flood[1], lone]
    queue.remove(lone)
    assert lone not in queue and list(queue)[:2] == [flood[1], flood[2]]


async def test_one_tenant_is_first_come_first_served() -> None:
    queue = PendingQueue()
    items = [_item("", float(t)) for t in range(5)]
    for item in reversed(items[:2]):
        queue.add(item)
    for item in items[2:]:
        queue.add(item)
    assert list(queue) == [items[1], items[0], *items[2:]]  # arrival order of add()


async def test_the_batcher_runs_a_lone_key_in_the_next_batch_beside_a_flood() -> None:
    runner = FakeRunner()
    runner.gate.clear()  # hold the first batch so that the queue fills up behind it
    batcher = make(runner, size=4, wait_ms=0, queue=1000)
    flood = [
        asyncio.create_task(batcher.submit([i], [1], QueueOrder(tenant="flooder")))
        for i in range(1, 101)
    ]
    await until(lambda: runner.started.is_set())
    lone = asyncio.create_task(batcher.submit([999], [1], QueueOrder(tenant="lone")))
    await asyncio.sleep(0.01)
    runner.gate.set()
    await lone
    # The held batch, then the lone key's input in the very next one.
    assert 999 in runner.batches[1]
    await asyncio.gather(*flood)
    await batcher.close()


async def test_batches_are_smaller_and_not_sent_ahead_while_keys_share_the_model() -> None:
    runner = FakeRunner()
    runner.gate.clear()
    options = BatchingOptions(max_batch_size=8, shared_batch_size=4, max_wait_ms=0, max_queue=1000)
    batcher: DynamicBatcher[int, int] = DynamicBatcher(runner, options, prefetch=1)
    batcher.start()
    first = [
        asyncio.create_task(batcher.submit([i], [1], QueueOrder(tenant="a"))) for i in range(1, 9)
    ]
    await until(lambda: runner.started.is_set())
    others = [
        asyncio.create_task(batcher.submit([i], [1], QueueOrder(tenant=t)))
        for i, t in zip(range(100, 120), ["a", "b"] * 10, strict=True)
    ]
    await asyncio.sleep(0.02)
    # One key alone: a full batch of 8 runs. Now both keys queue, a full batch's worth: alone,
    # it would be sent ahead (prefetch); shared, nothing goes ahead while the runner is busy.
    assert len(runner.batches) == 1
    runner.gate.set()
    await asyncio.gather(*first, *others)
    shared = [b for b in runner.batches[1:] if any(p >= 100 for p in b)]
    assert shared and all(len(b) <= 4 for b in shared[:-1])
    await batcher.close()


async def test_the_model_stays_shared_between_a_lone_key_s_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A key that sends one request at a time has nothing queued between two of them; full
    batches of the flood sent ahead in that gap would run before its next request."""
    runner = FakeRunner()
    options = BatchingOptions(max_batch_size=8, shared_batch_size=2, max_wait_ms=0, max_queue=1000)
    batcher: DynamicBatcher[int, int] = DynamicBatcher(runner, options, prefetch=1)
    batcher.start()
    assert await batcher.submit([999], [1], QueueOrder(tenant="lone")) == [9990]
    runner.gate.clear()
    flood = [
        asyncio.create_task(batcher.submit([i], [1], QueueOrder(tenant="flooder")))
        for i in range(1, 33)
    ]
    await until(lambda: runner.started.is_set() and len(runner.batches) >= 2)
    await asyncio.sleep(0.02)
    # The lone key submitted just now: one runner busy, nothing sent ahead, small batches.
    assert len(runner.batches) == 2 and len(runner.batches[-1]) <= 2
    runner.gate.set()
    await asyncio.gather(*flood)
    assert max(len(b) for b in runner.batches[1:]) <= 2
    # Once the other key has been quiet for the hold, the flood is alone again: full batches.
    monkeypatch.setattr("server.encoders.batching.batcher.SHARED_HOLD_S", 0.0)
    more = [
        asyncio.create_task(batcher.submit([i], [1], QueueOrder(tenant="flooder")))
        for i in range(100, 132)
    ]
    await asyncio.gather(*more)
    assert max(len(b) for b in runner.batches[-4:]) == 8
    await batcher.close()


def _keyed(name: str) -> RequestInfo:
    return RequestInfo(
        request_id=f"rid-{name}-{time.monotonic_ns()}",
        model="fake",
        task="generate",
        endpoint="/x",
        key=KeyGrant(name),
    )


def _service(engine: FakeEngine, max_in_flight: int, priority: bool = False) -> GenerationService:
    return GenerationService(
        "fake",
        engine,
        PromptBuilder(FakeTokenizer(), None),
        Metrics(),
        max_in_flight=max_in_flight,
        priority_scheduling=priority,
    )


def _chat() -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate(
        {
            "model": "fake",
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 50,
            "stream": True,
        }
    )


async def _close(streams: list[Any]) -> None:
    for stream in streams:  # the opening chunk, then a token: the stream is running
        await anext(stream)
        await anext(stream)
        await stream.aclose()


async def test_generation_admission_keeps_room_for_other_keys() -> None:
    engine = FakeEngine(step_delay=0.05)
    service = _service(engine, max_in_flight=6)
    streams: list[Any] = [await service.chat(_chat(), _keyed("flooder")) for _ in range(4)]
    # Alone, a key may take every slot; with another key waiting, past half full, each holds
    # at most its share (6 // 2 = 3): the flooder's fifth waits, the other key's go in.
    streams.append(await service.chat(_chat(), _keyed("lone")))
    with pytest.raises(Overloaded) as refused:
        await service.chat(_chat(), _keyed("flooder"))
    assert "share" in refused.value.message
    streams.append(await service.chat(_chat(), _keyed("lone")))
    assert service.held == {"flooder": 4, "lone": 2}
    await _close(streams)
    assert service.held == {} and service.in_flight == 0


async def test_with_priority_scheduling_a_keys_requests_rank_behind_other_keys_earlier_ones() -> (
    None
):
    engine = FakeEngine(step_delay=0.05)
    service = _service(engine, max_in_flight=16, priority=True)
    streams: list[Any] = [await service.chat(_chat(), _keyed("flooder")) for _ in range(3)]
    streams.append(await service.chat(_chat(), _keyed("lone")))
    batch_line = ChatCompletionRequest.model_validate({**_chat().model_dump(), "priority": 10})
    streams.append(await service.chat(batch_line, _keyed("lone")))
    assert [spec.priority for _, _, spec in engine.requests] == [0, 1, 2, 0, 10 * RANK_SPAN + 1]
    await _close(streams)
    assert service.held == {}
