"""The worker process: load one model, then run batches sent over its socket until told to stop.

Started with the 'spawn' context, so this module imports nothing heavy at the top: the thread
count must be in the environment before torch is first imported.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from server.core.heap import freeze_startup_heap
from server.encoders.shared import ipc
from server.encoders.shared.backend_choice import ONNX
from server.encoders.shared.spec import Head, ModelDescription, WorkerSpec
from server.encoders.workers.text_inputs import TextTokenizer

log = logging.getLogger("server.encoders.worker")

WARMUP_SHAPE = (2, 16)
HEAVY_MODULES = ("torch", "transformers")

# One batch -> its outputs; see server.encoders.workers.forward.BatchForward and
# server.encoders.workers.generate.Seq2SeqForward.
Forward = Callable[[ipc.RunBatch], np.ndarray]


def _configure_process(spec: WorkerSpec) -> None:
    # Ctrl-C and a SIGTERM to the whole process group (timeout(1), systemd) reach workers too:
    # the API process decides when they stop, after finishing the batches in flight. If the
    # API process dies, the worker sees its socket close and exits.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(spec.threads)
    _name_process(f"enc-{spec.model}")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from server.core.logs import configure_logging

    configure_logging(spec.log_level, spec.log_format)


def _name_process(name: str) -> None:
    """Show the model in ps/top (Linux keeps 15 characters); best effort elsewhere."""
    try:
        with open("/proc/self/comm", "w") as comm:
            comm.write(name[:15])
    except OSError:
        pass


def heavy_modules() -> tuple[str, ...]:
    """The heavy libraries this process has imported (see ``ipc.Ready``)."""
    return tuple(name for name in HEAVY_MODULES if name in sys.modules)


def run_worker(sock: socket.socket, spec: WorkerSpec) -> None:
    """Process entry point: answer ``Ready`` (or ``LoadFailed``), then serve batches."""
    _configure_process(spec)
    started = time.perf_counter()
    try:
        forward, description = _load(spec)
    except Exception as exc:
        log.exception("loading %s failed", spec.path)
        ipc.send_blocking(sock, ipc.LoadFailed(f"{type(exc).__name__}: {exc}"))
        sys.exit(1)
    texts = TextTokenizer(description) if description.tokenizer_json else None
    freeze_startup_heap()
    ready = ipc.Ready(os.getpid(), description, time.perf_counter() - started, heavy_modules())
    ipc.send_blocking(sock, ready)
    log.info(
        "worker for %s ready in %.1fs (pid %d, %s, %d threads)",
        spec.model,
        time.perf_counter() - started,
        os.getpid(),
        description.backend,
        spec.threads,
    )
    _serve(sock, forward, texts, spec.model)
    # Nothing left to flush but logs; skipping interpreter teardown (torch's takes seconds)
    # makes shutdown and restarts quick.
    logging.shutdown()
    os._exit(0)


def _load(spec: WorkerSpec) -> tuple[Forward, ModelDescription]:
    """The worker's batch function and its model's description: from a verified ONNX export's
    record without torch when there is one, else through Transformers."""
    if spec.backend == ONNX:
        verified = _load_verified(spec)
        if verified is not None:
            return verified
    return _load_transformers(spec)


def _load_verified(spec: WorkerSpec) -> tuple[Forward, ModelDescription] | None:
    """ONNX Runtime on an export whose parity check passed before (see
    ``backends.verified``): neither torch nor transformers is imported."""
    from server.encoders.workers.backends import verified
    from server.encoders.workers.forward import BatchForward
    from server.encoders.workers.numpy_heads import dense_available

    description = verified.load(spec)
    if description is None:
        return None
    if description.pooling is not None and not dense_available(description.pooling):
        return None
    try:
        runner = verified.onnx_runner(spec, verified.mapped_file(spec, description.head))
        forward = BatchForward(runner, description, description.pooling)
        description = _warm_up(forward, runner.wide, description)
    except Exception as exc:
        log.warning(
            "%s: the verified ONNX export did not load (%s: %s); loading with Transformers",
            spec.model,
            type(exc).__name__,
            exc,
        )
        return None
    log.info("%s: verified ONNX export, loaded without torch", spec.model)
    return _batch_function(forward), description


def _load_transformers(spec: WorkerSpec) -> tuple[Forward, ModelDescription]:
    import torch
    from transformers.utils import logging as hf_logging

    from server.encoders.workers.backends import verified
    from server.encoders.workers.backends.build import build_runner
    from server.encoders.workers.backends.runners import OnnxRunner
    from server.encoders.workers.forward import BatchForward
    from server.encoders.workers.loading import DTYPES, load

    hf_logging.disable_progress_bar()
    torch.set_num_threads(spec.threads)
    model, description, pooling = load(spec)
    if description.head is Head.SEQ2SEQ:
        return _seq2seq_forward(model, description), description  # torch only
    runner, backend = build_runner(spec, model, description)
    del model  # the ONNX runner does not need the torch weights
    description = dataclasses.replace(description, backend=backend)
    if backend == "torch":
        forward = BatchForward(runner, description, pooling, dtype=DTYPES[spec.dtype])
    else:  # ONNX Runtime's outputs are numpy arrays: pooling and heads run in numpy
        forward = BatchForward(runner, description, pooling)
    description = _warm_up(forward, runner.wide, description)
    if isinstance(runner, OnnxRunner):
        verified.save(spec, description, runner)
    return _batch_function(forward), description


def _warm_up(forward: Any, wide: bool, description: ModelDescription) -> ModelDescription:
    """The first call pays for kernel selection: do not make a client wait for it. Returns
    the description with an embedding model's vector size."""
    rows, length = WARMUP_SHAPE
    ids = np.full(rows * length, description.pad_id, dtype=np.int32)
    lengths = np.full(rows, length, dtype=np.int32)
    types = np.zeros(rows * length, dtype=np.int8) if description.uses_token_type_ids else None
    output = forward(ids, lengths, types, False)
    if wide:  # and the session for a batch alone
        forward(ids, lengths, types, True)
    if description.head is Head.EMBED:
        description = dataclasses.replace(description, output_dim=int(output.shape[-1]))
    return description


