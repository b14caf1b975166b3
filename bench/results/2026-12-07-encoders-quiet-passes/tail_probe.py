"""The CPU of each held server after a pass of the other (run from the repository root):
both servers up, 2,048 single-input embeddings from 64 clients on each in turn, then each
tree's CPU in cores over 0.5 s windows for 20 s.

    PYTHONPATH=. python bench/results/2026-12-07-encoders-quiet-passes/tail_probe.py
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from bench.load import run_closed_loop
from bench.memory import tree_cpu_seconds
from bench.payloads import encoder_calls
from bench.pool import ServerPool
from bench.sentences import sentences
from bench.servers import RunningServer
from bench.specs import model_entry, ours, vllm_pooling

WINDOW_S = 0.5


def trace(label: str, servers: dict[str, RunningServer], seconds: float = 20.0) -> None:
    """Print each server's cores used in every window of ``seconds``."""
    before = {name: tree_cpu_seconds(s.pid) for name, s in servers.items()}
    started = time.monotonic()
    rows = []
    while time.monotonic() - started < seconds:
        time.sleep(WINDOW_S)
        now = {name: tree_cpu_seconds(s.pid) for name, s in servers.items()}
        cores = {name: round((now[name] - before[name]) / WINDOW_S, 3) for name in now}
        rows.append((round(time.monotonic() - started, 1), cores))
        before = now
    print(label, json.dumps(rows), flush=True)


def main() -> None:
    pool = ServerPool(Path(tempfile.mkdtemp()) / "servers", print)
    mine, theirs = pool.hold([ours("encoders"), vllm_pooling()])
    servers = {"ours": mine, "vllm": theirs}
    calls = encoder_calls("embed", str(model_entry("embed")["name"]), sentences(2048, seed=1))
    try:
        for server in servers.values():
            run_closed_loop(server.base_url, calls[:64], 64)
        trace("idle-after-warmup", servers)
        for _ in range(2):
            for name in ("vllm", "ours"):
                done = run_closed_loop(servers[name].base_url, calls, 64)
                print(name, "pass", round(done.throughput, 1), "inputs/s", flush=True)
                trace(f"after-{name}", servers)
    finally:
        pool.close()


if __name__ == "__main__":
    main()
