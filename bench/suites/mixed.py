"""Mixed: generation and embedding load at the same time on our server with every model;
each one's throughput against the same load alone (same durations, same run)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from bench.context import Context, log
from bench.load import Call, LoadResult, closed_loop, run_closed_loop
from bench.payloads import chat_calls, chat_prompts, completion_tokens, encoder_calls
from bench.result import BarPlot, SuiteResult, Table
from bench.sentences import sentences
from bench.specs import model_entry
from bench.stats import ratio


@dataclass(frozen=True)
class Workloads:
    """Generation calls (chat, fixed output length) in three disjoint sets, so that no phase
    finds its prompts in the engine's prefix cache, and the embedding calls."""

    gen_warm_up: list[Call]
    gen_alone: list[Call]
    gen_together: list[Call]
    embed: list[Call]


def workloads(ctx: Context) -> Workloads:
    sizes = ctx.sizes
    per_phase = max(64, 4 * sizes.mixed_gen_concurrency)
    warm = sizes.mixed_gen_concurrency
    prompts = chat_prompts(warm + 2 * per_phase, seed=sizes.seed + 1)
    gen = chat_calls(str(model_entry("generate")["name"]), prompts, sizes.gen_output_len)
    texts = sentences(sizes.enc_requests, seed=sizes.seed)
    return Workloads(
        gen_warm_up=gen[:warm],
        gen_alone=gen[warm : warm + per_phase],
        gen_together=gen[warm + per_phase :],
        embed=encoder_calls("embed", str(model_entry("embed")["name"]), texts),
    )


async def _together(
    base_url: str, gen: list[Call], embed: list[Call], ctx: Context
) -> tuple[LoadResult, LoadResult]:
    sizes = ctx.sizes
    return await asyncio.gather(
        closed_loop(
            base_url,
            gen,
            sizes.mixed_gen_concurrency,
            duration_s=sizes.mixed_duration_s,
            count=completion_tokens,
        ),
        closed_loop(
            base_url, embed, sizes.mixed_embed_concurrency, duration_s=sizes.mixed_duration_s
        ),
    )


def run(ctx: Context) -> SuiteResult:
    sizes = ctx.sizes
    result = SuiteResult(
        "mixed",
        {
            "quick": sizes.quick,
            "duration_s": sizes.mixed_duration_s,
            "generation_clients": sizes.mixed_gen_concurrency,
            "generation_output_tokens": sizes.gen_output_len,
            "embedding_clients": sizes.mixed_embed_concurrency,
            "client": "bench.load: non-streamed chat (ignore_eos), 1-input embeddings",
            "server": ctx.ours("default").name,
        },
    )
    server = ctx.pool.get(ctx.ours("default"))
    load = workloads(ctx)
    gen, embed = load.gen_alone, load.embed
    url = server.base_url
    run_closed_loop(url, load.gen_warm_up, sizes.mixed_gen_concurrency)
    run_closed_loop(url, embed[:64], sizes.mixed_embed_concurrency)
    with ctx.pool.sampling(server):
        log("mixed: generation alone")
        gen_alone = run_closed_loop(
            url,
            gen,
            sizes.mixed_gen_concurrency,
            duration_s=sizes.mixed_duration_s,
            count=completion_tokens,
        )
        log("mixed: embeddings alone")
        embed_alone = run_closed_loop(
            url, embed, sizes.mixed_embed_concurrency, duration_s=sizes.mixed_duration_s
        )
        log("mixed: both at once")
        gen_mixed, embed_mixed = asyncio.run(_together(url, load.gen_together, embed, ctx))
    runs: dict[str, dict[str, Any]] = {
        "generation_alone": gen_alone.summary(),
        "embeddings_alone": embed_alone.summary(),
        "generation_mixed": gen_mixed.summary(),
        "embeddings_mixed": embed_mixed.summary(),
    }
    result.results = {**runs, "errors": sum(r["errors"] for r in runs.values())}
    for name, phase, calls in (
        ("generation_alone", gen_alone, gen),
        ("generation_mixed", gen_mixed, load.gen_together),
    ):
        if phase.sent > len(calls):
            result.notes.append(
                f"{name} sent {phase.sent} requests from {len(calls)} prompts: the later"
                " ones repeated prompts the prefix cache held"
            )
    result.ratios = {
        "generation_tokens_per_s_mixed_vs_alone": ratio(gen_mixed.throughput, gen_alone.throughput),
        "embedding_inputs_per_s_mixed_vs_alone": ratio(
            embed_mixed.throughput, embed_alone.throughput
        ),
    }
    rows = [
        (name, r["throughput"], r["p50_ms"], r["p99_ms"], r["requests"], r["errors"])
        for name, r in runs.items()
    ]
    result.tables.append(
        Table(
            "Throughput alone and together (generation: output tokens/s, embeddings: inputs/s)",
            ("run", "throughput", "p50 ms", "p99 ms", "requests", "errors"),
            rows,
        )
    )
    result.plots.append(
        BarPlot(
            "throughput",
            "Mixed load: throughput alone vs together",
            "tokens/s (generation), inputs/s (embeddings)",
            ["generation", "embeddings"],
            {
                "alone": [gen_alone.throughput, embed_alone.throughput],
                "mixed": [gen_mixed.throughput, embed_mixed.throughput],
            },
        )
    )
    return result
