"""The Batch API's objects for one app, built from its state in one call."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, FastAPI

from server.batches.dispatch import Dispatcher
from server.batches.files import FilesService
from server.batches.message_batches.router import message_batches_router
from server.batches.message_batches.service import MessageBatchService
from server.batches.router import STREAMED_PATHS, batches_router
from server.batches.runner import BatchRunner
from server.batches.service import BatchService
from server.state import ServerState
from server.store.batches import BatchStore
from server.store.files import FileStore


@dataclass
class BatchApi:
    """Files, batches and the runner of one server process."""

    dispatcher: Dispatcher
    runner: BatchRunner
    router: APIRouter
    streamed_paths: frozenset[str] = STREAMED_PATHS

    @property
    def internal_key(self) -> str:
        """The credential the runner's own requests carry past the API-key check."""
        return self.dispatcher.key

    def start(self, app: FastAPI) -> None:
        self.dispatcher.bind(app)
        self.runner.start()

    async def stop(self) -> None:
        await self.runner.stop()
        await self.dispatcher.close()


def build_batch_api(state: ServerState, owner: str) -> BatchApi:
    """The Batch API of the server whose state is ``state``; ``owner`` names this process."""
    settings = state.settings.batches
    store = BatchStore(state.store, owner)
    file_store = FileStore(state.store)
    files = FilesService(file_store, state.settings.store.max_file_bytes)
    dispatcher = Dispatcher(state.registry, settings)

    def may_run() -> bool:
        return state.registry.ready and not state.lifecycle.drain.draining

    runner = BatchRunner(store, file_store, dispatcher, settings, state.metrics, may_run)
    service = BatchService(store, files, runner, settings)
    router = batches_router(files, service)
    # Anthropic's Message Batches: the same runner and store, another view.
    router.include_router(message_batches_router(MessageBatchService(service, settings)))
    return BatchApi(dispatcher, runner, router)
