"""The encoder suite's tables and plots, from its medians and ratios."""

from __future__ import annotations

from typing import Any

from bench.markdown import listed
from bench.result import BarPlot, LinePlot, SuiteResult, Table
from bench.stats import ratio

TASKS = ("embed", "classify", "ner")
BACKENDS = ("torch", "onnx")


def target_level(levels: list[int]) -> int:
    return 64 if 64 in levels else max(levels)


def present(
    result: SuiteResult,
    ours: dict[str, dict[int, dict[str, Any]]],
    ceilings: dict[str, Any],
    pooling: dict[int, dict[str, Any]],
    levels: list[int],
) -> None:
    """Add the suite's tables and plots to ``result``."""
    columns = (
        "task",
        "server",
        "clients",
        "inputs/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "client CPU s",
        "API process CPU ms per input",
        "vs torch ceiling",
        "vs onnx ceiling",
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
                    s.get("api_cpu_ms_per_input"),
                    *(result.ratios[f"{task}_c{c}_vs_{b}_ceiling"] for b in BACKENDS),
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
                s.get("api_cpu_ms_per_input"),
                *(
                    ratio(s["throughput"], ceilings[b]["embed"]["best_inputs_per_s"])
                    for b in BACKENDS
                ),
            )
        )
    result.tables.append(Table("Single-input clients", columns, rows))
    target = target_level(levels)
    by_round = result.results["ratios_by_round"]
    result.tables.append(
        Table(
            f"Rounds: in-process ceilings at their best batch size vs ours at {target} clients "
            "(inputs/s; the tables above give the medians)",
            (
                "task",
                "torch ceiling by round",
                "onnx ceiling by round",
                "ours by round",
                "vs torch by round",
                "vs onnx by round",
            ),
            [
                (
                    t,
                    listed(ceilings["torch"][t]["best_inputs_per_s_by_round"]),
                    listed(ceilings["onnx"][t]["best_inputs_per_s_by_round"]),
                    listed(ours[t][target]["throughput_by_round"]),
                    listed(by_round[f"{t}_c{target}_vs_torch_ceiling"]),
                    listed(by_round[f"{t}_c{target}_vs_onnx_ceiling"]),
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
                        listed(by_round[f"embed_c{target}_vs_vllm_pooling"]),
                    )
                ],
            )
        )
    batch_sizes = list(ceilings["torch"]["embed"]["inputs_per_s_by_batch"])
    layouts = list(ceilings["torch"]["embed"]["inputs_per_s_by_layout"])
    result.tables.append(
        Table(
            "In-process, inputs sorted by length, tokenization included (inputs/s by batch size"
            " of each layout, processes x threads; first round)",
            (
                "task",
                "backend",
                "layout",
                *(f"batch {b}" for b in batch_sizes),
                "best (median of rounds)",
            ),
            [
                (
                    t,
                    b,
                    layout,
                    *(ceilings[b][t]["inputs_per_s_by_layout"][layout].get(k) for k in batch_sizes),
                    ceilings[b][t]["best_inputs_per_s"]
                    if layout == ceilings[b][t]["best_split"]
                    else "",
                )
                for t in TASKS
                for b in BACKENDS
                for layout in layouts
            ],
        )
    )
    series = {f"{t} (ours)": [(c, ours[t][c]["throughput"]) for c in levels] for t in TASKS}
    series |= {
        f"{t} {b} ceiling": [(c, ceilings[b][t]["best_inputs_per_s"]) for c in levels]
        for t in TASKS
        for b in BACKENDS
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
