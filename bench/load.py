"""A light closed-loop load generator on aiohttp: N clients, each sending its next request as
soon as the previous answer arrived. Bodies are serialised once, before the clock starts."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.stats import percentile

JSON_HEADERS = {"Content-Type": "application/json"}

UnitCounter = Callable[[bytes], int]
"""How many units (inputs, tokens) one successful response body carries."""


@dataclass(frozen=True)
class Call:
    """One request: a path and its JSON body."""

    path: str
    body: dict[str, Any]


def one_unit(_: bytes) -> int:
    return 1


@dataclass
class LoadResult:
    """What a load run sent and got back; latencies of successful requests only."""

    concurrency: int
    sent: int = 0
    ok: int = 0
    units: int = 0
    elapsed_s: float = 0.0
    client_cpu_s: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)
    latencies_s: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return self.sent - self.ok

    @property
    def throughput(self) -> float:
        """Units per second over the whole run."""
        return self.units / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        ms = [x * 1000 for x in self.latencies_s]
        return {
            "concurrency": self.concurrency,
            "requests": self.sent,
            "ok": self.ok,
            "errors": self.errors,
            "statuses": dict(self.statuses),
            "units": self.units,
            "elapsed_s": round(self.elapsed_s, 3),
            "throughput": round(self.throughput, 2),
            "requests_per_s": round(self.sent / self.elapsed_s, 2) if self.elapsed_s else 0.0,
            "p50_ms": round(percentile(ms, 50), 2) if ms else None,
            "p99_ms": round(percentile(ms, 99), 2) if ms else None,
            "client_cpu_s": round(self.client_cpu_s, 3),
            "error_samples": self.error_samples[:5],
        }


async def _send(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    count: UnitCounter,
    result: LoadResult,
    headers: dict[str, str] = JSON_HEADERS,
) -> None:
    started = time.perf_counter()
    result.sent += 1
    try:
        async with session.post(url, data=body, headers=headers) as response:
            data = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        result.statuses[f"connection:{type(exc).__name__}"] += 1
        if len(result.error_samples) < 20:
            result.error_samples.append(repr(exc)[:300])
        return
    result.statuses[str(status)] += 1
    if status == 200:
        result.ok += 1
        result.units += count(data)
        result.latencies_s.append(time.perf_counter() - started)
    elif len(result.error_samples) < 20:
        result.error_samples.append(f"{status}: {data[:300]!r}")


async def closed_loop(
    base_url: str,
    calls: Sequence[Call],
    concurrency: int,
    *,
    duration_s: float | None = None,
    count: UnitCounter = one_unit,
    timeout_s: float = 600.0,
    api_key: str | None = None,
) -> LoadResult:
    """Send every call once (or cycle through them for ``duration_s``) from N clients (with
    ``api_key`` as ``Authorization: Bearer`` if given)."""
    headers = dict(JSON_HEADERS)
    if api_key is not None:
        headers["Authorization"] = f"Bearer {api_key}"
    if not calls or concurrency < 1:
        raise ValueError("need at least one call and one client")
    encoded = [(base_url + c.path, json.dumps(c.body).encode()) for c in calls]
    result = LoadResult(concurrency)
    next_index = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        deadline = wall0 + duration_s if duration_s is not None else None

        async def client() -> None:
            nonlocal next_index
            while True:
                if deadline is None and next_index >= len(encoded):
                    return
                if deadline is not None and time.perf_counter() >= deadline:
                    return
                url, body = encoded[next_index % len(encoded)]
                next_index += 1
                await _send(session, url, body, count, result, headers)

        await asyncio.gather(*(client() for _ in range(concurrency)))
        result.elapsed_s = time.perf_counter() - wall0
        result.client_cpu_s = time.process_time() - cpu0
    return result


def run_closed_loop(
    base_url: str, calls: Sequence[Call], concurrency: int, **kwargs: Any
) -> LoadResult:
    """:func:`closed_loop` from synchronous code."""
    return asyncio.run(closed_loop(base_url, calls, concurrency, **kwargs))
