"""The generation servers integration modules share: one server per configuration for the
whole session (each vLLM engine starts once): the plain chat model, and the tools server
(a tool-calling model and a thinking model) that the tools and Responses suites share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from transformers import AutoTokenizer

from tests.support.server import MODELS_DIR, ServerProcess, served

CHAT_MODEL = "smollm2-135m-instruct"
TOOLS_MODEL = "smollm2-tools"
THINK_MODEL = "smollm2-think"
ENGINE = {"dtype": "float32", "max_model_len": 1024, "enforce_eager": True}
# A thinking template: the generation prompt opens <think>, as Qwen3's does, and the
# reasoning effort reaches the template as a variable.
THINK_TEMPLATE = (
    "{%- if reasoning_effort is defined and reasoning_effort -%}"
    "<|im_start|>system\nReasoning effort: {{ reasoning_effort }}<|im_end|>\n"
    "{%- endif -%}"
    "{%- for m in messages -%}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}<|im_start|>assistant\n<think>\n{%- endif -%}"
)


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


@pytest.fixture(scope="session")
def tools_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The tool-calling model (hermes calls, the bundled tools template) and the thinking
    model (qwen3 reasoning parser), with the SQLite store the Responses API keeps."""
    config = {
        "log_format": "json",
        "models": [
            {
                "name": TOOLS_MODEL,
                "task": "generate",
                "source": f"bundled:{CHAT_MODEL}",
                "chat_template": "bundled-template:chatml_tools.jinja",
                "tool_call_parser": "hermes",
                "engine": ENGINE,
            },
            {
                "name": THINK_MODEL,
                "task": "generate",
                "source": f"bundled:{CHAT_MODEL}",
                "chat_template": THINK_TEMPLATE,
                "reasoning_parser": "qwen3",
                "engine": ENGINE,
            },
        ],
    }
    with served(tmp_path_factory, "tools", config) as proc:
        yield proc
