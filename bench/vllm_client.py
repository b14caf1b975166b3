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

# Warm-up prompts come from seed + this offset: never a measured round's seed (see `Level`).
WARM_UP_SEED_OFFSET = 1_000_000
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
            "--percentile-metrics",
            "ttft,tpot,itl,e2el",
            "--metric-percentiles",
            "50,99",
            "--disable-tqdm",
        ]


@dataclass(frozen=True)
class Level:
    """One measured run: ``prompts`` requests from ``concurrency`` clients, drawn with ``seed``.

    vLLM caches prompt prefixes (on by default, in both servers) and its random dataset draws
    the same first prompts for the same seed whatever the count, so a prompt seen before by a
    server prefills almost for free: TTFT ~1.5 s instead of ~9 s at concurrency 8 here. Every
    run on a server therefore gets a seed that server has not seen; both servers get the same.
    """

    concurrency: int
    prompts: int
    seed: int

    @property
    def warm_up_seed(self) -> int:
        return self.seed + WARM_UP_SEED_OFFSET


def levels_for_round(
    concurrency: Sequence[int], prompts: Sequence[int], round_: int, base_seed: int = 0
) -> list[Level]:
    """The runs of one round, each level with its own seed: ``base + round x levels + index``."""
    n = len(concurrency)
    return [
        Level(c, p, base_seed + round_ * n + i)
        for i, (c, p) in enumerate(zip(concurrency, prompts, strict=True))
    ]


def summarize(raw: dict[str, Any]) -> dict[str, Any]:
    """The metrics we report, from one vLLM result file."""
    return {key: raw.get(key) for key in KEPT}


@dataclass(frozen=True)
class Leg:
    """One measured client run against one server, warmed up first when ``warm_up``."""

    label: str
    base_url: str
    level: Level
    warm_up: bool = False


def _client_run(load: GenerationLoad, leg: Leg, workdir: Path, warm: bool) -> dict[str, Any]:
    c = leg.level.concurrency
    stage = "warm-up" if warm else "run"
    return {
        "common": load.common_args(leg.base_url),
        "concurrency": c,
        "num_prompts": c if warm else leg.level.prompts,
        "seed": leg.level.warm_up_seed if warm else leg.level.seed,
        "result_file": str(workdir / f"{leg.label}-{stage}-c{c}.json"),
        "key": f"{leg.label} {stage} c{c}",
    }


def run_vllm_bench(
    load: GenerationLoad,
    legs: Sequence[Leg],
    workdir: Path,
    timeout_s: float = 3600,
) -> tuple[list[dict[str, Any]], float]:
    """Run the client once per leg, in order; per leg its summary plus ``client_cpu_s``, and
    the CPU time of the whole client process (import and warm-ups included).

    A leg that warms up first runs one unrecorded wave of ``concurrency`` prompts drawn with
    the level's warm-up seed, right before it. vLLM's own ``--num-warmups`` is not used: it
    sends the first measured prompt, which the measured run then finds in the prefix cache.

    One child process serves all legs so that its import (many CPU seconds) is paid once and
    recorded apart (``client_import_cpu_s``).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    measured: list[dict[str, Any]] = []
    for leg in legs:
        if leg.warm_up:
            runs.append(_client_run(load, leg, workdir, warm=True))
        measured.append(_client_run(load, leg, workdir, warm=False))
        runs.append(measured[-1])
    plan_file = workdir / "plan.json"
    cpu_file = workdir / "cpu.json"
    plan_file.write_text(json.dumps({"runs": runs, "cpu_file": str(cpu_file)}))
    log_path = workdir / "client.log"
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
    out: list[dict[str, Any]] = []
    for run in measured:
        summary = summarize(json.loads(Path(str(run["result_file"])).read_text()))
        summary["num_prompts"] = run["num_prompts"]
        summary["seed"] = run["seed"]
        summary["client_cpu_s"] = round(cpu[run["key"]], 3)
        summary["client_import_cpu_s"] = round(cpu["import"], 3)
        out.append(summary)
    return out, round(total_cpu, 3)
