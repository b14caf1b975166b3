"""Generation: our server vs vLLM's own OpenAI server, same model and engine settings, load
from vLLM's benchmark client (chat endpoint, random 128-in/64-out prompts, EOS ignored)."""

from __future__ import annotations

from typing import Any

from bench.context import Context, log
from bench.markdown import listed
from bench.result import BarPlot, LinePlot, SuiteResult, Table
from bench.servers import ServerStartError
from bench.specs import model_dir, model_entry, vllm_generate
from bench.stats import Target, at_least, at_most, median_of, ratio
from bench.vllm_client import GenerationLoad, levels_for_round, run_vllm_bench

SERVERS = ("vllm", "ours")


def target_levels(levels: list[int]) -> list[int]:
    """Concurrency levels the throughput target is about (8 and 32; the highest otherwise)."""
    named = [c for c in levels if c in (8, 32)]
    return named or [max(levels)]


def compare(
    ours: dict[int, dict[str, Any]], ref: dict[int, dict[str, Any]], levels: list[int]
) -> tuple[dict[str, float | None], list[Target]]:
    """Ratios per level and the targets: tokens/s >= 1.00x at 8 and 32, TTFT p50 <= 1.05x."""
    ratios: dict[str, float | None] = {}
    for c in levels:
        o, r = ours.get(c, {}), ref.get(c, {})
        ratios[f"output_tokens_per_s_c{c}"] = ratio(
            o.get("output_throughput"), r.get("output_throughput")
        )
        ratios[f"ttft_p50_c{c}"] = ratio(o.get("p50_ttft_ms"), r.get("p50_ttft_ms"))
        ratios[f"ttft_p99_c{c}"] = ratio(o.get("p99_ttft_ms"), r.get("p99_ttft_ms"))
        ratios[f"tpot_p50_c{c}"] = ratio(o.get("p50_tpot_ms"), r.get("p50_tpot_ms"))
        ratios[f"itl_p99_c{c}"] = ratio(o.get("p99_itl_ms"), r.get("p99_itl_ms"))
    targets = [
        at_least(
            f"output tokens/s vs vLLM, concurrency {c}", ratios[f"output_tokens_per_s_c{c}"], 1.0
        )
        for c in target_levels(levels)
    ]
    targets += [
        at_most(f"TTFT p50 vs vLLM, concurrency {c}", ratios[f"ttft_p50_c{c}"], 1.05)
        for c in levels
    ]
    return ratios, targets


def median_by_level(
    runs: list[dict[int, dict[str, Any]]], levels: list[int]
) -> dict[int, dict[str, Any]]:
    """Per level, each metric's median over the rounds."""
    return {c: median_of([run[c] for run in runs if c in run]) for c in levels}


def _by_round(runs: list[dict[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    keep = ("output_throughput", "p50_ttft_ms", "p50_tpot_ms", "p99_itl_ms", "failed")
    return [{str(c): {k: v.get(k) for k in keep} for c, v in run.items()} for run in runs]


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
            "rounds": sizes.rounds,
            "prompt_seeds": "seed + round x levels + level index, the same for both servers;"
            " no server sees a measured prompt twice (prefix caching)",
            "warm_up": "per level, one unrecorded wave of `concurrency` prompts (another seed)",
        },
    )
    specs = {"vllm": vllm_generate(), "ours": ctx.ours("generate")}
    runs: dict[str, list[dict[int, dict[str, Any]]]] = {label: [] for label in SERVERS}
    for round_ in range(sizes.rounds):
        plan = levels_for_round(levels, prompts, round_, sizes.seed)
        # Alternate who goes first; in the shared (quick) mode, one round ends with ours,
        # which then stays up for the next suites.
        for label in SERVERS if round_ % 2 == 0 else SERVERS[::-1]:
            if f"{label}_error" in result.results:
                continue
            spec = specs[label]
            try:
                server = ctx.pool.get(spec)
            except ServerStartError as exc:
                result.notes.append(f"{spec.name} did not start: {exc.reason}")
                result.results[f"{label}_error"] = exc.log_tail[-2000:]
                continue
            log(f"generation round {round_ + 1}/{sizes.rounds}: {label} at concurrency {levels}")
            with ctx.pool.sampling(server):
                runs[label].append(
                    run_vllm_bench(
                        load, server.base_url, plan, ctx.workdir / f"generation-{round_}", label
                    )
                )
    measured = {label: median_by_level(r, levels) for label, r in runs.items() if r}
    for label, by_level in measured.items():
        result.results[label] = {str(c): v for c, v in by_level.items()}
    result.results["rounds"] = {label: _by_round(r) for label, r in runs.items() if r}
    result.ratios, result.targets = compare(
        measured.get("ours", {}), measured.get("vllm", {}), levels
    )
    result.results["ratios_by_round"] = {
        f"output_tokens_per_s_c{c}": [
            ratio(o[c].get("output_throughput"), v[c].get("output_throughput"))
            for o, v in zip(runs["ours"], runs["vllm"], strict=False)
        ]
        for c in levels
    }
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
    result.tables.append(Table("Ours vs vLLM's server (medians over the rounds)", columns, rows))
    ratio_rows = [
        (
            c,
            result.ratios[f"output_tokens_per_s_c{c}"],
            result.ratios[f"ttft_p50_c{c}"],
            result.ratios[f"tpot_p50_c{c}"],
            result.ratios[f"itl_p99_c{c}"],
            listed(result.results["ratios_by_round"][f"output_tokens_per_s_c{c}"]),
        )
        for c in levels
    ]
    result.tables.append(
        Table(
            "Ours / vLLM (medians over the rounds)",
            ("concurrency", "output tok/s", "TTFT p50", "TPOT p50", "ITL p99", "tok/s by round"),
            ratio_rows,
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
