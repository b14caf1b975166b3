"""Two replicas on a throwaway PostgreSQL: a model added on one is served by the other within
a few seconds, and a removal reaches both (real encoder models, real servers)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_runtime_models import ADDED, ADMIN, CONFIG, ENTRY, _classify, _states
from tests.support.postgres import Postgres, postgres_server
from tests.support.server import ServerProcess, start_server

pytestmark = pytest.mark.integration

CONVERGE_S = 60.0  # a sync pass is 2 s; the worker's load takes the rest on a busy machine


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ServerProcess]]:
    postgres: Postgres
    with postgres_server() as postgres:
        config = {**CONFIG, "store": {"database_url": postgres.create_database("models")}}
        root: Path = tmp_path_factory.mktemp("model-replicas")
        started = [start_server(config, root / name, wait_ready=False) for name in ("a", "b")]
        try:
            for server in started:
                server.wait_ready()
            yield started
        finally:
            codes = [server.stop() for server in started]
        assert codes == [0, 0], [s.log()[-2000:] for s in started]


def _until(check: object, timeout: float = CONVERGE_S) -> float:
    started = time.monotonic()
    while not check():  # type: ignore[operator]
        assert time.monotonic() - started < timeout
        time.sleep(0.25)
    return time.monotonic() - started


def test_replicas_converge_after_an_add_and_a_remove(replicas: list[ServerProcess]) -> None:
    a, b = replicas
    added = a.http.post("/admin/v1/models", json=ENTRY, headers=ADMIN)
    assert added.status_code == 201, added.text
    _until(lambda: _classify(b.http).status_code == 200)
    assert _states(b.http)[ADDED] == "loaded"
    removed = b.http.delete(f"/admin/v1/models/{ADDED}", headers=ADMIN)
    assert removed.status_code == 204, removed.text
    assert _until(lambda: _classify(a.http).status_code == 404) < 10
    assert ADDED not in _states(a.http)
