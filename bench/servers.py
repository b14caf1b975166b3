"""Start and stop servers: ours (``python -m server``) and vLLM's own; the one launcher of
the benchmarks and of the test suite (``tests/support/server.py``).

Each server runs in its own process group so that stopping it reaches every child
(engine core, encoder workers) and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.machine import REPO

READY_TIMEOUT_S = 600.0


class ServerStartError(RuntimeError):
    """The server exited or never became ready; ``log_tail`` says why."""

    def __init__(self, name: str, reason: str, log_tail: str) -> None:
        super().__init__(f"{name}: {reason}\n{log_tail}")
        self.reason = reason
        self.log_tail = log_tail


@dataclass(frozen=True)
class ServerSpec:
    """How to start one server: its command, extra env and files written before it starts.

    ``{port}`` and ``{workdir}`` in ``argv`` are filled in at start.
    """

    name: str
    argv: tuple[str, ...]
    ready_path: str = "/ready"
    env: tuple[tuple[str, str], ...] = ()
    files: tuple[tuple[str, str], ...] = ()

    def command(self, port: int, workdir: Path) -> list[str]:
        return [
            a.replace("{port}", str(port)).replace("{workdir}", str(workdir)) for a in self.argv
        ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def base_env() -> dict[str, str]:
    """The environment every server gets: offline, unbuffered, the same KV cache size."""
    return {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
        "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "2"),
    }


@dataclass
class RunningServer:
    """A started server; :meth:`stop` ends its whole process group."""

    spec: ServerSpec
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    ready_s: float = 0.0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Poll the ready path until 200; raise :class:`ServerStartError` on exit or timeout."""
        started = time.monotonic()
        url = self.base_url + self.spec.ready_path
        while time.monotonic() - started < timeout_s:
            code = self.process.poll()
            if code is not None:
                raise ServerStartError(self.spec.name, f"exited with {code}", self.log_tail())
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)
        raise ServerStartError(self.spec.name, f"not ready in {timeout_s:.0f}s", self.log_tail())

    def stop(self, grace_s: float = 30.0) -> int:
        """SIGTERM the server, SIGKILL its group if it lingers, then wait for the port.

        Returns the server's exit code (negative: the signal that ended it)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(grace_s)
        # Children that outlive the parent (or a parent that ignored SIGTERM) go with the group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        deadline = time.monotonic() + 30
        while not port_is_free(self.port) and time.monotonic() < deadline:
            time.sleep(0.2)
        return int(self.process.returncode)


def launch(spec: ServerSpec, workdir: Path) -> RunningServer:
    """Start ``spec`` on a free port in its own process group; do not wait for it."""
    workdir.mkdir(parents=True, exist_ok=True)
    for name, text in spec.files:
        (workdir / name).write_text(text)
    port = free_port()
    log_path = workdir / f"{spec.name}.log"
    env = {**base_env(), **dict(spec.env)}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            spec.command(port, workdir),
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return RunningServer(spec, process, port, log_path)


def start(spec: ServerSpec, workdir: Path, timeout_s: float = READY_TIMEOUT_S) -> RunningServer:
    """Start ``spec`` on a free port and wait until it answers ready; time it."""
    started = time.monotonic()
    server = launch(spec, workdir)
    try:
        server.wait_ready(timeout_s)
    except BaseException:
        server.stop(grace_s=5)
        raise
    server.ready_s = round(time.monotonic() - started, 2)
    return server
