"""Two server processes on one throwaway PostgreSQL: a response made on one replica is
read and continued on the other, a cancel on one stops the run on the other, and a
database outage is a 503 (``/ready`` and the store-backed requests), never a 500."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.support.postgres import Postgres, postgres_server
from tests.support.server import ServerProcess, start_server

pytestmark = pytest.mark.integration

MODEL = "smollm2"
ASK: dict[str, Any] = {"model": MODEL, "temperature": 0, "max_output_tokens": 16}


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="module")
def replicas(
    postgres: Postgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    config = {
        "log_format": "json",
        # The default connect timeout (5 s): a shorter one turned a connection opened while the
        # other replica's engine held both cores into a spurious 503.
        "store": {"database_url": postgres.create_database("responses")},
        "models": [
            {
                "name": MODEL,
                "task": "generate",
                "source": "bundled:smollm2-135m-instruct",
                "engine": {"dtype": "float32", "max_model_len": 1024, "enforce_eager": True},
            }
        ],
    }
    root: Path = tmp_path_factory.mktemp("replicas")
    # Both start together: the second waits on the first's migration lock, then finds
    # the schema already there.
    started = [start_server(config, root / name, wait_ready=False) for name in ("a", "b")]
    try:
        for server in started:
            server.wait_ready()
        yield started[0], started[1]
    finally:
        codes = [server.stop() for server in started]
    assert codes == [0, 0], [s.log()[-2000:] for s in started]


def _client(server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0)


def test_one_replica_continues_what_the_other_made(
    replicas: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = (_client(r) for r in replicas)
    first = a.responses.create(input="My name is Alice.", **ASK)
    assert b.responses.retrieve(first.id).output_text == first.output_text
    second = b.responses.create(input="What is my name?", previous_response_id=first.id, **ASK)
    alone = b.responses.create(input="What is my name?", store=False, **ASK)
    assert first.usage and second.usage and alone.usage
    assert second.usage.input_tokens >= alone.usage.input_tokens + first.usage.output_tokens
    items = a.responses.input_items.list(second.id)
    assert [i.content[0].text for i in items.data] == ["What is my name?"]  # type: ignore[union-attr]
    a.responses.delete(second.id)
    with pytest.raises(openai.NotFoundError):
        b.responses.retrieve(second.id)


def test_a_cancel_on_one_replica_stops_the_run_on_the_other(
    replicas: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = (_client(r) for r in replicas)
    running = a.responses.create(
        input="Write a very long story about a ship.",
        background=True,
        model=MODEL,
        max_output_tokens=900,
    )
    deadline = time.monotonic() + 60
    while a.responses.retrieve(running.id).status == "queued" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert b.responses.cancel(running.id).status == "cancelled"
    time.sleep(7)  # past the runner's heartbeat: it saw the cancel and stopped
    assert a.responses.retrieve(running.id).status == "cancelled"
    assert replicas[0].metric("inference_running_requests", model=MODEL) == 0


def test_a_database_outage_is_503_and_recovers(
    postgres: Postgres, replicas: tuple[ServerProcess, ServerProcess]
) -> None:
    server = replicas[0]
    kept = _client(server).responses.create(input="Say yes.", **ASK)
    postgres.stop()
    try:
        ready = server.http.get("/ready")
        assert ready.status_code == 503
        assert "store" in ready.json()["error"]["message"]
        for reply in (
            server.http.get(f"/v1/responses/{kept.id}"),
            server.http.post(
                "/v1/responses",
                json={"input": "and?", "previous_response_id": kept.id, **ASK},
            ),
        ):
            assert reply.status_code == 503, reply.text
            assert reply.json()["error"]["code"] == "store_unavailable"
        # Not stored, so not affected: it still answers.
        unstored = server.http.post("/v1/responses", json={"input": "hi", "store": False, **ASK})
        assert unstored.status_code == 200
    finally:
        postgres.start()
    deadline = time.monotonic() + 30
    while server.http.get("/ready").status_code != 200:
        assert time.monotonic() < deadline, "did not recover after the database came back"
        time.sleep(0.5)
    assert _client(server).responses.retrieve(kept.id).output_text == kept.output_text
