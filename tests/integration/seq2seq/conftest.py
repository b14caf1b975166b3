"""One real server with the tiny encoder-decoder models, shared by the seq2seq tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.seq2seq_models import Seq2SeqModels, build_all
from tests.support.server import ServerProcess, served

MAX_NEW_TOKENS = 24  # the server's limit in these tests
MAX_NUM_BEAMS = 4


@pytest.fixture(scope="session")
def seq2seq_models(tmp_path_factory: pytest.TempPathFactory) -> Seq2SeqModels:
    return build_all(tmp_path_factory.mktemp("seq2seq-models"))


def server_config(models: Seq2SeqModels) -> dict[str, Any]:
    limits = {"max_new_tokens": MAX_NEW_TOKENS, "max_num_beams": MAX_NUM_BEAMS}
    entries: list[dict[str, Any]] = [
        {"name": "t5", "task": "summarize", "source": str(models.t5)},
        {"name": "bart", "task": "summarize", "source": str(models.bart)},
        {"name": "marian", "task": "translate", "source": str(models.marian)},
        {"name": "m2m100", "task": "translate", "source": str(models.m2m100)},
    ]
    for entry in entries:
        entry["torch_threads"] = 1
        entry["seq2seq"] = dict(limits)
        # A wait long enough that concurrent requests share a batch.
        entry["batching"] = {"max_wait_ms": 20}
    return {"models": entries, "log_level": "info"}


@pytest.fixture(scope="package")
def seq2seq_server(
    seq2seq_models: Seq2SeqModels, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    # Stopped after the package's last test, so that its workers free their memory.
    with served(tmp_path_factory, "seq2seq-server", server_config(seq2seq_models)) as server:
        yield server
