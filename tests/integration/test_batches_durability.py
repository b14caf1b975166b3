"""Nothing lost, nothing twice: a batch (OpenAI's, and Anthropic's message batch) survives a
SIGKILL of its whole server, and two replicas on one PostgreSQL database share a batch, one of
them dying mid-way."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from tests.integration.batches_support import (
    ENCODER,
    embed_lines,
    lines_of,
    submit,
    wait,
    wait_completed,
)
from tests.integration.conftest import CHAT_MODEL
from tests.support.postgres import postgres_server
from tests.support.server import ServerProcess, start_server

EMBEDDINGS = "/v1/embeddings"
IN_FLIGHT = 4


def config(store: dict[str, Any], **batches: Any) -> dict[str, Any]:
    return {
        "log_format": "text",
        "store": store,
        "batches": {"poll_s": 0.2, "max_in_flight": IN_FLIGHT} | batches,
        "models": [
            {
                "name": ENCODER,
                "task": "embed",
                "source": f"bundled:{ENCODER}",
                "torch_threads": 1,
                # One input per model batch: lines are slow enough to be caught in flight.
                "batching": {"max_batch_size": 1, "max_wait_ms": 0},
            }
        ],
    }


def client(server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0)


def kill(server: ServerProcess) -> None:
    """SIGKILL the server and every process it started, as a crash would."""
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=30)
    server.http.close()


def lines_done_here(server: ServerProcess) -> float:
    return server.metric("inference_batch_lines_total", endpoint=EMBEDDINGS, status="done")


def assert_each_line_once(api: openai.OpenAI, batch: Any, total: int) -> None:
    output = lines_of(api, batch.output_file_id) + lines_of(api, batch.error_file_id)
    ids = [x["custom_id"] for x in output]
    assert len(ids) == len(set(ids)) == total, (len(ids), len(set(ids)))
    assert set(ids) == {f"e{i}" for i in range(total)}
    assert all(x["response"]["status_code"] == 200 for x in output)


@pytest.fixture
def stopper() -> Iterator[list[ServerProcess]]:
    servers: list[ServerProcess] = []
    yield servers
    for server in servers:
        if server.process.poll() is None:
            server.stop(timeout=10)


def test_a_batch_resumes_after_a_sigkill_of_the_whole_server(
    tmp_path: Path, stopper: list[ServerProcess]
) -> None:
    total = 600
    store = {"data_dir": str(tmp_path / "shared-data")}
    first = start_server(config(store), tmp_path / "first")
    stopper.append(first)
    api = client(first)
    batch = submit(api, embed_lines(total), EMBEDDINGS)
    wait_completed(api, batch.id, 40)
    kill(first)

    second = start_server(config(store), tmp_path / "second")
    stopper.append(second)
    api = client(second)
    done = wait(api, batch.id, ("completed", "failed"))
    assert done.status == "completed", done
    assert done.request_counts.completed == total
    assert_each_line_once(api, done, total)
    log = second.log()
    resumed = re.search(r"resumed, (\d+) of (\d+) requests finished", log)
    again = re.search(r"(\d+) lines in flight when the server stopped run again", log)
    assert resumed is not None and again is not None, log[-3000:]
    finished_before = int(resumed.group(1))
    assert 40 <= finished_before < total and int(resumed.group(2)) == total
    # Only what was in flight at the kill ran twice; everything finished before did not.
    assert int(again.group(1)) <= IN_FLIGHT
    assert lines_done_here(second) == total - finished_before


def test_two_replicas_on_postgresql_share_a_batch_and_survive_one_dying(
    tmp_path: Path, stopper: list[ServerProcess]
) -> None:
    total = 800
    with postgres_server() as postgres:
        store = {"database_url": postgres.create_database("batches")}
        settings = config(store, lease_s=3)
        one = start_server(settings, tmp_path / "one")
        stopper.append(one)
        two = start_server(settings, tmp_path / "two")
        stopper.append(two)
        api = client(one)
        batch = submit(api, embed_lines(total), EMBEDDINGS)
        deadline = time.monotonic() + 120
        while lines_done_here(two) < 20 or lines_done_here(one) < 20:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        kill(two)  # its claimed lines come back to the queue once their lease runs out
        done = wait(api, batch.id, ("completed", "failed"))
        assert done.status == "completed", done
        assert done.request_counts.completed == total
        assert_each_line_once(api, done, total)
        assert lines_done_here(one) < total  # the dead replica's work was kept
        one.stop(timeout=10)


def test_a_message_batch_resumes_after_a_sigkill_of_the_whole_server(
    tmp_path: Path, stopper: list[ServerProcess]
) -> None:
    """Anthropic's Message Batches run on the same runner: a crash mid-batch loses nothing
    and runs nothing twice but what was in flight, seen through Anthropic's SDK."""
    total = 48
    settings = {
        "log_format": "text",
        "store": {"data_dir": str(tmp_path / "shared-data")},
        "batches": {"poll_s": 0.2, "max_in_flight": IN_FLIGHT},
        "models": [
            {
                "name": CHAT_MODEL,
                "task": "generate",
                "source": f"bundled:{CHAT_MODEL}",
                "engine": {"dtype": "float32", "max_model_len": 512, "enforce_eager": True},
            }
        ],
    }
    params = {"model": CHAT_MODEL, "max_tokens": 6, "temperature": 0.0}
    requests: list[Any] = [
        {
            "custom_id": f"m{i}",
            "params": params | {"messages": [{"role": "user", "content": f"Say {i}."}]},
        }
        for i in range(total)
    ]
    first = start_server(settings, tmp_path / "first")
    stopper.append(first)
    api = anthropic.Anthropic(base_url=first.base_url, api_key="unused", max_retries=0)
    batch = api.messages.batches.create(requests=requests)
    deadline = time.monotonic() + 120
    while api.messages.batches.retrieve(batch.id).request_counts.succeeded < 8:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    kill(first)

    second = start_server(settings, tmp_path / "second")
    stopper.append(second)
    api = anthropic.Anthropic(base_url=second.base_url, api_key="unused", max_retries=0)
    deadline = time.monotonic() + 240
    while (ended := api.messages.batches.retrieve(batch.id)).processing_status != "ended":
        assert time.monotonic() < deadline, ended
        time.sleep(0.2)
    assert ended.request_counts.succeeded == total and ended.request_counts.errored == 0
    results = list(api.messages.batches.results(batch.id))
    assert [r.custom_id for r in results] == [f"m{i}" for i in range(total)]
    assert all(r.result.type == "succeeded" for r in results)
    resumed = re.search(r"resumed, (\d+) of (\d+) requests finished", second.log())
    assert resumed is not None and 8 <= int(resumed.group(1)) < total
    done_here = second.metric("inference_batch_lines_total", endpoint="/v1/messages", status="done")
    assert done_here == total - int(resumed.group(1))
