"""Where the 2 cores go at 64 clients (run from the repository root with PYTHONPATH set to the
checkout measured): the default config's encoders on one server, then per task 200 warm-up and
``COUNT`` measured single-input requests from 64 closed-loop clients (bench's sentences, seed 7).
Per input: the CPU of the API process, of each worker that ran (psutil), of this load
generator, and the host's idle time (``/proc/stat``, both cores); and, from ``/metrics``, the
mean batch size and padding ratio of the measured batches.

    PYTHONPATH=. python bench/results/2026-12-07-encoders-no-send-ahead/account.py 3000 \
        embed,classify,ner
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path

import psutil

from bench import servers, specs
from bench.load import run_closed_loop
from bench.payloads import encoder_calls
from bench.sentences import sentences

HISTOGRAMS = ("inference_batch_size", "inference_batch_padding_ratio")


def idle_jiffies() -> int:
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    return fields[3] + fields[4]  # idle + iowait


def histogram_sums(model: str) -> dict[str, tuple[float, float]]:
    """(sum, count) of each histogram of ``model``."""
    sums: dict[str, list[float]] = {name: [0.0, 0.0] for name in HISTOGRAMS}
    base = os.environ.get("ACCOUNT_URL", "")
    text = urllib.request.urlopen(f"{base}/metrics").read().decode()
    for line in text.splitlines():
        if f'model="{model}"' not in line:
            continue
        for name in HISTOGRAMS:
            if line.startswith(f"{name}_sum"):
                sums[name][0] = float(line.split()[-1])
            elif line.startswith(f"{name}_count"):
                sums[name][1] = float(line.split()[-1])
    return {name: (s, c) for name, (s, c) in sums.items()}


def cpu(process: psutil.Process) -> float:
    return float(sum(process.cpu_times()[:2]))


def main() -> None:
    count, tasks = int(sys.argv[1]), sys.argv[2].split(",")
    work = Path("/tmp/encoders-account")
    work.mkdir(parents=True, exist_ok=True)
    server = servers.start(specs.ours("encoders"), work)
    os.environ["ACCOUNT_URL"] = server.base_url
    try:
        api, me = psutil.Process(server.pid), psutil.Process()
        config = specs.default_config()
        texts = sentences(count + 200, seed=7)
        for task in tasks:
            model = str(specs.model_entry(task, config)["name"])
            run_closed_loop(server.base_url, encoder_calls(task, model, texts[:200]), 64)
            procs = {"api": api, **{f"worker-{c.pid}": c for c in api.children(recursive=True)}}
            before = {name: cpu(p) for name, p in procs.items()}
            me0, idle0, hist0 = cpu(me), idle_jiffies(), histogram_sums(model)
            load = run_closed_loop(server.base_url, encoder_calls(task, model, texts[200:]), 64)
            n = max(load.units, 1)
            ms = {name: (cpu(p) - before[name]) * 1000 / n for name, p in procs.items()}
            row: dict[str, object] = {k: round(v, 3) for k, v in ms.items() if v > 0.01}
            row["load_generator"] = round((cpu(me) - me0) * 1000 / n, 3)
            row["host_idle"] = round(
                (idle_jiffies() - idle0) * 1000 / os.sysconf("SC_CLK_TCK") / n, 3
            )
            row["inputs_per_s"] = round(n / load.elapsed_s, 1)
            for name, (s1, c1) in histogram_sums(model).items():
                s0, c0 = hist0[name]
                if c1 > c0:
                    row[f"{name}_mean"] = round((s1 - s0) / (c1 - c0), 3)
            print(task, json.dumps(row), flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
