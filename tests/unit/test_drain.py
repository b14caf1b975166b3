"""Graceful shutdown logic: the drain middleware and the server's signal handling."""

from __future__ import annotations

import asyncio
import json
import signal
from typing import Any

import uvicorn

from server.__main__ import _Server
from server.core.lifecycle import Drain, Lifecycle
from server.http.drain import DrainMiddleware


class SlowApp:
    """An ASGI app whose responses wait for ``release``."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered = asyncio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.entered.set()
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})


async def call(app: Any, path: str) -> tuple[int, dict[str, str], bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app({"type": "http", "path": path, "headers": []}, receive, send)
    headers = {k.decode(): v.decode() for k, v in sent[0].get("headers", [])}
    return sent[0]["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


async def test_draining_refuses_new_work_and_waits_for_in_flight() -> None:
    drain = Drain(timeout_s=30)
    inner = SlowApp()
    app = DrainMiddleware(inner, drain)
    in_flight = asyncio.create_task(call(app, "/v1/chat/completions"))
    await inner.entered.wait()
    assert drain.in_flight == 1 and not drain.finished()
    drain.begin()
    status, headers, body = await call(app, "/v1/embeddings")
    assert status == 503 and headers["retry-after"] == "1"
    assert json.loads(body)["error"]["code"] == "shutting_down"
    assert not drain.finished()  # the first request is still running
    inner.release.set()
    probe = await call(app, "/health")  # probes still pass through
    assert probe[0] == 200
    assert (await in_flight)[0] == 200
    assert drain.in_flight == 0 and drain.finished()


async def test_drain_times_out_with_requests_still_in_flight() -> None:
    drain = Drain(timeout_s=0.05)
    inner = SlowApp()
    app = DrainMiddleware(inner, drain)
    stuck = asyncio.create_task(call(app, "/v1/completions"))
    await inner.entered.wait()
    drain.begin()
    assert not drain.finished()
    await asyncio.sleep(0.1)
    assert drain.finished() and drain.in_flight == 1
    inner.release.set()
    await stuck


def make_server(drain: Drain, fatal: bool = False) -> _Server:
    config = uvicorn.Config(SlowApp(), log_config=None)
    lifecycle = Lifecycle(drain.timeout_s, on_fatal=lambda: None)
    lifecycle.drain = drain
    if fatal:
        lifecycle.fail("an engine died")
    return _Server(config, lifecycle)


async def test_first_signal_drains_second_one_stops_at_once() -> None:
    drain = Drain(timeout_s=30)
    drain.in_flight = 1
    server = make_server(drain)
    server.handle_exit(signal.SIGTERM, None)
    assert drain.draining and not server.should_exit
    await server.on_tick(1)
    assert not server.should_exit  # still one in flight
    drain.in_flight = 0
    await server.on_tick(2)
    assert server.should_exit
    again = make_server(Drain(timeout_s=30))
    again.drain.in_flight = 3
    again.handle_exit(signal.SIGTERM, None)
    again.handle_exit(signal.SIGTERM, None)
    assert again.should_exit


def test_fatal_error_skips_the_drain() -> None:
    drain = Drain(timeout_s=30)
    drain.in_flight = 2
    server = make_server(drain, fatal=True)
    server.handle_exit(signal.SIGTERM, None)
    assert server.should_exit
