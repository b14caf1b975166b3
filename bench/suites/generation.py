"""Generation: our server vs vLLM's own OpenAI server, load from vLLM's benchmark client
(chat endpoint, random 128-in/64-out prompts, EOS ignored). Two pairs share the rounds:
same settings (vLLM given our default config's engine settings) and defaults vs defaults
(our default config against plain ``vllm serve MODEL``)."""

from __future__ import annotations

import contextlib
from typing import Any

from bench.context import Context, log
from bench.markdown import listed
from bench.result import BarPlot, LinePlot, SuiteResult, Table
from bench.servers import RunningServer, ServerStartError
from bench.specs import model_dir, model_entry, vllm_defaults, vllm_generate
from bench.stats import Target, at_least, at_most, median_by_level, median_known, ratio
from bench.vllm_client import GenerationLoad, Leg, Level, levels_for_round, run_vllm_bench

SERVERS = ("vllm", "ours", "vllm-defaults")
# Per reference: its ratios' prefix ("" for the same-settings pair, the names earlier runs
# used) and its name in the targets.
REFERENCES = {
    "vllm": ("", "vLLM"),
    "vllm-defaults": ("defaults_", "vLLM at its defaults (ours at ours)"),
}


def target_levels(levels: list[int]) -> list[int]:
    """Concurrency levels the throughput target is about (8 and 32; the highest otherwise)."""
    named = [c for c in levels if c in (8, 32)]
    return named or [max(levels)]


Runs = list[dict[int, dict[str, Any]]]
# Ratio name -> the client's metric it divides.
METRICS = {
    "output_tokens_per_s": "output_throughput",
    "ttft_p50": "p50_ttft_ms",
    "ttft_p99": "p99_ttft_ms",
    "tpot_p50": "p50_tpot_ms",
    "itl_p99": "p99_itl_ms",
}


def paired_ratios(ours: Runs, ref: Runs, levels: list[int]) -> dict[str, list[float | None]]:
    """Per metric and level, ours / reference for each round (the two measured back to back)."""
    return {
        f"{name}_c{c}": [
            ratio(o.get(c, {}).get(key), r.get(c, {}).get(key))
            for o, r in zip(ours, ref, strict=False)
        ]
        for c in levels
        for name, key in METRICS.items()
    }


def compare(
    ours: Runs, ref: Runs, levels: list[int], *, prefix: str = "", against: str = "vLLM"
) -> tuple[dict[str, float | None], list[Target]]:
    """Each ratio's median over the rounds' pairs, and the targets: tokens/s >= 1.00x at 8 and
    32, TTFT p50 <= 1.05x. A pair is measured minutes apart, so the host's drift over a run
    (2-4x here between morning and afternoon) cancels in it, not in medians per server.
    ``prefix`` names the ratios of one reference, ``against`` names it in the targets."""
    ratios = {
        prefix + name: median_known(pairs)
        for name, pairs in paired_ratios(ours, ref, levels).items()
    }
    targets = [
        at_least(
            f"output tokens/s vs {against}, concurrency {c}",
            ratios[f"{prefix}output_tokens_per_s_c{c}"],
            1.0,
        )
        for c in target_levels(levels)
    ]
    targets += [
        at_most(f"TTFT p50 vs {against}, concurrency {c}", ratios[f"{prefix}ttft_p50_c{c}"], 1.05)
        for c in levels
    ]
    return ratios, targets


def _by_round(runs: Runs) -> list[dict[str, Any]]:
    keep = ("output_throughput", "p50_ttft_ms", "p50_tpot_ms", "p99_itl_ms", "failed", "seed")
    return [{str(c): {k: v.get(k) for k in keep} for c, v in run.items()} for run in runs]


