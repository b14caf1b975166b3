"""The Files and Batch APIs in process, through the official SDK, over a fake model: the
real app, store (SQLite) and runner; only the engine is fake."""

from __future__ import annotations

import io
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from fastapi.testclient import TestClient

from tests.support.app import MODEL, assert_openai_error, fake_client

CHAT = "/v1/chat/completions"
FAST = "batches:\n  poll_s: 0.05\n  lease_s: 3\n"


def settings(tmp: Path, extra: str = "") -> str:
    return f"store:\n  data_dir: {tmp / 'data'}\n  max_file_bytes: 65536\n{FAST}{extra}"


def chat_line(custom_id: str, model: str = MODEL, **body: Any) -> dict[str, Any]:
    request = {"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}
    return {"custom_id": custom_id, "method": "POST", "url": CHAT, "body": request | body}


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    return ("\n".join(json.dumps(x) for x in lines) + "\n").encode()


def sdk(client: TestClient, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(
        base_url="http://testserver/v1", api_key=key, http_client=client, max_retries=0
    )


def wait(api: openai.OpenAI, batch_id: str, until: tuple[str, ...], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        batch = api.batches.retrieve(batch_id)
        if batch.status in until:
            return batch
        assert time.monotonic() < deadline, batch
        time.sleep(0.05)


def lines_of(api: openai.OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    if file_id is None:
        return []
    return [json.loads(x) for x in api.files.content(file_id).text.splitlines()]


def submit(api: openai.OpenAI, lines: list[dict[str, Any]], endpoint: str = CHAT) -> Any:
    uploaded = api.files.create(file=("in.jsonl", io.BytesIO(jsonl(lines))), purpose="batch")
    return api.batches.create(
        input_file_id=uploaded.id,
        endpoint=endpoint,  # type: ignore[arg-type]
        completion_window="24h",
    )


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with fake_client(tmp_path, settings(tmp_path)) as c:
        yield c


def test_files_upload_list_get_content_delete(client: TestClient) -> None:
    api = sdk(client)
    data = jsonl([chat_line("a")])
    first = api.files.create(file=("one.jsonl", io.BytesIO(data)), purpose="batch")
    second = api.files.create(file=("two.jsonl", io.BytesIO(data)), purpose="batch")
    assert (first.bytes, first.filename, first.purpose, first.status) == (
        len(data),
        "one.jsonl",
        "batch",
        "processed",
    )
    assert api.files.retrieve(first.id).id == first.id
    assert api.files.content(first.id).content == data
    listed = [f.id for f in api.files.list()]
    assert listed[:2] == [second.id, first.id]
    page = client.get("/v1/files", params={"limit": 1, "order": "asc"}).json()
    assert [f["id"] for f in page["data"]] == [first.id] and page["has_more"]
    after = client.get("/v1/files", params={"after": first.id, "order": "asc"}).json()
    assert [f["id"] for f in after["data"]] == [second.id]
    assert client.get("/v1/files", params={"purpose": "batch_output"}).json()["data"] == []
    assert api.files.delete(first.id).deleted
    with pytest.raises(openai.NotFoundError):
        api.files.retrieve(first.id)
    with pytest.raises(openai.NotFoundError):
        api.files.content(first.id)
    with pytest.raises(openai.NotFoundError):
        api.files.delete(first.id)


def test_upload_errors(client: TestClient) -> None:
    ok = {"file": ("x.jsonl", b"{}\n")}
    r = client.post("/v1/files", files=ok, data={"purpose": "fine-tune"})
    assert r.status_code == 400
    assert_openai_error(r.json(), "purpose")
    r = client.post("/v1/files", files=ok)
    assert r.status_code == 400
    assert_openai_error(r.json(), "purpose")
    r = client.post("/v1/files", data={"purpose": "batch"}, files={"other": ("x", b"1")})
    assert r.status_code == 400
    assert_openai_error(r.json(), "file")
    r = client.post("/v1/files", json={"purpose": "batch"})
    assert r.status_code == 400
    big = {"file": ("x.jsonl", b"x" * 70000)}
    r = client.post("/v1/files", files=big, data={"purpose": "batch"})
    assert r.status_code == 413
    assert "store.max_file_bytes" in r.json()["error"]["message"]
    # Nothing of a refused upload is left behind.
    assert client.get("/v1/files").json()["data"] == []


def test_a_batch_runs_each_line_once_with_refused_bodies_in_the_error_file(
    client: TestClient,
) -> None:
    api = sdk(client)
    lines = [chat_line(f"r{i}") for i in range(6)]
    lines += [chat_line("unknown", model="nope"), chat_line("bad", max_tokens=-1)]
    lines.append(chat_line("streamed", stream=True))
    batch = submit(api, lines)
    assert batch.status == "validating"
    done = wait(api, batch.id, ("completed", "failed"))
    assert done.status == "completed", done
    assert (done.request_counts.total, done.request_counts.completed) == (9, 6)
    assert done.request_counts.failed == 3
    assert done.in_progress_at and done.finalizing_at and done.completed_at
    output, errors = lines_of(api, done.output_file_id), lines_of(api, done.error_file_id)
    assert [x["custom_id"] for x in output] == [f"r{i}" for i in range(6)]
    assert [x["custom_id"] for x in errors] == ["unknown", "bad", "streamed"]
    for item in output:
        assert item["error"] is None and item["id"].startswith("batch_req_")
        assert item["response"]["status_code"] == 200
        body = item["response"]["body"]
        assert body["object"] == "chat.completion" and body["model"] == MODEL
        assert body["id"] == f"chatcmpl-{item['response']['request_id']}"
    # Each error body is the one the online endpoint gives for that request.
    for item in errors[:2]:
        online = client.post(
            CHAT, json=lines[[x["custom_id"] for x in lines].index(item["custom_id"])]["body"]
        )
        assert item["response"]["status_code"] == online.status_code
        assert item["response"]["body"] == online.json()
    assert errors[0]["response"]["status_code"] == 404
    assert api.files.retrieve(done.output_file_id).purpose == "batch_output"
    assert [b.id for b in api.batches.list()] == [batch.id]
    metrics = client.get("/metrics").text
    assert f'inference_batch_lines_total{{endpoint="{CHAT}",status="done"}} 6.0' in metrics
    assert 'inference_batches{status="completed"} 1.0' in metrics


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (b"not json\n", "invalid_json_line"),
        (
            b'{"method": "POST", "url": "/v1/chat/completions", "body": {}}\n',
            "missing_required_parameter",
        ),
        (json.dumps(chat_line("r0")).encode() + b"\n", "duplicate_custom_id"),
        (
            json.dumps(chat_line("x") | {"url": "/v1/embeddings"}).encode() + b"\n",
            "mismatched_endpoint",
        ),
        (json.dumps(chat_line("x") | {"method": "GET"}).encode() + b"\n", "invalid_method"),
    ],
)
def test_a_bad_line_fails_the_batch_at_validation(
    client: TestClient, bad: bytes, code: str
) -> None:
    api = sdk(client)
    data = jsonl([chat_line("r0")]) + bad
    uploaded = api.files.create(file=("in.jsonl", io.BytesIO(data)), purpose="batch")
    batch = api.batches.create(input_file_id=uploaded.id, endpoint=CHAT, completion_window="24h")
    failed = wait(api, batch.id, ("failed", "completed"))
    assert failed.status == "failed" and failed.failed_at
    assert failed.errors is not None
    assert [(e.code, e.line) for e in failed.errors.data] == [(code, 2)]
    assert failed.request_counts.total == 0 and failed.output_file_id is None


def test_too_many_lines_fail_the_batch(tmp_path: Path) -> None:
    with fake_client(tmp_path, settings(tmp_path, "  max_lines: 2\n")) as c:
        api = sdk(c)
        failed = wait(api, submit(api, [chat_line(f"r{i}") for i in range(3)]).id, ("failed",))
        assert failed.errors is not None and failed.errors.data[0].code == "too_many_requests"


def test_create_errors(client: TestClient) -> None:
    api = sdk(client)
    uploaded = api.files.create(
        file=("in.jsonl", io.BytesIO(jsonl([chat_line("a")]))), purpose="batch"
    )
    base = {"input_file_id": uploaded.id, "endpoint": CHAT, "completion_window": "24h"}
    for change, status, param in [
        ({"input_file_id": "file-missing"}, 404, "input_file_id"),
        ({"endpoint": "/v1/models"}, 400, "endpoint"),
        ({"completion_window": "1h"}, 400, "completion_window"),
        ({"metadata": {"k" * 65: "v"}}, 400, "metadata"),
    ]:
        r = client.post("/v1/batches", json=base | change)
        assert r.status_code == status, r.text
        assert_openai_error(r.json(), param)
    r = client.get("/v1/batches/batch_missing")
    assert r.status_code == 404
    assert_openai_error(r.json())
    assert client.post("/v1/batches/batch_missing/cancel").status_code == 404


def test_cancel_keeps_the_lines_done_so_far(tmp_path: Path) -> None:
    extra = "  max_in_flight: 1\n"
    with fake_client(tmp_path, settings(tmp_path, extra), step_delay=0.1) as c:
        api = sdk(c)
        batch = submit(api, [chat_line(f"r{i}") for i in range(40)])
        deadline = time.monotonic() + 20
        while api.batches.retrieve(batch.id).request_counts.completed < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        cancelling = api.batches.cancel(batch.id)
        assert cancelling.status in ("cancelling", "cancelled") and cancelling.cancelling_at
        cancelled = wait(api, batch.id, ("cancelled",))
        assert cancelled.cancelled_at
        done = lines_of(api, cancelled.output_file_id)
        assert 2 <= len(done) == cancelled.request_counts.completed < 40
        assert len({x["custom_id"] for x in done}) == len(done)
        assert api.batches.cancel(batch.id).status == "cancelled"
        finished = wait(api, submit(api, [chat_line("a")]).id, ("completed",))
        r = c.post(f"/v1/batches/{finished.id}/cancel")
        assert r.status_code == 409
        assert_openai_error(r.json())


def test_a_batch_past_its_window_expires_with_its_lines_so_far(tmp_path: Path) -> None:
    extra = "  max_in_flight: 1\n  completion_window_s: 1.5\n"
    with fake_client(tmp_path, settings(tmp_path, extra), step_delay=0.1) as c:
        api = sdk(c)
        batch = submit(api, [chat_line(f"r{i}") for i in range(100)])
        expired = wait(api, batch.id, ("expired", "completed"))
        assert expired.status == "expired" and expired.expired_at
        done = lines_of(api, expired.output_file_id)
        assert 0 < len(done) == expired.request_counts.completed < 100


def test_a_restarted_server_resumes_a_batch(tmp_path: Path) -> None:
    extra = "  max_in_flight: 2\n"
    with fake_client(tmp_path, settings(tmp_path, extra), step_delay=0.05) as c:
        api = sdk(c)
        batch = submit(api, [chat_line(f"r{i}") for i in range(30)])
        deadline = time.monotonic() + 20
        while api.batches.retrieve(batch.id).request_counts.completed < 3:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    with fake_client(tmp_path, settings(tmp_path)) as c:
        api = sdk(c)
        done = wait(api, batch.id, ("completed",))
        ids = [x["custom_id"] for x in lines_of(api, done.output_file_id)]
        assert sorted(ids) == sorted(f"r{i}" for i in range(30))
        assert done.request_counts.completed == 30


def test_a_store_failure_fails_the_batch_with_a_message(tmp_path: Path) -> None:
    with fake_client(tmp_path, settings(tmp_path), step_delay=0.05) as c:
        api = sdk(c)
        # Writing any output file fails, as on a full disk.
        with sqlite3.connect(tmp_path / "data" / "server.db") as db:
            db.execute(
                "CREATE TRIGGER full BEFORE INSERT ON files WHEN NEW.purpose = 'batch_output' "
                "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
            )
        batch = submit(api, [chat_line(f"r{i}") for i in range(5)])
        failed = wait(api, batch.id, ("failed", "completed"))
        assert failed.status == "failed" and failed.errors is not None
        assert failed.errors.data[0].code == "output_write_failed"
        assert "could not be stored" in failed.errors.data[0].message
        assert failed.output_file_id is None and failed.completed_at is None
        # No line is lost: each is recorded once, none reported done without its result.
        assert failed.request_counts.completed == 5


def test_uploads_pass_the_body_limit_and_lines_pass_the_key_check(tmp_path: Path) -> None:
    extra = "limits:\n  max_body_bytes: 2048\napi_keys: [secret]\n"
    with fake_client(tmp_path, settings(tmp_path) + extra) as c:
        assert c.get("/v1/batches").status_code == 401
        api = sdk(c, "secret")
        lines = [chat_line(f"r{i}") for i in range(30)]
        assert len(jsonl(lines)) > 2048  # over limits.max_body_bytes, under max_file_bytes
        done = wait(api, submit(api, lines).id, ("completed", "failed"))
        assert done.status == "completed" and done.request_counts.completed == 30
