"""The generation server most integration modules share (one vLLM engine start for all)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from transformers import AutoTokenizer

from tests.support.server import MODELS_DIR, ServerProcess, served

CHAT_MODEL = "smollm2-135m-instruct"


@pytest.fixture(scope="session")
def chat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    config = {
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
    with served(tmp_path_factory, "gen", config) as proc:
        yield proc


@pytest.fixture(scope="session")
def chat_client(chat_server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{chat_server.base_url}/v1", api_key="unused", max_retries=0)


@pytest.fixture(scope="session")
def chat_tokenizer() -> Any:
    return AutoTokenizer.from_pretrained(MODELS_DIR / CHAT_MODEL)