def _start_servers(ctx: Context, result: SuiteResult) -> dict[str, RunningServer]:
    """Every server up at once (each started and timed alone); a failed one is noted."""
    specs = {
        "vllm": vllm_generate(eager=ctx.sizes.gen_enforce_eager),
        "ours": ctx.ours("generate"),
        "vllm-defaults": vllm_defaults(eager=ctx.sizes.gen_enforce_eager),
    }
    servers: dict[str, RunningServer] = {}
    for label in SERVERS:
        try:
            held = ctx.pool.hold([*(specs[k] for k in servers), specs[label]])
        except ServerStartError as exc:
            result.notes.append(f"{specs[label].name} did not start: {exc.reason}")
            result.results[f"{label}_error"] = exc.log_tail[-2000:]
            continue
        servers[label] = held[-1]
    return servers


def _legs(servers: dict[str, RunningServer], plan: list[Level], round_: int) -> list[Leg]:
    """Per level both servers back to back, who goes first alternating from pair to pair;
    each server warms each level up in the first round."""
    legs = []
    labels = [label for label in SERVERS if label in servers]
    for i, level in enumerate(plan):
        order = labels if (round_ + i) % 2 == 0 else labels[::-1]
        legs += [Leg(k, servers[k].base_url, level, warm_up=round_ == 0) for k in order]
    return legs


def run(ctx: Context) -> SuiteResult:
    sizes = ctx.sizes
    entry = model_entry("generate")
    load = GenerationLoad(
        model=str(entry["name"]),
        tokenizer=model_dir(entry),
        input_len=sizes.gen_input_len,
        output_len=sizes.gen_output_len,
    )
    levels = list(sizes.gen_concurrency)
    prompts = [sizes.prompts_at(c) for c in levels]
    result = SuiteResult(
        "generation",
        {
            "quick": sizes.quick,
            "model": load.model,
            "engine": entry.get("engine", {}),
            "client": "vllm.benchmarks.serve (openai-chat, random dataset, ignore_eos)",
            "input_len": load.input_len,
            "output_len": load.output_len,
            "levels": [
                {"concurrency": c, "prompts": n} for c, n in zip(levels, prompts, strict=True)
            ],
            "ours_config": ctx.ours("generate").name,
            "enforce_eager_everywhere": sizes.gen_enforce_eager,
            "rounds": sizes.rounds,
            "design": "every server up at once, idle but for the one measured; per round and"
            " level they run back to back (the order alternates) and each ratio is the"
            " median over the rounds of ours against each reference",
            "prompt_seeds": "seed + round x levels + level index, the same for every server;"
            " no server sees a measured prompt twice (prefix caching)",
            "warm_up": "in the first round, per server and level, one unrecorded wave of"
            " `concurrency` prompts (another seed) right before the measured run",
        },
    )
    servers = _start_servers(ctx, result)
    runs: dict[str, Runs] = {label: [] for label in servers}
    client_cpu: list[float] = []
    for round_ in range(sizes.rounds if servers else 0):
        legs = _legs(servers, levels_for_round(levels, prompts, round_, sizes.seed), round_)
        order = ", ".join(f"{x.label} c{x.level.concurrency}" for x in legs)
        log(f"generation round {round_ + 1}/{sizes.rounds}: {order}")
        with contextlib.ExitStack() as sampling:
            for server in servers.values():
                sampling.enter_context(ctx.pool.sampling(server))
            summaries, cpu = run_vllm_bench(load, legs, ctx.workdir / f"generation-{round_}")
        client_cpu.append(cpu)
        by_label: dict[str, dict[int, dict[str, Any]]] = {label: {} for label in servers}
        for leg, summary in zip(legs, summaries, strict=True):
            by_label[leg.label][leg.level.concurrency] = summary
        for label, measured_round in by_label.items():
            runs[label].append(measured_round)
    measured = {label: median_by_level(r, levels) for label, r in runs.items() if r}
    for label, by_level in measured.items():
        result.results[label] = {str(c): v for c, v in by_level.items()}
    result.results["rounds"] = {label: _by_round(r) for label, r in runs.items() if r}
    result.results["client_process_cpu_s_by_round"] = client_cpu
    ours_runs = runs.get("ours", [])
    result.results["ratios_by_round"] = {}
    for reference, (prefix, against) in REFERENCES.items():
        ref_runs = runs.get(reference, [])
        ratios, targets = compare(ours_runs, ref_runs, levels, prefix=prefix, against=against)
        result.ratios.update(ratios)
        result.targets += targets
        by_round = paired_ratios(ours_runs, ref_runs, levels)
        result.results["ratios_by_round"].update({prefix + k: v for k, v in by_round.items()})
    result.results["ready_s"] = {label: server.ready_s for label, server in servers.items()}
    failed = sum(int(v.get("failed") or 0) for r in runs.values() for m in r for v in m.values())
    result.results["failures"] = failed
    _present(result, measured, levels)
    return result


