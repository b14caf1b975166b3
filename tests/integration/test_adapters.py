"""LoRA adapters on the real engine, one server for the module (and one restart at the end).

Declared in a generative model's config: each served under its own name on every generation
endpoint and in Batch API lines, listed with its base model, its output the one PEFT's merged
model gives (and not the base model's). Loaded at run time behind the admin key, by path or
uploaded as an archive; a bad one is a 400 that changes nothing; a restart serves what was
loaded (the set is in the store, a throwaway PostgreSQL), and a second replica on that store
follows loads and unloads on the first."""

from __future__ import annotations

import io
import tarfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from prepare import style_adapter
from tests.integration.batches_support import lines_of, request_line, submit, wait
from tests.integration.conftest import CHAT_MODEL, ENGINE
from tests.support.adapters import build_adapter, build_foreign_adapter, merged_greedy
from tests.support.postgres import postgres_server
from tests.support.server import ServerProcess, start_server

pytestmark = pytest.mark.integration

ADAPTER = "smollm2-random-lora"
PROMPT = "The capital of France is"
TOKENS = 12
MESSAGES = [{"role": "user", "content": "Name a color."}]
ADMIN_KEY = "adapters-admin-key"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
RUNTIME = "smollm2-runtime-lora"
UPLOADED = "smollm2-uploaded-lora"
STYLED = style_adapter.NAME  # the adapter `make serve` ships, trained by `python -m prepare`
READY_S = 900.0  # the engine starts slowly on a busy machine
CONVERGE_S = 30.0  # a replica reads the stored set every 2 s, then loads the adapter


@pytest.fixture(scope="module")
def adapter_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_adapter(tmp_path_factory.mktemp("adapter") / "lora")


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A throwaway PostgreSQL: the module's server and, for one test, a second replica."""
    with postgres_server() as postgres:
        yield postgres.create_database("adapters")


def _config(adapter_dir: Path, database_url: str) -> dict[str, Any]:
    return {
        "log_format": "json",
        "admin_key": ADMIN_KEY,
        "store": {"database_url": database_url},
        "models": [
            {
                "name": CHAT_MODEL,
                "task": "generate",
                "source": f"bundled:{CHAT_MODEL}",
                "adapters": [
                    {"name": ADAPTER, "source": str(adapter_dir)},
                    {"name": STYLED, "source": f"bundled:{STYLED}"},
                ],
                "engine": ENGINE,
            }
        ],
    }


class Served:
    """The module's server; the restart test replaces it with a new process on the same
    store."""

    def __init__(self, config: dict[str, Any], workdir: Path) -> None:
        self.config, self.workdir = config, workdir
        self.proc = start_server(config, workdir, timeout=READY_S)

    def restart(self) -> ServerProcess:
        assert self.proc.stop() == 0, self.proc.log()[-3000:]
        self.proc = start_server(self.config, self.workdir, timeout=READY_S)
        return self.proc


@pytest.fixture(scope="module")
def served_box(
    tmp_path_factory: pytest.TempPathFactory, adapter_dir: Path, database_url: str
) -> Iterator[Served]:
    box = Served(_config(adapter_dir, database_url), tmp_path_factory.mktemp("adapters"))
    try:
        yield box
    finally:
        code = box.proc.stop()
    assert code == 0, box.proc.log()[-3000:]


@pytest.fixture(scope="module")
def server(served_box: Served) -> ServerProcess:
    return served_box.proc


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0)


def _complete(api: openai.OpenAI, model: str) -> str:
    out = api.completions.create(model=model, prompt=PROMPT, max_tokens=TOKENS, temperature=0)
    return out.choices[0].text


def _chat(api: openai.OpenAI, model: str) -> str:
    out = api.chat.completions.create(
        model=model,
        messages=MESSAGES,  # type: ignore[arg-type]
        max_tokens=TOKENS,
        temperature=0,
    )
    return out.choices[0].message.content or ""


def test_models_lists_the_adapter_with_its_base(api: openai.OpenAI, adapter_dir: Path) -> None:
    cards = {m.id: m.model_dump() for m in api.models.list().data}
    assert cards[ADAPTER]["parent"] == CHAT_MODEL
    assert cards[ADAPTER]["root"] == str(adapter_dir)
    assert (cards[ADAPTER]["ready"], cards[ADAPTER]["state"]) == (True, "loaded")
    assert cards[CHAT_MODEL]["parent"] is None


