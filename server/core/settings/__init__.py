"""Server configuration, one module per concern; import the names from here.

- ``base``: strict sections, the environment prefix, the default YAML file.
- ``models``: the served models (generative on vLLM, encoders on worker pools).
- ``limits``: what one request may ask for.
- ``store``: the database, and how batch jobs run.
- ``server``: the whole ``Settings`` and ``load_settings`` (YAML < env < CLI).
"""

from server.core.settings.base import BUNDLED_PREFIX, DEFAULT_CONFIG, ENV_PREFIX
from server.core.settings.keys import KeySettings
from server.core.settings.limits import RequestLimits
from server.core.settings.models import (
    AdapterConfig,
    BatchingOptions,
    EncoderModelConfig,
    EncoderTask,
    GenerateModelConfig,
    GenerateTask,
    ModelConfig,
    VllmEngineOptions,
)
from server.core.settings.server import Settings, load_settings
from server.core.settings.store import BatchSettings, StoreSettings

__all__ = [
    "BUNDLED_PREFIX",
    "DEFAULT_CONFIG",
    "ENV_PREFIX",
    "AdapterConfig",
    "BatchSettings",
    "BatchingOptions",
    "EncoderModelConfig",
    "EncoderTask",
    "GenerateModelConfig",
    "GenerateTask",
    "KeySettings",
    "ModelConfig",
    "RequestLimits",
    "Settings",
    "StoreSettings",
    "VllmEngineOptions",
    "load_settings",
]
