"""Stored objects belong to their keys, on a real server (the chat model on its engine) with
its SQLite store and two keys of the store, through the official SDKs: another key's
response, file, batch or message batch is a 404, lists show a key only its own, what a
batch makes (its responses, its output file) is its key's; a background response's tokens
count in its key's usage and tpm once it has ended."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.integration.conftest import CHAT_MODEL
from tests.integration.test_keys import ADMIN, ADMIN_KEY, accepted, create_key
from tests.support.server import ServerProcess, served

pytestmark = pytest.mark.integration

ASK: dict[str, Any] = {"model": CHAT_MODEL, "temperature": 0, "max_output_tokens": 8}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    config = {
        "admin_key": ADMIN_KEY,
        "keys": {"sync_interval_s": 0.5},
        "batches": {"poll_s": 0.2},
        "log_format": "json",
        "models": [
            {
                "name": CHAT_MODEL,
                "task": "generate",
                "source": f"bundled:{CHAT_MODEL}",
                "engine": {"dtype": "float32", "max_model_len": 1024, "enforce_eager": True},
            }
        ],
    }
    with served(tmp_path_factory, "owners", config) as running:
        yield running


def _until(check: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def keys(server: ServerProcess) -> dict[str, dict[str, Any]]:
    made = {
        name: create_key(server.base_url, name=name, tpm=1_000_000)
        for name in ("alice", "bob", "late")
    }
    for key in made.values():
        _until(accepted(server.base_url, key["key"]), timeout=10)
    return made


def _openai(server: ServerProcess, key: dict[str, Any]) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=key["key"], max_retries=0)


def _line(custom_id: str, text: str) -> bytes:
    body = {"custom_id": custom_id, "method": "POST", "url": "/v1/responses"}
    return json.dumps(body | {"body": ASK | {"input": text}}).encode() + b"\n"


def _missing(call: Callable[[], Any]) -> None:
    with pytest.raises(openai.NotFoundError):
        call()


def test_responses_files_and_batches_are_their_keys_own(
    server: ServerProcess, keys: dict[str, dict[str, Any]]
) -> None:
    alice, bob = _openai(server, keys["alice"]), _openai(server, keys["bob"])
    first = alice.responses.create(input="Name a colour.", **ASK)
    _missing(lambda: bob.responses.retrieve(first.id))
    _missing(lambda: bob.responses.input_items.list(first.id))
    _missing(lambda: bob.responses.cancel(first.id))
    _missing(lambda: bob.responses.delete(first.id))
    with pytest.raises(openai.NotFoundError) as chained:
        bob.responses.create(input="And another?", previous_response_id=first.id, **ASK)
    assert chained.value.body["param"] == "previous_response_id"  # type: ignore[index]
    follow = alice.responses.create(input="And another?", previous_response_id=first.id, **ASK)
    assert alice.responses.retrieve(follow.id).previous_response_id == first.id

    data = _line("one", "Say yes.") + _line("two", "Say no.")
    uploaded = alice.files.create(file=("in.jsonl", io.BytesIO(data)), purpose="batch")
    _missing(lambda: bob.files.retrieve(uploaded.id))
    _missing(lambda: bob.files.content(uploaded.id))
    _missing(lambda: bob.files.delete(uploaded.id))
    assert uploaded.id not in [f.id for f in bob.files.list()]
    _missing(
        lambda: bob.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/responses", completion_window="24h"
        )
    )
    batch = alice.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/responses", completion_window="24h"
    )
    _missing(lambda: bob.batches.retrieve(batch.id))
    _missing(lambda: bob.batches.cancel(batch.id))
    assert [b.id for b in bob.batches.list()] == []
    assert [b.id for b in alice.batches.list()] == [batch.id]
    _until(lambda: alice.batches.retrieve(batch.id).status in ("completed", "failed"))
    done = alice.batches.retrieve(batch.id)
    assert done.status == "completed" and done.output_file_id, done
    # What the batch made is its key's: the output file and the responses of its lines.
    _missing(lambda: bob.files.content(str(done.output_file_id)))
    lines = [json.loads(x) for x in alice.files.content(done.output_file_id).text.splitlines()]
    made = [line["response"]["body"]["id"] for line in lines]
    assert len(made) == 2 and all(m.startswith("resp_") for m in made)
    for response_id in made:
        assert alice.responses.retrieve(response_id).id == response_id
        _missing(lambda response_id=response_id: bob.responses.retrieve(response_id))
    listed = {f.id for f in alice.files.list()}
    assert {uploaded.id, done.output_file_id} <= listed
    assert not listed & {f.id for f in bob.files.list()}


def test_message_batches_are_their_keys_own(
    server: ServerProcess, keys: dict[str, dict[str, Any]]
) -> None:
    def client(name: str) -> anthropic.Anthropic:
        return anthropic.Anthropic(
            base_url=server.base_url, api_key=keys[name]["key"], max_retries=0
        )

    alice, bob = client("alice"), client("bob")
    params: Any = {
        "model": CHAT_MODEL,
        "max_tokens": 4,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    batch = alice.messages.batches.create(requests=[{"custom_id": "a", "params": params}])
    with pytest.raises(anthropic.NotFoundError):
        bob.messages.batches.retrieve(batch.id)
    with pytest.raises(anthropic.NotFoundError):
        bob.messages.batches.cancel(batch.id)
    assert [b.id for b in bob.messages.batches.list()] == []
    assert [b.id for b in alice.messages.batches.list()] == [batch.id]
    _until(lambda: alice.messages.batches.retrieve(batch.id).processing_status == "ended")
    with pytest.raises(anthropic.NotFoundError):
        list(bob.messages.batches.results(batch.id))
    with pytest.raises(anthropic.NotFoundError):
        bob.messages.batches.delete(batch.id)
    (result,) = list(alice.messages.batches.results(batch.id))
    assert result.custom_id == "a" and result.result.type == "succeeded"


def test_a_background_responses_late_tokens_count_for_its_key(
    server: ServerProcess, keys: dict[str, dict[str, Any]]
) -> None:
    key = keys["late"]
    late = _openai(server, key)
    ask = ASK | {"max_output_tokens": 48}
    # The tpm check reads one minute's window: start well inside one.
    if time.time() % 60 > 40:
        time.sleep(61 - time.time() % 60)
    queued = late.responses.create(input="Count from one to twenty.", background=True, **ask)
    assert queued.status in ("queued", "in_progress")
    _until(lambda: late.responses.retrieve(queued.id).status not in ("queued", "in_progress"))
    final = late.responses.retrieve(queued.id)
    assert final.status in ("completed", "incomplete") and final.usage is not None
    assert final.usage.output_tokens > 0

    def usage() -> list[dict[str, Any]]:
        r = httpx.get(f"{server.base_url}/admin/v1/usage", headers=ADMIN, params={"key": "late"})
        rows: list[dict[str, Any]] = r.json()["data"]
        return rows

    _until(lambda: bool(usage()) and usage()[0]["output_tokens"] > 0, timeout=10)
    (row,) = usage()
    assert row["requests"] == 1
    assert (row["input_tokens"], row["output_tokens"]) == (
        final.usage.input_tokens,
        final.usage.output_tokens,
    )
    # The key's tpm holds the tokens it used (its reservation settled), nothing more.
    headers = {"Authorization": f"Bearer {key['key']}"}
    models = httpx.get(f"{server.base_url}/v1/models", headers=headers)
    used = 1_000_000 - int(models.headers["x-ratelimit-remaining-tokens"])
    assert used == final.usage.total_tokens
