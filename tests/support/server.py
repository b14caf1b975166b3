"""The real server (``python -m server``) for integration tests, on a free port.

Processes are started and stopped by ``bench.servers``, the project's one launcher;
:func:`served` is the one fixture body (start, yield, stop, check the exit code).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from bench.servers import READY_TIMEOUT_S, RunningServer, ServerSpec, launch
from tests.support.metrics import metric_value

REPO = Path(__file__).resolve().parents[2]
MODELS_DIR = Path(os.environ.get("INFERENCE_MODELS_DIR", REPO / "models"))


@dataclass
class ServerProcess:
    """A running server; ``stop()`` terminates it and its children."""

    running: RunningServer
    config_path: Path
    # One keep-alive client for the test's own calls, shared by its threads. A new httpx
    # client per call builds a TLS context each time (~45 ms of CPU here), which a polling
    # loop on two busy cores turns into seconds of stalls.
    http: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=120)

    @property
    def process(self) -> subprocess.Popen[bytes]:
        return self.running.process

    @property
    def port(self) -> int:
        return self.running.port

    @property
    def base_url(self) -> str:
        return self.running.base_url

    def log(self) -> str:
        return self.running.log_path.read_text(errors="replace")

    def metric(self, name: str, **labels: str) -> float:
        """The current value of the sample ``name`` carrying ``labels``."""
        return metric_value(self.http.get("/metrics", timeout=10).text, name, **labels)

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        self.running.wait_ready(timeout)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM (then SIGKILL after ``timeout``); the server's exit code."""
        self.http.close()
        return self.running.stop(grace_s=timeout)


def start_server(
    config: dict[str, Any],
    workdir: Path,
    *,
    env: dict[str, str] | None = None,
    args: list[str] | None = None,
    wait_ready: bool = True,
    timeout: float = 300.0,
) -> ServerProcess:
    """Write ``config`` as YAML, start the server on a free port and wait for ``/ready``."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "config.yaml"
    # Each server's embedded store lives in its own work directory unless the test says.
    defaults = {"models_dir": str(MODELS_DIR), "store": {"data_dir": str(workdir / "data")}}
    config_path.write_text(yaml.safe_dump(defaults | config))
    argv = (sys.executable, "-m", "server", "--config", str(config_path))
    argv += ("--host", "127.0.0.1", "--port", "{port}", *(args or []))
    spec = ServerSpec(name="server", argv=argv, env=tuple((env or {}).items()))
    server = ServerProcess(launch(spec, workdir), config_path)
    if wait_ready:
        try:
            server.wait_ready(timeout)
        except BaseException:
            server.stop(timeout=5)
            raise
    return server


@contextmanager
def served(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    config: dict[str, Any],
    *,
    clean_exit: bool = True,
) -> Iterator[ServerProcess]:
    """A started server for a fixture; stopped afterwards, and with ``clean_exit`` its exit
    code must be 0 (a drained, orderly shutdown)."""
    server = start_server(config, tmp_path_factory.mktemp(name))
    try:
        yield server
    finally:
        code = server.stop()
    if clean_exit:
        assert code == 0, server.log()[-3000:]
