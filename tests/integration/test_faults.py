"""Faults, limits and shutdown against the real server (vLLM CPU engine + a real encoder).

One server takes the limit, deadline, priority and disconnect tests and is then drained with
SIGTERM (the last test of its group); a second one has its engine killed.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import psutil
import pytest

from tests.integration.encoders.models import minilm_dir
from tests.support.server import ServerProcess, served

pytestmark = pytest.mark.integration

MODEL = "smollm2-135m-instruct"
EMBED = "minilm"
PARIS = [{"role": "user", "content": "What is the capital of France?"}]
GENERATE = {
    "name": MODEL,
    "task": "generate",
    "source": f"bundled:{MODEL}",
    "engine": {"dtype": "float32", "max_model_len": 1024, "enforce_eager": True},
}


def unfinished(server: ServerProcess, model: str = MODEL) -> float:
    """Requests of ``model`` running or waiting (the chat model unless named)."""
    running = server.metric("inference_running_requests", model=model)
    return running + server.metric("inference_waiting_requests", model=model)


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    """Poll ``predicate`` until it holds. A failure says how long the slowest check took, so
    that a stalled client is told apart from a server that never got there."""
    start = time.monotonic()
    slowest = 0.0
    while True:
        before = time.monotonic()
        if predicate():
            return
        now = time.monotonic()
        slowest = max(slowest, now - before)
        assert now - start < timeout, (
            f"not within {timeout} s: {what} "
            f"(waited {now - start:.1f} s, slowest check {slowest:.1f} s)"
        )
        time.sleep(0.2)


def read_stream(
    server: ServerProcess, body: dict[str, Any], first_event: threading.Event
) -> tuple[int, list[str]]:
    """POST a streaming chat request; its status and every ``data:`` payload, in order.
    ``first_event`` is set when the first payload arrives."""
    with server.http.stream(
        "POST", "/v1/chat/completions", json={**body, "stream": True}, timeout=300
    ) as response:
        payloads = []
        for line in response.iter_lines():
            if line.startswith("data: "):
                payloads.append(line[len("data: ") :])
                first_event.set()
        return response.status_code, payloads


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    config = {
        "drain_timeout_s": 60,
        "limits": {"max_body_bytes": 65536, "max_header_count": 40, "max_n": 4},
        "models": [
            {**GENERATE, "engine": {**GENERATE["engine"], "enable_priority_scheduling": True}},
            {
                "name": EMBED,
                "task": "embed",
                "source": str(minilm_dir()),
                # Batches wait to fill for a while behind a running one: a short deadline
                # passes in the queue.
                "batching": {"max_wait_ms": 200},
            },
        ],
    }
    # Normally already drained and exited by the last test, which checks its exit code.
    with served(tmp_path_factory, "faults", config, clean_exit=False) as proc:
        yield proc


def test_oversized_body_is_413_and_bad_headers_400(server: ServerProcess) -> None:
    huge = {"model": EMBED, "input": "word " * 20000}  # ~100 kB
    r = httpx.post(f"{server.base_url}/v1/embeddings", json=huge, timeout=30)
    assert r.status_code == 413, r.text
    assert "limits.max_body_bytes" in r.json()["error"]["message"]

    def chunks() -> Iterator[bytes]:
        yield json.dumps(huge).encode()

    r = httpx.post(f"{server.base_url}/v1/embeddings", content=chunks(), timeout=30)
    assert r.status_code == 413, r.text
    headers = {f"x-extra-{i}": "1" for i in range(50)}
    r = httpx.get(f"{server.base_url}/v1/models", headers=headers)
    assert r.status_code == 400 and "limits.max_header_count" in r.json()["error"]["message"]
    # The same connection-less client is served normally afterwards.
    assert httpx.post(f"{server.base_url}/v1/embeddings", json={"model": EMBED, "input": "ok"})


def test_huge_n_is_refused_by_the_limit(server: ServerProcess) -> None:
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="-", max_retries=0)
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model=MODEL, messages=PARIS, n=100, max_tokens=1)
    assert err.value.body["param"] == "n"  # type: ignore[index]
    assert "limits.max_n" in err.value.body["message"]  # type: ignore[index]


def test_deadline_refuses_work_that_would_start_late(server: ServerProcess) -> None:
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="-", max_retries=0)
    tight = {"X-Request-Deadline-Ms": "1"}
    # An idle model starts a request at once, so keep it busy: a request that comes while a
    # batch runs waits in the queue (up to max_wait_ms for its batch to fill), past 1 ms.
    busy_texts = [f"sentence number {i} keeps the model busy for a while" for i in range(400)]
    busy = threading.Thread(
        target=lambda: client.embeddings.create(model=EMBED, input=busy_texts), daemon=True
    )
    busy.start()
    wait_for(lambda: unfinished(server, EMBED) > 0, 10, "the model is busy")
    with pytest.raises(openai.APIStatusError) as err:
        client.embeddings.create(model=EMBED, input="late", extra_headers=tight)
    assert err.value.status_code == 504
    assert err.value.body["code"] == "deadline_exceeded"  # type: ignore[index]
    busy.join(60)
    with pytest.raises(openai.APIStatusError) as err:
        client.chat.completions.create(
            model=MODEL, messages=PARIS, max_tokens=50, stream=True, extra_headers=tight
        )
    assert err.value.status_code == 504
    wait_for(lambda: unfinished(server) == 0, 10, "the late request left the engine")
    roomy = {"X-Request-Deadline-Ms": "60000"}
    assert client.embeddings.create(model=EMBED, input="ok", extra_headers=roomy).data
    reply = client.chat.completions.create(
        model=MODEL, messages=PARIS, max_tokens=2, extra_headers=roomy
    )
    assert reply.usage is not None and reply.usage.completion_tokens == 2


def test_priority_reaches_both_engines(server: ServerProcess) -> None:
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="-", max_retries=0)
    reply = client.chat.completions.create(
        model=MODEL, messages=PARIS, max_tokens=2, extra_body={"priority": -5}
    )
    assert reply.choices[0].finish_reason == "length"
    embedded = client.embeddings.create(model=EMBED, input="x", extra_body={"priority": 3})
    assert len(embedded.data[0].embedding) == 384


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "pattern": "[unclosed(regex"},
        {"type": "object", "properties": {"a": {"$ref": "#/nowhere"}}},
        {"type": "integer", "minimum": 5, "maximum": 1},
    ],
)
def test_malformed_grammar_is_400_and_the_engine_keeps_serving(
    server: ServerProcess, schema: dict[str, Any]
) -> None:
    client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="-", max_retries=0)
    fmt = {"type": "json_schema", "json_schema": {"name": "bad", "schema": schema}}
    try:
        client.chat.completions.create(
            model=MODEL,
            messages=PARIS,
            max_tokens=5,
            response_format=fmt,  # type: ignore[arg-type]
        )
    except openai.BadRequestError as err:
        assert err.body["param"] == "response_format"  # type: ignore[index]
    # Whether refused or (for a schema the grammar compiler accepts) served, the engine lives.
    reply = client.chat.completions.create(model=MODEL, messages=PARIS, max_tokens=2)
    assert reply.usage is not None and reply.usage.completion_tokens == 2
    assert httpx.get(f"{server.base_url}/health").status_code == 200


async def test_hundred_clients_leaving_mid_stream_leave_nothing_running(
    server: ServerProcess,
) -> None:
    body = {"model": MODEL, "messages": PARIS, "max_tokens": 800, "ignore_eos": True}

    async def leave_after_two_chunks(http: httpx.AsyncClient) -> None:
        async with http.stream(
            "POST", "/v1/chat/completions", json={**body, "stream": True}
        ) as response:
            assert response.status_code == 200
            seen = 0
            async for line in response.aiter_lines():
                seen += line.startswith("data: ")
                if seen == 2:
                    return  # closing the stream closes the connection mid-response

    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=120, limits=limits) as http:
        await asyncio.gather(*(leave_after_two_chunks(http) for _ in range(100)))
    await asyncio.to_thread(wait_for, lambda: unfinished(server) == 0, 30, "engine drained")
    assert unfinished(server) == 0
    r = httpx.post(
        f"{server.base_url}/v1/chat/completions",
        json={"model": MODEL, "messages": PARIS, "max_tokens": 3},
        timeout=60,
    )
    assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] == 3


def test_sigterm_drains_in_flight_refuses_new_and_reaps_children(server: ServerProcess) -> None:
    children = psutil.Process(server.process.pid).children(recursive=True)
    assert children, "the server should have engine and worker processes"
    # Long enough to be still running through the checks below, even on a slow host.
    body = {"model": MODEL, "messages": PARIS, "max_tokens": 400, "ignore_eos": True}
    results: list[tuple[int, list[str]]] = []
    started = threading.Event()

    def stream() -> None:
        results.append(read_stream(server, body, started))

    worker = threading.Thread(target=stream)
    worker.start()
    assert started.wait(60), "the stream did not start"
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    refused = server.http.post("/v1/embeddings", json={"model": EMBED, "input": "new"})
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "shutting_down"
    assert refused.headers["retry-after"]
    assert server.http.get("/ready").status_code == 503
    assert server.http.get("/health").status_code == 200
    worker.join(300)
    status, lines = results[0]
    assert status == 200 and lines[-1] == "[DONE]"
    chunks = [json.loads(line) for line in lines[:-1]]
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"  # ran to its full length
    assert server.process.wait(60) == 0, server.log()[-3000:]
    # Helpers that exit when their parent's pipe closes (multiprocessing's resource tracker)
    # may outlive it by a moment; nothing may be left after that.
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == [], f"children left running: {[(p.pid, p.name()) for p in alive]}"


@pytest.fixture(scope="module")
def doomed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # Two sequences at a time and one waiting: a third request in flight fills the model.
    # Long contexts: its requests must still be running when the engine is killed.
    engine = {**GENERATE["engine"], "max_num_seqs": 2, "max_model_len": 4096}
    small = {**GENERATE, "max_queue": 1, "engine": engine}
    # Its engine is killed: the test checks the exit code.
    with served(tmp_path_factory, "doomed", {"models": [small]}, clean_exit=False) as proc:
        yield proc


def engine_core(server: ServerProcess) -> psutil.Process:
    for child in psutil.Process(server.process.pid).children(recursive=True):
        if "EngineCore" in " ".join(child.cmdline()) or "EngineCore" in child.name():
            return child
    raise AssertionError("no engine core process found")


def test_full_model_429_then_engine_death_fails_in_flight_and_exits(
    doomed: ServerProcess,
) -> None:
    body = {"model": MODEL, "messages": PARIS, "max_tokens": 4000, "ignore_eos": True}
    outcomes: dict[str, Any] = {}
    streaming = threading.Event()
    # Found before the load: reading a busy process's /proc entries can stall for a long time on
    # a loaded host, and the deadline below is for the server, not for this lookup.
    core = engine_core(doomed)

    def plain(key: str) -> None:
        try:
            r = doomed.http.post("/v1/chat/completions", json=body, timeout=300)
            outcomes[key] = (r.status_code, r.json())
        except httpx.HTTPError as exc:
            outcomes[key] = exc

    def streamed() -> None:
        outcomes["stream"] = read_stream(doomed, body, streaming)[1]

    # The stream first (so that it runs, not waits), then one running and one waiting.
    threads = [
        threading.Thread(target=streamed),
        threading.Thread(target=plain, args=("plain",)),
        threading.Thread(target=plain, args=("queued",)),
    ]
    threads[0].start()
    assert streaming.wait(60)
    for thread in threads[1:]:
        thread.start()
    wait_for(lambda: unfinished(doomed) == 3, 120, "two requests running and one waiting")
    probe = {"model": MODEL, "messages": PARIS, "max_tokens": 1}
    full = doomed.http.post("/v1/chat/completions", json=probe, timeout=10)
    assert full.status_code == 429 and int(full.headers["retry-after"]) >= 1
    assert full.json()["error"]["type"] == "rate_limit_error"
    os.kill(core.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    for thread in threads:
        thread.join(30)
    for key in ("plain", "queued"):
        status, error = outcomes[key]
        assert status == 503 and error["error"]["type"] == "service_unavailable_error"
    lines = outcomes["stream"]
    assert lines[-1] == "[DONE]"
    assert json.loads(lines[-2])["error"]["type"] == "service_unavailable_error"
    try:
        health = doomed.http.get("/health", timeout=5).status_code
    except httpx.TransportError:
        health = None  # already gone, which a supervisor sees the same way
    assert health in (503, None)
    code = doomed.process.wait(10)
    assert code == 3, doomed.log()[-3000:]
    assert time.monotonic() - killed_at < 10
