"""Start the real server (``python -m server``) as a child process on a free port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO = Path(__file__).resolve().parents[2]
MODELS_DIR = Path(os.environ.get("INFERENCE_MODELS_DIR", REPO / "models"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    """A running server; ``stop()`` terminates it and its children."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    config_path: Path
    extra: dict[str, Any] = field(default_factory=dict)
    # One keep-alive client for the test's own calls, shared by its threads. A new httpx
    # client per call builds a TLS context each time (~45 ms of CPU here), which a polling
    # loop on two busy cores turns into seconds of stalls.
    http: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=120)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def metric(self, name: str, **labels: str) -> float:
        """The value of the first exported sample of ``name`` carrying ``labels``."""
        text = self.http.get("/metrics", timeout=10).text
        for line in text.splitlines():
            if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
        raise AssertionError(f"{name} {labels} not exported")

    def stop(self, timeout: float = 30.0) -> int:
        self.http.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        return int(self.process.returncode)


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
    config = {"models_dir": str(MODELS_DIR), **config}
    config_path.write_text(yaml.safe_dump(config))
    port = free_port()
    log_path = workdir / "server.log"
    full_env = {
        **os.environ,
        "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server",
                "--config",
                str(config_path),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                *(args or []),
            ],
            cwd=REPO,
            env=full_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ServerProcess(process, port, log_path, config_path)
    if wait_ready:
        wait_until_ready(server, timeout)
    return server


def wait_until_ready(server: ServerProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited with {server.process.returncode}:\n{server.log()}")
        try:
            if server.http.get("/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.stop()
    raise TimeoutError(f"server not ready in {timeout}s:\n{server.log()[-5000:]}")
