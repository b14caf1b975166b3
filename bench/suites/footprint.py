"""Footprint: time from start to ready, and resident memory of the API process and of each
child (engine core, encoder workers), at ready and at peak under load, vs vLLM's server.

Servers that earlier suites already started and loaded in this run are not started again:
their records are reused.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench.context import Context, log
from bench.load import closed_loop
from bench.memory import total, tree_rss
from bench.payloads import chat_calls, chat_prompts, completion_tokens, encoder_calls
from bench.result import BarPlot, SuiteResult, Table
from bench.sentences import sentences
from bench.servers import RunningServer, ServerSpec, ServerStartError
from bench.specs import model_entry, vllm_generate
from bench.stats import ratio


async def _load(ctx: Context, server: RunningServer, encoders: bool) -> None:
    """Generation load, plus every encoder task when the server has them."""
    sizes = ctx.sizes
    gen = chat_calls(
        str(model_entry("generate")["name"]), chat_prompts(32, seed=sizes.seed + 2), 64
    )
    loads = [
        closed_loop(
            server.base_url, gen, 8, duration_s=sizes.footprint_load_s, count=completion_tokens
        )
    ]
    if encoders:
        texts = sentences(256, seed=sizes.seed)
        for task in ("embed", "classify", "ner"):
            calls = encoder_calls(task, str(model_entry(task)["name"]), texts)
            loads.append(closed_loop(server.base_url, calls, 16, duration_s=sizes.footprint_load_s))
    await asyncio.gather(*loads)


def _measure(ctx: Context, spec: ServerSpec, encoders: bool) -> dict[str, Any]:
    record = ctx.pool.records.get(spec.name)
    if record is None or record.error or not record.rss_peak_under_load:
        try:
            server = ctx.pool.get(spec)
        except ServerStartError as exc:
            return {"name": spec.name, "error": exc.reason, "log_tail": exc.log_tail[-2000:]}
        log(f"footprint: loading {spec.name}")
        with ctx.pool.sampling(server, interval_s=0.5):
            asyncio.run(_load(ctx, server, encoders))
        record = ctx.pool.records[spec.name]
    out = record.as_dict()
    if ctx.pool.is_running(spec):
        idle = tree_rss(ctx.pool.running[spec.name].pid)
        out["rss_idle_after_load"] = idle
        out["rss_idle_after_load_total"] = total(idle)
    return out


def run(ctx: Context) -> SuiteResult:
    specs = [
        ctx.ours("default"),
        ctx.ours("generate"),
        vllm_generate(eager=ctx.sizes.gen_enforce_eager),
    ]
    unique = list({s.name: s for s in specs}.values())
    # A running server first: no restart for it.
    unique.sort(key=lambda s: not ctx.pool.is_running(s))
    result = SuiteResult(
        "footprint",
        {
            "quick": ctx.sizes.quick,
            "servers": [s.name for s in unique],
            "load_s": ctx.sizes.footprint_load_s,
            "rss_unit": "MiB",
        },
    )
    records = {s.name: _measure(ctx, s, encoders=s.name == "ours-default") for s in unique}
    result.results = records
    ours = records.get(ctx.ours("generate").name, {})
    ref = records.get("vllm-generate", {})
    result.ratios = {
        "ready_s": ratio(ours.get("ready_s"), ref.get("ready_s")),
        "rss_at_ready": ratio(ours.get("rss_at_ready_total"), ref.get("rss_at_ready_total")),
        "rss_peak_under_load": ratio(
            ours.get("rss_peak_under_load_total"), ref.get("rss_peak_under_load_total")
        ),
    }
    result.notes.append(
        f"Ratios compare {ctx.ours('generate').name} with vllm-generate (same model, same engine "
        "settings); per-process rows are role:pid."
    )
    for name, rec in records.items():
        if rec.get("error"):
            result.notes.append(f"{name} did not start: {rec['error']}")
    _present(result, records)
    return result


def _present(result: SuiteResult, records: dict[str, dict[str, Any]]) -> None:
    summary = [
        (
            name,
            rec.get("ready_s"),
            rec.get("rss_at_ready_total"),
            rec.get("rss_peak_under_load_total"),
            rec.get("rss_idle_after_load_total"),
        )
        for name, rec in records.items()
    ]
    result.tables.append(
        Table(
            "Start-up and memory (MiB)",
            ("server", "start to ready s", "RSS at ready", "RSS peak under load", "RSS idle after"),
            summary,
        )
    )
    rows = []
    for name, rec in records.items():
        peak = rec.get("rss_peak_under_load", {})
        for proc, rss in rec.get("rss_at_ready", {}).items():
            rows.append((name, proc, rss, peak.get(proc)))
    result.tables.append(
        Table("Per process (MiB)", ("server", "process", "at ready", "peak under load"), rows)
    )
    names = list(records)
    result.plots.append(
        BarPlot(
            "memory",
            "Resident memory of the server's process tree",
            "MiB",
            names,
            {
                "at ready": [records[n].get("rss_at_ready_total") for n in names],
                "peak under load": [records[n].get("rss_peak_under_load_total") for n in names],
            },
        )
    )
