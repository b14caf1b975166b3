"""ONNX Runtime against torch on the same inputs, through the worker's own loading and forward
stage: embeddings (cosine), classification (probabilities), NER (entities on held-out
sentences), rerank (order); and the served ``backend: onnx`` model against the torch one."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
import pytest

from prepare.finetune import load_classification, load_spans
from server.encoders.shared import ipc
from server.encoders.shared.spec import Features, ModelDescription, WorkerSpec
from server.encoders.tasks.entities import entities
from server.encoders.tokenization import TextEncoder
from server.encoders.workers.text_inputs import TextTokenizer
from tests.integration.encoders.conftest import TEXTS, bundled_available
from tests.integration.encoders.models import DerivedModels, minilm_dir
from tests.support.server import MODELS_DIR, ServerProcess

pytestmark = pytest.mark.integration

Forward = Callable[[np.ndarray, np.ndarray, np.ndarray | None, bool], np.ndarray]
BATCH = 32
STRATEGIES = ("none", "simple", "first", "average", "max")


def _load(
    path: Path, task: str, backend: str, *, threads: int = 2, alone_threads: int = 0
) -> tuple[Forward, ModelDescription]:
    from server.encoders.workers.main import _load as load_worker

    spec = WorkerSpec(
        model=path.name,
        task=task,
        path=str(path),
        device="cpu",
        dtype="float32",
        threads=threads,
        alone_threads=alone_threads,
        backend=backend,
    )
    run, description = load_worker(spec)
    assert description.backend == backend, f"{path} fell back to {description.backend}"
    return _batch_call(run), description


def _batch_call(run: Any) -> Forward:
    """The worker's batch function called with arrays, as the tests send them; its
    ``BatchForward``'s runner kept as ``.runner``."""
    from server.encoders.shared import ipc
    from server.encoders.workers.forward import BatchForward

    def forward(
        ids: np.ndarray, lengths: np.ndarray, types: np.ndarray | None, alone: bool = False
    ) -> np.ndarray:
        return np.asarray(run(ipc.RunBatch(0, ids, lengths, types, alone=alone)))

    cells = [c.cell_contents for c in run.__closure__ or ()]
    inner = next(c for c in cells if isinstance(c, BatchForward))
    forward.runner = inner.runner  # type: ignore[attr-defined]
    return forward


def _run(forward: Forward, features: Sequence[Features], alone: bool = False) -> list[np.ndarray]:
    """Outputs per input, in batches of BATCH sorted by length as the batcher sends them."""
    order = sorted(range(len(features)), key=lambda i: len(features[i]))
    out: dict[int, np.ndarray] = {}
    for start in range(0, len(order), BATCH):
        chunk = [features[i] for i in order[start : start + BATCH]]
        lengths = np.array([len(f) for f in chunk], dtype=np.int32)
        ids = np.concatenate([f.ids for f in chunk])
        types = None
        if chunk[0].type_ids is not None:
            types = np.concatenate([f.type_ids for f in chunk if f.type_ids is not None])
        result = forward(ids, lengths, types, alone)
        if result.shape[0] == len(chunk):
            rows = list(result)
        else:  # token heads: one row per real token
            rows = np.split(result, np.cumsum(lengths)[:-1])
        for i, row in zip(order[start : start + BATCH], rows, strict=True):
            out[i] = row
    return [out[i] for i in range(len(features))]