def _present(
    result: SuiteResult, measured: dict[str, dict[int, dict[str, Any]]], levels: list[int]
) -> None:
    columns = (
        "server",
        "concurrency",
        "prompts",
        "output tok/s",
        "TTFT p50 ms",
        "TTFT p99 ms",
        "TPOT p50 ms",
        "ITL p99 ms",
        "failed",
        "client CPU s",
    )
    rows = [
        (
            label,
            c,
            m[c].get("num_prompts"),
            m[c].get("output_throughput"),
            m[c].get("p50_ttft_ms"),
            m[c].get("p99_ttft_ms"),
            m[c].get("p50_tpot_ms"),
            m[c].get("p99_itl_ms"),
            m[c].get("failed"),
            m[c].get("client_cpu_s"),
        )
        for label in SERVERS
        if (m := measured.get(label))
        for c in levels
    ]
    result.tables.append(Table("Ours vs vLLM's server (each server's medians)", columns, rows))
    ratio_rows = [
        (
            reference,
            c,
            result.ratios[f"{prefix}output_tokens_per_s_c{c}"],
            result.ratios[f"{prefix}ttft_p50_c{c}"],
            result.ratios[f"{prefix}tpot_p50_c{c}"],
            result.ratios[f"{prefix}itl_p99_c{c}"],
            listed(result.results["ratios_by_round"][f"{prefix}output_tokens_per_s_c{c}"]),
            listed(result.results["ratios_by_round"][f"{prefix}ttft_p50_c{c}"]),
        )
        for reference, (prefix, _) in REFERENCES.items()
        for c in levels
    ]
    result.tables.append(
        Table(
            "Ours / each reference (medians of the rounds' back-to-back pairs; vllm: our"
            " engine settings, vllm-defaults: vLLM's own)",
            (
                "reference",
                "concurrency",
                "output tok/s",
                "TTFT p50",
                "TPOT p50",
                "ITL p99",
                "tok/s by round",
                "TTFT p50 by round",
            ),
            ratio_rows,
        )
    )
    result.tables.append(
        Table(
            "Start-up: seconds to ready (each server started alone)",
            ("server", "ready s"),
            [(label, seconds) for label, seconds in result.results["ready_s"].items()],
        )
    )
    result.plots.append(
        LinePlot(
            "throughput",
            "Generation: output tokens/s vs concurrency",
            "max concurrency",
            "output tokens/s",
            {
                label: [(c, m[c]["output_throughput"]) for c in levels]
                for label, m in measured.items()
            },
        )
    )
    cats = [f"{label} c{c}" for label in SERVERS if label in measured for c in levels]
    values = [measured[label][c] for label in SERVERS if label in measured for c in levels]
    result.plots.append(
        BarPlot(
            "latency",
            "Generation latency percentiles",
            "ms",
            cats,
            {
                "TTFT p50": [v.get("p50_ttft_ms") for v in values],
                "TTFT p99": [v.get("p99_ttft_ms") for v in values],
                "TPOT p50": [v.get("p50_tpot_ms") for v in values],
                "ITL p99": [v.get("p99_itl_ms") for v in values],
            },
            log_y=True,
        )
    )
