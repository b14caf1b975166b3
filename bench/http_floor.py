"""``python -m bench.http_floor``: what one request costs the API process before any model work.

The encoder path's API-process CPU per input (HTTP, JSON, validation, tokenization, batching,
the hop to the worker) is compared, under the same load, with two floors served by the same
uvicorn (uvloop, httptools, no access log):

- ``asgi``: a bare ASGI app that reads the body, parses it with orjson and answers a fixed
  384-float embedding body: the least any Python server on uvicorn spends per request.
- ``fastapi``: one FastAPI route that validates the body into a pydantic model, as the
  OpenAI embeddings request is validated, and answers the same body.
- ``ours``: the default config's embedding model on our server (``/v1/embeddings``).

Each takes the same single-input requests from 64 closed-loop clients; the figure is the CPU
time of the server process alone (not its workers) per request. Writes a JSON and Markdown
file to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
from pydantic import BaseModel

from bench.load import Call, run_closed_loop
from bench.sentences import sentences

VECTOR = [round(0.001 * i, 6) for i in range(384)]


def _answer(model: str) -> bytes:
    import orjson

    body = {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": VECTOR}],
        "model": model,
        "usage": {"prompt_tokens": 8, "total_tokens": 8},
    }
    return bytes(orjson.dumps(body))


def asgi_app(delay_s: float) -> Any:
    import asyncio

    import orjson

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        request = orjson.loads(b"".join(chunks))
        if delay_s:
            await asyncio.sleep(delay_s)
        body = _answer(str(request["model"]))
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


class Embed(BaseModel):
    """The fields of OpenAI's embeddings request."""

    model: str
    input: str | list[str]
    encoding_format: str = "float"
    dimensions: int | None = None
    user: str | None = None


def fastapi_app(delay_s: float) -> Any:
    import asyncio

    from fastapi import FastAPI, Response

    app = FastAPI()

    @app.post("/v1/embeddings")
    async def embeddings(body: Embed) -> Response:
        if delay_s:
            await asyncio.sleep(delay_s)
        return Response(_answer(body.model), media_type="application/json")

    return app


def _serve(kind: str, port: int, delay_s: float) -> None:
    import uvicorn

    app = asgi_app(delay_s) if kind == "asgi" else fastapi_app(delay_s)
    uvicorn.run(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools", access_log=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_up(port: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}")


def _measure(base_url: str, pid: int, model: str, texts: list[str]) -> dict[str, Any]:
    calls = [Call("/v1/embeddings", {"model": model, "input": t}) for t in texts]
    run_closed_loop(base_url, calls[:300], 64)  # warm-up
    process = psutil.Process(pid)
    cpu0 = sum(process.cpu_times()[:2])
    load = run_closed_loop(base_url, calls, 64)
    cpu1 = sum(process.cpu_times()[:2])
    return {
        "requests": load.ok,
        "errors": load.errors,
        "api_cpu_ms_per_request": round((cpu1 - cpu0) * 1000 / max(load.ok, 1), 3),
        "requests_per_s": round(load.throughput, 1),
        "client_cpu_s": round(load.client_cpu_s, 2),
    }


def _floor(kind: str, texts: list[str], delay_s: float = 0.0) -> dict[str, Any]:
    port = _free_port()
    argv = [sys.executable, "-m", "bench.http_floor", "--serve", kind, "--port", str(port)]
    argv += ["--delay-s", str(delay_s)]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_up(port)
        return _measure(f"http://127.0.0.1:{port}", process.pid, "floor", texts)
    finally:
        process.terminate()
        process.wait(30)


def _ours(texts: list[str], work: Path) -> dict[str, Any]:
    from bench import servers, specs

    server = servers.start(specs.ours("encoders"), work)
    try:
        model = specs.model_entry("embed", specs.default_config())["name"]
        return _measure(server.base_url, server.pid, model, texts)
    finally:
        server.stop()


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# The API process's CPU per request ({result['date']})",
        "",
        f"{result['requests']} single-input embedding requests from 64 clients per row; CPU of "
        "the server process alone. Load average before: " + str(result["load_before"]) + ". "
        f"The paced floors hold each answer {result['paced_delay_s']} s, so that they serve "
        "about our server's request rate.",
        "",
        "| server | CPU ms per request | requests/s | errors |",
        "|---|---|---|---|",
    ]
    for name in ("asgi", "asgi-paced", "fastapi", "fastapi-paced", "ours"):
        row = result[name]
        lines.append(
            f"| {name} | {row['api_cpu_ms_per_request']} | {row['requests_per_s']} | "
            f"{row['errors']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.http_floor", description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--out", type=Path, default=Path("bench/results"))
    parser.add_argument("--serve", choices=("asgi", "fastapi"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--delay-s", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve, args.port, args.delay_s)
        return
    texts = sentences(args.requests, seed=7)
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "requests": args.requests,
        "load_before": round(os.getloadavg()[0], 2),
    }
    result["ours"] = _ours(texts, Path(f"/tmp/http-floor-{os.getpid()}"))
    # The floors twice: flat out, and slowed to our server's request rate (each answer held
    # for as long as 64 clients at that rate wait), where every send wakes a sleeping peer.
    paced = 64 / max(result["ours"]["requests_per_s"], 1.0)
    result["paced_delay_s"] = round(paced, 3)
    for kind in ("asgi", "fastapi"):
        result[kind] = _floor(kind, texts)
        result[f"{kind}-paced"] = _floor(kind, texts, paced)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{result['date']}-http-floor"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1))
    stem.with_suffix(".md").write_text(_markdown(result))
    print(_markdown(result))


if __name__ == "__main__":
    main()
