"""One worker process as the API process sees it: start, send batches, notice its death.

Death is noticed two ways: end-of-file on its socket (immediate), and a periodic ``waitpid``
(in case some forked process inherited the worker's end of the socket and keeps it open).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import multiprocessing
import socket
from collections.abc import Callable

from server.core.errors import Unavailable
from server.encoders.shared import ipc
from server.encoders.shared.spec import ModelDescription, WorkerSpec

log = logging.getLogger("server.encoders.pool")

WATCH_INTERVAL_S = 1.0
JOIN_TIMEOUT_S = 5.0

# The worker process's entry point (tests pass a torch-free one).
WorkerMain = Callable[[socket.socket, WorkerSpec], None]
# The worker package, named rather than imported: only the spawned process imports it, so
# the API process never loads worker code (nor, through it, torch).
WORKER_MODULE = "server.encoders.workers.main"


def run_worker(sock: socket.socket, spec: WorkerSpec) -> None:
    """The default :data:`WorkerMain`: in the spawned process, import the worker and run it."""
    importlib.import_module(WORKER_MODULE).run_worker(sock, spec)


class NotStarted(Exception):
    """The worker died before reading this batch: it can safely run on another worker."""


class WorkerFailed(RuntimeError):
    """The forward pass raised in the worker (a bug or a resource limit, not the client's)."""


class WorkerProcess:
    """A spawned worker and its socket; ``run`` sends a batch and awaits its outputs."""

    def __init__(
        self,
        spec: WorkerSpec,
        index: int,
        on_exit: Callable[[WorkerProcess], None],
        target: WorkerMain = run_worker,
    ) -> None:
        self.spec = spec
        self._target = target
        self.index = index
        self.in_flight = 0
        self.alive = False
        self.exitcode: int | None = None
        self._on_exit = on_exit
        self._process: multiprocessing.process.BaseProcess | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[int, asyncio.Future[ipc.BatchDone]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self, timeout: float) -> ModelDescription:
        """Spawn the process and wait until its model is loaded."""
        context = multiprocessing.get_context("spawn")
        ours, theirs = socket.socketpair()
        process = context.Process(
            target=self._target,
            args=(theirs, self.spec),
            name=f"encoder-{self.spec.model}-{self.index}",
            daemon=True,
        )
        self._process = process
        try:
            process.start()  # fork+exec of a fresh interpreter: milliseconds
        finally:
            theirs.close()  # only the worker may hold its end, or its death goes unnoticed
        try:
            reader, writer = await asyncio.open_connection(sock=ours)
            self._writer = writer
            async with asyncio.timeout(timeout):
                message = await ipc.read(reader)
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError) as exc:
            self._kill_now()
            reason = "timed out" if isinstance(exc, TimeoutError) else "exited"
            raise RuntimeError(
                f"worker {self.index} of model {self.spec.model} {reason} while loading "
                f"(exit code {process.exitcode}); see the log above"
            ) from None
        except BaseException:  # cancelled (the server stops while this worker loads)
            self._kill_now()
            raise
        if isinstance(message, ipc.LoadFailed):
            self._kill_now()
            raise RuntimeError(f"model {self.spec.model} failed to load: {message.error}")
        assert isinstance(message, ipc.Ready)
        self.alive = True
        self._tasks = [
            asyncio.create_task(self._read_loop(reader), name=f"{process.name}-reader"),
            asyncio.create_task(self._watch(), name=f"{process.name}-watch"),
        ]
        log.info(
            "worker %d of %s ready (pid %s, loaded in %.1fs, %s)",
            self.index,
            self.spec.model,
            message.pid,
            message.load_seconds,
            f"with {', '.join(message.heavy_modules)}" if message.heavy_modules else "no torch",
        )
        return message.description

    async def run(self, batch: ipc.RunBatch) -> ipc.BatchDone:
        """Send ``batch`` and wait for its outputs; ``Unavailable`` if the worker dies."""
        if not self.alive or self._writer is None:
            raise Unavailable("the worker for this model is restarting; retry the request")
        future: asyncio.Future[ipc.BatchDone] = asyncio.get_running_loop().create_future()
        self._pending[batch.batch_id] = future
        try:
            self._writer.write(ipc.encode(batch))
            await self._writer.drain()
        except ConnectionError:
            self._pending.pop(batch.batch_id, None)
            raise Unavailable("the worker for this model died; retry the request") from None
        return await future

    async def stop(self, timeout: float) -> None:
        """Ask the worker to exit; kill it if it does not within ``timeout``."""
        self._stopping = True
        process = self._process
        if self.alive and self._writer is not None and process is not None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                self._writer.write(ipc.encode(ipc.Shutdown()))
                await self._writer.drain()
            await asyncio.to_thread(process.join, timeout)
        self._kill_now()
        self._mark_dead("the model is shutting down", shutting_down=True)

    # -- death ---------------------------------------------------------------------------------

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                message = await ipc.read(reader)
                future = self._pending.pop(message.batch_id, None)
                if future is None or future.done():
                    continue
                if isinstance(message, ipc.BatchDone):
                    future.set_result(message)
                else:
                    future.set_exception(WorkerFailed(f"the model failed: {message.error}"))
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass  # the worker is gone
        except Exception:
            # A message we cannot read: the stream is out of step, so this worker is unusable.
            log.exception(
                "worker %d of %s sent a bad message; killing it", self.index, self.spec.model
            )
            self._kill_now()
        await self._died()

    async def _watch(self) -> None:
        while self.alive:
            await asyncio.sleep(WATCH_INTERVAL_S)
            if self._process is not None and self._process.exitcode is not None:
                await self._died()
                return

    async def _died(self) -> None:
        if not self.alive:
            return
        self.alive = False  # first: no new batch may be sent while we reap the process
        process = self._process
        if process is not None:
            await asyncio.to_thread(process.join, JOIN_TIMEOUT_S)
            self.exitcode = process.exitcode
        self._mark_dead(
            "the worker running this request died (exit code "
            f"{self.exitcode}); the pool is restarting it, retry the request"
        )
        if not self._stopping:
            self._on_exit(self)

    def _mark_dead(self, reason: str, *, shutting_down: bool = False) -> None:
        self.alive = False
        if self._writer is not None:
            self._writer.close()
        pending, self._pending = self._pending, {}
        # A worker reads its next batch only after answering the previous one, so the oldest
        # unanswered batch is the one it was running; the others never started.
        for position, future in enumerate(pending.values()):
            if future.done():
                continue
            if position == 0 or shutting_down:
                future.set_exception(Unavailable(reason))
            else:
                future.set_exception(NotStarted())
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()

    def _kill_now(self) -> None:
        # Workers ignore SIGTERM (they stop on our message), so SIGKILL; it ends at once.
        process = self._process
        # pid is None when start() itself failed: there is nothing to kill.
        if process is not None and process.pid is not None and process.exitcode is None:
            process.kill()
            process.join(JOIN_TIMEOUT_S)
        if self._writer is not None:
            self._writer.close()
