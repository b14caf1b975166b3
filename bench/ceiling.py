"""The in-process ceilings: the same model folder run directly, with torch and with ONNX
Runtime, tokenization and post-processing included and inputs sorted by length (see
``bench.inprocess``): one process with all cores' threads, and the cores split among several
processes (2 x 1 thread on 2 cores) each running its share of the batches at once, each
layout at each batch size. The ceiling is the best of all of them: a server with several
single-threaded workers is measured against the same split at its own best size.

Runs in its own process (``python -m bench.ceiling embed=DIR classify=DIR ...``) so that its
threads and memory do not mix with the load generator's. The backends alternate task by task,
so that the host's drift over the run falls on both.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.inprocess import BACKENDS, batch_function, by_length
from bench.machine import REPO
from bench.sentences import sentences

# Processes beside the one-process run, for a host of N cores: 2, 4 and N, where they divide N.
SPLIT_PROCESSES = (2, 4)
# How long the processes of a split may take to load their models and meet at the start.
SPLIT_START_TIMEOUT_S = 600.0


def splits(threads: int) -> list[tuple[int, int]]:
    """(processes, threads each) splits of ``threads`` cores besides (1, threads)."""
    counts = sorted({*SPLIT_PROCESSES, threads})
    return [(p, threads // p) for p in counts if 1 < p <= threads and threads % p == 0]


def _batches(ordered: Sequence[str], size: int) -> list[list[str]]:
    return [list(ordered[i : i + size]) for i in range(0, len(ordered), size)]


def _split_worker(
    task: str,
    backend: str,
    model_dir: Path,
    threads: int,
    batches: list[list[str]],
    start: Any,
    results: Any,
) -> None:
    """One process of a split: load, warm up, wait for the others, run its batches."""
    run = batch_function(task, backend, model_dir, threads)
    for batch in batches[:2]:
        run(batch)
    start.wait(SPLIT_START_TIMEOUT_S)
    began = time.perf_counter()
    for batch in batches:
        run(batch)
    results.put(time.perf_counter() - began)


def measure_split(
    task: str,
    model_dir: Path,
    texts: Sequence[str],
    batch_size: int,
    processes: int,
    threads: int,
    backend: str,
) -> float:
    """Inputs per second of ``processes`` processes of ``threads`` threads each, started at
    once on the batches dealt round-robin (so each gets every length): all inputs over the
    slowest process's time."""
    batches = _batches(by_length(texts), batch_size)
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(processes)
    results = context.Queue()
    workers = [
        context.Process(
            target=_split_worker,
            args=(task, backend, model_dir, threads, batches[i::processes], start, results),
            daemon=True,
        )
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    try:
        seconds = [results.get(timeout=SPLIT_START_TIMEOUT_S * 2) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
    return round(len(texts) / max(seconds), 2)


def measure(
    task: str,
    model_dir: Path,
    texts: Sequence[str],
    batch_sizes: Sequence[int],
    threads: int,
    backend: str = "torch",
) -> dict[str, Any]:
    """Inputs per second of each layout (processes x threads) at each batch size, and the best
    of them: the ceiling."""
    run = batch_function(task, backend, model_dir, threads)
    ordered = by_length(texts)
    per_batch: dict[str, float] = {}
    for size in batch_sizes:
        batches = _batches(ordered, size)
        for batch in batches[:2]:  # warm up this shape
            run(batch)
        started = time.perf_counter()
        for batch in batches:
            run(batch)
        per_batch[str(size)] = round(len(ordered) / (time.perf_counter() - started), 2)
    # Every split at every size: a single-threaded process has its own best batch size,
    # smaller than that of one process of all threads (MiniLM classification on 2 cores:
    # one process best at 64, 2 x 1 best at 8, 3-7% above 2 x 1 at 64).
    by_layout: dict[str, dict[str, float]] = {f"1x{threads}": per_batch}
    for processes, each in splits(threads):
        by_layout[f"{processes}x{each}"] = {
            str(size): measure_split(task, model_dir, texts, size, processes, each, backend)
            for size in batch_sizes
        }
    best_split, best = max(
        ((layout, size) for layout, rates in by_layout.items() for size in rates),
        key=lambda pair: by_layout[pair[0]][pair[1]],
    )
    return {
        "task": task,
        "backend": backend,
        "inputs": len(texts),
        "threads": threads,
        "sorted_by_length": True,
        "inputs_per_s_by_batch": per_batch,
        "inputs_per_s_by_layout": by_layout,
        "best_batch_size": int(best),
        # Each layout at the best batch size.
        "inputs_per_s_by_split": {layout: rates[best] for layout, rates in by_layout.items()},
        "best_split": best_split,
        "best_inputs_per_s": by_layout[best_split][best],
    }


def run_ceilings(
    models: dict[str, Path],
    *,
    count: int,
    seed: int,
    batch_sizes: Sequence[int],
    threads: int,
    backends: Sequence[str] = BACKENDS,
    timeout_s: float = 3600,
) -> dict[str, dict[str, dict[str, Any]]]:
    """:func:`measure` for each backend and ``task: model folder`` in one fresh Python
    process: ``{backend: {task: measurement}}``."""
    argv = [
        sys.executable,
        "-m",
        "bench.ceiling",
        *(f"{task}={path}" for task, path in models.items()),
        "--count",
        str(count),
        "--seed",
        str(seed),
        "--batch-sizes",
        ",".join(map(str, batch_sizes)),
        "--threads",
        str(threads),
        "--backends",
        ",".join(backends),
    ]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        raise RuntimeError(f"in-process ceiling failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ceiling", description=__doc__)
    parser.add_argument("models", nargs="+", metavar="TASK=MODEL_DIR", help="embed, classify, ner")
    parser.add_argument("--count", type=int, default=2048)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-sizes", default="1,8,16,32,64")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    args = parser.parse_args(argv)
    texts = sentences(args.count, seed=args.seed)
    sizes = [int(s) for s in args.batch_sizes.split(",")]
    backends = [b for b in args.backends.split(",") if b]
    out: dict[str, dict[str, Any]] = {backend: {} for backend in backends}
    for i, pair in enumerate(args.models):
        task, _, path = pair.partition("=")
        if task not in ("embed", "classify", "ner") or not path:
            parser.error(f"expected TASK=MODEL_DIR with TASK embed, classify or ner: {pair}")
        for backend in backends if i % 2 == 0 else backends[::-1]:
            out[backend][task] = measure(task, Path(path), texts, sizes, args.threads, backend)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
