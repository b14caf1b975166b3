"""Sizes of every suite: the full defaults, the ``--quick`` smoke sizes, CLI overrides."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Sizes:
    """Counts, concurrency levels and durations; the defaults are the full run."""

    quick: bool = False
    # Each comparison is repeated this many times, servers alternating, and its median
    # reported: on a shared 2-core host one pass varies by about 10%.
    rounds: int = 3
    # One server with every model serves every suite (the quick smoke: one start, not three).
    shared_server: bool = False
    gen_concurrency: tuple[int, ...] = (1, 8, 32)
    # Per level; default four waves, max(16, 4 x concurrency).
    gen_prompts: int | None = None
    gen_input_len: int = 128
    gen_output_len: int = 64
    # Every generation server in eager mode (no graph compilation at start): the quick smoke
    # only, where two cold compilations would double its start-up; measured runs keep
    # each server's own defaults.
    gen_enforce_eager: bool = False
    enc_concurrency: tuple[int, ...] = (1, 8, 64)
    enc_requests: int = 2048
    seed: int = 0
    ceiling_batch_sizes: tuple[int, ...] = (1, 8, 16, 32, 64)
    ceiling_threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    vllm_pooling: bool = True
    # Long enough for several waves of generation requests (each takes 15-30 s here).
    mixed_duration_s: float = 90.0
    mixed_gen_concurrency: int = 8
    mixed_embed_concurrency: int = 64
    # The batch suite: a chat batch (its lines and output length), the online TTFT load run
    # beside it, the engine's best online concurrency, and an embeddings batch.
    batch_chat_lines: int = 2000
    # The batch running beside the online TTFT load (cancelled after it, so it costs no time).
    batch_background_lines: int = 2000
    batch_output_len: int = 32
    batch_ttft_requests: int = 48
    batch_ttft_concurrency: int = 4
    batch_gen_concurrency: int = 32
    batch_embed_lines: int = 20_000
    batch_embed_clients: int = 64
    batch_in_flight: int = 64
    footprint_load_s: float = 20.0
    soak_duration_s: float = 600.0
    soak_warmup_s: float = 60.0
    soak_sample_s: float = 5.0
    soak_rss_growth_pct: float = 5.0

    def prompts_at(self, concurrency: int) -> int:
        return self.gen_prompts or max(16, 4 * concurrency)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


QUICK = Sizes(
    quick=True,
    shared_server=True,
    rounds=1,
    gen_concurrency=(4,),
    gen_prompts=4,
    gen_output_len=32,
    gen_enforce_eager=True,
    enc_concurrency=(8,),
    enc_requests=64,
    ceiling_batch_sizes=(1, 16),
    vllm_pooling=False,
    mixed_duration_s=4.0,
    mixed_gen_concurrency=4,
    mixed_embed_concurrency=8,
    batch_chat_lines=48,
    batch_background_lines=96,
    batch_output_len=16,
    batch_ttft_requests=8,
    batch_gen_concurrency=16,
    batch_embed_lines=512,
    footprint_load_s=4.0,
    soak_duration_s=30.0,
    soak_warmup_s=8.0,
    soak_sample_s=1.0,
)


def sizes(quick: bool, **overrides: Any) -> Sizes:
    """The full or quick sizes with every non-None override applied."""
    base = QUICK if quick else Sizes()
    return replace(base, **{k: v for k, v in overrides.items() if v is not None})
