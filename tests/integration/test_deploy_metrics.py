"""Every metric the Grafana dashboard and the HPA's adapter rule use is exported by the server.

Starts the real server with one bundled encoder and one bundled chat model, sends one request
to each so that the labelled series exist, then reads /metrics. The metric names are parsed
out of the dashboard's and the adapter rule's PromQL (tests/unit/test_deploy_static.py), not
listed by hand, so a renamed metric or a typo in a panel fails here.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.server import MODELS_DIR, ServerProcess, served
from tests.unit.test_deploy_static import (
    TARGET_LABELS,
    adapter_exprs,
    dashboard_exprs,
    exported_names,
    referenced_metrics,
    selectors,
)

pytestmark = pytest.mark.integration

ENCODER = "all-minilm-l6-v2"
CHAT = "smollm2-135m-instruct"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    missing = [m for m in (ENCODER, CHAT) if not (MODELS_DIR / m).is_dir()]
    if missing:
        pytest.skip(f"bundled models not prepared in {MODELS_DIR}: {missing} (make models)")
    config = {
        "models": [
            {"name": ENCODER, "task": "embed", "source": f"bundled:{ENCODER}"},
            {
                "name": CHAT,
                "task": "generate",
                "source": f"bundled:{CHAT}",
                "engine": {"dtype": "float32", "max_model_len": 512, "enforce_eager": True},
            },
        ],
    }
    with served(tmp_path_factory, "deploy-metrics", config) as proc:
        yield proc


@pytest.fixture(scope="module")
def exposition(server: ServerProcess) -> str:
    """/metrics after one embeddings request and one (streamed) chat request."""
    with httpx.Client(base_url=server.base_url, timeout=120) as client:
        embed = client.post("/v1/embeddings", json={"model": ENCODER, "input": ["hello world"]})
        assert embed.status_code == 200, embed.text
        chat = client.post(
            "/v1/chat/completions",
            json={
                "model": CHAT,
                "messages": [{"role": "user", "content": "Say hello."}],
                "max_tokens": 8,
                "temperature": 0,
                "stream": True,
            },
        )
        assert chat.status_code == 200, chat.text
        assert "data: [DONE]" in chat.text
        response = client.get("/metrics")
        assert response.status_code == 200
        return response.text


def test_every_referenced_metric_is_exported(exposition: str) -> None:
    exported, _ = exported_names(exposition)
    referenced = referenced_metrics()
    assert len(referenced) >= 15
    missing = {name: where for name, where in referenced.items() if name not in exported}
    assert not missing, f"referenced by the dashboard or the HPA rule, not exported: {missing}"


def test_hpa_signal_exists_for_every_model(exposition: str) -> None:
    """The adapter rule discovers pods through inference_waiting_requests: every model has it,
    and the encoder also has inference_queue_depth to add."""
    _, labels = exported_names(exposition)
    lines = exposition.splitlines()
    for name, models in (
        ("inference_waiting_requests", (ENCODER, CHAT)),
        ("inference_queue_depth", (ENCODER,)),
    ):
        assert {"model", "task"} <= labels[name]
        for model in models:
            assert any(
                line.startswith(f"{name}{{") and f'model="{model}"' in line for line in lines
            )


def test_series_used_with_label_matchers_carry_those_labels(exposition: str) -> None:
    """A panel filtering on a label the series lacks would show nothing."""
    _, labels = exported_names(exposition)
    for where, expr in dashboard_exprs() + adapter_exprs():
        for names, matched in selectors(expr):
            for name in names:
                if name in labels:  # has samples: labelled series were created above
                    unknown = matched - labels[name] - TARGET_LABELS
                    assert not unknown, f"{where}: {name} has no label(s) {unknown}"


def test_requests_of_both_models_were_counted(exposition: str) -> None:
    lines = [
        line for line in exposition.splitlines() if line.startswith("inference_requests_total{")
    ]
    for model in (ENCODER, CHAT):
        assert any(f'model="{model}"' in line and 'status="200"' in line for line in lines), lines