class Pair:
    """The torch and ONNX Runtime forward stages of one model."""

    def __init__(self, path: Path, task: str) -> None:
        self.torch, self.description = _load(path, task, "torch")
        self.onnx, _ = _load(path, task, "onnx")
        self.text = TextEncoder(self.description)

    def both(self, features: Sequence[Features]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        return _run(self.torch, features), _run(self.onnx, features)


def _bundled_or_derived(name: str, derived: Path) -> Path:
    return MODELS_DIR / name if bundled_available(name) else derived


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    held_out = [row.text for row in load_classification("sentiment", "test")]
    return [*TEXTS, *held_out]


def test_embeddings_cosine(sentences: list[str]) -> None:
    pair = Pair(minilm_dir(), "embed")
    features = [
        pair.text.features(e) for e in pair.text.encode_now(sentences, truncate=True, param="input")
    ]
    torch_out, onnx_out = pair.both(features)
    a, b = np.stack(torch_out), np.stack(onnx_out)
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    print(f"embeddings: {len(cosine)} inputs, min cosine {cosine.min():.8f}")
    assert cosine.min() >= 0.99999


def test_the_session_for_a_batch_alone_gives_the_same_outputs(sentences: list[str]) -> None:
    forward, description = _load(minilm_dir(), "embed", "onnx", threads=1, alone_threads=2)
    assert getattr(forward, "runner").alone is not None  # noqa: B009 (a second session)
    text = TextEncoder(description)
    features = [text.features(e) for e in text.encode_now(sentences, truncate=True, param="input")]
    narrow = np.stack(_run(forward, features))
    wide = np.stack(_run(forward, features, alone=True))
    assert float(np.abs(narrow - wide).max()) <= 1e-5


@pytest.mark.parametrize("which", ["sentiment", "topics"])
def test_classification_probabilities(
    which: str, derived: DerivedModels, sentences: list[str]
) -> None:
    path = (
        _bundled_or_derived("minilm-sentiment", derived.sentiment)
        if which == "sentiment"
        else derived.topics
    )
    pair = Pair(path, "classify")
    features = [
        pair.text.features(e) for e in pair.text.encode_now(sentences, truncate=True, param="input")
    ]
    torch_out, onnx_out = pair.both(features)
    worst = float(np.abs(np.stack(torch_out) - np.stack(onnx_out)).max())
    agree = np.mean([t.argmax() == o.argmax() for t, o in zip(torch_out, onnx_out, strict=True)])
    print(f"classify {which}: max |p_torch - p_onnx| {worst:.2e}, top label agreement {agree}")
    assert worst <= 1e-4
    assert agree == 1.0


def test_ner_entities_identical(derived: DerivedModels) -> None:
    path = _bundled_or_derived("minilm-ner", derived.ner)
    pair = Pair(path, "ner")
    texts = [row.text for row in load_spans("ner", "test")]
    # Tokenized as the worker tokenizes a text, in windows with each token's span and flags.
    batch = ipc.RunBatch(0, np.empty(0, np.int32), np.full(len(texts), ipc.TEXT), None)
    batch.texts = texts
    done = TextTokenizer(pair.description).resolve(batch)
    assert done.token_info is not None
    starts = np.concatenate(([0], np.cumsum(batch.lengths)[:-1]))
    flat = [Features(batch.ids[a : a + n]) for a, n in zip(starts, batch.lengths, strict=True)]
    torch_out, onnx_out = pair.both(flat)
    infos = np.split(done.token_info, np.cumsum(batch.lengths)[:-1])
    labels = pair.description.labels
    compared = 0
    position = 0
    for windows in done.text_tokens[:, 2].tolist():
        own = range(position, position + windows)
        position += windows
        lengths = [int(batch.lengths[i]) for i in own]
        info = np.concatenate([infos[i] for i in own])
        scores_t = np.concatenate([torch_out[i] for i in own])
        scores_o = np.concatenate([onnx_out[i] for i in own])
        for strategy in STRATEGIES:
            got = entities(lengths, scores_o, info, strategy, labels)
            expected = entities(lengths, scores_t, info, strategy, labels)
            assert [(s.entity, s.start, s.end) for s in got] == [
                (s.entity, s.start, s.end) for s in expected
            ]
            for s, r in zip(got, expected, strict=True):
                assert abs(s.score - r.score) <= 1e-4
            compared += len(expected)
    print(f"ner: {len(texts)} held-out sentences, {compared} identical spans over strategies")
    assert compared > len(texts)


def test_rerank_order_identical(derived: DerivedModels, sentences: list[str]) -> None:
    pair = Pair(derived.cross_encoder, "rerank")
    queries = sentences[:8]
    documents = sentences[8:72]
    for query in queries:
        encodings = pair.text.encode_pair_list([(query, d) for d in documents], truncate=True)
        features = [pair.text.features(e, pair=True) for e in encodings]
        torch_out, onnx_out = pair.both(features)
        t = np.concatenate(torch_out)
        o = np.concatenate(onnx_out)
        assert list(np.argsort(-t, kind="stable")) == list(np.argsort(-o, kind="stable"))
        assert float(np.abs(t - o).max()) <= 1e-4


def _minilm_spec(**changes: Any) -> WorkerSpec:
    spec = WorkerSpec(
        model="m",
        task="embed",
        path=str(minilm_dir()),
        device="cpu",
        dtype="float32",
        threads=1,
        backend="onnx",
    )
    return dataclasses.replace(spec, **changes)


@pytest.fixture(scope="module")
def verified_minilm() -> None:
    """MiniLM's export verified and recorded, as the first ONNX worker of a model leaves it."""
    from server.encoders.workers.backends import verified
    from server.encoders.workers.main import _load as load_worker

    _, description = load_worker(_minilm_spec())
    assert description.backend == "onnx"
    assert verified.load(_minilm_spec()) is not None


@pytest.fixture(scope="module")
def onnx_server(
    tmp_path_factory: pytest.TempPathFactory, verified_minilm: None
) -> Iterator[ServerProcess]:
    from tests.support.server import served

    config = {
        "models": [
            {"name": "minilm-torch", "task": "embed", "source": str(minilm_dir())},
            {
                "name": "minilm-onnx",
                "task": "embed",
                "source": str(minilm_dir()),
                "backend": "onnx",
            },
        ]
    }
    with served(tmp_path_factory, "onnx-server", config) as server:
        assert "(embed, onnx)" in server.log()
        yield server


@pytest.fixture(scope="module")
def onnx_http(onnx_server: ServerProcess) -> httpx.Client:
    return onnx_server.http


def test_served_onnx_matches_torch(onnx_http: httpx.Client) -> None:
    answers = {}
    for model in ("minilm-torch", "minilm-onnx"):
        reply = onnx_http.post("/v1/embeddings", json={"model": model, "input": TEXTS})
        assert reply.status_code == 200, reply.text
        answers[model] = np.array([row["embedding"] for row in reply.json()["data"]])
    a, b = answers["minilm-torch"], answers["minilm-onnx"]
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cosine.min() >= 0.99999


def test_models_list_says_which_runtime_serves(onnx_http: httpx.Client) -> None:
    cards = {card["id"]: card for card in onnx_http.get("/v1/models").json()["data"]}
    assert cards["minilm-torch"]["runtime"] == "torch"
    assert cards["minilm-onnx"]["runtime"] == "onnx"


def test_a_verified_export_runs_without_torch_or_transformers(
    onnx_server: ServerProcess, onnx_http: httpx.Client
) -> None:
    """The served ONNX model's workers say at ready which heavy libraries they imported
    (none), and their memory maps agree: no libtorch; each stays under 250 MB."""
    reply = onnx_http.post("/v1/embeddings", json={"model": "minilm-onnx", "input": TEXTS})
    assert reply.status_code == 200, reply.text
    ready_lines = [
        line for line in onnx_server.log().splitlines() if "of minilm-onnx ready" in line
    ]
    assert ready_lines and all(line.endswith("no torch)") for line in ready_lines), ready_lines
    torch_lines = [
        line for line in onnx_server.log().splitlines() if "of minilm-torch ready" in line
    ]
    assert torch_lines and all("with torch, transformers" in line for line in torch_lines)
    children = psutil.Process(onnx_server.process.pid).children(recursive=True)
    workers = [c for c in children if c.name() == "enc-minilm-onnx"]
    assert len(workers) == len(ready_lines)
    for worker in workers:
        maps = Path(f"/proc/{worker.pid}/maps").read_text()
        assert "libtorch" not in maps and "onnxruntime" in maps
        rss_mb = worker.memory_info().rss / 2**20
        print(f"onnx worker {worker.pid}: {rss_mb:.0f} MB resident")
        assert rss_mb <= 250


def test_failed_export_falls_back_to_torch(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from server.encoders.workers.backends import build, verified
    from server.encoders.workers.main import _load as load_worker

    def broken(*args: object, **kwargs: object) -> Path:
        raise RuntimeError("exporter crashed")

    monkeypatch.setattr(build, "exported_model", broken)
    monkeypatch.setattr(verified, "load", lambda spec: None)  # no record: export again
    spec = _minilm_spec()
    with caplog.at_level("WARNING", logger="server.encoders.worker"):
        run, description = load_worker(spec)
    forward = _batch_call(run)
    assert description.backend == "torch"
    assert "exporter crashed" in caplog.text and "using torch" in caplog.text
    ids = np.array([101, 7592, 102], dtype=np.int32)
    assert forward(ids, np.array([3], dtype=np.int32), None).shape == (1, 384)


def test_int8_quantized_embeddings_stay_close(sentences: list[str]) -> None:
    from server.encoders.workers.main import _load as load_worker

    fp32, description = _load(minilm_dir(), "embed", "onnx")
    spec = WorkerSpec(
        model="m",
        task="embed",
        path=str(minilm_dir()),
        device="cpu",
        dtype="float32",
        threads=2,
        backend="onnx",
        quantize="int8",
    )
    run, quantized = load_worker(spec)
    int8 = _batch_call(run)
    assert quantized.backend == "onnx-int8"
    text = TextEncoder(description)
    features = [text.features(e) for e in text.encode_now(sentences, truncate=True, param="x")]
    a, b = np.stack(_run(fp32, features)), np.stack(_run(int8, features))
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    print(f"int8 embeddings: mean cosine {cosine.mean():.4f}, min {cosine.min():.4f}")
    assert cosine.mean() >= 0.98 and cosine.min() >= 0.9
    assert cosine.max() < 0.999999  # really quantized, not the fp32 graph again