def test_the_adapter_output_is_peft_merged_models_and_not_the_base(
    api: openai.OpenAI, adapter_dir: Path
) -> None:
    with_adapter, base = _complete(api, ADAPTER), _complete(api, CHAT_MODEL)
    assert with_adapter != base
    assert base == merged_greedy(None, PROMPT, TOKENS)
    assert with_adapter == merged_greedy(adapter_dir, PROMPT, TOKENS)


def test_the_bundled_adapter_answers_in_its_style_and_the_base_does_not(
    api: openai.OpenAI,
) -> None:
    """On the held-out prompt templates (never trained on), greedy: with the adapter the
    answer begins "Ahoy!" and goes on with the base model's own answer (not "Ahoy" again), as
    often as the floors at preparation; without it, never "Ahoy!"."""
    prompts = style_adapter.held_out_prompts()

    def answer(model: str, prompt: str) -> str:
        out = api.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": prompt}],
            max_tokens=style_adapter.EVAL_TOKENS,
            temperature=0,
        )
        return out.choices[0].message.content or ""

    with ThreadPoolExecutor(8) as pool:  # the engine batches them
        styled = list(pool.map(partial(answer, STYLED), prompts))
        base = list(pool.map(partial(answer, CHAT_MODEL), prompts))
    figures = style_adapter.evaluate(styled, base)
    assert figures["with_adapter"] >= style_adapter.MIN_HELD_OUT, styled
    assert figures["without_adapter"] == 0, base
    assert figures["content_with_adapter"] >= style_adapter.MIN_CONTENT, styled
    assert figures["agreement_with_adapter"] >= style_adapter.MIN_AGREEMENT, (styled, base)


def test_every_generation_endpoint_serves_the_adapter(
    api: openai.OpenAI, server: ServerProcess
) -> None:
    chat = _chat(api, ADAPTER)
    assert chat and chat != _chat(api, CHAT_MODEL)
    response = api.responses.create(
        model=ADAPTER, input=MESSAGES[0]["content"], max_output_tokens=TOKENS, temperature=0
    )
    assert response.model == ADAPTER
    assert response.output_text == chat
    claude = anthropic.Anthropic(base_url=server.base_url, api_key="unused", max_retries=0)
    message = claude.messages.create(
        model=ADAPTER,
        messages=MESSAGES,  # type: ignore[arg-type]
        max_tokens=TOKENS,
        extra_body={"temperature": 0},
    )
    assert message.model == ADAPTER
    assert message.content[0].text == chat  # type: ignore[union-attr]
    requests = server.metric(
        "inference_requests_total", model=ADAPTER, endpoint="/v1/chat/completions", status="200"
    )
    assert requests >= 1


def test_a_batch_line_names_the_adapter(api: openai.OpenAI) -> None:
    body = {"model": ADAPTER, "messages": MESSAGES, "max_tokens": TOKENS, "temperature": 0}
    batch = submit(api, [request_line("a", "/v1/chat/completions", body)], "/v1/chat/completions")
    done = wait(api, batch.id, ("completed", "failed"))
    assert done.status == "completed", done
    (line,) = lines_of(api, done.output_file_id)
    answer = line["response"]["body"]
    assert answer["model"] == ADAPTER
    assert answer["choices"][0]["message"]["content"] == _chat(api, ADAPTER)


