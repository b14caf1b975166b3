"""The server's settings, and how they are read: one YAML file, overridden by environment
variables and CLI flags.

Precedence (highest first): CLI flags, ``INFERENCE_*`` environment variables, the YAML file
given by ``--config`` (or ``INFERENCE_CONFIG``), then the defaults. Nothing here is built at
import time; :func:`load_settings` is called by the CLI and by tests.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator
from pydantic_settings import (
    BaseSettings,
    CliApp,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from server.core.settings.base import DEFAULT_CONFIG, ENV_PREFIX
from server.core.settings.keys import KeySettings
from server.core.settings.limits import RequestLimits
from server.core.settings.models import ModelConfig
from server.core.settings.store import BatchSettings, StoreSettings


class Settings(BaseSettings):
    """Everything the server needs to start; each field is also a CLI flag and an env var."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        cli_prog_name="python -m server",
        cli_kebab_case=True,
        cli_implicit_flags=True,
        cli_avoid_json=False,
    )

    config: Path | None = Field(
        None, description="YAML file declaring the server and its models (default: bundled)."
    )
    host: str = Field("0.0.0.0", description="Address to listen on.")
    port: int = Field(8000, ge=0, le=65535, description="Port to listen on.")
    models_dir: Path = Field(
        Path("models"), description="Where 'bundled:' models are prepared and looked up."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Log level."
    )
    log_format: Literal["text", "json"] = Field("text", description="Log line format.")
    owned_by: str = Field(
        "inference-server", description="Owner shown for every model in /v1/models."
    )
    api_keys: list[str] = Field(
        default_factory=list,
        description="Accepted API keys (JSON list in env/CLI); empty with no file: no auth.",
    )
    api_keys_file: Path | None = Field(
        None, description="File with one accepted API key per line (e.g. a mounted Secret)."
    )
    admin_key: str | None = Field(
        None,
        description="Key of the admin API (/admin/v1/*, sent as 'Authorization: Bearer'); unset: "
        "no admin API. It is not a user key and does not by itself turn auth on.",
    )
    keys: KeySettings = Field(
        default_factory=KeySettings,  # type: ignore[arg-type]
        description="API keys of the store: how often replicas re-read them.",
    )
    metrics_require_auth: bool = Field(
        False, description="Require an API key for /metrics too (/health and /ready never)."
    )
    playground: bool = Field(
        False,
        description="Serve the web playground at / (its static files need no API key; the API "
        "calls it makes send the key the user enters).",
    )
    cors_allow_origins: list[str] = Field(
        default_factory=list,
        description="Browser origins allowed to call the API (CORS), e.g. "
        "'https://app.example.com' or '*' (JSON list in env/CLI); empty: no CORS headers.",
    )
    limits: RequestLimits = Field(
        default_factory=RequestLimits,  # type: ignore[arg-type]
        description="Per-request limits (body, headers, inputs, n, tokens...).",
    )
    drain_timeout_s: float = Field(
        30.0,
        ge=0,
        description="On SIGTERM: how long in-flight requests may finish (new ones get 503).",
    )
    load_wait_s: float = Field(
        30.0,
        ge=0,
        description="How long a request naming a model unloaded after its keep_alive waits "
        "for it to load again before a 503 with Retry-After.",
    )
    store: StoreSettings = Field(
        default_factory=StoreSettings,  # type: ignore[arg-type]
        description="The database of stored responses, files and batch jobs.",
    )
    batches: BatchSettings = Field(
        default_factory=BatchSettings,  # type: ignore[arg-type]
        description="The Batch API (/v1/batches): limits and background execution.",
    )
    models: list[ModelConfig] = Field(
        default_factory=list, description="The served models (see the YAML file for the shape)."
    )

    @model_validator(mode="after")
    def _unique_names(self) -> Settings:
        if not self.models:
            raise ValueError("models: at least one model must be configured")
        seen: set[str] = set()
        for model in self.models:
            names = [model.name, *(a.name for a in getattr(model, "adapters", ()))]
            for name in names:
                if name in seen:
                    raise ValueError(f"models: duplicate model name {name!r}")
                seen.add(name)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The YAML file is the one named by ``config`` (load_settings always passes it).
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        yaml_file = getattr(init_settings, "init_kwargs", {}).get("config")
        if yaml_file:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=Path(yaml_file)))
        return tuple(sources)

    def accepted_api_keys(self) -> list[str]:
        """Keys from ``api_keys`` and ``api_keys_file`` (read now; blank lines ignored)."""
        keys = [k.strip() for k in self.api_keys if k.strip()]
        if self.api_keys_file is not None:
            lines = self.api_keys_file.read_text().splitlines()
            keys += [line.strip() for line in lines if line.strip()]
        return keys


def _config_path(argv: list[str]) -> Path:
    """The YAML path from ``--config`` or the environment, read before the full parse."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config")
    known, _ = pre.parse_known_args(argv)
    raw = known.config or os.environ.get(f"{ENV_PREFIX}CONFIG")
    return Path(raw) if raw else DEFAULT_CONFIG


def load_settings(argv: list[str] | None = None, **overrides: Any) -> Settings:
    """Build settings from CLI ``argv`` (None: no CLI), env and the YAML file.

    Raises pydantic ``ValidationError`` (naming the bad field) or ``FileNotFoundError``.
    """
    path = _config_path(argv or [])
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    overrides["config"] = path
    if argv is None:
        return Settings(**overrides)
    return CliApp.run(Settings, cli_args=argv, **overrides)
