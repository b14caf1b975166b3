"""Keys of the store through the real app over a fake model: the admin API, auth turning on
with the first key, scopes, limits with their headers, usage, revocation."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.support.app import MODEL, assert_openai_error, fake_client
from tests.support.metrics import metric_value

ADMIN = {"Authorization": "Bearer admin-secret"}
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "a b c"}], "max_tokens": 4}


def _settings(tmp_path: Path, extra: str = "") -> str:
    return (
        "admin_key: admin-secret\nkeys: {sync_interval_s: 0.1}\n"
        f"store: {{data_dir: {tmp_path / 'data'}}}\n{extra}"
    )


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with fake_client(tmp_path, _settings(tmp_path)) as c:
        yield c


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not within the sync interval"
        time.sleep(0.05)


def _create(client: TestClient, **body: object) -> dict[str, object]:
    r = client.post("/admin/v1/keys", json=body, headers=ADMIN)
    assert r.status_code == 201, r.text
    created: dict[str, object] = r.json()
    secret = str(created["key"])
    # Known once auth is on (a request without a key refused) and the key is accepted.
    _eventually(
        lambda: (
            client.get("/v1/models").status_code == 401
            and client.get("/v1/models", headers=_bearer(secret)).status_code == 200
        )
    )
    return created


def test_admin_api_needs_the_admin_key_which_is_no_user_key(client: TestClient) -> None:
    # Without keys in the store the API is open; the admin key alone does not close it.
    assert client.get("/v1/models").status_code == 200
    for headers in ({}, _bearer("wrong"), {"x-api-key": "admin-secret"}):
        r = client.get("/admin/v1/keys", headers=headers)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert client.get("/admin/v1/keys", headers=ADMIN).json() == {"object": "list", "data": []}
    _create(client, name="app")
    r = client.get("/v1/models", headers=ADMIN)
    assert r.status_code == 401
    assert_openai_error(r.json())


def test_keys_are_created_listed_changed_and_revoked(client: TestClient) -> None:
    created = _create(client, name="app", models=[MODEL], rpm=100)
    secret = str(created["key"])
    assert secret.startswith("sk-")
    assert created["name"] == "app" and created["models"] == [MODEL] and not created["revoked"]
    listed = client.get("/admin/v1/keys", headers=ADMIN)
    assert secret not in listed.text and "secret_hash" not in listed.text
    (row,) = listed.json()["data"]
    assert row["id"] == created["id"] and row["key"] is None
    key_url = f"/admin/v1/keys/{created['id']}"
    assert client.get(key_url, headers=ADMIN).json()["rpm"] == 100
    patched = client.patch(key_url, json={"rpm": None, "tpm": 1000}, headers=ADMIN).json()
    assert (patched["rpm"], patched["tpm"]) == (None, 1000)
    assert client.post("/admin/v1/keys", json={"name": "app"}, headers=ADMIN).status_code == 409
    bad = client.post("/admin/v1/keys", json={"name": "x", "rpm": 0}, headers=ADMIN)
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "rpm"
    assert client.get("/admin/v1/keys/key_nope", headers=ADMIN).status_code == 404
    # Every API route now needs a key, both ways of sending it work, on both families.
    assert client.post("/v1/chat/completions", json=CHAT).status_code == 401
    assert (
        client.post("/v1/chat/completions", json=CHAT, headers=_bearer(secret)).status_code == 200
    )
    r = client.post("/v1/messages", json=CHAT, headers={"x-api-key": secret})
    assert r.status_code == 200, r.text
    assert client.get("/health").status_code == 200 and client.get("/metrics").status_code == 200
    # Revoked: refused within the sync interval; still listed, and auth stays on.
    assert client.delete(key_url, headers=ADMIN).json()["revoked"] is True
    _eventually(lambda: client.get("/v1/models", headers=_bearer(secret)).status_code == 401)
    assert client.get("/v1/models").status_code == 401


def test_a_key_sees_and_uses_only_its_models(client: TestClient) -> None:
    scoped = _bearer(str(_create(client, name="scoped", models=["another-model"])["key"]))
    full = _bearer(str(_create(client, name="full")["key"]))
    assert client.get("/v1/models", headers=scoped).json()["data"] == []
    assert [m["id"] for m in client.get("/v1/models", headers=full).json()["data"]] == [MODEL]
    assert client.get(f"/v1/models/{MODEL}", headers=scoped).status_code == 404
    r = client.post("/v1/chat/completions", json=CHAT, headers=scoped)
    assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"
    r = client.post("/v1/messages", json=CHAT, headers=scoped)
    assert r.status_code == 404
    assert r.json()["type"] == "error" and r.json()["error"]["type"] == "not_found_error"
    assert (
        client.post("/tokenize", json={"model": MODEL, "prompt": "a"}, headers=scoped).status_code
        == 404
    )


def test_rpm_limit_answers_429_with_openai_headers(client: TestClient) -> None:
    key = _bearer(str(_create(client, name="slow", rpm=3)["key"]))
    # One request went to /v1/models when the key was first seen working.
    answers = [client.post("/v1/chat/completions", json=CHAT, headers=key) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    ok, refused = answers[0], answers[2]
    assert ok.headers["x-ratelimit-limit-requests"] == "3"
    assert ok.headers["x-ratelimit-remaining-requests"] == "1"
    assert ok.headers["x-ratelimit-reset-requests"].endswith("s")
    assert "x-ratelimit-limit-tokens" not in ok.headers  # no tpm on this key
    assert refused.json()["error"]["type"] == "rate_limit_error"
    assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    anthropic = client.post("/v1/messages", json=CHAT, headers=key)
    assert anthropic.status_code == 429 and anthropic.json()["error"]["type"] == "rate_limit_error"


def test_tpm_reserves_prompt_and_max_tokens_then_settles(client: TestClient) -> None:
    key = _bearer(str(_create(client, name="tokens", tpm=60)["key"]))
    big = {**CHAT, "max_tokens": 56}  # the prompt (6) and 56 tokens cannot fit in 60
    r = client.post("/v1/chat/completions", json=big, headers=key)
    assert r.status_code == 429 and "tokens per minute" in r.json()["error"]["message"]
    r = client.post("/v1/chat/completions", json=CHAT, headers=key)
    assert r.status_code == 200
    used = r.json()["usage"]["total_tokens"]
    assert r.headers["x-ratelimit-limit-tokens"] == "60"
    # Settled with the real usage once answered.
    after = client.post("/v1/chat/completions", json={**CHAT, "max_tokens": 1}, headers=key)
    remaining = int(after.headers["x-ratelimit-remaining-tokens"])
    assert remaining == 60 - used - after.json()["usage"]["total_tokens"]


def test_usage_totals_equal_the_answers_usage_and_metrics_name_the_key(
    client: TestClient,
) -> None:
    created = _create(client, name="counted")
    key = _bearer(str(created["key"]))
    total_in = total_out = 0
    for max_tokens in (1, 2, 3):
        r = client.post(
            "/v1/chat/completions", json={**CHAT, "max_tokens": max_tokens}, headers=key
        )
        total_in += r.json()["usage"]["prompt_tokens"]
        total_out += r.json()["usage"]["completion_tokens"]
    client.post("/v1/chat/completions", json={**CHAT, "n": 0}, headers=key)  # a 400: not usage
    (row,) = client.get("/admin/v1/usage", headers=ADMIN).json()["data"]
    assert row["key"] == "counted" and row["model"] == MODEL and row["requests"] == 3
    assert (row["input_tokens"], row["output_tokens"]) == (total_in, total_out)
    assert row["total_tokens"] == total_in + total_out
    metrics = client.get("/metrics").text
    assert str(created["key"]) not in metrics
    requests = metric_value(metrics, "inference_key_requests_total", key="counted", model=MODEL)
    assert requests == 3
    output = metric_value(
        metrics, "inference_key_tokens_total", key="counted", model=MODEL, kind="output"
    )
    assert output == total_out


def test_static_keys_keep_working_beside_the_stores(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "api_keys: [static-key]")
    with fake_client(tmp_path, settings) as client:
        assert client.get("/v1/models").status_code == 401
        assert client.get("/v1/models", headers=_bearer("static-key")).status_code == 200
        secret = str(_create(client, name="stored")["key"])
        assert client.get("/v1/models", headers=_bearer(secret)).status_code == 200
        assert client.get("/v1/models", headers=_bearer("static-key")).status_code == 200


def test_without_admin_key_every_admin_route_is_off(tmp_path: Path) -> None:
    body = {"lora_name": "x", "lora_path": str(tmp_path)}
    routes = [
        ("GET", "/admin/v1/keys", None),
        ("POST", "/admin/v1/keys", {"name": "app"}),
        ("DELETE", "/admin/v1/keys/key_1", None),
        ("GET", "/admin/v1/usage", None),
        ("GET", "/admin/v1/models", None),
        ("POST", "/admin/v1/models", {"name": "m", "task": "embed", "source": "x"}),
        ("DELETE", "/admin/v1/models/m", None),
        ("PUT", "/admin/v1/adapters/x", None),
        ("POST", "/v1/load_lora_adapter", body),
        ("POST", "/v1/unload_lora_adapter", {"lora_name": "x"}),
    ]
    with fake_client(tmp_path, f"store: {{data_dir: {tmp_path / 'data'}}}") as client:
        for method, path, payload in routes:
            for headers in ({}, ADMIN):  # whatever key is sent: there is no admin key
                r = client.request(method, path, json=payload, headers=headers)
                assert r.status_code == 404, (method, path, r.text)
                error = r.json()["error"]
                assert set(error) == {"message", "type", "param", "code"}
                assert error["code"] == "not_found" and "admin" in error["message"]
        assert not [p for p in client.get("/openapi.json").json()["paths"] if "admin" in p]
        assert "/v1/load_lora_adapter" not in client.get("/openapi.json").json()["paths"]
        assert client.get("/v1/models").status_code == 200


def test_batch_lines_act_for_the_key_that_created_the_batch(tmp_path: Path) -> None:
    from tests.unit.test_batches_api import FAST, chat_line, lines_of, sdk, submit, wait

    with fake_client(tmp_path, _settings(tmp_path, FAST)) as client:
        # A tpm of 1 would refuse every chat request: batch lines are never refused by their
        # key's limits (they run for its models and count in its usage).
        created = _create(client, name="batcher", models=[MODEL], tpm=1)
        api = sdk(client, str(created["key"]))
        lines = [chat_line(f"l{i}", max_tokens=i + 1) for i in range(4)]
        lines.append(chat_line("other", model="not-for-this-key"))
        batch = wait(api, submit(api, lines).id, ("completed", "failed"))
        assert batch.status == "completed", batch
        done = lines_of(api, batch.output_file_id)
        failed = lines_of(api, batch.error_file_id) + [
            line for line in done if line["response"]["status_code"] != 200
        ]
        answered = [line for line in done if line["response"]["status_code"] == 200]
        assert len(answered) == 4
        # Outside the key's models: 404 as for the key itself.
        (refused,) = failed
        assert refused["response"]["status_code"] == 404
        assert refused["response"]["body"]["error"]["code"] == "model_not_found"
        usage = client.get("/admin/v1/usage", headers=ADMIN, params={"key": "batcher"}).json()
        (row,) = usage["data"]
        assert row["requests"] == 4
        assert row["input_tokens"] == sum(
            x["response"]["body"]["usage"]["prompt_tokens"] for x in answered
        )
        assert row["output_tokens"] == sum(
            x["response"]["body"]["usage"]["completion_tokens"] for x in answered
        )


def test_a_bad_runtime_adapter_is_a_400_and_changes_nothing(
    client: TestClient, tmp_path: Path
) -> None:
    before = client.get("/v1/models").json()["data"]
    body = {"lora_name": "my-lora", "lora_path": str(tmp_path / "nowhere")}
    r = client.post("/v1/load_lora_adapter", json=body, headers=ADMIN)
    assert r.status_code == 400
    assert "serves no adapters" in r.json()["error"]["message"]  # the fake runs no vLLM
    upload = client.put("/admin/v1/adapters/my-lora", content=b"junk", headers=ADMIN)
    assert upload.status_code == 400 and "not a tar or zip" in upload.json()["error"]["message"]
    gone = client.post("/v1/unload_lora_adapter", json={"lora_name": "my-lora"}, headers=ADMIN)
    assert gone.status_code == 404
    assert client.get("/v1/models").json()["data"] == before
