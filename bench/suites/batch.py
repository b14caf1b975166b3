"""Batch: the Batch API against online traffic on the same server, ratios in one run.

- Online chat TTFT p50 at concurrency 4 while a chat batch runs, against the same load
  without it (target <= 1.5x): batch lines yield to online requests (vLLM priority).
- The chat batch alone against the same requests sent online at the engine's best
  concurrency (target >= 0.8x output tokens/s).
- An embeddings batch against the same inputs from 64 online clients (inputs/s).
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import httpx
import yaml

from bench.batch_client import run_batch, submit, ttft_load, wait_status
from bench.context import Context, log
from bench.load import Call, run_closed_loop
from bench.payloads import chat_calls, chat_prompts, completion_tokens, encoder_calls
from bench.result import BarPlot, SuiteResult, Table
from bench.sentences import sentences
from bench.servers import ServerSpec
from bench.specs import MODELS_DIR, default_config
from bench.stats import at_least, at_most, ratio

CONTENDED = (
    "measured on a 2-core machine shared with other work (tests, builds): absolute numbers "
    "are from a contended host; the ratios compare phases of one run"
)


def server_spec(ctx: Context) -> ServerSpec:
    """Our server with the default generative and embedding models, priority scheduling on
    (so batch lines yield to online requests) and room for the batch's lines."""
    config = default_config()
    gen = next(m for m in config["models"] if m["task"] == "generate")
    embed = next(m for m in config["models"] if m["task"] == "embed")
    gen.setdefault("engine", {})["enable_priority_scheduling"] = True
    config["models"] = [gen, embed]
    config.update(models_dir=str(MODELS_DIR), log_format="text", playground=False)
    config["batches"] = {"max_in_flight": ctx.sizes.batch_in_flight, "poll_s": 0.2}
    config.pop("host", None)
    config.pop("port", None)
    argv = (
        sys.executable,
        "-m",
        "server",
        "--config",
        "{workdir}/ours-batch.yaml",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
    )
    return ServerSpec(
        name="ours-batch", argv=argv, files=(("ours-batch.yaml", yaml.safe_dump(config)),)
    )


def _calls(ctx: Context) -> dict[str, list[Call]]:
    """Chat calls in disjoint sets, so that no phase finds its prompts in the prefix cache:
    warm-up, TTFT alone, TTFT beside the batch, the batch run beside them, the batch run
    alone, and the same requests online."""
    sizes = ctx.sizes
    model = str(next(m for m in default_config()["models"] if m["task"] == "generate")["name"])
    counts = {
        "warm_up": sizes.batch_gen_concurrency,
        "ttft_alone": sizes.batch_ttft_requests,
        "ttft_beside": sizes.batch_ttft_requests,
        "background_batch": sizes.batch_background_lines,
        "batch_alone": sizes.batch_chat_lines,
        "online": sizes.batch_chat_lines,
    }
    prompts = chat_prompts(sum(counts.values()), seed=sizes.seed + 7)
    calls = chat_calls(model, prompts, sizes.batch_output_len)
    sets: dict[str, list[Call]] = {}
    start = 0
    for name, count in counts.items():
        sets[name], start = calls[start : start + count], start + count
    return sets


def _embed_calls(ctx: Context) -> list[Call]:
    model = str(next(m for m in default_config()["models"] if m["task"] == "embed")["name"])
    return encoder_calls(
        "embed", model, sentences(ctx.sizes.batch_embed_lines, seed=ctx.sizes.seed)
    )


def _ttft_beside_batch(
    url: str, calls: list[Call], batch: list[Call], ctx: Context
) -> dict[str, Any]:
    """TTFT of ``calls`` while the chat batch runs (started first, cancelled after)."""
    with httpx.Client(base_url=url, timeout=600) as client:
        batch_id = submit(client, batch)
        wait_status(client, batch_id, ("in_progress",))
        # Let the batch fill the engine before the online clients arrive.
        while client.get(f"/v1/batches/{batch_id}").json()["request_counts"]["completed"] < 1:
            time.sleep(0.2)
        measured = asyncio.run(ttft_load(url, calls, ctx.sizes.batch_ttft_concurrency))
        after = client.get(f"/v1/batches/{batch_id}").json()
        client.post(f"/v1/batches/{batch_id}/cancel")
        wait_status(client, batch_id, ("cancelled", "completed"))
    return measured | {
        "batch_lines_done_meanwhile": after["request_counts"]["completed"],
        "batch_still_running_at_end": after["status"] == "in_progress",
    }


