"""Messages between the API process and a worker, over a local socket pair.

Each frame is an 8-byte length and a pickle (protocol 5) of one small dataclass whose bulk is
numpy arrays (token ids in, float32 results out), so (un)pickling is a memory copy, not a walk
over Python objects. Both ends are our own processes on one host: pickle is safe here.
"""

from __future__ import annotations

import asyncio
import pickle
import socket
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from server.encoders.shared.spec import GenerationParams, ModelDescription

_HEADER = struct.Struct("<Q")


# -- API process -> worker --------------------------------------------------------------------


@dataclass(slots=True)
class RunBatch:
    """Run one batch: ``ids`` holds every tokenized input's token ids back to back; an input
    whose length is ``TEXT`` is the next of ``texts``, for the worker to tokenize."""

    batch_id: int
    ids: np.ndarray  # int32, the sum of the non-TEXT lengths
    lengths: np.ndarray  # int32, one per input
    type_ids: np.ndarray | None  # int8 like ids, only for models that take token type ids
    alone: bool = False  # no other batch of this model runs or waits: use all its cores
    # Encoder-decoder models: how each input is decoded (one per input).
    generation: list[GenerationParams] | None = None
    texts: list[str] | None = None


# The length that marks an input of ``RunBatch.texts``.
TEXT = -1


@dataclass(slots=True)
class Shutdown:
    """Finish and exit."""


# -- worker -> API process --------------------------------------------------------------------


@dataclass(slots=True)
class Ready:
    """The model is loaded and warmed up."""

    pid: int
    description: ModelDescription
    load_seconds: float
    # Which of the heavy libraries the worker imported (torch, transformers): none for an
    # ONNX worker of a verified export.
    heavy_modules: tuple[str, ...] = ()


@dataclass(slots=True)
class LoadFailed:
    """The model could not be loaded; the worker exits after sending this."""

    error: str


@dataclass(slots=True)
class BatchDone:
    """The outputs of a batch (rows per input, or per token for token heads; for
    encoder-decoder models, each input's generated ids padded with -1)."""

    batch_id: int
    output: np.ndarray
    seconds: float
    # For the batch's texts, in order: the tokens the model read, the whole text's tokens and
    # the windows it was read in.
    text_tokens: np.ndarray | None = None  # int32, (len(texts), 3)
    # Token models: the token count of each window (model row), and one row per token of
    # them: the character span and flags (see ``TextFeatures.token_info``).
    window_lengths: np.ndarray | None = None
    token_info: np.ndarray | None = None


@dataclass(slots=True)
class BatchFailed:
    """The forward pass raised; the worker lives on."""

    batch_id: int
    error: str


def encode(message: Any) -> bytes:
    """One frame, ready to write."""
    data = pickle.dumps(message, protocol=5)
    return _HEADER.pack(len(data)) + data


async def read(reader: asyncio.StreamReader) -> Any:
    """The next message; ``asyncio.IncompleteReadError`` when the other end is gone."""
    (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    return pickle.loads(await reader.readexactly(size))


def send_blocking(sock: socket.socket, message: Any) -> None:
    """Write one message from a worker (blocking socket)."""
    sock.sendall(encode(message))


def _recv_exactly(sock: socket.socket, size: int) -> bytearray:
    buffer = bytearray(size)
    view = memoryview(buffer)
    received = 0
    while received < size:
        n = sock.recv_into(view[received:])
        if n == 0:
            raise EOFError("the API process closed the connection")
        received += n
    return buffer


def recv_blocking(sock: socket.socket) -> Any:
    """The next message in a worker; ``EOFError`` when the API process is gone."""
    (size,) = _HEADER.unpack(_recv_exactly(sock, _HEADER.size))
    return pickle.loads(_recv_exactly(sock, size))
