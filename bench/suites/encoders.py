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
from bench.stats import Target, at_least, median_by_level, median_known, ratio

TASKS = ("embed", "classify", "ner")
# Targets at 64 clients: share of the in-process ceiling each task must reach.
CEILING_SHARE = {"embed": 0.90, "classify": 0.85, "ner": 0.85}
WARMUP_REQUESTS = 64


def target_level(levels: list[int]) -> int:
    return 64 if 64 in levels else max(levels)


Summary = dict[str, Any]
# Per round, per concurrency level: one pass's summary (a level absent from a round: not run).
Rounds = list[dict[int, Summary]]


def _paired(ours: Rounds, ref: list[float | None], c: int) -> list[float | None]:
    """Ours / reference inputs/s at level ``c`` for each round that ran it (``ref``: the
    reference's inputs/s in each round)."""
    rounds = zip(ours, ref, strict=False)
    return [ratio(got[c]["throughput"], base) for got, base in rounds if c in got]


def paired_ratios(
    ours: dict[str, Rounds],
    ceilings: dict[str, list[float | None]],
    pooling: Rounds,
    levels: list[int],
) -> dict[str, list[float | None]]:
    """Every ratio's value in each round: ours against the ceiling measured just before it in
    the same round, and against vLLM's pooling server measured back to back with it."""
    out = {
        f"{task}_c{c}_vs_ceiling": _paired(ours.get(task, []), ceilings.get(task, []), c)
        for task in TASKS
        for c in levels
    }
    for c in levels:
        pooled = [r.get(c, {}).get("throughput") for r in pooling]
        out[f"embed_c{c}_vs_vllm_pooling"] = _paired(ours.get("embed", []), pooled, c)
    return out


def compare(
    ours: dict[str, Rounds],
    ceilings: dict[str, list[float | None]],
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


def _warm_up(server: RunningServer, calls: list[Call], levels: list[int]) -> None:
    run_closed_loop(server.base_url, calls[:WARMUP_REQUESTS], max(levels))


def _pass(ctx: Context, server: RunningServer, task: str, calls: list[Call], c: int) -> Summary:
    """One pass over every text from ``c`` clients."""
    with ctx.pool.sampling(server):
        measured: LoadResult = run_closed_loop(server.base_url, calls, c)
    log(
        f"encoders: {server.spec.name} {task} c={c}: "
        f"{measured.summary()['throughput']} inputs/s, {measured.errors} errors"
    )
    return measured.summary()


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
            "client": "aiohttp closed loop",
            "ours_config": ctx.ours("encoders").name,
            "rounds": sizes.rounds,
            "design": "our encoder server and vLLM's pooling server up at once, idle but for"
            " the one measured. Per round: the in-process ceilings (servers idle, their CPU"
            " recorded), then per task our server, and for embeddings vLLM's pooling server"
            " back to back with it at each level (who goes first alternates). Round 1 runs"
            f" every batch size and level, later rounds the best batch size and {target}"
            " clients. Each ratio is the median over the rounds of its pairs",
        },
    )
    servers = _start_servers(ctx, result)
    calls = {task: encoder_calls(task, str(entries[task]["name"]), texts) for task in TASKS}
    ceiling_rounds: list[dict[str, dict[str, Any]]] = []
    ours: dict[str, Rounds] = {t: [] for t in TASKS}
    pooling: Rounds = []
    batch_sizes = {t: sizes.ceiling_batch_sizes for t in TASKS}
    for round_ in range(sizes.rounds):
        log(f"encoders round {round_ + 1}/{sizes.rounds}: in-process ceilings")
        ceiling_rounds.append(_ceilings(ctx, servers, models, batch_sizes))
        batch_sizes = {t: (int(ceiling_rounds[0][t]["best_batch_size"]),) for t in TASKS}
        for task in TASKS:
            measured = _measure(
                ctx, servers, task, calls[task], levels if round_ == 0 else [target], round_
            )
            ours[task].append(measured["ours"])
            if "vllm_pooling" in measured:
                pooling.append(measured["vllm_pooling"])
    best = {t: [r[t]["best_inputs_per_s"] for r in ceiling_rounds] for t in TASKS}
    ceilings: dict[str, Any] = ceiling_rounds[0]
    for task in TASKS:
        ceilings[task]["best_inputs_per_s_by_round"] = best[task]
        ceilings[task]["best_inputs_per_s"] = median_known(best[task])
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
    _present(result, medians, ceilings, pooling_medians, levels)
    return result


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
    if target in pooling:
        result.tables.append(
            Table(
                f"Rounds: embeddings, ours vs vLLM's pooling server at {target} clients "
                "(inputs/s, measured back to back)",
                ("vLLM pooling by round", "ours by round", "ratio by round"),
                [
                    (
                        listed(pooling[target]["throughput_by_round"]),
                        listed(ours["embed"][target]["throughput_by_round"]),
                        listed(
                            result.results["ratios_by_round"][f"embed_c{target}_vs_vllm_pooling"]
                        ),
                    )
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
