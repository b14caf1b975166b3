"""API keys on a real server (an encoder-only one: cheap) with its SQLite store: keys made by
the admin API and by the CLI, used with the official client, scoped, limited with the real
headers, revoked; usage against the answers' usage; no secret in logs or metrics."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.integration.encoders.models import minilm_dir
from tests.support.server import REPO, ServerProcess, served

pytestmark = pytest.mark.integration

ADMIN_KEY = "admin-key-for-tests"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
SYNC_S = 0.5


def keys_config() -> dict[str, Any]:
    """Two embedding models on the same weights (one worker, one thread each)."""
    model = {"task": "embed", "source": str(minilm_dir()), "backend": "torch", "torch_threads": 1}
    return {
        "admin_key": ADMIN_KEY,
        "keys": {"sync_interval_s": SYNC_S},
        "log_format": "json",
        "models": [{"name": "minilm", **model}, {"name": "minilm-b", **model}],
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with served(tmp_path_factory, "keys-server", keys_config()) as running:
        yield running


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> float:
    """Seconds until ``check()`` holds (fails past ``timeout``: the 5 s of the issue)."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < timeout, "not within 5 s"
        time.sleep(0.05)
    return time.monotonic() - start


def create_key(base_url: str, **body: Any) -> dict[str, Any]:
    r = httpx.post(f"{base_url}/admin/v1/keys", json=body, headers=ADMIN, timeout=30)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def accepted(base_url: str, secret: str) -> Callable[[], bool]:
    """Whether auth is on and ``secret`` is accepted."""

    def check() -> bool:
        if httpx.get(f"{base_url}/v1/models", timeout=30).status_code != 401:
            return False
        return httpx.get(f"{base_url}/v1/models", headers=_bearer(secret)).status_code == 200

    return check


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _client(server: ServerProcess, secret: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=secret, max_retries=0)


def _cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFERENCE_")}
    return subprocess.run(
        [sys.executable, "-m", "server", "keys", "--config", str(server.config_path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=env,
        check=False,
    )


def test_keys_are_scoped_limited_counted_and_revoked(server: ServerProcess) -> None:
    # Open until the first key exists.
    assert httpx.get(f"{server.base_url}/v1/models").status_code == 200
    app = create_key(server.base_url, name="app-a", models=["minilm"], rpm=4)
    eventually(accepted(server.base_url, app["key"]))
    client = _client(server, app["key"])
    # Scope: the other model does not exist for this key, and is not listed.
    assert [m.id for m in client.models.list()] == ["minilm"]
    with pytest.raises(openai.NotFoundError) as missing:
        client.embeddings.create(model="minilm-b", input="hello")
    assert missing.value.code == "model_not_found"
    # Limits: 4 requests a minute (the /v1/models calls count), then 429 with the headers.
    raw = client.embeddings.with_raw_response.create(model="minilm", input="one two three")
    assert raw.headers["x-ratelimit-limit-requests"] == "4"
    remaining = int(raw.headers["x-ratelimit-remaining-requests"])
    for _ in range(remaining):
        client.embeddings.create(model="minilm", input="again")
    with pytest.raises(openai.RateLimitError) as limited:
        client.embeddings.create(model="minilm", input="once more")
    headers = limited.value.response.headers
    assert int(headers["retry-after"]) >= 1 and headers["x-ratelimit-remaining-requests"] == "0"
    # Revoked: refused within 5 s.
    r = httpx.delete(f"{server.base_url}/admin/v1/keys/{app['id']}", headers=ADMIN)
    assert r.json()["revoked"] is True
    eventually(
        lambda: (
            httpx.get(f"{server.base_url}/v1/models", headers=_bearer(app["key"])).status_code
            == 401
        )
    )


def test_usage_equals_the_answers_usage_and_no_secret_leaks(server: ServerProcess) -> None:
    key = create_key(server.base_url, name="counted")
    eventually(accepted(server.base_url, key["key"]))
    client = _client(server, key["key"])
    texts = ["a short one", ["two inputs", "in one request"], "the last one, a little longer"]
    answered = sum(
        client.embeddings.create(model="minilm", input=text).usage.prompt_tokens for text in texts
    )
    usage = httpx.get(f"{server.base_url}/admin/v1/usage", headers=ADMIN, params={"key": "counted"})
    (row,) = usage.json()["data"]
    assert row == {
        "key": "counted",
        "model": "minilm",
        "date": row["date"],
        "requests": 3,
        "input_tokens": answered,
        "output_tokens": 0,
        "total_tokens": answered,
    }
    metrics = httpx.get(f"{server.base_url}/metrics").text
    assert 'key="counted"' in metrics
    bad = httpx.get(f"{server.base_url}/v1/models", headers=_bearer(key["key"] + "x"))
    assert bad.status_code == 401
    log = server.log()
    for text in (metrics, log, bad.text, usage.text):
        assert key["key"] not in text and key["key"][3:20] not in text
    access = [json.loads(line) for line in log.splitlines() if '"server.access"' in line]
    assert any(line.get("key") == "counted" for line in access)


def test_the_cli_manages_the_keys_the_server_uses(server: ServerProcess) -> None:
    made = _cli(
        server, "create", "from-cli", "--models", "minilm-b", "--rpm", "50", "--tpm", "9999"
    )
    assert made.returncode == 0, made.stderr
    created = json.loads(made.stdout)
    assert created["models"] == ["minilm-b"] and created["rpm"] == 50 and created["tpm"] == 9999
    secret = created["key"]
    seen = eventually(accepted(server.base_url, secret))
    assert seen < 5
    client = _client(server, secret)
    raw = client.embeddings.with_raw_response.create(model="minilm-b", input="from the cli")
    assert raw.headers["x-ratelimit-limit-tokens"] == "9999"
    listed = _cli(server, "list")
    assert listed.returncode == 0 and secret not in listed.stdout
    assert "from-cli" in [json.loads(line)["name"] for line in listed.stdout.splitlines()]
    assert _cli(server, "create", "from-cli").returncode == 1  # names are unique
    revoked = _cli(server, "revoke", "from-cli")
    assert revoked.returncode == 0 and json.loads(revoked.stdout)["revoked"] is True
    eventually(
        lambda: (
            httpx.get(f"{server.base_url}/v1/models", headers=_bearer(secret)).status_code == 401
        )
    )
    assert _cli(server, "revoke", "nobody").returncode == 1


def test_keys_survive_a_restart(tmp_path: Path) -> None:
    """A key of the store still works after the server restarts on the same store."""
    from tests.support.server import start_server

    config = keys_config()
    config["models"] = config["models"][:1]
    config["store"] = {"data_dir": str(tmp_path / "data")}
    first = start_server(config, tmp_path / "one")
    try:
        key = create_key(first.base_url, name="durable")
        eventually(accepted(first.base_url, key["key"]))
    finally:
        assert first.stop() == 0
    second = start_server(config, tmp_path / "two")
    try:
        assert httpx.get(f"{second.base_url}/v1/models").status_code == 401
        ok = httpx.get(f"{second.base_url}/v1/models", headers=_bearer(key["key"]))
        assert ok.status_code == 200
    finally:
        assert second.stop() == 0
