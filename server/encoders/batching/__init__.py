"""Dynamic batching in front of an encoder model: pure asyncio, no torch."""

from server.encoders.batching.batcher import (
    BatchObserver,
    BatchRunner,
    DynamicBatcher,
    RunningBatches,
)
from server.encoders.batching.policy import select_batch

__all__ = ["BatchObserver", "BatchRunner", "DynamicBatcher", "RunningBatches", "select_batch"]
