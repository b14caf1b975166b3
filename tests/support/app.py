"""The real app over a fake generative model, for fast tests of the HTTP layer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from server.app import create_app
from server.core.metrics import Metrics
from server.core.settings import Settings, load_settings
from server.generation.model import GenerationModel
from tests.support.fakes import FakeEngine, FakeTokenizer

MODEL = "fake-llm"
READY_TIMEOUT_S = 10.0


class FakeGenerationModel(GenerationModel):
    """The real GenerationModel with a fake engine and tokenizer (no vLLM)."""

    def _load_tokenizer(self, path: str) -> FakeTokenizer:
        return FakeTokenizer()


def fake_factory(
    config: Any, settings: Settings, metrics: Metrics, **engine: Any
) -> FakeGenerationModel:
    return FakeGenerationModel(
        config, settings, metrics, engine=FakeEngine(max_model_len=64, **engine)
    )


@contextmanager
def fake_client(
    tmp_path: Path, settings_yaml: str = "", model_yaml: str = "", **engine: Any
) -> Iterator[TestClient]:
    """A started app serving ``MODEL`` on a ``FakeEngine(**engine)``, once it is ready.

    ``settings_yaml`` adds top-level settings, ``model_yaml`` keys to the model's entry
    (each line indented by six spaces).
    """
    (tmp_path / "model").mkdir(exist_ok=True)
    config = tmp_path / "c.yaml"
    config.write_text(
        f"{settings_yaml}\n"
        f"models:\n  - name: {MODEL}\n    task: generate\n    source: {tmp_path / 'model'}\n"
        f"{model_yaml}"
    )
    app = create_app(
        load_settings(["--config", str(config)]),
        model_factory=lambda c, s, m: fake_factory(c, s, m, **engine),
        on_fatal=lambda: None,
    )
    with TestClient(app) as client:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while client.get("/ready").status_code != 200:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the fake app was not ready in {READY_TIMEOUT_S} s")
            time.sleep(0.01)
        yield client


def assert_openai_error(body: dict[str, Any], param: str | None = None) -> None:
    """``body`` is an OpenAI error (and names ``param`` when given)."""
    err = body["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert isinstance(err["message"], str) and err["message"]
    assert err["code"] is None or isinstance(err["code"], str)
    if param is not None:
        assert err["param"] == param
