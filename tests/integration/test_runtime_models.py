"""Models added and removed at run time through the admin API, on a real server with real
encoder models (worker processes): served once added, listed with their state, refused when
bad, removed with their workers' memory freed, and still served after a restart (the desired
set is in the store); one with a keep_alive unloaded when idle and loaded again on demand."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.support.server import ServerProcess, start_server

pytestmark = pytest.mark.integration

ADMIN_KEY = "runtime-admin-key"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
BASE = "all-minilm-l6-v2"
ADDED = "sentiment-added"
ENTRY = {
    "name": ADDED,
    "task": "classify",
    "source": "bundled:minilm-sentiment",
    "torch_threads": 1,
}
IDLE = "sentiment-idle"
IDLE_ENTRY = {**ENTRY, "name": IDLE, "keep_alive": 4}
CONFIG: dict[str, Any] = {
    "admin_key": ADMIN_KEY,
    "load_wait_s": 120,
    "models": [{"name": BASE, "task": "embed", "source": f"bundled:{BASE}", "torch_threads": 1}],
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runtime-models")


@pytest.fixture(scope="module")
def server(workdir: Path) -> Iterator[ServerProcess]:
    proc = start_server(CONFIG, workdir)
    try:
        yield proc
    finally:
        proc.stop()


def _rss_mib(proc: ServerProcess) -> float:
    root = psutil.Process(proc.process.pid)
    tree = [root, *root.children(recursive=True)]
    return sum(p.memory_info().rss for p in tree if p.is_running()) / 2**20


def _classify(http: httpx.Client) -> httpx.Response:
    return http.post("/v1/classify", json={"model": ADDED, "input": ["I love it"]})


def _states(http: httpx.Client) -> dict[str, str]:
    listing = http.get("/admin/v1/models", headers=ADMIN)
    assert listing.status_code == 200, listing.text
    return {row["name"]: row["state"] for row in listing.json()["data"]}


def test_the_admin_models_api_takes_the_admin_key(server: ServerProcess) -> None:
    assert server.http.get("/admin/v1/models").status_code == 401
    assert server.http.post("/admin/v1/models", json=ENTRY).status_code == 401


def test_a_bad_entry_is_a_400_naming_the_field(server: ServerProcess) -> None:
    bad = server.http.post("/admin/v1/models", json={**ENTRY, "task": "dance"}, headers=ADMIN)
    assert bad.status_code == 400 and "task" in bad.json()["error"]["message"]
    clash = server.http.post("/admin/v1/models", json={**ENTRY, "name": BASE}, headers=ADMIN)
    assert clash.status_code == 409
    missing = server.http.post(
        "/admin/v1/models", json={**ENTRY, "source": "bundled:nowhere"}, headers=ADMIN
    )
    assert missing.status_code == 400, missing.text
    assert ADDED not in _states(server.http)


def test_add_serve_list_and_remove_frees_memory(server: ServerProcess) -> None:
    assert _classify(server.http).status_code == 404
    before = _rss_mib(server)
    added = server.http.post("/admin/v1/models", json=ENTRY, headers=ADMIN)
    assert added.status_code == 201, added.text
    assert added.json()["state"] == "loaded"
    answer = _classify(server.http)
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"][0]["label"] == "positive"
    states = _states(server.http)
    assert states == {BASE: "loaded", ADDED: "loaded"}
    loaded = _rss_mib(server)
    assert loaded > before + 50  # a worker process with the model
    assert server.http.delete(f"/admin/v1/models/{BASE}", headers=ADMIN).status_code == 400
    removed = server.http.delete(f"/admin/v1/models/{ADDED}", headers=ADMIN)
    assert removed.status_code == 204, removed.text
    assert _classify(server.http).status_code == 404
    assert ADDED not in _states(server.http)
    assert _rss_mib(server) < loaded - 50
    again = server.http.delete(f"/admin/v1/models/{ADDED}", headers=ADMIN)
    assert again.status_code == 404


def _card_state(http: httpx.Client, name: str) -> str:
    card = http.get(f"/v1/models/{name}")
    assert card.status_code == 200, card.text
    return str(card.json()["state"])


def _wait_unloaded(http: httpx.Client, name: str) -> None:
    deadline = time.monotonic() + 60
    while _card_state(http, name) != "unloaded":
        assert time.monotonic() < deadline, _states(http)
        time.sleep(0.25)


def test_keep_alive_unloads_an_idle_model_and_a_request_loads_it_again(
    server: ServerProcess,
) -> None:
    added = server.http.post("/admin/v1/models", json=IDLE_ENTRY, headers=ADMIN)
    assert added.status_code == 201, added.text
    body = {"model": IDLE, "input": ["I love it"]}
    first = server.http.post("/v1/classify", json=body)
    assert first.status_code == 200, first.text
    loaded = _rss_mib(server)
    _wait_unloaded(server.http, IDLE)
    assert _states(server.http)[IDLE] == "unloaded"
    assert {m["id"]: m["state"] for m in server.http.get("/v1/models").json()["data"]}[IDLE] == (
        "unloaded"
    )
    assert _rss_mib(server) < loaded - 50  # its worker process is gone
    assert _card_state(server.http, BASE) == "loaded"  # a model without keep_alive stays
    again = server.http.post("/v1/classify", json=body, timeout=180)  # waits for the load
    assert again.status_code == 200, again.text
    assert again.json()["data"] == first.json()["data"]
    assert _card_state(server.http, IDLE) == "loaded"
    _wait_unloaded(server.http, IDLE)  # removing an unloaded model works too
    assert server.http.delete(f"/admin/v1/models/{IDLE}", headers=ADMIN).status_code == 204
    assert IDLE not in _states(server.http)
    assert server.http.post("/v1/classify", json=body).status_code == 404


def test_a_restart_serves_the_added_models(server: ServerProcess, workdir: Path) -> None:
    """Last: added again, then the server restarts on the same store."""
    added = server.http.post("/admin/v1/models", json=ENTRY, headers=ADMIN)
    assert added.status_code == 201, added.text
    assert server.stop() == 0
    proc = start_server(CONFIG, workdir)
    try:
        deadline = time.monotonic() + 120
        while _states(proc.http).get(ADDED) != "loaded":
            assert time.monotonic() < deadline, _states(proc.http)
            time.sleep(0.5)
        assert _classify(proc.http).status_code == 200
    finally:
        proc.stop()
