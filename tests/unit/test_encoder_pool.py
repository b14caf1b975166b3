"""The worker pool with real processes running a torch-free fake worker."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal

import numpy as np
import psutil
import pytest

from server.core.errors import Unavailable
from server.encoders.pool.worker_pool import WorkerPool
from server.encoders.pool.worker_process import WorkerFailed
from server.encoders.shared.spec import Features, WorkerSpec
from tests.unit.encoder_fake_worker import fake_worker


def spec(behaviour: str) -> WorkerSpec:
    return WorkerSpec(
        model="fake", task=behaviour, path="", device="cpu", dtype="float32", threads=1
    )


def inputs(*lengths: int) -> list[Features]:
    return [Features(np.arange(n, dtype=np.int32)) for n in lengths]


async def started(behaviour: str, size: int = 1) -> tuple[WorkerPool, list[str]]:
    events: list[str] = []
    pool = WorkerPool(
        spec(behaviour), size, target=fake_worker, on_restart=lambda: events.append("restart")
    )
    await pool.start()
    return pool, events


async def test_outputs_come_back_in_input_order() -> None:
    pool, _ = await started("ok", size=2)
    try:
        outputs = await pool.run(inputs(3, 1, 2))
        assert [int(row[0]) for row in outputs] == [3, 1, 2]
        assert pool.description is not None and pool.description.output_dim == 2
    finally:
        await pool.stop()


async def test_a_batch_alone_runs_wide_on_worker_0_when_it_is_free() -> None:
    pool = WorkerPool(dataclasses.replace(spec("slow"), alone_threads=2), 2, target=fake_worker)
    await pool.start()
    try:
        (row,) = await pool.run(inputs(3), alone=True)
        assert row[1] == 2  # worker 0, with its wide session
        (row,) = await pool.run(inputs(3))
        assert row[1] == 0  # not alone: the usual session
        # Worker 0 busy: a second batch marked alone runs on worker 1, which has no wide one.
        first, second = await asyncio.gather(
            pool.run(inputs(2), alone=True), pool.run(inputs(2), alone=True)
        )
        assert (first[0][1], second[0][1]) == (2, 0)
    finally:
        await pool.stop()


async def test_with_several_workers_a_batch_waits_for_the_first_free_one() -> None:
    # Nothing is queued behind a running batch: the third batch goes to whichever worker
    # finishes first (here the one with the short batch), not ahead to a busy one.
    assert WorkerPool(spec("ok"), 1).depth == 2  # a lone worker: the next batch waits in it
    pool, _ = await started("timed", size=2)
    try:
        assert pool.depth == 1
        long = asyncio.create_task(pool.run(inputs(80)))
        short = asyncio.create_task(pool.run(inputs(10)))
        await asyncio.sleep(0.02)
        third = asyncio.create_task(pool.run(inputs(10)))
        done, _ = await asyncio.wait({long, third}, return_when=asyncio.FIRST_COMPLETED)
        assert done == {third}
        assert short.done()
        await long
    finally:
        await pool.stop()


async def test_killed_worker_fails_its_batch_and_the_next_one_runs_on_the_replacement() -> None:
    pool, events = await started("slow")
    try:
        running = asyncio.create_task(pool.run(inputs(5)))
        await asyncio.sleep(0.1)
        waiting = asyncio.create_task(pool.run(inputs(7)))  # in the worker's socket, unread
        await asyncio.sleep(0.05)
        (pid,) = pool.pids
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(Unavailable):
            await running
        assert int((await asyncio.wait_for(waiting, 30))[0][0]) == 7
        assert events == ["restart"]
        assert pool.pids and pool.pids != [pid]
        assert int((await pool.run(inputs(4)))[0][0]) == 4
    finally:
        await pool.stop()


async def test_a_failed_batch_leaves_the_worker_serving() -> None:
    pool, events = await started("fail-batch")
    try:
        with pytest.raises(WorkerFailed, match="bad input"):
            await pool.run(inputs(13))
        assert int((await pool.run(inputs(2)))[0][0]) == 2
        assert events == []
    finally:
        await pool.stop()


async def test_load_failure_is_raised_with_its_reason() -> None:
    pool = WorkerPool(spec("fail-load"), 1, target=fake_worker)
    with pytest.raises(RuntimeError, match="no such model"):
        await pool.start()


async def test_stop_ends_every_worker() -> None:
    pool, _ = await started("ok", size=2)
    pids = pool.pids
    assert len(pids) == 2
    await pool.stop()
    assert not any(
        psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" for pid in pids
    )
