"""Dynamic batching in front of an encoder model: pure asyncio, no torch."""

from server.encoders.batching.batcher import BatchFn, BatchObserver, DynamicBatcher
from server.encoders.batching.policy import select_batch

__all__ = ["BatchFn", "BatchObserver", "DynamicBatcher", "select_batch"]
