"""What every settings section shares: strict sections and the names of the configuration."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

ENV_PREFIX = "INFERENCE_"
DEFAULT_CONFIG = Path(__file__).parents[2] / "configs" / "default.yaml"
BUNDLED_PREFIX = "bundled:"


class Strict(BaseModel):
    """Config sections reject unknown keys so that a typo names the bad field."""

    model_config = ConfigDict(extra="forbid")
