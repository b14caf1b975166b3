"""Anthropic's Message Batches API in process, through Anthropic's SDK, over a fake model:
the real app, store (SQLite) and batch runner; only the engine is fake."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest
from fastapi.testclient import TestClient

from server.batches.message_batches.results import request_counts, result
from server.store.batches import Counts
from tests.support.app import MODEL, fake_client

FAST = "batches:\n  poll_s: 0.05\n  lease_s: 3\n"


def settings(tmp: Path, extra: str = "") -> str:
    return f"store:\n  data_dir: {tmp / 'data'}\n{FAST}{extra}"


def params(**fields: Any) -> dict[str, Any]:
    body = {"model": MODEL, "max_tokens": 4, "messages": [{"role": "user", "content": "hi"}]}
    return body | fields


def sdk(client: TestClient) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url="http://testserver", api_key="unused", http_client=client, max_retries=0
    )


def wait(api: anthropic.Anthropic, batch_id: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        batch = api.messages.batches.retrieve(batch_id)
        if batch.processing_status == "ended":
            return batch
        assert time.monotonic() < deadline, batch
        time.sleep(0.05)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with fake_client(tmp_path, settings(tmp_path)) as c:
        yield c


def test_a_batch_runs_every_request_and_its_results_come_back_in_order(
    client: TestClient,
) -> None:
    api = sdk(client)
    batch = api.messages.batches.create(
        requests=[
            {"custom_id": "ok-1", "params": params()},
            {"custom_id": "no-model", "params": params(model="nope")},
            {"custom_id": "bad", "params": params(max_tokens=0)},
            {"custom_id": "ok-2", "params": params(max_tokens=2)},
        ]
    )
    assert batch.id.startswith("msgbatch_") and batch.type == "message_batch"
    assert batch.processing_status == "in_progress" and batch.results_url is None
    assert batch.request_counts.processing == 4
    ended = wait(api, batch.id)
    counts = ended.request_counts
    assert (counts.succeeded, counts.errored, counts.processing) == (2, 2, 0)
    assert ended.ended_at is not None and ended.ended_at >= ended.created_at
    assert ended.results_url == f"http://testserver/v1/messages/batches/{batch.id}/results"
    results = list(api.messages.batches.results(batch.id))
    assert [r.custom_id for r in results] == ["ok-1", "no-model", "bad", "ok-2"]
    first, missing, bad, second = (r.result for r in results)
    assert first.type == "succeeded" and first.message.usage.output_tokens == 4
    assert second.type == "succeeded" and second.message.usage.output_tokens == 2
    assert missing.type == "errored" and missing.error.error.type == "not_found_error"
    assert bad.type == "errored" and bad.error.error.type == "invalid_request_error"
    # Listed among message batches (newest first), not among OpenAI's batches.
    later = api.messages.batches.create(requests=[{"custom_id": "x", "params": params()}])
    listed = [b.id for b in api.messages.batches.list(limit=1)]
    assert listed == [later.id, batch.id]  # the SDK follows has_more with after_id
    newer = client.get("/v1/messages/batches", params={"before_id": batch.id}).json()
    assert [b["id"] for b in newer["data"]] == [later.id] and not newer["has_more"]
    assert client.get("/v1/batches").json()["data"] == []
    wait(api, later.id)
    deleted = api.messages.batches.delete(batch.id)
    assert (deleted.id, deleted.type) == (batch.id, "message_batch_deleted")
    with pytest.raises(anthropic.NotFoundError):
        api.messages.batches.retrieve(batch.id)


def test_cancel_ends_the_requests_not_run_as_canceled(tmp_path: Path) -> None:
    extra = "  max_in_flight: 1\n"
    with fake_client(tmp_path, settings(tmp_path, extra), step_delay=0.1) as c:
        api = sdk(c)
        requests = [{"custom_id": f"r{i}", "params": params()} for i in range(30)]
        batch = api.messages.batches.create(requests=requests)
        deadline = time.monotonic() + 20
        while api.messages.batches.retrieve(batch.id).request_counts.succeeded < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # An unended batch can be neither deleted nor read.
        r = c.delete(f"/v1/messages/batches/{batch.id}")
        assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
        r = c.get(f"/v1/messages/batches/{batch.id}/results")
        assert r.status_code == 400 and "ended" in r.json()["error"]["message"]
        canceling = api.messages.batches.cancel(batch.id)
        assert canceling.processing_status in ("canceling", "ended")
        assert canceling.cancel_initiated_at is not None
        ended = wait(api, batch.id)
        counts = ended.request_counts
        assert counts.succeeded >= 2 and counts.canceled > 0
        assert counts.succeeded + counts.canceled == 30 and counts.processing == 0
        kinds = [r.result.type for r in api.messages.batches.results(batch.id)]
        assert kinds.count("succeeded") == counts.succeeded
        assert kinds.count("canceled") == counts.canceled


def test_create_errors_in_anthropics_shape(client: TestClient) -> None:
    def refused(body: Any) -> str:
        r = client.post("/v1/messages/batches", json=body)
        assert r.status_code == 400, r.text
        error = r.json()
        assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
        return str(error["error"]["message"])

    assert "custom_id" in refused({"requests": [{"custom_id": "a b", "params": params()}]})
    assert "unique" in refused({"requests": [{"custom_id": "a", "params": params()}] * 2})
    assert "stream" in refused({"requests": [{"custom_id": "a", "params": params(stream=True)}]})
    assert "requests" in refused({"requests": []})
    r = client.get("/v1/messages/batches/msgbatch_nope")
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error"
    assert r.headers["request-id"]


def test_the_batch_limit_counts_requests(tmp_path: Path) -> None:
    with fake_client(tmp_path, settings(tmp_path, "  max_lines: 2\n")) as c:
        body = {"requests": [{"custom_id": f"r{i}", "params": params()} for i in range(3)]}
        r = c.post("/v1/messages/batches", json=body)
        assert r.status_code == 400 and "batches.max_lines" in r.json()["error"]["message"]


def test_a_restarted_server_resumes_a_message_batch(tmp_path: Path) -> None:
    extra = "  max_in_flight: 2\n"
    requests = [{"custom_id": f"r{i}", "params": params()} for i in range(30)]
    with fake_client(tmp_path, settings(tmp_path, extra), step_delay=0.05) as c:
        api = sdk(c)
        batch = api.messages.batches.create(requests=requests)
        deadline = time.monotonic() + 20
        while api.messages.batches.retrieve(batch.id).request_counts.succeeded < 3:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    with fake_client(tmp_path, settings(tmp_path)) as c:
        api = sdk(c)
        ended = wait(api, batch.id)
        assert ended.request_counts.succeeded == 30
        ids = [r.custom_id for r in api.messages.batches.results(batch.id)]
        assert ids == [f"r{i}" for i in range(30)]


def test_results_of_lines_never_run_follow_how_the_batch_ended() -> None:
    assert result(None, "cancelled") == {"type": "canceled"}
    assert result(None, "expired") == {"type": "expired"}
    failed = result(None, "failed")
    assert failed["type"] == "errored" and failed["error"]["error"]["type"] == "api_error"
    counts = Counts(total=10, queued=3, running=1, done=4, failed=2)
    assert request_counts(counts, False, "in_progress").processing == 4
    ended = request_counts(counts, True, "expired")
    assert (ended.succeeded, ended.errored, ended.expired, ended.processing) == (4, 2, 4, 0)
