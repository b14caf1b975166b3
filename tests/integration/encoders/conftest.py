"""One real server with every encoder model the suite needs, shared by all encoder tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.encoders.models import (
    DerivedModels,
    ReadingModels,
    build_derived,
    build_fitted_reading,
    build_reading,
    minilm_dir,
)
from tests.support.server import MODELS_DIR, ServerProcess, served, start_server

# Bundled models served (and parity-tested) only once `python -m prepare` made them.
BUNDLED_CLASSIFY = "minilm-sentiment"
BUNDLED_NER = "minilm-ner"
PROMPTS = {"search_query": "query: ", "search_document": "passage: "}


def bundled_available(name: str) -> bool:
    return (MODELS_DIR / name / "config.json").is_file()


@pytest.fixture(scope="session")
def derived(tmp_path_factory: pytest.TempPathFactory) -> DerivedModels:
    return build_derived(tmp_path_factory.mktemp("derived-models"))


@pytest.fixture(scope="session")
def reading(tmp_path_factory: pytest.TempPathFactory) -> ReadingModels:
    return build_reading(tmp_path_factory.mktemp("reading-models"))


def server_config(derived: DerivedModels, reading: ReadingModels) -> dict[str, Any]:
    minilm = str(minilm_dir())
    models: list[dict[str, Any]] = [
        {
            "name": "minilm",
            "task": "embed",
            "source": minilm,
            "batching": {"max_batch_size": 32, "max_wait_ms": 5},
        },
        # The same weights with instructions, as an e5-style model is configured.
        {"name": "instructed", "task": "embed", "source": minilm, "prompts": PROMPTS},
        {"name": "sentiment", "task": "classify", "source": str(derived.sentiment)},
        {"name": "topics", "task": "classify", "source": str(derived.topics)},
        {"name": "ner", "task": "ner", "source": str(derived.ner)},
        {"name": "reranker", "task": "rerank", "source": str(derived.cross_encoder)},
        {"name": "qa", "task": "qa", "source": str(reading.qa)},
        {"name": "nli", "task": "zero-shot", "source": str(reading.nli), "max_length": 128},
        {"name": "masked", "task": "fill-mask", "source": str(reading.masked)},
        # For the 429 and crash tests: one input per batch, and a queue that fills at once.
        # Long inputs (max_length 512) make its batches slow enough to be caught running.
        {
            "name": "spare",
            "task": "embed",
            "source": minilm,
            "max_length": 512,
            "batching": {"max_batch_size": 1, "max_wait_ms": 0, "max_queue": 2},
        },
    ]
    for name, task in ((BUNDLED_CLASSIFY, "classify"), (BUNDLED_NER, "ner")):
        if bundled_available(name):
            models.append({"name": name, "task": task, "source": f"bundled:{name}"})
    for model in models:
        # Many workers share two cores here: one thread each avoids OpenMP stalls.
        model["torch_threads"] = 1
    return {"models": models, "log_level": "info"}


@pytest.fixture(scope="package")
def encoder_server(
    derived: DerivedModels, reading: ReadingModels, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One server for the package, stopped after its last test: its dozen worker processes
    (several GiB) must not sit beside the engines of the modules that run later."""
    config = server_config(derived, reading)
    with served(tmp_path_factory, "encoder-server", config) as server:
        yield server


@pytest.fixture(scope="session")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> ReadingModels:
    return build_fitted_reading(tmp_path_factory.mktemp("fitted-reading-models"))


def reading_config(reading: ReadingModels) -> dict[str, Any]:
    """The reading models twice: as served by default (torch, fp32) and with ``quantize: int8``
    (ONNX Runtime); the playground on."""
    models: list[dict[str, Any]] = []
    for name, task, extra in (
        ("qa", "qa", {}),
        ("nli", "zero-shot", {"max_length": 128}),
        ("masked", "fill-mask", {}),
    ):
        source = str(getattr(reading, name))
        common = {"task": task, "source": source, "torch_threads": 1, **extra}
        models.append({"name": name, **common})
        models.append({"name": f"{name}-int8", "backend": "onnx", "quantize": "int8", **common})
    return {"models": models, "playground": True, "log_level": "info"}


@pytest.fixture(scope="package")
def reading_server(
    fitted: ReadingModels, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A small server for the tests of the reading tasks' playground views and int8 runtime
    (six workers, where ``encoder_server`` has a dozen) on the fitted reading models, shared
    by their modules."""
    # Quantizing the masked LM's 30k-row output matrix takes minutes on a busy machine.
    server = start_server(
        reading_config(fitted), tmp_path_factory.mktemp("reading-server"), timeout=900
    )
    try:
        yield server
    finally:
        code = server.stop()
    assert code == 0, server.log()[-3000:]


@pytest.fixture(scope="package")
def http(encoder_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=encoder_server.base_url, timeout=120) as client:
        yield client


@pytest.fixture(scope="package")
def served_models(http: httpx.Client) -> dict[str, str]:
    """Served model name -> task, from /v1/models."""
    return {card["id"]: card["task"] for card in http.get("/v1/models").json()["data"]}


TEXTS = [
    "Angela Merkel met Emmanuel Macron in Paris on Tuesday.",
    "Apple Inc. is looking at buying a U.K. startup for $1 billion!",
    "Ünïcödé: café naïve résumé, São Paulo, Zürich & Kraków...",
    "New York, New York: the city so nice they named it twice; New York!",
    "buffalo Buffalo buffalo buffalo Buffalo buffalo buffalo Buffalo",
    "日本語のテキスト and English mixed 🙂 emoji ☃.",
    "  leading and trailing spaces  ",
    "Hyphenated-words, e-mail a.b@example.com and https://x.org/a?b=c (URLs).",
]
