"""Generation load from vLLM's own benchmark client, run as a child process, and the numbers
we keep from its result files."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.machine import REPO
from bench.servers import base_env

WARM_UP_SEED_OFFSET = 1000
KEPT = (
    "completed",
    "failed",
    "duration",
    "total_output_tokens",
    "output_throughput",
    "request_throughput",
    "median_ttft_ms",
    "p50_ttft_ms",
    "p99_ttft_ms",
    "p50_tpot_ms",
    "p99_tpot_ms",
    "p50_itl_ms",
    "p99_itl_ms",
)


@dataclass(frozen=True)
class GenerationLoad:
    """The workload: chat endpoint, random prompts of fixed length, EOS ignored."""

    model: str
    tokenizer: Path
    input_len: int = 128
    output_len: int = 64
    seed: int = 0

    def common_args(self, base_url: str) -> list[str]:
        return [
            "--backend",
            "openai-chat",
            "--base-url",
            base_url,
            "--endpoint",
            "/v1/chat/completions",
            "--model",
            self.model,
            "--served-model-name",
            self.model,
            "--tokenizer",
            str(self.tokenizer),
            "--dataset-name",
            "random",
            "--random-input-len",
            str(self.input_len),
            "--random-output-len",
            str(self.output_len),
            "--ignore-eos",
            "--temperature",
            "0",
            "--seed",
            str(self.seed),
            "--percentile-metrics",
            "ttft,tpot,itl,e2el",
            "--metric-percentiles",
            "50,99",
            "--disable-tqdm",
        ]


def summarize(raw: dict[str, Any]) -> dict[str, Any]:
    """The metrics we report, from one vLLM result file."""
    return {key: raw.get(key) for key in KEPT}


def run_vllm_bench(
    load: GenerationLoad,
    base_url: str,
    levels: Sequence[tuple[int, int, int]],
    workdir: Path,
    label: str,
    timeout_s: float = 3600,
) -> dict[int, dict[str, Any]]:
    """Run the client once per (concurrency, prompts, warm-up requests); summary plus
    ``client_cpu_s`` per level.

    Each level first runs one unrecorded wave of ``concurrency`` prompts
    drawn with another seed: vLLM's own warm-up requests all repeat the first prompt (one
    prefill, then prefix-cache hits), which leaves the batched-prefill shapes cold, and
    distinct prompts keep the prefix cache from favouring the measured run.

    One child process serves all levels so its import (many CPU seconds) is paid once and
    recorded apart (``client_import_cpu_s``).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    warm_runs = [
        {
            "concurrency": c,
            "num_prompts": c,
            "warmups": 0,
            "result_file": str(workdir / f"{label}-warm-c{c}.json"),
            "extra_args": ["--seed", str(load.seed + WARM_UP_SEED_OFFSET)],
            "key": f"warm-up c{c}",
        }
        for c, _, _ in levels
    ]
    runs = [
        {
            "concurrency": c,
            "num_prompts": n,
            "warmups": w,
            "result_file": str(workdir / f"{label}-c{c}.json"),
        }
        for c, n, w in levels
    ]
    plan_file = workdir / f"{label}-plan.json"
    cpu_file = workdir / f"{label}-cpu.json"
    plan = {
        "common": load.common_args(base_url),
        "runs": warm_runs + runs,
        "cpu_file": str(cpu_file),
    }
    plan_file.write_text(json.dumps(plan))
    log_path = workdir / f"{label}-client.log"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with log_path.open("wb") as log:
        done = subprocess.run(
            [sys.executable, "-m", "bench.vllm_bench_runner", str(plan_file)],
            cwd=REPO,
            env=base_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=timeout_s,
        )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        tail = log_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"vLLM benchmark client failed ({done.returncode}):\n{tail}")
    cpu = json.loads(cpu_file.read_text())
    total_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out: dict[int, dict[str, Any]] = {}
    for run in runs:
        summary = summarize(json.loads(Path(str(run["result_file"])).read_text()))
        summary["num_prompts"] = run["num_prompts"]
        summary["client_cpu_s"] = round(cpu[str(run["concurrency"])], 3)
        summary["client_import_cpu_s"] = round(cpu["import"], 3)
        summary["client_process_cpu_s"] = round(total_cpu, 3)
        out[int(str(run["concurrency"]))] = summary
    return out
