"""Encoders: embeddings, classification and NER under N concurrent single-input clients, vs
the same model in-process with Transformers at its best batch size (the ceiling), and for
embeddings vs vLLM's server in pooling mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.ceiling import run_ceilings
from bench.context import Context, log
from bench.load import Call, LoadResult, run_closed_loop
from bench.markdown import listed
from bench.memory import tree_cpu_seconds
from bench.payloads import encoder_calls
from bench.result import BarPlot, LinePlot, SuiteResult, Table
from bench.sentences import sentences
from bench.servers import RunningServer, ServerStartError
from bench.specs import model_dir, model_entry, vllm_pooling
from bench.stats import Target, at_least, median_of, ratio

TASKS = ("embed", "classify", "ner")
# Targets at 64 clients: share of the in-process ceiling each task must reach.
CEILING_SHARE = {"embed": 0.90, "classify": 0.85, "ner": 0.85}
WARMUP_REQUESTS = 64


def target_level(levels: list[int]) -> int:
    return 64 if 64 in levels else max(levels)


def compare(
    ours: dict[str, dict[int, dict[str, Any]]],
    ceilings: dict[str, dict[str, Any]],
    pooling: dict[int, dict[str, Any]],
    levels: list[int],
) -> tuple[dict[str, float | None], list[Target]]:
    """Ratios to the ceiling (and to vLLM pooling for embeddings) and the targets."""
    ratios: dict[str, float | None] = {}
    for task in TASKS:
        best = ceilings.get(task, {}).get("best_inputs_per_s")
        for c in levels:
            got = ours.get(task, {}).get(c, {}).get("throughput")
            ratios[f"{task}_c{c}_vs_ceiling"] = ratio(got, best)
    for c in levels:
        got = ours.get("embed", {}).get(c, {}).get("throughput")
        ratios[f"embed_c{c}_vs_vllm_pooling"] = ratio(got, pooling.get(c, {}).get("throughput"))
    c = target_level(levels)
    targets = [
        at_least(
            f"{task} vs in-process ceiling, {c} clients", ratios[f"{task}_c{c}_vs_ceiling"], share
        )
        for task, share in CEILING_SHARE.items()
    ]
    targets.append(
        at_least(
            f"embed vs vLLM pooling server, {c} clients", ratios[f"embed_c{c}_vs_vllm_pooling"], 1.0
        )
    )
    return ratios, targets


def _sweep(
    ctx: Context,
    server: RunningServer,
    task: str,
    calls: list[Call],
    levels: list[int],
    *,
    warm_up: bool = True,
) -> dict[int, dict[str, Any]]:
    """Warm up, then every concurrency level over all texts; summaries by level."""
    if warm_up:
        run_closed_loop(server.base_url, calls[:WARMUP_REQUESTS], max(levels))
    out: dict[int, dict[str, Any]] = {}
    for c in levels:
        with ctx.pool.sampling(server):
            measured: LoadResult = run_closed_loop(server.base_url, calls, c)
        out[c] = measured.summary()
        log(
            f"encoders: {server.spec.name} {task} c={c}: "
            f"{out[c]['throughput']} inputs/s, {measured.errors} errors"
        )
    return out


def _ceilings(
    ctx: Context,
    server: RunningServer,
    models: dict[str, Path],
    batch_sizes: dict[str, tuple[int, ...]],
) -> dict[str, dict[str, Any]]:
    """The in-process ceiling of each task at its batch sizes, one process per call, while
    our server sits idle (its CPU over the measurement is recorded)."""
    cpu0 = tree_cpu_seconds(server.pid)
    out: dict[str, dict[str, Any]] = {}
    for sizes_, tasks in _grouped(batch_sizes).items():
        out |= run_ceilings(
            {task: models[task] for task in tasks},
            count=ctx.sizes.enc_requests,
            seed=ctx.sizes.seed,
            batch_sizes=sizes_,
            threads=ctx.sizes.ceiling_threads,
        )
    out["idle_server_cpu_s"] = {
        "server": server.spec.name,
        "cpu_s": round(tree_cpu_seconds(server.pid) - cpu0, 2),
    }
    return out


def _grouped(batch_sizes: dict[str, tuple[int, ...]]) -> dict[tuple[int, ...], list[str]]:
    groups: dict[tuple[int, ...], list[str]] = {}
    for task, sizes_ in batch_sizes.items():
        groups.setdefault(sizes_, []).append(task)
    return groups


def run(ctx: Context) -> SuiteResult:
    """Round 1: every ceiling batch size, every concurrency level. Later rounds repeat only
    the target comparison (best batch size vs 64 clients), so that the reported ratio is a
    median over rounds measured back to back."""
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
            "client": "aiohttp closed loop",
            "ours_config": ctx.ours("encoders").name,
            "rounds": sizes.rounds,
            "ceiling_while": "our encoder server idle (its CPU recorded)",
        },
    )
    server = ctx.pool.get(ctx.ours("encoders"))
    calls = {task: encoder_calls(task, str(entries[task]["name"]), texts) for task in TASKS}
    log("encoders: in-process ceilings")
    ceilings = _ceilings(ctx, server, models, {t: sizes.ceiling_batch_sizes for t in TASKS})
    ours = {task: _sweep(ctx, server, task, calls[task], levels) for task in TASKS}
    per_round: dict[str, list[dict[str, float]]] = {t: [] for t in TASKS}
    for task in TASKS:
        per_round[task].append(_pair(ceilings[task], ours[task][target]))
    best: dict[str, tuple[int, ...]] = {t: (int(ceilings[t]["best_batch_size"]),) for t in TASKS}
    for round_ in range(1, sizes.rounds):
        log(f"encoders round {round_ + 1}/{sizes.rounds}: best batch vs {target} clients")
        again = _ceilings(ctx, server, models, best)
        for task in TASKS:
            measured = _sweep(ctx, server, task, calls[task], [target], warm_up=False)[target]
            per_round[task].append(_pair(again[task], measured))
    for task in TASKS:
        # Ratios are taken of the medians over the rounds (each round pairs a ceiling pass
        # with a pass through our server, measured back to back).
        medians = median_of(per_round[task])
        ceilings[task]["best_inputs_per_s_by_round"] = [r["ceiling"] for r in per_round[task]]
        ceilings[task]["best_inputs_per_s"] = medians["ceiling"]
        ours[task][target]["throughput_by_round"] = [r["ours"] for r in per_round[task]]
        ours[task][target]["throughput"] = medians["ours"]
    result.results["ceiling"] = ceilings
    result.results["ours"] = {t: {str(c): v for c, v in m.items()} for t, m in ours.items()}
    result.results["ratios_by_round"] = {
        f"{t}_c{target}_vs_ceiling": [ratio(r["ours"], r["ceiling"]) for r in per_round[t]]
        for t in TASKS
    }
    pooling = _pooling(ctx, result, str(entries["embed"]["name"]), calls["embed"], levels)
    result.ratios, result.targets = compare(ours, ceilings, pooling, levels)
    result.results["errors"] = sum(v["errors"] for m in ours.values() for v in m.values())
    _present(result, ours, ceilings, pooling, levels)
    return result


def _pair(ceiling: dict[str, Any], ours: dict[str, Any]) -> dict[str, float]:
    return {"ceiling": float(ceiling["best_inputs_per_s"]), "ours": float(ours["throughput"])}


def _pooling(
    ctx: Context, result: SuiteResult, model: str, calls: list[Call], levels: list[int]
) -> dict[int, dict[str, Any]]:
    """vLLM's pooling server on the embedding model, or why it could not be measured."""
    if not ctx.sizes.vllm_pooling:
        result.results["vllm_pooling"] = {
            "skipped": "not requested (quick mode or --no-vllm-pooling)"
        }
        return {}
    try:
        server = ctx.pool.get(vllm_pooling())
    except ServerStartError as exc:
        result.results["vllm_pooling"] = {
            "failed_to_start": exc.reason,
            "log_tail": exc.log_tail[-3000:],
        }
        result.notes.append(
            f"vLLM pooling server did not start on this CPU: {exc.reason} (log tail in JSON)"
        )
        return {}
    measured = _sweep(ctx, server, "embed", calls, levels)
    result.results["vllm_pooling"] = {str(c): v for c, v in measured.items()}
    return measured


