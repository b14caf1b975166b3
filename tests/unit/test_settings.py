"""Configuration: YAML, env and CLI precedence; invalid configs stop with exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from server.core.settings import EncoderModelConfig, GenerateModelConfig, load_settings

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_default_config_declares_the_bundled_models() -> None:
    settings = load_settings([])
    kinds = {m.name: type(m) for m in settings.models}
    assert kinds["smollm2-135m-instruct"] is GenerateModelConfig
    assert kinds["all-minilm-l6-v2"] is EncoderModelConfig
    assert settings.port == 8000


def test_cli_beats_env_beats_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "port: 7000\nmodels:\n  - {name: m, task: embed, source: x/y}\n")
    assert load_settings(["--config", str(path)]).port == 7000
    monkeypatch.setenv("INFERENCE_PORT", "7100")
    assert load_settings(["--config", str(path)]).port == 7100
    assert load_settings(["--config", str(path), "--port", "7200"]).port == 7200


def test_engine_options_reach_the_model_entry(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
models:
  - name: big
    task: generate
    source: org/model
    engine: {tensor_parallel_size: 4, enable_prefix_caching: true, extra: {swap_space: 2}}
""",
    )
    model = load_settings(["--config", str(path)]).models[0]
    assert isinstance(model, GenerateModelConfig)
    assert model.engine.tensor_parallel_size == 4
    assert model.engine.extra == {"swap_space": 2}


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("models: []\n", "models"),
        ("models:\n  - {name: a, task: dance, source: x}\n", "task"),
        (
            "models:\n  - {name: a, task: generate, source: x, engine: {max_model_len: -1}}\n",
            "max_model_len",
        ),
        ("models:\n  - {name: a, task: embed, source: x, colour: red}\n", "colour"),
        (
            "models:\n  - {name: a, task: embed, source: x}\n"
            "  - {name: a, task: embed, source: y}\n",
            "duplicate",
        ),
        ("models:\n  - {name: a, task: embed, source: /does/not/exist}\n", "does not exist"),
    ],
)
def test_invalid_config_names_the_field(tmp_path: Path, text: str, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        load_settings(["--config", str(write(tmp_path, text))])
    assert field in str(err.value)


def test_cli_exits_2_on_invalid_config_before_loading(tmp_path: Path) -> None:
    path = write(
        tmp_path, "models:\n  - {name: a, task: generate, source: x, engine: {dtype: 3}}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "server", "--config", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "models.0.generate.engine.dtype" in proc.stderr


def test_cli_exits_2_on_missing_config_file(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "server", "--config", str(tmp_path / "none.yaml")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "config file not found" in proc.stderr


def test_help_documents_every_option() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "server", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0
    for flag in ("--config", "--host", "--port", "--models-dir", "--log-format", "--models"):
        assert flag in proc.stdout


def test_default_config_serves_the_bundled_encoders_on_backend_auto() -> None:
    settings = load_settings([])
    encoders = [m for m in settings.models if isinstance(m, EncoderModelConfig)]
    assert encoders and all(m.backend == "auto" and m.quantize is None for m in encoders)


def test_quantize_needs_an_onnx_backend() -> None:
    base = {"name": "e", "task": "embed", "source": "org/model"}
    assert EncoderModelConfig(**base).backend == "torch"
    assert EncoderModelConfig(**base, backend="onnx", quantize="int8").quantize == "int8"
    with pytest.raises(ValidationError, match="quantize needs backend"):
        EncoderModelConfig(**base, quantize="int8")
    with pytest.raises(ValidationError):
        EncoderModelConfig(**base, backend="tensorrt")
