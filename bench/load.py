"""A light closed-loop load generator: N clients on keep-alive connections, each sending its
next request as soon as the previous answer arrived. Requests are serialised once, before the
clock starts (see :mod:`bench.http_client`)."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httptools
import uvloop

from bench.http_client import Connection, encode_request
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


class _Client:
    """One closed-loop client: its connection, opened again after the server closed it."""

    def __init__(self, base_url: str, result: LoadResult, count: UnitCounter) -> None:
        self.base_url = base_url
        self.result = result
        self.count = count
        self.conn: Connection | None = None

    async def send(self, request: bytes, timeout_s: float) -> None:
        result = self.result
        started = time.perf_counter()
        result.sent += 1
        try:
            async with asyncio.timeout(timeout_s):
                if self.conn is None or self.conn.closed:
                    self.conn = await Connection.open(self.base_url)
                status, data = await self.conn.send(request)
        except (OSError, TimeoutError, httptools.HttpParserError) as exc:
            if self.conn is not None:
                self.conn.close()
            result.statuses[f"connection:{type(exc).__name__}"] += 1
            if len(result.error_samples) < 20:
                result.error_samples.append(repr(exc)[:300])
            return
        result.statuses[str(status)] += 1
        if status == 200:
            result.ok += 1
            result.units += self.count(data)
            result.latencies_s.append(time.perf_counter() - started)
        elif len(result.error_samples) < 20:
            result.error_samples.append(f"{status}: {data[:300]!r}")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


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
    headers = {"Authorization": f"Bearer {api_key}"} if api_key is not None else {}
    if not calls or concurrency < 1:
        raise ValueError("need at least one call and one client")
    encoded = [
        encode_request(base_url, c.path, json.dumps(c.body).encode(), headers) for c in calls
    ]
    result = LoadResult(concurrency)
    next_index = 0
    clients = [_Client(base_url, result, count) for _ in range(concurrency)]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    deadline = wall0 + duration_s if duration_s is not None else None

    async def run(client: _Client) -> None:
        nonlocal next_index
        while True:
            if deadline is None and next_index >= len(encoded):
                return
            if deadline is not None and time.perf_counter() >= deadline:
                return
            request = encoded[next_index % len(encoded)]
            next_index += 1
            await client.send(request, timeout_s)

    try:
        await asyncio.gather(*(run(client) for client in clients))
    finally:
        for client in clients:
            client.close()
    result.elapsed_s = time.perf_counter() - wall0
    result.client_cpu_s = time.process_time() - cpu0
    return result


def run_closed_loop(
    base_url: str, calls: Sequence[Call], concurrency: int, **kwargs: Any
) -> LoadResult:
    """:func:`closed_loop` from synchronous code, on uvloop."""
    return uvloop.run(closed_loop(base_url, calls, concurrency, **kwargs))
