"""Two replicas (encoder-only servers) on one throwaway PostgreSQL: a key made on one works on
the other, its rpm holds across both within one sync interval, its usage adds up across
both, and its revocation reaches the other within 5 s."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.test_keys import (
    ADMIN,
    SYNC_S,
    _bearer,
    accepted,
    create_key,
    eventually,
    keys_config,
)
from tests.support.postgres import Postgres, postgres_server
from tests.support.server import ServerProcess, start_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ServerProcess]]:
    postgres: Postgres
    with postgres_server() as postgres:
        config = keys_config()
        config["models"] = config["models"][:1]
        config["store"] = {"database_url": postgres.create_database("keys")}
        root: Path = tmp_path_factory.mktemp("key-replicas")
        started = [start_server(config, root / name, wait_ready=False) for name in ("a", "b")]
        try:
            for server in started:
                server.wait_ready()
            yield started
        finally:
            codes = [server.stop() for server in started]
        assert codes == [0, 0], [s.log()[-2000:] for s in started]


def _embed(server: ServerProcess, secret: str) -> httpx.Response:
    body = {"model": "minilm", "input": "shared limits"}
    return server.http.post("/v1/embeddings", json=body, headers=_bearer(secret))


def test_a_key_is_shared_limited_counted_and_revoked_across_replicas(
    replicas: list[ServerProcess],
) -> None:
    a, b = replicas
    # Limits count by wall-clock minute: start early in one so the test stays within it.
    into = time.time() % 60
    if into > 30:
        time.sleep(61 - into)
    key = create_key(a.base_url, name="shared", rpm=10)
    secret = key["key"]
    assert eventually(accepted(b.base_url, secret)) < 5  # made on a, known on b
    eventually(accepted(a.base_url, secret))
    # Each accepted() counted one request. Use the rest of the minute's 10 on a ...
    time.sleep(3 * SYNC_S)  # a has seen b's probe
    used_on_a = 0
    while _embed(a, secret).status_code == 200:
        used_on_a += 1
        assert used_on_a <= 10
    assert used_on_a == 8  # 10, less the two probes (one on each replica)
    # ... then, once b has synced, b has nothing left either.
    time.sleep(3 * SYNC_S)
    refused = _embed(b, secret)
    assert refused.status_code == 429
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    # Usage: both replicas' answered requests, in the one table.
    time.sleep(3 * SYNC_S)
    usage = b.http.get("/admin/v1/usage", headers=ADMIN, params={"key": "shared"}).json()
    # Only answers that used a model count (not the probes of /v1/models, nor the 429s).
    assert usage["data"][0]["requests"] == used_on_a
    # Revoked on b, refused on a within 5 s.
    b.http.delete(f"/admin/v1/keys/{key['id']}", headers=ADMIN)
    assert eventually(lambda: _embed(a, secret).status_code == 401) < 5


def test_files_and_batches_are_their_keys_own_on_every_replica(
    replicas: list[ServerProcess],
) -> None:
    a, b = replicas
    owner, other = create_key(a.base_url, name="owner"), create_key(a.base_url, name="other")
    for key in (owner, other):
        eventually(accepted(a.base_url, key["key"]))
        eventually(accepted(b.base_url, key["key"]))
    mine, theirs = _bearer(owner["key"]), _bearer(other["key"])
    line = {"custom_id": "x", "method": "POST", "url": "/v1/embeddings"}
    data = json.dumps(line | {"body": {"model": "minilm", "input": "owned"}}) + "\n"
    files = {"file": ("in.jsonl", data.encode(), "application/jsonl")}
    uploaded = a.http.post("/v1/files", files=files, data={"purpose": "batch"}, headers=mine)
    assert uploaded.status_code == 200, uploaded.text
    file_id = uploaded.json()["id"]
    # Made on a, the other key's 404 on b too; its owner finds it there.
    assert b.http.get(f"/v1/files/{file_id}", headers=theirs).status_code == 404
    assert b.http.get(f"/v1/files/{file_id}", headers=mine).status_code == 200
    assert b.http.get("/v1/files", headers=theirs).json()["data"] == []
    body = {"input_file_id": file_id, "endpoint": "/v1/embeddings", "completion_window": "24h"}
    batch = a.http.post("/v1/batches", json=body, headers=mine).json()
    assert b.http.get(f"/v1/batches/{batch['id']}", headers=theirs).status_code == 404

    def ended() -> bool:
        found = b.http.get(f"/v1/batches/{batch['id']}", headers=mine).json()
        return bool(found["status"] in ("completed", "failed"))

    eventually(ended, timeout=60)
    done = b.http.get(f"/v1/batches/{batch['id']}", headers=mine).json()
    assert done["status"] == "completed", done
    output = done["output_file_id"]
    assert a.http.get(f"/v1/files/{output}/content", headers=theirs).status_code == 404
    (result,) = a.http.get(f"/v1/files/{output}/content", headers=mine).text.splitlines()
    assert json.loads(result)["response"]["status_code"] == 200
