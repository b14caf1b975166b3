"""Fair share between API keys in the encoder queue: a key with one input waiting is behind
one input of each other key, not behind another key's thousand; priority still comes first."""

from __future__ import annotations

import asyncio

from server.core.scheduling import QueueOrder
from server.encoders.batching.queue import Call, Item, PendingQueue
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
