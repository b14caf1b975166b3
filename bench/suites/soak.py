"""Soak: minutes of mixed generation and encoder traffic with cut streams, abandoned requests
and bad inputs, while the server's whole process tree is sampled for resident memory.

Passes when RSS grows at most ``soak_rss_growth_pct`` from just after the warm-up to the end,
every answer was 2xx or an expected 4xx/429 (no 5xx, no connection errors), and the server is
still healthy afterwards.
"""

from __future__ import annotations

import asyncio
import statistics
import urllib.request
from typing import Any

from bench.context import Context, log
from bench.memory import RssSampler
from bench.result import LinePlot, SuiteResult, Table
from bench.soak_traffic import Models, Traffic
from bench.specs import model_entry
from bench.stats import ratio

WINDOW = 3  # samples averaged at each end, so one noisy sample does not decide


def rss_growth(totals: list[tuple[float, float]], warmup_s: float) -> dict[str, Any]:
    """Growth from the first samples after ``warmup_s`` to the last samples, in percent."""
    after = [mib for t, mib in totals if t >= warmup_s]
    if len(after) < 2:
        return {"baseline_mib": None, "end_mib": None, "growth_pct": None}
    n = max(1, min(WINDOW, len(after) // 2))
    baseline = statistics.fmean(after[:n])
    end = statistics.fmean(after[-n:])
    growth = ratio(end - baseline, baseline)
    return {
        "baseline_mib": round(baseline, 1),
        "end_mib": round(end, 1),
        "growth_pct": None if growth is None else round(100 * growth, 2),
    }


def _healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(base_url + "/health", timeout=10) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def run(ctx: Context) -> SuiteResult:
    sizes = ctx.sizes
    models = Models(
        *(str(model_entry(t)["name"]) for t in ("generate", "embed", "classify", "ner"))
    )
    result = SuiteResult(
        "soak",
        {
            "quick": sizes.quick,
            "duration_s": sizes.soak_duration_s,
            "warmup_s": sizes.soak_warmup_s,
            "sample_every_s": sizes.soak_sample_s,
            "max_rss_growth_pct": sizes.soak_rss_growth_pct,
            "clients": {"generate": 2, "encoder": 4, "bad": 1},
            "server": ctx.ours("default").name,
        },
    )
    server = ctx.pool.get(ctx.ours("default"))
    traffic = Traffic(server.base_url, models, seed=sizes.seed)
    log(f"soak: {sizes.soak_duration_s:.0f}s of mixed traffic")
    sampler = RssSampler(server.pid, sizes.soak_sample_s)
    with sampler:
        tally = asyncio.run(traffic.run(sizes.soak_duration_s))
    totals = sampler.totals()
    growth = rss_growth(totals, sizes.soak_warmup_s)
    healthy = _healthy(server.base_url)
    rss_ok = growth["growth_pct"] is not None and growth["growth_pct"] <= sizes.soak_rss_growth_pct
    answers_ok = not tally.unexpected
    result.passed = rss_ok and answers_ok and healthy
    result.results = {
        "requests": tally.requests,
        "deliberate_disconnects": tally.disconnects,
        "statuses": dict(sorted(tally.statuses.items())),
        "unexpected": dict(tally.unexpected),
        "unexpected_samples": tally.samples,
        "rss": growth,
        "rss_samples": totals,
        "rss_per_process_first": sampler.samples[0][1] if sampler.samples else {},
        "rss_per_process_last": sampler.samples[-1][1] if sampler.samples else {},
        "healthy_after": healthy,
        "criteria": {
            "rss_growth": rss_ok,
            "only_expected_statuses": answers_ok,
            "healthy_after": healthy,
        },
    }
    result.tables.append(
        Table(
            "Criteria",
            ("criterion", "value", "pass"),
            [
                (
                    f"RSS growth after warm-up (<= {sizes.soak_rss_growth_pct}%)",
                    growth["growth_pct"],
                    str(rss_ok),
                ),
                (
                    "unexpected answers (5xx, connection errors, wrong 4xx)",
                    sum(tally.unexpected.values()),
                    str(answers_ok),
                ),
                ("healthy after the soak", str(healthy), str(healthy)),
            ],
        )
    )
    result.tables.append(
        Table(
            "Answers by request kind", ("kind and status", "count"), sorted(tally.statuses.items())
        )
    )
    result.plots.append(
        LinePlot(
            "rss",
            "Server process tree RSS during the soak",
            "seconds",
            "MiB",
            {"RSS": totals},
            log_x=False,
        )
    )
    return result
