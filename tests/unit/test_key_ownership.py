"""Stored objects belong to the key that created them (the real app over a fake model):
another key's response, file or batch reads as missing; lists show a key its own; the
static keys share one owner and see what was made without a key; a background response's
tokens count in its key's usage once it ends."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from server.core.keys import EVERYONE, KeyGrant, owner_of
from tests.support.app import MODEL, assert_openai_error, fake_client
from tests.unit.test_batches_api import FAST, chat_line, jsonl

ADMIN = {"Authorization": "Bearer admin-secret"}
STATIC = {"Authorization": "Bearer static-key"}


def _settings(tmp_path: Path, extra: str = "") -> str:
    return (
        "admin_key: admin-secret\nkeys: {sync_interval_s: 0.1}\n"
        f"store: {{data_dir: {tmp_path / 'data'}}}\n{FAST}{extra}"
    )


def _eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.05)


def _key(client: TestClient, name: str, **limits: Any) -> dict[str, str]:
    r = client.post("/admin/v1/keys", json={"name": name, **limits}, headers=ADMIN)
    assert r.status_code == 201, r.text
    headers = {"Authorization": f"Bearer {r.json()['key']}"}
    # Known once auth is on (a request without a key refused) and the key is accepted.
    _eventually(
        lambda: (
            client.get("/v1/models").status_code == 401
            and client.get("/v1/models", headers=headers).status_code == 200
        )
    )
    return headers


def _upload(client: TestClient, headers: dict[str, str], lines: list[dict[str, Any]]) -> str:
    files = {"file": ("in.jsonl", io.BytesIO(jsonl(lines)), "application/jsonl")}
    r = client.post("/v1/files", files=files, data={"purpose": "batch"}, headers=headers)
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def _missing(r: Any) -> None:
    assert r.status_code == 404, r.text
    assert_openai_error(r.json())


def test_owners_see_their_own_and_no_auth_sees_everything() -> None:
    assert owner_of(None) is EVERYONE and EVERYONE.can_see("key_a") and EVERYONE.can_see(None)
    mine = owner_of(KeyGrant("a", "key_a"))
    assert mine.key == "key_a" and mine.can_see("key_a")
    assert not mine.can_see("key_b") and not mine.can_see(None) and not mine.can_see("static")
    static = owner_of(KeyGrant("static"))
    assert static.key == "static" and static.can_see("static") and static.can_see(None)
    assert not static.can_see("key_a")
    # The batch runner for a batch made without a key: its objects have no owner.
    unkeyed = owner_of(KeyGrant("batch", limited=False))
    assert unkeyed.key is None and unkeyed.can_see(None) and not unkeyed.can_see("key_a")


def test_files_batches_and_responses_are_their_keys_own(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "api_keys: [static-key]")
    with fake_client(tmp_path, settings) as client:
        alice, bob = _key(client, "alice"), _key(client, "bob")
        file_id = _upload(client, alice, [chat_line("a1"), chat_line("a2")])
        assert client.get(f"/v1/files/{file_id}", headers=alice).status_code == 200
        for headers in (bob, STATIC):
            _missing(client.get(f"/v1/files/{file_id}", headers=headers))
            _missing(client.get(f"/v1/files/{file_id}/content", headers=headers))
            _missing(client.delete(f"/v1/files/{file_id}", headers=headers))
            assert client.get("/v1/files", headers=headers).json()["data"] == []
            # Another key's file cannot be the input of a batch either.
            body = {"input_file_id": file_id, "endpoint": "/v1/chat/completions"}
            _missing(
                client.post(
                    "/v1/batches", json=body | {"completion_window": "24h"}, headers=headers
                )
            )
        assert [f["id"] for f in client.get("/v1/files", headers=alice).json()["data"]] == [file_id]

        body = {"input_file_id": file_id, "endpoint": "/v1/chat/completions"}
        r = client.post("/v1/batches", json=body | {"completion_window": "24h"}, headers=alice)
        batch_id = r.json()["id"]
        _missing(client.get(f"/v1/batches/{batch_id}", headers=bob))
        _missing(client.post(f"/v1/batches/{batch_id}/cancel", headers=bob))
        assert client.get("/v1/batches", headers=bob).json()["data"] == []

        def ended() -> bool:
            status = client.get(f"/v1/batches/{batch_id}", headers=alice).json()["status"]
            return status in ("completed", "failed")

        _eventually(ended)
        batch = client.get(f"/v1/batches/{batch_id}", headers=alice).json()
        assert batch["status"] == "completed", batch
        output = batch["output_file_id"]
        # The batch's output file is its key's, like the batch.
        assert len(client.get(f"/v1/files/{output}/content", headers=alice).text.splitlines()) == 2
        _missing(client.get(f"/v1/files/{output}/content", headers=bob))
        assert [b["id"] for b in client.get("/v1/batches", headers=alice).json()["data"]] == [
            batch_id
        ]

        ask = {"model": MODEL, "input": "hello", "max_output_tokens": 4}
        r = client.post("/v1/responses", json=ask, headers=alice)
        assert r.status_code == 200, r.text
        response_id = r.json()["id"]
        for path in ("", "/input_items"):
            assert (
                client.get(f"/v1/responses/{response_id}{path}", headers=alice).status_code == 200
            )
            _missing(client.get(f"/v1/responses/{response_id}{path}", headers=bob))
        _missing(client.post(f"/v1/responses/{response_id}/cancel", headers=bob))
        _missing(client.delete(f"/v1/responses/{response_id}", headers=bob))
        follow = ask | {"previous_response_id": response_id}
        refused = client.post("/v1/responses", json=follow, headers=bob)
        _missing(refused)
        assert refused.json()["error"]["param"] == "previous_response_id"
        assert client.post("/v1/responses", json=follow, headers=alice).status_code == 200

        # The static keys share one owner: theirs are not the store keys' to see.
        static_file = _upload(client, STATIC, [chat_line("s")])
        assert client.get(f"/v1/files/{static_file}", headers=STATIC).status_code == 200
        _missing(client.get(f"/v1/files/{static_file}", headers=alice))
        assert client.delete(f"/v1/files/{static_file}", headers=STATIC).status_code == 200
        # Still there for its owner after the others' attempts.
        assert client.delete(f"/v1/responses/{response_id}", headers=alice).status_code == 200


def test_message_batches_are_their_keys_own(tmp_path: Path) -> None:
    with fake_client(tmp_path, _settings(tmp_path)) as client:
        alice, bob = _key(client, "alice"), _key(client, "bob")
        params = {"model": MODEL, "max_tokens": 2, "messages": [{"role": "user", "content": "hi"}]}
        body = {"requests": [{"custom_id": "one", "params": params}]}
        r = client.post("/v1/messages/batches", json=body, headers=alice)
        assert r.status_code == 200, r.text
        batch_id = r.json()["id"]
        path = f"/v1/messages/batches/{batch_id}"
        _eventually(lambda: client.get(path, headers=alice).json()["processing_status"] == "ended")
        for r in (
            client.get(path, headers=bob),
            client.get(f"{path}/results", headers=bob),
            client.post(f"{path}/cancel", headers=bob),
            client.delete(path, headers=bob),
        ):
            assert r.status_code == 404, r.text
            assert r.json()["type"] == "error" and r.json()["error"]["type"] == "not_found_error"
        assert client.get("/v1/messages/batches", headers=bob).json()["data"] == []
        listed = client.get("/v1/messages/batches", headers=alice).json()["data"]
        assert [b["id"] for b in listed] == [batch_id]
        (line,) = client.get(f"{path}/results", headers=alice).text.splitlines()
        assert json.loads(line)["result"]["type"] == "succeeded"
        assert client.delete(path, headers=alice).status_code == 200


def test_without_keys_every_object_is_everyones(tmp_path: Path) -> None:
    settings = f"store: {{data_dir: {tmp_path / 'data'}}}\n{FAST}"
    with fake_client(tmp_path, settings) as client:
        file_id = _upload(client, {}, [chat_line("x")])
        assert client.get(f"/v1/files/{file_id}").status_code == 200
        assert [f["id"] for f in client.get("/v1/files").json()["data"]] == [file_id]
        ask = {"model": MODEL, "input": "hello", "max_output_tokens": 2}
        response_id = client.post("/v1/responses", json=ask).json()["id"]
        assert client.get(f"/v1/responses/{response_id}").status_code == 200


def test_a_background_responses_tokens_count_once_it_ends(tmp_path: Path) -> None:
    with fake_client(tmp_path, _settings(tmp_path), step_delay=0.05) as client:
        key = _key(client, "late", tpm=10_000)
        ask = {"model": MODEL, "input": "hello there", "max_output_tokens": 12}
        r = client.post("/v1/responses", json=ask | {"background": True}, headers=key)
        assert r.status_code == 200 and r.json()["status"] == "queued", r.text
        response_id = r.json()["id"]

        def done() -> bool:
            found = client.get(f"/v1/responses/{response_id}", headers=key)
            assert found.status_code == 200, found.text
            return bool(found.json()["status"] in ("completed", "incomplete"))

        _eventually(done)
        usage = client.get(f"/v1/responses/{response_id}", headers=key).json()["usage"]
        assert usage["output_tokens"] == 12

        def counted() -> bool:
            rows = client.get("/admin/v1/usage", headers=ADMIN, params={"key": "late"})
            data = rows.json()["data"]
            return bool(data) and data[0]["output_tokens"] == usage["output_tokens"]

        _eventually(counted)
        (row,) = client.get("/admin/v1/usage", headers=ADMIN, params={"key": "late"}).json()["data"]
        assert row["requests"] == 1 and row["input_tokens"] == usage["input_tokens"]
        # The key's tpm holds what it really used (nothing else of it is reserved now).
        remaining = client.get("/v1/models", headers=key).headers["x-ratelimit-remaining-tokens"]
        assert int(remaining) == 10_000 - usage["total_tokens"]
