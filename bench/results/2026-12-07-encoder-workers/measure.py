"""The measurement behind this folder (run from the repository root with PYTHONPATH set to the
checkout measured): the default config's encoders on one server, its time to /ready and its
workers' resident memory, then per task 200 warm-up requests and 1,500 measured ones from 64
single-input clients (bench's sentences, seed 7), with the API process's CPU time over the
measured ones (psutil, the server process alone, not its workers) divided by the inputs.
``--profile`` samples the API process with py-spy for 25 s of each task's run.

    PYTHONPATH=. python bench/results/2026-12-07-encoder-workers/measure.py OUT.json 1500
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import psutil

from bench import servers, specs
from bench.load import run_closed_loop
from bench.payloads import encoder_calls
from bench.sentences import sentences


def main() -> None:
    out, count, profile = Path(sys.argv[1]), int(sys.argv[2]), len(sys.argv) > 3
    work = Path(f"/tmp/measure-{out.stem}")
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    server = servers.start(specs.ours("encoders"), work)
    result: dict[str, object] = {"ready_s": round(time.perf_counter() - started, 1)}
    try:
        api = psutil.Process(server.pid)

        def worker_rss() -> dict[str, int]:
            return {
                f"{c.name()}-{c.pid}": round(c.memory_info().rss / 2**20)
                for c in api.children(recursive=True)
            }

        result["workers_rss_mb"] = worker_rss()
        config = specs.default_config()
        texts = sentences(count + 200, seed=7)
        for task in ("embed", "classify", "ner"):
            model = specs.model_entry(task, config)["name"]
            run_closed_loop(server.base_url, encoder_calls(task, model, texts[:200]), 64)
            spy = None
            if profile:
                argv = ["py-spy", "record", "-p", str(server.pid), "-r", "50", "-f", "raw"]
                argv += ["-o", f"{out.stem}-{task}.txt", "--nonblocking", "--duration", "25"]
                spy = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1)
            cpu0 = sum(api.cpu_times()[:2])
            load = run_closed_loop(server.base_url, encoder_calls(task, model, texts[200:]), 64)
            cpu1 = sum(api.cpu_times()[:2])
            if spy is not None:
                spy.wait()
            result[task] = {
                "inputs": load.units,
                "api_cpu_ms_per_input": round((cpu1 - cpu0) * 1000 / max(load.units, 1), 3),
                "inputs_per_s": round(load.units / load.elapsed_s, 1),
                "client_cpu_s": round(load.client_cpu_s, 2),
                "errors": load.error_samples[:2],
            }
        result["workers_rss_after_mb"] = worker_rss()
    finally:
        server.stop()
    out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