def test_an_unknown_model_near_the_adapter_is_a_404(api: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        _complete(api, ADAPTER + "-x")


# --- at run time ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_adapter(tmp_path_factory.mktemp("runtime") / "lora", seed=1)


def _admin(server: ServerProcess, path: str, body: dict[str, Any]) -> httpx.Response:
    return server.http.post(path, json=body, headers=ADMIN)


def _served_names(api: openai.OpenAI) -> set[str]:
    return {m.id for m in api.models.list().data}


def test_runtime_routes_take_the_admin_key_only(server: ServerProcess, runtime_dir: Path) -> None:
    body = {"lora_name": RUNTIME, "lora_path": str(runtime_dir)}
    answer = server.http.post("/v1/load_lora_adapter", json=body)
    assert answer.status_code == 401
    assert answer.json()["error"]["message"]


def test_load_serve_and_unload_at_run_time(
    api: openai.OpenAI, server: ServerProcess, runtime_dir: Path
) -> None:
    body = {"lora_name": RUNTIME, "lora_path": str(runtime_dir)}
    answer = _admin(server, "/v1/load_lora_adapter", body)
    assert answer.status_code == 200, answer.text
    card = api.models.retrieve(RUNTIME).model_dump()
    assert (card["parent"], card["root"]) == (CHAT_MODEL, str(runtime_dir))
    assert _complete(api, RUNTIME) == merged_greedy(runtime_dir, PROMPT, TOKENS)
    again = _admin(server, "/v1/load_lora_adapter", body)
    assert again.status_code == 400 and "already served" in again.json()["error"]["message"]
    gone = _admin(server, "/v1/unload_lora_adapter", {"lora_name": RUNTIME})
    assert gone.status_code == 200, gone.text
    with pytest.raises(openai.NotFoundError):
        _complete(api, RUNTIME)
    missing = _admin(server, "/v1/unload_lora_adapter", {"lora_name": RUNTIME})
    assert missing.status_code == 404


@pytest.fixture(scope="module")
def bad_adapters(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bad")
    no_weights = root / "no-weights"
    build_adapter(no_weights)
    (no_weights / "adapter_model.safetensors").unlink()
    return {
        "no weights file": no_weights,
        "adapter folder not found": root / "nowhere",
        "over the model's max_lora_rank": build_adapter(root / "rank16", rank=16),
        "does not fit model": build_foreign_adapter(root / "foreign"),
    }


def test_a_bad_adapter_is_a_400_that_says_why_and_changes_nothing(
    api: openai.OpenAI, server: ServerProcess, bad_adapters: dict[str, Path]
) -> None:
    before = _served_names(api)
    for words, folder in bad_adapters.items():
        body = {"lora_name": "bad-lora", "lora_path": str(folder)}
        answer = _admin(server, "/v1/load_lora_adapter", body)
        assert answer.status_code == 400, (words, answer.text)
        assert words in answer.json()["error"]["message"], answer.text
    assert _served_names(api) == before
    assert _complete(api, ADAPTER)  # the served adapters still answer


def _archive(folder: Path) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        tar.add(folder, arcname="lora")
    return out.getvalue()


def test_an_uploaded_archive_is_served(
    api: openai.OpenAI, server: ServerProcess, runtime_dir: Path
) -> None:
    answer = server.http.put(
        f"/admin/v1/adapters/{UPLOADED}", content=_archive(runtime_dir), headers=ADMIN
    )
    assert answer.status_code == 200, answer.text
    assert _complete(api, UPLOADED) == merged_greedy(runtime_dir, PROMPT, TOKENS)
    bad = server.http.put("/admin/v1/adapters/x", content=b"not an archive", headers=ADMIN)
    assert bad.status_code == 400 and "not a tar or zip" in bad.text


def _converged(check: Callable[[], bool]) -> float:
    """Seconds until ``check()`` holds (a replica reads the store every 2 s)."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < CONVERGE_S
        time.sleep(0.25)
    return time.monotonic() - started


def test_a_second_replica_follows_loads_and_unloads(
    served_box: Served,
    server: ServerProcess,
    runtime_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Two replicas with real engines on one PostgreSQL: the second starts with what the
    store holds, then follows a load and an unload on the first."""
    other = start_server(served_box.config, tmp_path_factory.mktemp("replica"), timeout=READY_S)
    try:
        b = openai.OpenAI(base_url=f"{other.base_url}/v1", api_key="unused", max_retries=0)
        assert {ADAPTER, STYLED, UPLOADED} <= _served_names(b)
        body = {"lora_name": RUNTIME, "lora_path": str(runtime_dir)}
        assert _admin(server, "/v1/load_lora_adapter", body).status_code == 200
        _converged(lambda: RUNTIME in _served_names(b))
        assert _complete(b, RUNTIME) == merged_greedy(runtime_dir, PROMPT, TOKENS)
        gone = _admin(server, "/v1/unload_lora_adapter", {"lora_name": RUNTIME})
        assert gone.status_code == 200, gone.text
        _converged(lambda: RUNTIME not in _served_names(b))
        with pytest.raises(openai.NotFoundError):
            _complete(b, RUNTIME)
    finally:
        code = other.stop()
    assert code == 0, other.log()[-3000:]


def test_a_restart_serves_what_was_loaded(served_box: Served, runtime_dir: Path) -> None:
    """Last in the module: the uploaded adapter is in the store, the unloaded one is not."""
    proc = served_box.restart()
    api = openai.OpenAI(base_url=f"{proc.base_url}/v1", api_key="unused", max_retries=0)
    names = _served_names(api)
    assert {CHAT_MODEL, ADAPTER, STYLED, UPLOADED} <= names and RUNTIME not in names
    assert _complete(api, UPLOADED) == merged_greedy(runtime_dir, PROMPT, TOKENS)
