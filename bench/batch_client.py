"""The Batch API from a benchmark's side: submit a JSONL batch over HTTP and time it, and a
streamed-chat client that measures time to first token."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx

from bench.load import Call
from bench.stats import percentile


@dataclass(frozen=True)
class BatchRun:
    """One batch from creation to its final status, timed by the client."""

    batch_id: str
    status: str
    lines: int
    completed: int
    failed: int
    elapsed_s: float
    units: int

    @property
    def throughput(self) -> float:
        return self.units / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "status": self.status,
            "lines": self.lines,
            "completed": self.completed,
            "failed": self.failed,
            "elapsed_s": round(self.elapsed_s, 3),
            "units": self.units,
            "throughput": round(self.throughput, 2),
        }


def submit(client: httpx.Client, calls: Sequence[Call]) -> str:
    """Upload ``calls`` as a batch input file and create the batch; its id."""
    text = "".join(
        json.dumps({"custom_id": f"r{i}", "method": "POST", "url": c.path, "body": c.body}) + "\n"
        for i, c in enumerate(calls)
    )
    uploaded = client.post(
        "/v1/files", files={"file": ("bench.jsonl", text.encode())}, data={"purpose": "batch"}
    )
    uploaded.raise_for_status()
    created = client.post(
        "/v1/batches",
        json={
            "input_file_id": uploaded.json()["id"],
            "endpoint": calls[0].path,
            "completion_window": "24h",
        },
    )
    created.raise_for_status()
    return str(created.json()["id"])


def wait_status(client: httpx.Client, batch_id: str, statuses: Sequence[str]) -> dict[str, Any]:
    while True:
        batch: dict[str, Any] = client.get(f"/v1/batches/{batch_id}").json()
        if batch["status"] in statuses:
            return batch
        time.sleep(0.2)


def output_units(client: httpx.Client, batch: dict[str, Any], unit: str) -> int:
    """Completion tokens (``tokens``) or inputs (``inputs``) of the batch's output."""
    if not batch.get("output_file_id"):
        return 0
    total = 0
    with client.stream("GET", f"/v1/files/{batch['output_file_id']}/content") as response:
        for line in response.iter_lines():
            if not line:
                continue
            body = json.loads(line)["response"]["body"]
            total += body["usage"]["completion_tokens"] if unit == "tokens" else len(body["data"])
    return total


def run_batch(base_url: str, calls: Sequence[Call], unit: str) -> BatchRun:
    """Submit ``calls`` as one batch and wait for it to end (timed from creation)."""
    with httpx.Client(base_url=base_url, timeout=600) as client:
        started = time.perf_counter()
        batch_id = submit(client, calls)
        batch = wait_status(client, batch_id, ("completed", "failed", "expired", "cancelled"))
        elapsed = time.perf_counter() - started
        counts = batch["request_counts"]
        units = output_units(client, batch, unit)
    return BatchRun(
        batch_id, batch["status"], len(calls), counts["completed"], counts["failed"], elapsed, units
    )


async def _ttft(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> float | None:
    started = time.perf_counter()
    async with session.post(url, json=body | {"stream": True}) as response:
        if response.status != 200:
            await response.read()
            return None
        async for raw in response.content:
            line = raw.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            delta = json.loads(line[6:])["choices"]
            if delta and delta[0]["delta"].get("content"):
                ttft = time.perf_counter() - started
                async for _ in response.content:
                    pass
                return ttft
    return None


async def ttft_load(base_url: str, calls: Sequence[Call], concurrency: int) -> dict[str, Any]:
    """Streamed chat from ``concurrency`` closed-loop clients: TTFT p50/p99 in ms."""
    pending = list(calls)
    found: list[float] = []
    errors = 0
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def client() -> None:
            nonlocal errors
            while pending:
                call = pending.pop()
                ttft = await _ttft(session, base_url + call.path, call.body)
                if ttft is None:
                    errors += 1
                else:
                    found.append(ttft * 1000)

        await asyncio.gather(*(client() for _ in range(concurrency)))
    return {
        "requests": len(calls),
        "errors": errors,
        "ttft_p50_ms": round(percentile(found, 50), 2) if found else None,
        "ttft_p99_ms": round(percentile(found, 99), 2) if found else None,
    }
