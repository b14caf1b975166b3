"""A vLLM stat logger that hands the scheduler's running/waiting counts to a callback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vllm.v1.metrics.loggers import StatLoggerBase


def scheduler_stats_logger(on_stats: Callable[[int, int], None]) -> Any:
    """A stat-logger factory for ``AsyncLLM(stat_loggers=[...])``."""

    class _SchedulerStatsLogger(StatLoggerBase):
        def __init__(self, vllm_config: Any, engine_index: int = 0) -> None:
            self.engine_index = engine_index

        def record(
            self,
            scheduler_stats: Any,
            iteration_stats: Any,
            mm_cache_stats: Any = None,
            engine_idx: int = 0,
        ) -> None:
            if scheduler_stats is not None:
                on_stats(scheduler_stats.num_running_reqs, scheduler_stats.num_waiting_reqs)

        def log_engine_initialized(self) -> None:
            pass

    return _SchedulerStatsLogger