def run(ctx: Context) -> SuiteResult:
    sizes = ctx.sizes
    result = SuiteResult(
        "batch",
        {
            "quick": sizes.quick,
            "chat_batch_lines": sizes.batch_chat_lines,
            "background_batch_lines": sizes.batch_background_lines,
            "output_tokens": sizes.batch_output_len,
            "ttft_requests": sizes.batch_ttft_requests,
            "ttft_concurrency": sizes.batch_ttft_concurrency,
            "online_concurrency": sizes.batch_gen_concurrency,
            "embed_batch_lines": sizes.batch_embed_lines,
            "embed_clients": sizes.batch_embed_clients,
            "batch_in_flight": sizes.batch_in_flight,
            "server": "ours-batch",
        },
    )
    result.notes.append(CONTENDED)
    server = ctx.pool.get(server_spec(ctx))
    url = server.base_url
    chat = _calls(ctx)
    embed = _embed_calls(ctx)
    run_closed_loop(url, chat["warm_up"], sizes.batch_gen_concurrency)
    run_closed_loop(url, embed[:64], sizes.batch_embed_clients)
    log("batch: online TTFT alone")
    alone = asyncio.run(ttft_load(url, chat["ttft_alone"], sizes.batch_ttft_concurrency))
    log("batch: online TTFT beside a running chat batch")
    beside = _ttft_beside_batch(url, chat["ttft_beside"], chat["background_batch"], ctx)
    log("batch: the chat batch alone")
    chat_batch = run_batch(url, chat["batch_alone"], "tokens")
    log("batch: the same chat requests online")
    chat_online = run_closed_loop(
        url, chat["online"], sizes.batch_gen_concurrency, count=completion_tokens
    )
    log("batch: embeddings batch")
    embed_batch = run_batch(url, embed, "inputs")
    log("batch: the same embeddings online")
    embed_online = run_closed_loop(url, embed, sizes.batch_embed_clients)
    result.results = {
        "ttft_alone": alone,
        "ttft_beside_batch": beside,
        "chat_batch": chat_batch.summary(),
        "chat_online": chat_online.summary(),
        "embed_batch": embed_batch.summary(),
        "embed_online": embed_online.summary(),
    }
    ttft_ratio = ratio(beside["ttft_p50_ms"], alone["ttft_p50_ms"])
    chat_ratio = ratio(chat_batch.throughput, chat_online.throughput)
    embed_ratio = ratio(embed_batch.throughput, embed_online.throughput)
    result.ratios = {
        "online_ttft_p50_beside_batch_vs_alone": ttft_ratio,
        "chat_batch_vs_online_tokens_per_s": chat_ratio,
        "embed_batch_vs_online_inputs_per_s": embed_ratio,
    }
    result.targets = [
        at_most("online TTFT p50 beside a batch / alone", ttft_ratio, 1.5),
        at_least("chat batch / online tokens per second", chat_ratio, 0.8),
    ]
    result.tables.append(
        Table(
            "Online TTFT at concurrency 4 (ms)",
            ("run", "p50", "p99", "errors"),
            [
                ("alone", alone["ttft_p50_ms"], alone["ttft_p99_ms"], alone["errors"]),
                ("beside a batch", beside["ttft_p50_ms"], beside["ttft_p99_ms"], beside["errors"]),
            ],
        )
    )
    result.tables.append(
        Table(
            "Throughput, batch vs online (chat: output tokens/s, embeddings: inputs/s)",
            ("workload", "batch", "online", "ratio"),
            [
                (
                    "chat",
                    round(chat_batch.throughput, 2),
                    round(chat_online.throughput, 2),
                    chat_ratio,
                ),
                (
                    "embeddings",
                    round(embed_batch.throughput, 2),
                    round(embed_online.throughput, 2),
                    embed_ratio,
                ),
            ],
        )
    )
    result.plots.append(
        BarPlot(
            "batch_throughput",
            "Batch vs online throughput",
            "tokens/s (chat), inputs/s (embeddings)",
            ["chat", "embeddings"],
            {
                "batch": [chat_batch.throughput, embed_batch.throughput],
                "online": [chat_online.throughput, embed_online.throughput],
            },
        )
    )
    if not beside["batch_still_running_at_end"]:
        result.notes.append(
            "the background batch ended before the online TTFT load did: the TTFT beside it "
            "is understated (raise --batch-background-lines)"
        )
    for name, run_ in (("chat", chat_batch), ("embeddings", embed_batch)):
        if run_.status != "completed" or run_.failed:
            result.notes.append(
                f"the {name} batch ended {run_.status} with {run_.failed} failed lines"
            )
    return result
