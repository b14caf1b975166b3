"""Dynamic batching in front of an encoder model: pure asyncio, no torch."""

from server.batching.batcher import BatchObserver, BatchRunner, DynamicBatcher
from server.batching.policy import select_batch

__all__ = ["BatchObserver", "BatchRunner", "DynamicBatcher", "select_batch"]