def _present(
    result: SuiteResult,
    ours: dict[str, dict[int, dict[str, Any]]],
    ceilings: dict[str, dict[str, Any]],
    pooling: dict[int, dict[str, Any]],
    levels: list[int],
) -> None:
    columns = (
        "task",
        "server",
        "clients",
        "inputs/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "client CPU s",
        "vs ceiling",
    )
    rows: list[tuple[Any, ...]] = []
    for task in TASKS:
        for c in levels:
            s = ours[task][c]
            rows.append(
                (
                    task,
                    "ours",
                    c,
                    s["throughput"],
                    s["p50_ms"],
                    s["p99_ms"],
                    s["errors"],
                    s["client_cpu_s"],
                    result.ratios[f"{task}_c{c}_vs_ceiling"],
                )
            )
    for c, s in pooling.items():
        rows.append(
            (
                "embed",
                "vLLM pooling",
                c,
                s["throughput"],
                s["p50_ms"],
                s["p99_ms"],
                s["errors"],
                s["client_cpu_s"],
                ratio(s["throughput"], ceilings["embed"]["best_inputs_per_s"]),
            )
        )
    result.tables.append(Table("Single-input clients", columns, rows))
    target = target_level(levels)
    result.tables.append(
        Table(
            f"Rounds: in-process ceiling at its best batch size vs ours at {target} clients "
            "(inputs/s; the tables above give the medians)",
            ("task", "ceiling by round", "ours by round", "ratio by round"),
            [
                (
                    t,
                    listed(ceilings[t]["best_inputs_per_s_by_round"]),
                    listed(ours[t][target]["throughput_by_round"]),
                    listed(result.results["ratios_by_round"][f"{t}_c{target}_vs_ceiling"]),
                )
                for t in TASKS
            ],
        )
    )
    batch_sizes = list(ceilings["embed"]["inputs_per_s_by_batch"])
    result.tables.append(
        Table(
            "In-process Transformers (inputs/s by batch size)",
            ("task", *(f"batch {b}" for b in batch_sizes), "best (median of rounds)"),
            [
                (
                    t,
                    *(ceilings[t]["inputs_per_s_by_batch"][b] for b in batch_sizes),
                    ceilings[t]["best_inputs_per_s"],
                )
                for t in TASKS
            ],
        )
    )
    series = {f"{t} (ours)": [(c, ours[t][c]["throughput"]) for c in levels] for t in TASKS}
    series |= {
        f"{t} ceiling": [(c, ceilings[t]["best_inputs_per_s"]) for c in levels] for t in TASKS
    }
    if pooling:
        series["embed (vLLM pooling)"] = [(c, s["throughput"]) for c, s in pooling.items()]
    result.plots.append(
        LinePlot(
            "throughput",
            "Encoders: inputs/s vs concurrent clients",
            "concurrent clients",
            "inputs/s",
            series,
        )
    )
    cats = [f"{t} c{c}" for t in TASKS for c in levels] + [f"embed vLLM c{c}" for c in pooling]
    values = [ours[t][c] for t in TASKS for c in levels] + list(pooling.values())
    result.plots.append(
        BarPlot(
            "latency",
            "Encoder latency percentiles",
            "ms",
            cats,
            {"p50": [v["p50_ms"] for v in values], "p99": [v["p99_ms"] for v in values]},
            log_y=True,
        )
    )
