"""Prompt caching: what vLLM's prefix cache gives and what it costs, on our server.

Two servers of the default generative model, the prefix cache on (vLLM's default, which our
default config keeps) and off, measured back to back in each round, who goes first
alternating:

- **Shared prefix**: requests one at a time whose prompts share a long prefix (a system prompt
  and a document of about 1,500 tokens) and differ in their last line: time to first token,
  and the ``cached_tokens`` the server reports (all of the prefix but its last partial block
  with the cache on; 0 with it off).
- **No reuse**: concurrent requests with prompts that share nothing, the case where the cache
  can only cost: output tokens/s and TTFT. This is the check that keeping it on costs nothing.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

import httpx

from bench.context import Context, log
from bench.result import SuiteResult, Table
from bench.specs import model_entry, ours
from bench.stats import at_least, at_most, median_known, percentile, ratio

LABELS = ("on", "off")
DOCUMENT_WORDS = 1100  # about 1,500 tokens with the chat template: inside max_model_len 2048
WORDS = tuple(
    [
        "river",
        "stone",
        "lamp",
        "cloud",
        "orbit",
        "violet",
        "harbor",
        "meadow",
        "copper",
        "signal",
        "winter",
        "garden",
        "falcon",
        "marble",
        "engine",
        "canyon",
        "silver",
        "thunder",
        "lantern",
        "pepper",
    ]
)


def _words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(count))


async def _ttft(
    client: httpx.AsyncClient, model: str, messages: list[dict[str, str]], max_tokens: int
) -> tuple[float, int, int]:
    """Time to the first token of a streamed chat completion, its cached prompt tokens and
    its output tokens (from the usage chunk)."""
    body = {
        "model": model,
        "messages": messages,
        "max_tokens": max_tokens,
        "temperature": 0,
        "ignore_eos": True,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    started = time.perf_counter()
    first: float | None = None
    usage: dict[str, Any] = {}
    async with client.stream("POST", "/v1/chat/completions", json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if not line.startswith("data: {"):
                continue
            chunk = json.loads(line[6:])
            if first is None and chunk.get("choices"):
                first = time.perf_counter() - started
            usage = chunk.get("usage") or usage
    details = usage.get("prompt_tokens_details") or {}
    return (first or 0.0), int(details.get("cached_tokens", 0)), int(usage["completion_tokens"])


async def _shared_prefix(base_url: str, model: str, requests: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    system = "You answer questions about the document below. " + _words(rng, 40)
    document = _words(rng, DOCUMENT_WORDS)
    times, cached = [], []
    async with httpx.AsyncClient(base_url=base_url, timeout=300) as client:
        for i in range(requests + 1):
            messages = [
                {"role": "system", "content": system},
                {"role": "user", "content": f"{document}\n\nQuestion {i}: {_words(rng, 8)}?"},
            ]
            ttft, hit, _ = await _ttft(client, model, messages, 1)
            if i:  # the first request fills the cache
                times.append(ttft * 1000)
                cached.append(hit)
    return {"ttft_ms_p50": percentile(times, 50), "cached_tokens_p50": percentile(cached, 50)}


async def _no_reuse(
    base_url: str, model: str, requests: int, concurrency: int, seed: int
) -> dict[str, Any]:
    rng = random.Random(seed)
    # A random first word per prompt: no two prompts share even the template's first block
    # beyond the chat template's own opening.
    prompts = [f"{rng.randrange(10**9)} {_words(rng, 90)}" for _ in range(requests)]
    queue = list(prompts)
    ttfts: list[float] = []
    tokens = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal tokens
        while queue:
            prompt = queue.pop()
            ttft, _, produced = await _ttft(
                client, model, [{"role": "user", "content": prompt}], 32
            )
            ttfts.append(ttft * 1000)
            tokens += produced

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=base_url, timeout=300) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {"output_tokens_per_s": tokens / elapsed, "ttft_ms_p50": percentile(ttfts, 50)}


def run(ctx: Context) -> SuiteResult:
    sizes = ctx.sizes
    eager = sizes.gen_enforce_eager
    specs = {
        label: ours(
            "generate",
            eager=eager,
            engine={"enable_prefix_caching": label == "on"},
            tag=f"-cache-{label}",
        )
        for label in LABELS
    }
    model = str(model_entry("generate")["name"])
    shared_n = 4 if sizes.quick else 12
    unique_n = 16 if sizes.quick else 64
    concurrency = 8
    servers = ctx.pool.hold([specs["on"], specs["off"]])
    urls = {label: server.base_url for label, server in zip(LABELS, servers, strict=True)}
    rounds: list[dict[str, dict[str, Any]]] = []
    for round_ in range(sizes.rounds):
        measured: dict[str, dict[str, Any]] = {}
        order = LABELS if round_ % 2 == 0 else LABELS[::-1]
        for label in order:
            log(f"caching: round {round_ + 1}, prefix cache {label}")
            seed = 1000 * round_
            shared = asyncio.run(_shared_prefix(urls[label], model, shared_n, seed))
            unique = asyncio.run(_no_reuse(urls[label], model, unique_n, concurrency, seed + 1))
            measured[label] = {"shared_prefix": shared, "no_reuse": unique}
        rounds.append(measured)

    def pairs(part: str, key: str) -> list[float | None]:
        return [ratio(r["on"][part][key], r["off"][part][key]) for r in rounds]

    result = SuiteResult(
        "caching",
        {
            "model": model,
            "shared_prefix": f"{shared_n} requests one at a time, a ~1,500-token shared prefix,"
            " 1 output token",
            "no_reuse": f"{unique_n} unique ~120-token prompts, concurrency {concurrency},"
            " 32 output tokens (EOS ignored)",
            "rounds": sizes.rounds,
            "enforce_eager": eager,
        },
        results={"rounds": rounds},
    )
    result.ratios["shared_prefix_ttft_on_vs_off"] = median_known(
        pairs("shared_prefix", "ttft_ms_p50")
    )
    result.ratios["no_reuse_tokens_per_s_on_vs_off"] = median_known(
        pairs("no_reuse", "output_tokens_per_s")
    )
    result.ratios["no_reuse_ttft_p50_on_vs_off"] = median_known(pairs("no_reuse", "ttft_ms_p50"))
    result.targets += [
        at_most(
            "TTFT of a cached 1,500-token prefix vs no cache",
            result.ratios["shared_prefix_ttft_on_vs_off"],
            0.5,
        ),
        at_least(
            "output tokens/s with no reuse, cache on vs off",
            result.ratios["no_reuse_tokens_per_s_on_vs_off"],
            0.95,
        ),
    ]

    def cell(label: str, part: str, key: str) -> float | None:
        return median_known([r[label][part][key] for r in rounds])

    result.tables.append(
        Table(
            "Prefix cache on vs off (medians over rounds)",
            (
                "prefix cache",
                "shared prefix TTFT p50 ms",
                "cached tokens reported",
                "no reuse tokens/s",
                "no reuse TTFT p50 ms",
            ),
            [
                (
                    label,
                    cell(label, "shared_prefix", "ttft_ms_p50"),
                    cell(label, "shared_prefix", "cached_tokens_p50"),
                    cell(label, "no_reuse", "output_tokens_per_s"),
                    cell(label, "no_reuse", "ttft_ms_p50"),
                )
                for label in LABELS
            ],
        )
    )
    return result
