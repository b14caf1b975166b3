"""The closed-loop load generator against a small local aiohttp app."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiohttp import web

from bench.load import Call, closed_loop, run_closed_loop


class App:
    """Answers 200 with ``{"n": len(input)}``, 503 for input "fail"; tracks concurrency."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.active = 0
        self.peak = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.seen.append(body["input"])
        self.active += 1
        self.peak = max(self.peak, self.active)
        await asyncio.sleep(0.005)
        self.active -= 1
        if body["input"] == "fail":
            return web.json_response({"error": "no"}, status=503)
        if body["input"] == "slow":
            await asyncio.sleep(2)
        if body["input"].startswith("close"):
            # The server ends the keep-alive connection after this answer.
            return web.json_response({"n": len(body["input"])}, headers={"Connection": "close"})
        return web.json_response({"n": len(body["input"])})


@pytest.fixture
async def served() -> AsyncIterator[tuple[str, App]]:
    app = App()
    web_app = web.Application()
    web_app.router.add_post("/echo", app.handle)
    runner = web.AppRunner(web_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}", app
    await runner.cleanup()


async def test_sends_every_call_once_within_the_concurrency(served: tuple[str, App]) -> None:
    url, app = served
    calls = [Call("/echo", {"input": f"text {i}"}) for i in range(40)]
    result = await closed_loop(url, calls, 4, count=lambda body: json.loads(body)["n"])
    assert sorted(app.seen) == sorted(c.body["input"] for c in calls)
    assert app.peak <= 4
    summary = result.summary()
    assert summary["requests"] == summary["ok"] == 40
    assert summary["errors"] == 0
    assert summary["units"] == sum(len(c.body["input"]) for c in calls)
    assert summary["throughput"] > 0
    assert 0 < summary["p50_ms"] <= summary["p99_ms"]
    assert summary["client_cpu_s"] >= 0


async def test_counts_error_statuses_and_connection_failures(served: tuple[str, App]) -> None:
    url, _ = served
    calls = [Call("/echo", {"input": "ok"}), Call("/echo", {"input": "fail"})]
    result = await closed_loop(url, calls, 2)
    assert (result.ok, result.errors, dict(result.statuses)) == (1, 1, {"200": 1, "503": 1})
    assert result.error_samples and result.error_samples[0].startswith("503")
    dead = await closed_loop("http://127.0.0.1:9", calls[:1], 1)
    assert dead.errors == 1
    assert next(iter(dead.statuses)).startswith("connection:")


async def test_duration_mode_cycles_until_the_deadline(served: tuple[str, App]) -> None:
    url, app = served
    result = await closed_loop(url, [Call("/echo", {"input": "x"})], 2, duration_s=0.3)
    assert result.sent == len(app.seen) > 2
    assert result.elapsed_s >= 0.3


async def test_a_connection_the_server_closed_is_opened_again(served: tuple[str, App]) -> None:
    url, app = served
    calls = [Call("/echo", {"input": f"close {i}"}) for i in range(12)]
    result = await closed_loop(url, calls, 3)
    assert (result.ok, result.errors) == (12, 0)
    assert len(app.seen) == 12


async def test_an_answer_later_than_the_timeout_counts_as_an_error(
    served: tuple[str, App],
) -> None:
    url, _ = served
    calls = [Call("/echo", {"input": "slow"}), Call("/echo", {"input": "ok"})]
    result = await closed_loop(url, calls, 1, timeout_s=0.5)
    assert dict(result.statuses) == {"connection:TimeoutError": 1, "200": 1}


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the servers under test

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        answer = json.dumps({"n": len(json.loads(body)["input"])}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *_: object) -> None:
        pass


def test_the_synchronous_runner_on_uvloop() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        calls = [Call("/echo", {"input": "x" * i}) for i in range(1, 21)]
        result = run_closed_loop(url, calls, 4, count=lambda body: json.loads(body)["n"])
    finally:
        server.shutdown()
        server.server_close()
    assert (result.ok, result.errors, result.units) == (20, 0, sum(range(1, 21)))
