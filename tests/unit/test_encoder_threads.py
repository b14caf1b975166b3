"""Threads per encoder worker, and for a batch that runs alone."""

from __future__ import annotations

from server.core.settings import EncoderModelConfig
from server.encoders.cpu_budget import CpuBudget


def config(**extra: object) -> EncoderModelConfig:
    return EncoderModelConfig.model_validate(
        {"name": "m", "task": "embed", "source": "bundled:x", "workers": 2, **extra}
    )


def _threads(config: EncoderModelConfig, backend: str, generation: bool) -> tuple[int, int]:
    return CpuBudget(cores=4).threads(config, backend, generation=generation)


def test_alone_takes_every_core_of_the_model_on_an_encoder_only_server() -> None:
    assert _threads(config(), "onnx", generation=False) == (2, 4)


def test_alone_is_off_by_default_beside_a_generative_model() -> None:
    assert _threads(config(), "onnx", generation=True) == (2, 0)
    assert _threads(config(alone_threads=3), "onnx", generation=True) == (2, 3)


def test_alone_needs_onnx_on_cpu_and_more_threads_than_a_worker_has() -> None:
    assert _threads(config(), "torch", generation=False) == (2, 0)
    assert _threads(config(device="cuda:0"), "onnx", generation=False) == (2, 0)
    assert _threads(config(alone_threads=2), "onnx", generation=False) == (2, 0)
    assert _threads(config(alone_threads=0), "onnx", generation=False) == (2, 0)


def test_a_batch_runs_alone_only_while_nothing_else_runs_or_waits() -> None:
    budget = CpuBudget(cores=4)
    assert budget.start_batch(queued=False)  # nothing else: alone
    assert not budget.start_batch(queued=False)  # the first one still runs
    budget.end_batch()
    budget.end_batch()
    assert not budget.start_batch(queued=True)  # inputs wait behind it
    budget.end_batch()
    assert budget.running == 0
