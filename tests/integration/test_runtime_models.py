"""Models added and removed at run time through the admin API, on a real server with real
encoder models (worker processes): served once added, listed with their state, refused when
bad, removed with their workers' memory freed, and still served after a restart (the desired
set is in the store); one with a keep_alive unloaded when idle and loaded again on demand; and
a generative model with an adapter on the real engine, put to sleep, woken and removed."""

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
# A generative model with the shipped adapter, added at run time (its engine starts then).
CHAT = "chat-added"
STYLED = "smollm2-ahoy"
CHAT_ENTRY = {
    "name": CHAT,
    "task": "generate",
    "source": "bundled:smollm2-135m-instruct",
    "keep_alive": 5,
    "engine": {"dtype": "float32", "max_model_len": 512, "enforce_eager": True},
    "adapters": [{"name": STYLED, "source": f"bundled:{STYLED}"}],
}
CHAT_MESSAGES = [{"role": "user", "content": "Which language is spoken in Brazil?"}]
ENGINE_LOAD_S = 600.0  # an engine starts slowly on a busy machine
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


def _wait_rss_below(proc: ServerProcess, limit_mib: float, timeout: float = 120) -> None:
    """Until the server's process tree holds less than ``limit_mib`` (a stopped engine's
    processes take a moment to exit)."""
    deadline = time.monotonic() + timeout
    while (rss := _rss_mib(proc)) >= limit_mib:
        root = psutil.Process(proc.process.pid)
        tree = [(p.pid, p.name(), p.memory_info().rss >> 20) for p in [root, *root.children(True)]]
        assert time.monotonic() < deadline, (rss, limit_mib, tree)
        time.sleep(1)


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


def _chat(http: httpx.Client, model: str) -> httpx.Response:
    """A chat request; 503 while the model loads again past ``load_wait_s`` is retried."""
    body = {"model": model, "max_tokens": 12, "temperature": 0, "messages": CHAT_MESSAGES}
    deadline = time.monotonic() + ENGINE_LOAD_S
    while True:
        reply = http.post("/v1/chat/completions", json=body, timeout=ENGINE_LOAD_S)
        if reply.status_code != 503 or time.monotonic() > deadline:
            return reply
        assert reply.headers.get("retry-after"), reply.text
        time.sleep(2)


def test_a_generative_model_added_at_runtime_sleeps_wakes_and_is_removed(
    server: ServerProcess,
) -> None:
    """The real engine: added, served, unloaded after its keep_alive (its engine processes
    gone), loaded again by a request for its adapter, then removed with its memory freed."""
    before = _rss_mib(server)
    added = server.http.post(
        "/admin/v1/models", json=CHAT_ENTRY, headers=ADMIN, timeout=ENGINE_LOAD_S
    )  # answers once the engine is up
    assert added.status_code == 201, added.text
    base = _chat(server.http, CHAT)
    assert base.status_code == 200, base.text
    loaded = _rss_mib(server)
    assert loaded > before + 300, (before, loaded)  # an engine runs
    _wait_unloaded(server.http, CHAT)
    assert _card_state(server.http, STYLED) == "unloaded"  # its adapter sleeps with it
    _wait_rss_below(server, loaded - 300)
    styled = _chat(server.http, STYLED)  # an adapter's request loads its base again
    assert styled.status_code == 200, styled.text
    assert styled.json()["choices"][0]["message"]["content"].startswith("Ahoy")
    assert not base.json()["choices"][0]["message"]["content"].startswith("Ahoy")
    assert _card_state(server.http, CHAT) == "loaded"
    reloaded = _rss_mib(server)
    removed = server.http.delete(f"/admin/v1/models/{CHAT}", headers=ADMIN, timeout=120)
    assert removed.status_code == 204, removed.text
    _wait_rss_below(server, reloaded - 300)
    assert _chat(server.http, STYLED).status_code == 404


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
