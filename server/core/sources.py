"""Where a model's files come from: a bundled default, a local folder or a Hugging Face id."""

from __future__ import annotations

from pathlib import Path

from server.core.errors import Unavailable
from server.core.settings import BUNDLED_PREFIX


def bundled_name(source: str) -> str | None:
    """The bundled model's name for a ``bundled:NAME`` source, else None."""
    return source[len(BUNDLED_PREFIX) :] if source.startswith(BUNDLED_PREFIX) else None


def resolve_source(source: str, models_dir: Path) -> str:
    """A path or Hugging Face id that Transformers and vLLM can load.

    A bundled model must have been prepared first (``python -m prepare``).
    """
    name = bundled_name(source)
    if name is None:
        local = Path(source).expanduser()
        return str(local.resolve()) if local.exists() else source
    path = (models_dir / name).resolve()
    if not path.is_dir():
        raise Unavailable(
            f"bundled model '{name}' is not prepared in {models_dir}: "
            "run `python -m prepare` (or `make serve`)",
            retry_after_s=None,
        )
    return str(path)
