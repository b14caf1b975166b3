"""A torch-free worker for the pool tests: speaks the real protocol, computes nothing.

Each output row holds its input's length, so tests can check order, then the threads it
would have run on when the batch came marked ``alone`` (0 otherwise). ``spec.task`` picks the
behaviour: "ok", "slow" (0.3 s per batch), "timed" (a hundredth of a second per token of the
batch's first input), "fail-load", "fail-batch" (inputs of length 13).
"""

from __future__ import annotations

import os
import socket
import time

import numpy as np

from server.encoders.shared import ipc
from server.encoders.shared.spec import Head, ModelDescription, WorkerSpec

DESCRIPTION = ModelDescription(head=Head.EMBED, architecture="Fake", max_length=64, output_dim=2)


def fake_worker(sock: socket.socket, spec: WorkerSpec) -> None:
    if spec.task == "fail-load":
        ipc.send_blocking(sock, ipc.LoadFailed("no such model"))
        os._exit(1)
    ipc.send_blocking(sock, ipc.Ready(os.getpid(), DESCRIPTION, 0.0))
    while True:
        try:
            message = ipc.recv_blocking(sock)
        except EOFError:
            os._exit(0)
        if isinstance(message, ipc.Shutdown):
            os._exit(0)
        if spec.task == "slow":
            time.sleep(0.3)
        if spec.task == "timed":
            time.sleep(int(message.lengths[0]) / 100)
        if spec.task == "fail-batch" and 13 in message.lengths:
            ipc.send_blocking(sock, ipc.BatchFailed(message.batch_id, "bad input"))
            continue
        output = np.repeat(message.lengths[:, None], 2, axis=1).astype(np.float32)
        output[:, 1] = spec.alone_threads if message.alone else 0
        ipc.send_blocking(sock, ipc.BatchDone(message.batch_id, output, 0.001))
