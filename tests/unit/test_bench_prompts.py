"""Benchmark prompts never repeat on a server: vLLM's prefix cache would make them nearly free."""

from __future__ import annotations

from pathlib import Path

from bench.context import Context
from bench.options import Sizes
from bench.suites.mixed import workloads
from bench.vllm_client import levels_for_round


def test_each_round_and_level_draws_its_own_seed() -> None:
    concurrency, prompts = [1, 8, 32], [16, 32, 128]
    plans = [levels_for_round(concurrency, prompts, r, base_seed=5) for r in range(4)]
    measured = [level.seed for plan in plans for level in plan]
    warm = [level.warm_up_seed for plan in plans for level in plan]
    assert len(set(measured)) == len(measured) == 12
    assert len(set(warm)) == len(warm)
    assert not set(measured) & set(warm)
    assert [(x.concurrency, x.prompts) for x in plans[2]] == [(1, 16), (8, 32), (32, 128)]


def test_a_round_is_the_same_for_both_servers() -> None:
    assert levels_for_round([8], [32], 1, base_seed=3) == levels_for_round([8], [32], 1, 3)
    assert levels_for_round([8], [32], 1) != levels_for_round([8], [32], 2)


def test_mixed_phases_send_disjoint_prompts(tmp_path: Path) -> None:
    load = workloads(Context(Sizes(mixed_gen_concurrency=8, enc_requests=16), tmp_path))
    phases = [load.gen_warm_up, load.gen_alone, load.gen_together]
    bodies = [{c.body["messages"][0]["content"] for c in phase} for phase in phases]
    assert [len(b) for b in bodies] == [8, 64, 64]
    assert not (bodies[0] & bodies[1] or bodies[0] & bodies[2] or bodies[1] & bodies[2])
