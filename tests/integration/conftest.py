"""The generation servers integration modules share: one server per configuration for the
whole session (each vLLM engine starts once): the plain chat model, and the tools server
(a tool-calling model and a thinking model) that the tools, Responses and Messages suites
share.

A shared server holds its engines' memory (about 4 GiB each): the modules that use the shared
servers run last, in the order chat only, both, tools only, and each shared server is stopped
right after the last test that uses it, so that at most three engines run at once (four or
more fill a 24 GiB machine)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import openai
import pytest
from transformers import AutoTokenizer

from tests.support.browser import checked_page, chromium
from tests.support.server import MODELS_DIR, ServerProcess, served

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

SHARED_SERVERS = ("chat_server", "tools_server")
_last_user: dict[str, str] = {}  # shared server -> node id of the last test that uses it
_running: dict[str, ServerProcess] = {}

CHAT_MODEL = "smollm2-135m-instruct"
TOOLS_MODEL = "smollm2-tools"
THINK_MODEL = "smollm2-think"
TEXT_TASK_MAX_TOKENS = 40
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
                # Summarize and translate on the chat prompts, as the default config does.
                "text_tasks": {"max_tokens": TEXT_TASK_MAX_TOKENS},
            }
        ],
    }
    with served(tmp_path_factory, "gen", config) as proc:
        _running["chat_server"] = proc
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
        _running["tools_server"] = proc
        yield proc


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """A headless Chromium for a module's browser tests (tests.support.browser)."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page of it; the test fails on any uncaught error in its scripts."""
    with checked_page(browser) as fresh:
        yield fresh


def _module(item: pytest.Item) -> str:
    return item.nodeid.split("::")[0]


@pytest.hookimpl(trylast=True)  # after -k/-m have deselected what will not run
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    uses: dict[str, set[str]] = {}
    for item in items:
        used = uses.setdefault(_module(item), set())
        used.update(n for n in SHARED_SERVERS if n in getattr(item, "fixturenames", ()))
    # Whole modules move (their module-scoped servers start once); the sort is stable.
    order = {frozenset(): 0, frozenset({"chat_server"}): 1, frozenset(SHARED_SERVERS): 2}
    items.sort(key=lambda item: order.get(frozenset(uses[_module(item)]), 3))
    for item in items:
        for name in SHARED_SERVERS:
            if name in getattr(item, "fixturenames", ()):
                _last_user[name] = item.nodeid


def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Stop each shared server after its last test (its fixture's own stop, at the end of
    the session, then finds it stopped and checks its exit code)."""
    for name, last in _last_user.items():
        if item.nodeid == last and name in _running:
            _running.pop(name).stop()
