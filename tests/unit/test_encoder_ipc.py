"""Frames between the API process and a worker survive both directions intact."""

from __future__ import annotations

import asyncio
import socket

import numpy as np

from server.encoders.shared import ipc


def test_blocking_round_trip() -> None:
    a, b = socket.socketpair()
    with a, b:
        batch = ipc.RunBatch(7, np.arange(10, dtype=np.int32), np.array([4, 6], np.int32), None)
        ipc.send_blocking(a, batch)
        received = ipc.recv_blocking(b)
    assert received.batch_id == 7 and received.type_ids is None
    assert received.ids.tolist() == list(range(10)) and received.lengths.tolist() == [4, 6]


async def test_async_reader_gets_large_frames_and_eof() -> None:
    ours, theirs = socket.socketpair()
    reader, writer = await asyncio.open_connection(sock=ours)
    output = np.random.default_rng(0).random((64, 384), dtype=np.float32)
    sender = asyncio.to_thread(ipc.send_blocking, theirs, ipc.BatchDone(3, output, 0.5))
    message, _ = await asyncio.gather(ipc.read(reader), sender)
    assert message.batch_id == 3 and np.array_equal(message.output, output)
    theirs.close()
    try:
        await ipc.read(reader)
    except asyncio.IncompleteReadError:
        pass
    else:
        raise AssertionError("expected end of file")
    writer.close()
