"""``python -m prepare``: prepare every bundled model the configuration names.

Each model is written to a temporary folder and renamed into place, so an interrupted run
never leaves a half-written model behind; a model already in place is skipped. The bundled
encoders are then exported to ONNX (if not done yet) into the cache their workers read.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("prepare")

Preparer = Callable[[Path], None]


def preparers() -> dict[str, Preparer]:
    """Bundled model name -> function that writes it into a folder."""
    from prepare.minilm import prepare_minilm
    from prepare.mlm import prepare_mlm
    from prepare.ner import prepare_ner
    from prepare.nli import prepare_nli
    from prepare.qa import prepare_qa
    from prepare.sentiment import prepare_sentiment
    from prepare.smollm2 import prepare_smollm2
    from prepare.style_adapter import prepare_style_adapter

    return {
        "smollm2-135m-instruct": prepare_smollm2,
        # A LoRA adapter trained on the chat model (prepared before it, in the same folder).
        "smollm2-ahoy": prepare_style_adapter,
        "all-minilm-l6-v2": prepare_minilm,
        "minilm-sentiment": prepare_sentiment,
        "minilm-ner": prepare_ner,
        "minilm-qa": prepare_qa,
        "minilm-nli": prepare_nli,
        "minilm-mlm": prepare_mlm,
    }


def prepare(name: str, models_dir: Path) -> Path:
    """Prepare one bundled model unless it is already in ``models_dir`` (and its ONNX export
    unless already made); return its folder."""
    from prepare.onnx import export_onnx

    target = _prepare_folder(name, models_dir)
    export_onnx(name, target)
    return target


def _prepare_folder(name: str, models_dir: Path) -> Path:
    target = models_dir / name
    if target.is_dir():
        log.info("%s: already prepared in %s", name, target)
        return target
    table = preparers()
    if name not in table:
        raise KeyError(f"unknown bundled model {name!r}; known: {', '.join(sorted(table))}")
    models_dir.mkdir(parents=True, exist_ok=True)
    scratch = models_dir / f".{name}.partial-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    start = time.perf_counter()
    log.info("%s: preparing ...", name)
    try:
        table[name](scratch)
        scratch.rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log.info("%s: ready in %.0f s", name, time.perf_counter() - start)
    return target


def bundled_names_in_config(argv: list[str]) -> list[str]:
    """The bundled models named by the server configuration (``--config`` or default), each
    followed by its bundled adapters (trained on it, so prepared after it)."""
    from server.core.settings import load_settings
    from server.core.sources import bundled_name

    settings = load_settings(argv)
    names: list[str] = []
    for model in settings.models:
        sources = [model.source, *(a.source for a in getattr(model, "adapters", ()))]
        names += [n for source in sources if (n := bundled_name(source)) and n not in names]
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m prepare",
        description="Prepare bundled models offline (default: those the config names).",
    )
    parser.add_argument("names", nargs="*", help="bundled model names (default: from config)")
    parser.add_argument("--config", help="server YAML config (default: the bundled one)")
    parser.add_argument("--models-dir", type=Path, help="where to write models")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    config_argv = ["--config", args.config] if args.config else []
    names = args.names or bundled_names_in_config(config_argv)
    models_dir = args.models_dir or Path(
        os.environ.get("INFERENCE_MODELS_DIR") or _models_dir_from_config(config_argv)
    )
    for name in names:
        prepare(name, models_dir)
    return 0


def _models_dir_from_config(config_argv: list[str]) -> Path:
    from server.core.settings import load_settings

    return load_settings(config_argv).models_dir


if __name__ == "__main__":
    sys.exit(main())
