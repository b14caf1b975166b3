"""The worker pool of one model: spreads batches over its workers and replaces dead ones.

Worker 0 may hold a second, wider runtime session (``WorkerSpec.alone_threads``, sized by
``cpu_budget``): a batch the batcher marks alone goes there when it is free, and runs on
every core of the model."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
from collections.abc import Callable

import numpy as np

from server.core.errors import Unavailable
from server.encoders.pool.worker_process import NotStarted, WorkerMain, WorkerProcess, run_worker
from server.encoders.shared import ipc
from server.encoders.shared.spec import (
    ROW_HEADS,
    Features,
    ModelDescription,
    Payload,
    TextFeatures,
    WorkerSpec,
    rows_per_input,
)

log = logging.getLogger("server.encoders.pool")

# Batches in flight per worker of a pool of one: one running, one (full) waiting in its
# socket, so that the worker starts the next batch the moment it finishes one instead of
# waiting for the API process. A pool of several workers sends none ahead (see
# ``pipeline_depth``).
LONE_WORKER_DEPTH = 2
START_TIMEOUT_S = 600.0
# How long a batch waits for a replacement worker before failing with 503.
NO_WORKER_TIMEOUT_S = 120.0
MAX_RESTART_DELAY_S = 30.0
# Consecutive failed restarts after which the pool gives up (and the server reports itself
# unhealthy, so that its supervisor restarts it).
MAX_FAILED_RESTARTS = 5
STOP_TIMEOUT_S = 10.0


def pipeline_depth(workers: int) -> int:
    """Batches in flight per worker. A batch waiting in one worker's socket cannot move to
    another: with several workers, the one that finishes first then idles while the batch
    sent ahead waits behind a running one. Measured at 64 clients on 2 cores with 2 workers,
    depth 2 left one worker idle for stretches (classification and NER 274-295 inputs/s,
    the workers' CPU split 3.4 / 2.6 ms per input, the cores idle 0.35-0.7 ms per input);
    depth 1 kept them even (293-310 inputs/s, 3.0 / 3.0 ms, idle 0.05-0.13 ms: the round
    trip between two batches costs the cores 1-2% of their time)."""
    return LONE_WORKER_DEPTH if workers == 1 else 1


class WorkerPool:
    """``size`` worker processes of one model, used as the batcher's runner."""

    def __init__(
        self,
        spec: WorkerSpec,
        size: int,
        *,
        on_restart: Callable[[], None] = lambda: None,
        on_inference: Callable[[float], None] = lambda seconds: None,
        target: WorkerMain = run_worker,
    ) -> None:
        self.spec = spec
        self.size = size
        self.depth = pipeline_depth(size)
        self._target = target
        self.description: ModelDescription | None = None
        self._workers: list[WorkerProcess] = []
        self._on_restart = on_restart
        self._on_inference = on_inference
        self._available = asyncio.Event()
        self._batch_ids = itertools.count()
        self._restarts: set[asyncio.Task[None]] = set()
        self._stopping = False
        self.broken = False

    @property
    def pids(self) -> list[int]:
        """Process ids of the live workers."""
        return [w.pid for w in self._workers if w.alive and w.pid is not None]

    async def start(self) -> ModelDescription:
        """Start every worker; raise (after stopping the others) if one cannot load the model."""
        self._workers = [self._new_worker(i) for i in range(self.size)]
        results = await asyncio.gather(
            *(w.start(START_TIMEOUT_S) for w in self._workers), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            await self.stop()
            raise errors[0]
        self.description = next(r for r in results if isinstance(r, ModelDescription))
        self._available.set()
        return self.description

    def _new_worker(self, index: int) -> WorkerProcess:
        spec = self.spec if index == 0 else dataclasses.replace(self.spec, alone_threads=0)
        return WorkerProcess(spec, index, self._worker_exited, self._target)

    async def stop(self) -> None:
        """Stop every worker and any restart in progress."""
        self._stopping = True
        for task in self._restarts:
            task.cancel()
        await asyncio.gather(*self._restarts, return_exceptions=True)
        await asyncio.gather(*(w.stop(STOP_TIMEOUT_S) for w in self._workers))

    # -- running batches ----------------------------------------------------------------------

    async def run(self, payloads: list[Payload], alone: bool = False) -> list[np.ndarray]:
        """Outputs for each payload, in order (the batcher's runner); ``alone``: nothing else
        of this model runs or waits."""
        batch = _pack(next(self._batch_ids), payloads)
        alone = alone and self.spec.alone_threads > 0  # only worker 0 then has a wide session
        while True:
            worker = await self._acquire(alone)
            batch.alone = alone and worker.index == 0
            try:
                done = await worker.run(batch)
                break
            except NotStarted:
                continue  # its worker died before reading it: send it to the replacement
            finally:
                worker.in_flight -= 1
                self._available.set()
        self._on_inference(done.seconds)
        if done.text_tokens is not None:
            _fill_texts([p for p in payloads if isinstance(p, TextFeatures)], done)
        if done.text_tokens is not None and done.token_info is not None:
            # texts read in windows: each one's rows are its tokens
            return _split(done.output, done.text_tokens[:, 0])
        description = self.description
        if description is not None and description.head in ROW_HEADS:
            counts = rows_per_input(description.head, batch.ids, batch.lengths, description.mask_id)
            return _split(done.output, counts)
        return list(done.output)

    def _pick(self, alone: bool = False) -> WorkerProcess | None:
        first = self._workers[0] if self._workers else None
        if alone and first is not None and first.alive and first.in_flight == 0:
            return first
        best: WorkerProcess | None = None
        for worker in self._workers:
            free = worker.alive and worker.in_flight < self.depth
            if free and (best is None or worker.in_flight < best.in_flight):
                best = worker
        return best

    async def _acquire(self, alone: bool) -> WorkerProcess:
        worker = self._pick(alone)
        if worker is None:
            try:
                async with asyncio.timeout(NO_WORKER_TIMEOUT_S):
                    while (worker := self._pick()) is None:
                        if self._stopping or self.broken:
                            raise Unavailable("no worker of this model can run; see the log")
                        self._available.clear()
                        await self._available.wait()
            except TimeoutError:
                raise Unavailable("no worker of this model is running; retry later") from None
        worker.in_flight += 1
        return worker

    # -- restarts -----------------------------------------------------------------------------

    def _worker_exited(self, worker: WorkerProcess) -> None:
        log.error(
            "worker %d of model %s (pid %s) died with exit code %s; its batch failed, restarting",
            worker.index,
            self.spec.model,
            worker.pid,
            worker.exitcode,
        )
        self._on_restart()
        task = asyncio.create_task(self._restart(worker.index), name=f"restart-{self.spec.model}")
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)

    async def _restart(self, index: int) -> None:
        delay = 0.0
        for attempt in range(1, MAX_FAILED_RESTARTS + 1):
            if self._stopping:
                return
            if delay:
                await asyncio.sleep(delay)
            worker = self._new_worker(index)
            self._workers[index] = worker
            try:
                await worker.start(START_TIMEOUT_S)
            except Exception:
                log.exception(
                    "restarting worker %d of model %s failed (attempt %d of %d)",
                    index,
                    self.spec.model,
                    attempt,
                    MAX_FAILED_RESTARTS,
                )
                delay = min(max(1.0, delay * 2), MAX_RESTART_DELAY_S)
                continue
            log.info("worker %d of model %s restarted (pid %s)", index, self.spec.model, worker.pid)
            self._available.set()
            return
        if not self._stopping:
            log.critical("giving up on worker %d of model %s", index, self.spec.model)
            self.broken = True
            self._available.set()  # waiting batches fail now instead of timing out


def _fill_texts(texts: list[TextFeatures], done: ipc.BatchDone) -> None:
    """What the worker learned of each text: its token counts and, read in windows, the
    windows and their tokens' spans and flags."""
    assert done.text_tokens is not None
    counts = done.text_tokens.tolist()
    for payload, (tokens, whole, _) in zip(texts, counts, strict=True):
        payload.tokens, payload.whole = tokens, whole
    if done.window_lengths is None or done.token_info is None:
        return
    windows = _split(done.window_lengths, done.text_tokens[:, 2])
    infos = _split(done.token_info, done.text_tokens[:, 0])
    for payload, own, info in zip(texts, windows, infos, strict=True):
        payload.windows, payload.token_info = own.tolist(), info


def _split(rows: np.ndarray, counts: np.ndarray) -> list[np.ndarray]:
    """``rows`` in consecutive blocks of ``counts`` rows (views; ``np.split`` costs more)."""
    ends = np.cumsum(counts).tolist()
    return [rows[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True)]


def _pack(batch_id: int, payloads: list[Payload]) -> ipc.RunBatch:
    texts = [p.text for p in payloads if isinstance(p, TextFeatures)]
    if len(texts) == len(payloads):  # the usual batch: texts only, the worker tokenizes
        lengths = np.full(len(texts), ipc.TEXT, dtype=np.int32)
        return ipc.RunBatch(batch_id, np.empty(0, np.int32), lengths, None, texts=texts)
    lengths = np.fromiter(
        (len(p.ids) if isinstance(p, Features) else ipc.TEXT for p in payloads),
        dtype=np.int32,
        count=len(payloads),
    )
    tokenized = [p for p in payloads if isinstance(p, Features)]
    ids = np.concatenate([p.ids for p in tokenized])
    type_ids = None
    if any(p.type_ids is not None for p in tokenized):
        type_ids = np.concatenate(
            [
                p.type_ids if p.type_ids is not None else np.zeros(len(p.ids), np.int8)
                for p in tokenized
            ]
        )
    generation = [p.generation for p in tokenized if p.generation is not None]
    if generation and len(generation) != len(payloads):
        raise ValueError("a batch mixes generation and encoder inputs")
    return ipc.RunBatch(
        batch_id, ids, lengths, type_ids, generation=generation or None, texts=texts or None
    )
