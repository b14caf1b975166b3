"""``CpuBudget``: the cores the encoder models of this process share, and when a batch may
take all of them.

Every decision about "a batch alone" is made here; the rest receives plain values:

- **Threads per worker**: the model's share of the cores (``torch_threads``, else the cores
  split over its workers).
- **Threads of the session for a batch alone**: with ONNX Runtime on a CPU, worker 0 may hold
  a second, wider session, so that a lone request runs on every core of the model instead of
  one worker's share. By default only on a server without a generative model: the engine
  shares the CPU, and a lone embedding client beside 8 chat clients cost generation 18% of
  its tokens/s with the wide session (82.9 vs 101.6) for 0.6 ms of embedding latency.
  The worker spec carries the number (``WorkerSpec.alone_threads``, 0 for none).
- **Whether a batch runs alone now**: only while no batch of any model sharing this budget
  runs and nothing waits behind it in its own queue. The encoder models on the CPU share one
  budget: two lone requests to two models at once would otherwise each take every core
  (p50 18-19 ms instead of 14 ms for such a pair here). The batcher asks for every batch
  it starts and tells the pool the answer.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from server.core.settings import EncoderModelConfig
from server.encoders.shared.backend_choice import ONNX


def available_cores() -> int:
    """The cores this process may run on (its affinity mask where the OS has one)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, cores or 1)


class WorkerThreads(NamedTuple):
    """How many threads a model's workers run."""

    per_worker: int
    alone: int  # threads of worker 0's session for a batch alone; 0: no such session


class CpuBudget:
    """The cores shared by the encoder models that hold this budget, and their running batches.

    ``cores``: fixed for tests; by default the process's cores, read when threads are sized.
    """

    def __init__(self, cores: int | None = None) -> None:
        self._cores = cores
        self._running = 0

    @property
    def cores(self) -> int:
        return self._cores if self._cores is not None else available_cores()

    @property
    def running(self) -> int:
        """Batches in flight across the models that share this budget."""
        return self._running

    def threads(
        self, config: EncoderModelConfig, backend: str, *, generation: bool
    ) -> WorkerThreads:
        """Threads per worker of ``config``'s model on ``backend`` (resolved), and for a
        batch alone; ``generation``: a generative model shares the CPU."""
        cores = self.cores
        threads = config.torch_threads or max(1, cores // config.workers)
        if backend != ONNX or config.device != "cpu":
            return WorkerThreads(threads, 0)
        alone = config.alone_threads
        if alone is None:
            alone = 0 if generation else min(threads * config.workers, cores)
        return WorkerThreads(threads, alone if alone > threads else 0)

    def start_batch(self, *, queued: bool) -> bool:
        """Count a batch that starts now; True if it may run alone: no batch of any model on
        this budget runs, and nothing is ``queued`` behind it."""
        alone = not self._running and not queued
        self._running += 1
        return alone

    def end_batch(self) -> None:
        """A batch counted by :meth:`start_batch` finished (or failed)."""
        self._running -= 1
