"""Encoders: embeddings, classification and NER under N concurrent single-input clients, vs
the same model in-process at its best batch size, inputs sorted by length, with torch and
with ONNX Runtime (the two ceilings), and for embeddings vs vLLM's server in pooling mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.ceiling import run_ceilings
from bench.context import Context, log
from bench.load import Call, LoadResult, run_closed_loop
from bench.memory import process_cpu_seconds, tree_cpu_seconds
from bench.payloads import encoder_calls
from bench.result import SuiteResult
from bench.sentences import sentences
from bench.servers import RunningServer, ServerStartError
from bench.specs import model_dir, model_entry, vllm_pooling
from bench.stats import Target, at_least, at_most, median_by_level, median_known, ratio
from bench.suites.encoders_report import present, target_level

TASKS = ("embed", "classify", "ner")
BACKENDS = ("torch", "onnx")
# Targets at 64 clients: (task, ceiling backend) -> the ratio to that ceiling to reach. The
# server runs ONNX Runtime on CPU: it must beat in-process torch clearly and come close to
# in-process ONNX Runtime, for every task.
CEILING_SHARE = {
    ("embed", "torch"): 1.6,
    ("embed", "onnx"): 0.85,
    ("classify", "torch"): 1.6,
    ("classify", "onnx"): 0.85,
    ("ner", "torch"): 1.6,
    ("ner", "onnx"): 0.85,
}
# Embeddings at 64 clients against vLLM's server in pooling mode (same model folder).
VLLM_POOLING_SHARE = 4.0
# One client alone: p50 latency at most this share of the baseline below.
LATENCY_SHARE = 0.5
# p50 ms of one client alone before the encoder speed work (ONNX Runtime workers, 2 x 1
# thread, on the reference 2-core EPYC: bench/results/2026-12-02-encoders-onnx/).
BASELINE_C1_P50_MS = {"embed": 20.3, "classify": 20.3, "ner": 28.2}
WARMUP_REQUESTS = 64
# At 64 clients: the CPU the API process (the server's main process, not its workers or
# engine) spends per input, in ms, at most. What it spends is taken from the cores the
# models run on; on a GPU host it is the whole of the server's own work.
API_CPU_MS_PER_INPUT = 0.35


Summary = dict[str, Any]
# Per round, per concurrency level: one pass's summary (a level absent from a round: not run).
Rounds = list[dict[int, Summary]]
# Per ceiling backend, per task: the best in-process inputs/s of each round.
Ceilings = dict[str, dict[str, list[float | None]]]


def _paired(ours: Rounds, ref: list[float | None], c: int) -> list[float | None]:
    """Ours / reference inputs/s at level ``c`` for each round that ran it (``ref``: the
    reference's inputs/s in each round)."""
    rounds = zip(ours, ref, strict=False)
    return [ratio(got[c]["throughput"], base) for got, base in rounds if c in got]


def paired_ratios(
    ours: dict[str, Rounds],
    ceilings: Ceilings,
    pooling: Rounds,
    levels: list[int],
) -> dict[str, list[float | None]]:
    """Every ratio's value in each round: ours against each ceiling measured just before it in
    the same round, and against vLLM's pooling server measured back to back with it."""
    out = {
        f"{task}_c{c}_vs_{backend}_ceiling": _paired(
            ours.get(task, []), ceilings.get(backend, {}).get(task, []), c
        )
        for backend in BACKENDS
        for task in TASKS
        for c in levels
    }
    for c in levels:
        pooled = [r.get(c, {}).get("throughput") for r in pooling]
        out[f"embed_c{c}_vs_vllm_pooling"] = _paired(ours.get("embed", []), pooled, c)
    return out


def compare(
    ours: dict[str, Rounds],
    ceilings: Ceilings,
    pooling: Rounds,
    levels: list[int],
) -> tuple[dict[str, float | None], list[Target]]:
    """Each ratio's median over the rounds' pairs, and the targets at 64 clients. A pair is
    measured minutes apart, so the host's drift over the run cancels in it."""
    ratios = {
        name: median_known(pairs)
        for name, pairs in paired_ratios(ours, ceilings, pooling, levels).items()
    }
    c = target_level(levels)
    targets = [
        at_least(
            f"{task} vs in-process {backend} ceiling, {c} clients",
            ratios[f"{task}_c{c}_vs_{backend}_ceiling"],
            share,
        )
        for (task, backend), share in CEILING_SHARE.items()
    ]
    targets.append(
        at_least(
            f"embed vs vLLM pooling server, {c} clients",
            ratios[f"embed_c{c}_vs_vllm_pooling"],
            VLLM_POOLING_SHARE,
        )
    )
    for task in TASKS:
        spent = median_known(
            [r[c].get("api_cpu_ms_per_input") for r in ours.get(task, []) if c in r]
        )
        ratios[f"{task}_c{c}_api_cpu_ms_per_input"] = spent
        targets.append(
            at_most(
                f"{task} API-process CPU ms per input, {c} clients", spent, API_CPU_MS_PER_INPUT
            )
        )
    if 1 in levels:
        for task, baseline in BASELINE_C1_P50_MS.items():
            p50 = median_known([r[1].get("p50_ms") for r in ours.get(task, []) if 1 in r])
            ratios[f"{task}_c1_p50_vs_baseline"] = ratio(p50, baseline)
            targets.append(
                at_most(
                    f"{task} p50 latency of one client vs {baseline} ms before",
                    ratios[f"{task}_c1_p50_vs_baseline"],
                    LATENCY_SHARE,
                )
            )
    return ratios, targets


def _warm_up(server: RunningServer, calls: list[Call], levels: list[int]) -> None:
    run_closed_loop(server.base_url, calls[:WARMUP_REQUESTS], max(levels))


def _pass(ctx: Context, server: RunningServer, task: str, calls: list[Call], c: int) -> Summary:
    """One pass over every text from ``c`` clients, the held servers quiet when it starts;
    with the API process's CPU per input."""
    settled_s = ctx.pool.settle()
    api_cpu = process_cpu_seconds(server.pid)
    with ctx.pool.sampling(server):
        measured: LoadResult = run_closed_loop(server.base_url, calls, c)
    api_cpu = process_cpu_seconds(server.pid) - api_cpu
    summary = measured.summary()
    units = measured.units
    summary["api_cpu_ms_per_input"] = round(api_cpu * 1000 / units, 3) if units else None
    summary["settled_s"] = settled_s
    log(
        f"encoders: {server.spec.name} {task} c={c}: {summary['throughput']} inputs/s, "
        f"API process {summary['api_cpu_ms_per_input']} ms CPU per input, "
        f"{measured.errors} errors"
    )
    return summary


def _measure(
    ctx: Context,
    servers: dict[str, RunningServer],
    task: str,
    calls: list[Call],
    levels: list[int],
    round_: int,
) -> dict[str, dict[int, Summary]]:
    """Ours at each level; for embeddings vLLM's pooling server back to back with it, who
    goes first alternating from pair to pair. Each server warms up in the first round."""
    labels = ["ours"] + (["vllm_pooling"] if task == "embed" and "vllm_pooling" in servers else [])
    if round_ == 0:
        for label in labels:
            _warm_up(servers[label], calls, levels)
    out: dict[str, dict[int, Summary]] = {label: {} for label in labels}
    for i, c in enumerate(levels):
        for label in labels if (round_ + i) % 2 == 0 else labels[::-1]:
            out[label][c] = _pass(ctx, servers[label], task, calls, c)
    return out


def _ceilings(
    ctx: Context,
    servers: dict[str, RunningServer],
    models: dict[str, Path],
    batch_sizes: dict[str, tuple[int, ...]],
) -> dict[str, dict[str, Any]]:
    """The in-process ceiling of each task at its batch sizes, one process per call, while
    the servers sit idle (their CPU over the measurement is recorded)."""
    cpu0 = {label: tree_cpu_seconds(s.pid) for label, s in servers.items()}
    out: dict[str, Any] = {backend: {} for backend in BACKENDS}
    for sizes_, tasks in _grouped(batch_sizes).items():
        measured = run_ceilings(
            {task: models[task] for task in tasks},
            count=ctx.sizes.enc_requests,
            seed=ctx.sizes.seed,
            batch_sizes=sizes_,
            threads=ctx.sizes.ceiling_threads,
            backends=BACKENDS,
        )
        for backend in BACKENDS:
            out[backend] |= measured[backend]
    out["idle_server_cpu_s"] = {
        s.spec.name: round(tree_cpu_seconds(s.pid) - cpu0[label], 2) for label, s in servers.items()
    }
    return out


def _grouped(batch_sizes: dict[str, tuple[int, ...]]) -> dict[tuple[int, ...], list[str]]:
    groups: dict[tuple[int, ...], list[str]] = {}
    for task, sizes_ in batch_sizes.items():
        groups.setdefault(sizes_, []).append(task)
    return groups


def _start_servers(ctx: Context, result: SuiteResult) -> dict[str, RunningServer]:
    """Our encoder server, and vLLM's pooling server up beside it (each started and timed
    alone) unless not wanted or it cannot start here: then why is recorded."""
    ours = ctx.pool.get(ctx.ours("encoders"))
    servers = {"ours": ours}
    if not ctx.sizes.vllm_pooling:
        result.results["vllm_pooling"] = {
            "skipped": "not requested (quick mode or --no-vllm-pooling)"
        }
        return servers
    try:
        servers["vllm_pooling"] = ctx.pool.hold([ours.spec, vllm_pooling()])[1]
    except ServerStartError as exc:
        result.results["vllm_pooling"] = {
            "failed_to_start": exc.reason,
            "log_tail": exc.log_tail[-3000:],
        }
        result.notes.append(
            f"vLLM pooling server did not start on this CPU: {exc.reason} (log tail in JSON)"
        )
    return servers


def run(ctx: Context) -> SuiteResult:
    """Round 1: every ceiling batch size, every concurrency level. Later rounds repeat only
    the target comparison (best batch size vs 64 clients). In each round the ceiling is
    measured, then our server, and for embeddings vLLM's pooling server back to back with
    ours; every ratio is the median over the rounds of these pairs."""
    sizes = ctx.sizes
    entries = {task: model_entry(task) for task in TASKS}
    models = {task: model_dir(entries[task]) for task in TASKS}
    texts = sentences(sizes.enc_requests, seed=sizes.seed)
    levels = list(sizes.enc_concurrency)
    target = target_level(levels)
    result = SuiteResult(
        "encoders",
        {
            "quick": sizes.quick,
            "models": {t: e["name"] for t, e in entries.items()},
            "workers": {t: e.get("workers", 1) for t, e in entries.items()},
            "requests_per_level": sizes.enc_requests,
            "inputs_per_request": 1,
            "sentence_words": [10, 30],
            "seed": sizes.seed,
            "concurrency": levels,
            "ceiling_batch_sizes": list(sizes.ceiling_batch_sizes),
            "ceiling_threads": sizes.ceiling_threads,
            "client": "closed loop, keep-alive connections, httptools parser, uvloop",
            "ours_config": ctx.ours("encoders").name,
            "rounds": sizes.rounds,
            "design": "our encoder server and vLLM's pooling server up at once, idle but for"
            " the one measured; every pass and the ceilings start once both are quiet (under"
            " a tenth of a core for half a second). Per round: the in-process ceilings"
            " (servers idle, their CPU recorded), then per task (the first task turns"
            " from round to round) our server, and for embeddings vLLM's pooling server back"
            " to back with it at each level (who goes first alternates). Round 1 runs every"
            f" batch size and level, later rounds the best batch size and {target} clients."
            " Each ratio is the median over the rounds of its pairs",
        },
    )
    servers = _start_servers(ctx, result)
    calls = {task: encoder_calls(task, str(entries[task]["name"]), texts) for task in TASKS}
    ceiling_rounds: list[dict[str, Any]] = []
    ours: dict[str, Rounds] = {t: [] for t in TASKS}
    pooling: Rounds = []
    batch_sizes = {t: sizes.ceiling_batch_sizes for t in TASKS}
    for round_ in range(sizes.rounds):
        log(f"encoders round {round_ + 1}/{sizes.rounds}: in-process ceilings")
        ceiling_rounds.append(_ceilings(ctx, servers, models, batch_sizes))
        batch_sizes = {t: _best_sizes(ceiling_rounds[0], t) for t in TASKS}
        for task in _task_order(round_):
            measured = _measure(
                ctx, servers, task, calls[task], levels if round_ == 0 else [target], round_
            )
            ours[task].append(measured["ours"])
            if "vllm_pooling" in measured:
                pooling.append(measured["vllm_pooling"])
    best: Ceilings = {
        b: {t: [r[b][t]["best_inputs_per_s"] for r in ceiling_rounds] for t in TASKS}
        for b in BACKENDS
    }
    ceilings: dict[str, Any] = {b: ceiling_rounds[0][b] for b in BACKENDS}
    for backend in BACKENDS:
        for task in TASKS:
            entry = ceilings[backend][task]
            entry["best_inputs_per_s_by_round"] = best[backend][task]
            entry["best_inputs_per_s"] = median_known(best[backend][task])
    ceilings["idle_server_cpu_s_by_round"] = [r["idle_server_cpu_s"] for r in ceiling_rounds]
    medians = {t: median_by_level(ours[t], levels) for t in TASKS}
    for task in TASKS:
        medians[task][target]["throughput_by_round"] = [
            r[target]["throughput"] for r in ours[task] if target in r
        ]
    result.results["ceiling"] = ceilings
    result.results["ours"] = {t: {str(c): v for c, v in m.items()} for t, m in medians.items()}
    pooling_medians = median_by_level(pooling, levels) if pooling else {}
    if pooling:
        pooling_medians[target]["throughput_by_round"] = [
            r[target]["throughput"] for r in pooling if target in r
        ]
        result.results["vllm_pooling"] = {str(c): v for c, v in pooling_medians.items()}
    result.results["ratios_by_round"] = paired_ratios(ours, best, pooling, levels)
    result.ratios, result.targets = compare(ours, best, pooling, levels)
    result.results["errors"] = sum(
        v["errors"] for rounds in (*ours.values(), pooling) for r in rounds for v in r.values()
    )
    present(result, medians, ceilings, pooling_medians, levels)
    return result


def _task_order(round_: int) -> tuple[str, ...]:
    """The tasks in the order round ``round_`` measures them: the first one turns from round
    to round, so that no task always runs first after the ceilings."""
    turn = round_ % len(TASKS)
    return TASKS[turn:] + TASKS[:turn]


def _best_sizes(first_round: dict[str, Any], task: str) -> tuple[int, ...]:
    """The batch sizes later rounds measure: each backend's best in the first round."""
    return tuple(sorted({int(first_round[b][task]["best_batch_size"]) for b in BACKENDS}))