def _batch_function(forward: Any) -> Forward:
    def run(batch: ipc.RunBatch) -> np.ndarray:
        result: np.ndarray = forward(batch.ids, batch.lengths, batch.type_ids, batch.alone)
        return result

    return run


def _seq2seq_forward(model: Any, description: ModelDescription) -> Forward:
    """``generate()`` on torch (ONNX Runtime does not run it here; see docs/api/encoders.md)."""
    from server.encoders.shared.spec import GenerationParams
    from server.encoders.workers.generate import Seq2SeqForward

    eos = model.generation_config.eos_token_id
    eos_ids = tuple(eos) if isinstance(eos, list) else (() if eos is None else (int(eos),))
    forward = Seq2SeqForward(model, pad_id=description.pad_id, eos_ids=eos_ids)
    # Warm-up, as for the other heads: two short inputs, two new tokens.
    rows, length = WARMUP_SHAPE
    ids = np.full(rows * length, description.pad_id, dtype=np.int32)
    warm = GenerationParams(max_new_tokens=2, min_new_tokens=0, num_beams=1, do_sample=False)
    forward(ids, np.full(rows, length, dtype=np.int32), [warm] * rows)

    def run(batch: ipc.RunBatch) -> np.ndarray:
        if batch.generation is None:
            raise ValueError("an encoder-decoder model needs generation parameters")
        return forward(batch.ids, batch.lengths, batch.generation)

    return run


def _serve(sock: socket.socket, forward: Forward, texts: TextTokenizer | None, model: str) -> None:
    while True:
        try:
            message = ipc.recv_blocking(sock)
        except (EOFError, ConnectionError):
            log.info("API process gone; exiting")
            return
        if isinstance(message, ipc.Shutdown):
            return
        assert isinstance(message, ipc.RunBatch), f"unexpected message {type(message)}"
        started = time.perf_counter()
        tokenized = None
        try:
            if message.texts:
                if texts is None:
                    raise ValueError("this model has no tokenizer for text inputs")
                tokenized = texts.resolve(message)
            output = forward(message)
        except Exception as exc:
            # One bad batch (e.g. out of memory) fails alone; the model stays loaded.
            log.exception("batch %d of %s failed", message.batch_id, model)
            reply: object = ipc.BatchFailed(message.batch_id, f"{type(exc).__name__}: {exc}")
        else:
            reply = ipc.BatchDone(message.batch_id, output, time.perf_counter() - started)
            if tokenized is not None:
                reply.text_tokens = tokenized.text_tokens
                reply.window_lengths = tokenized.window_lengths
                reply.token_info = tokenized.token_info
        ipc.send_blocking(sock, reply)
