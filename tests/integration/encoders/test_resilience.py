"""A worker killed mid-load fails only its batch; a full queue answers 429 and the SDK retries."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psutil
import pytest
from openai import OpenAI

from tests.support.metrics import metric_value
from tests.support.server import ServerProcess

pytestmark = pytest.mark.integration

# About 480 tokens: the "spare" model accepts 512.
LONG_INPUT = "The quick brown fox jumps over the lazy dog near the river bank. " * 34
SHORT_INPUT = "The quick brown fox jumps over the lazy dog near the river bank. " * 4


def worker_pid(server: ServerProcess, model: str) -> int:
    """The worker process of ``model``: workers name themselves ``enc-<model>``."""
    name = f"enc-{model}"[:15]
    children = psutil.Process(server.process.pid).children(recursive=True)
    pids = [child.pid for child in children if child.name() == name]
    assert len(pids) == 1, [(c.pid, c.name()) for c in children]
    return pids[0]


def test_full_queue_gives_429_with_retry_after(
    encoder_server: ServerProcess, http: httpx.Client
) -> None:
    async def burst() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=encoder_server.base_url, timeout=120) as client:
            return await asyncio.gather(
                *(
                    client.post("/v1/embeddings", json={"model": "spare", "input": LONG_INPUT})
                    for _ in range(16)
                )
            )

    responses = asyncio.run(burst())
    rejected = [r for r in responses if r.status_code == 429]
    assert rejected, [r.status_code for r in responses]
    assert all(r.status_code in (200, 429) for r in responses)
    for response in rejected:
        assert response.headers["retry-after"] == "1"
        error = response.json()["error"]
        assert error["type"] == "rate_limit_error" and error["code"] == "overloaded"
    metrics = http.get("/metrics").text
    assert metric_value(
        metrics,
        "inference_rejected_requests_total",
        model="spare",
        task="embed",
        reason="queue_full",
    ) >= len(rejected)


def test_sdk_retries_through_a_full_queue(
    encoder_server: ServerProcess, http: httpx.Client
) -> None:
    labels = {"model": "spare", "task": "embed", "reason": "queue_full"}
    before = metric_value(http.get("/metrics").text, "inference_rejected_requests_total", **labels)
    client = OpenAI(base_url=f"{encoder_server.base_url}/v1", api_key="unused", max_retries=10)

    def embed(i: int) -> int:
        # Short inputs: the queue still fills (twelve arrive at once, four fit), and the
        # retries, one second apart, find it drained.
        response = client.embeddings.create(model="spare", input=f"{i} {SHORT_INPUT}")
        return len(response.data[0].embedding)

    with ThreadPoolExecutor(12) as pool:
        sizes = list(pool.map(embed, range(12)))
    assert sizes == [384] * 12
    after = metric_value(http.get("/metrics").text, "inference_rejected_requests_total", **labels)
    assert after > before, "the queue never filled: the SDK had nothing to retry"


def test_killed_worker_fails_only_its_batch(
    encoder_server: ServerProcess, http: httpx.Client
) -> None:
    """Runs last: it restarts the 'spare' worker."""
    labels = {"model": "spare", "task": "embed"}
    before = http.get("/metrics").text
    pid = worker_pid(encoder_server, "spare")

    async def load() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=encoder_server.base_url, timeout=300) as client:

            def send(i: int) -> asyncio.Task[httpx.Response]:
                body = {"model": "spare", "input": f"{i} {LONG_INPUT}"}
                return asyncio.create_task(client.post("/v1/embeddings", json=body))

            # One input per batch. The first request starts running; then one more goes to
            # the worker's socket and one waits in the queue (max_queue 2: no 429).
            first = send(0)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                metrics = (await client.get("/metrics")).text
                if metric_value(metrics, "inference_batch_size_count", **labels) > metric_value(
                    before, "inference_batch_size_count", **labels
                ):
                    break
                await asyncio.sleep(0.005)
            others = [send(1), send(2)]
            await asyncio.sleep(0.005)
            os.kill(pid, signal.SIGKILL)
            return await asyncio.gather(first, *others)

    responses = asyncio.run(load())
    statuses = sorted(r.status_code for r in responses)
    # The batch being run fails; the one waiting in the worker's socket and the queued one
    # run on the replacement.
    assert statuses == [200, 200, 503], statuses
    failed = next(r for r in responses if r.status_code == 503)
    assert failed.headers["retry-after"] == "1"
    assert failed.json()["error"]["type"] == "service_unavailable_error"
    after = http.get("/metrics").text
    assert metric_value(after, "inference_worker_restarts_total", **labels) == 1
    assert worker_pid(encoder_server, "spare") != pid
    later = http.post("/v1/embeddings", json={"model": "spare", "input": "still alive?"})
    assert later.status_code == 200
    assert "died with exit code -9" in encoder_server.log()
