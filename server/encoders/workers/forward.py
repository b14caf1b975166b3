"""The forward stage: padded arrays in, compact float32 numpy arrays out.

Results are reduced in the worker (pooling, softmax, only the real tokens) so that little
crosses the pipe back to the API process. The model itself is a runner (torch or ONNX
Runtime, see ``backends.runners``); padding and bucketing are the same code for both, and
the reduction runs where the runner's output lives: in numpy for ONNX Runtime
(``numpy_heads``, so such a worker needs no torch), in torch for a torch model
(``torch_heads``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from server.encoders.shared.spec import (
    ROW_HEADS,
    Head,
    ModelDescription,
    PoolingSpec,
    rows_per_input,
)
from server.encoders.workers.buckets import length_buckets
from server.encoders.workers.numpy_heads import NumpyReducer

# A runner's output and the attention mask -> the rows that leave the worker.
Reducer = Callable[[Any, np.ndarray], np.ndarray]


class BatchForward:
    """Runs one batch of concatenated token ids through the model."""

    def __init__(
        self,
        runner: Any,
        description: ModelDescription,
        pooling: PoolingSpec | None,
        *,
        dtype: Any = None,
    ) -> None:
        """``dtype``: the torch dtype of a torch model's outputs (pooling runs in torch);
        None for a runner that returns numpy arrays (ONNX Runtime)."""
        self.runner = runner
        self.head = description.head
        self.pad_id = description.pad_id
        self.mask_id = description.mask_id
        self.on_cpu = str(getattr(runner, "device", "cpu")).startswith("cpu")
        self.reduce: Reducer
        if dtype is None:
            self.reduce = NumpyReducer(description.head, description.activation, pooling)
        else:
            from server.encoders.workers.torch_heads import TorchReducer

            self.reduce = TorchReducer(
                description.head,
                description.activation,
                pooling,
                dtype=dtype,
                device=str(runner.device),
            )

    def __call__(
        self,
        ids: np.ndarray,
        lengths: np.ndarray,
        type_ids: np.ndarray | None,
        alone: bool = False,
    ) -> np.ndarray:
        """Outputs for a batch: one row per input, or per real token for token heads.

        On a CPU the batch runs as length buckets (see ``buckets``); a GPU takes it whole,
        where one large call beats several small ones. ``alone``: no other batch runs, so
        the runner may use every core of the model."""
        buckets = length_buckets(lengths) if self.on_cpu else []
        if len(buckets) <= 1:
            return self._run(ids, lengths, type_ids, alone)
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))

        def gather(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
            return np.concatenate([values[starts[i] : starts[i] + lengths[i]] for i in rows])

        outputs = [
            self._run(
                gather(ids, rows),
                lengths[rows],
                gather(type_ids, rows) if type_ids is not None else None,
                alone,
            )
            for rows in buckets
        ]
        if self.head in ROW_HEADS:  # rows per token (or mask): put each input's back in order
            counts = rows_per_input(self.head, ids, lengths, self.mask_id)
            blocks: list[np.ndarray] = [outputs[0][:0]] * len(lengths)
            for rows, output in zip(buckets, outputs, strict=True):
                offsets = np.concatenate(([0], np.cumsum(counts[rows])))
                for k, i in enumerate(rows):
                    blocks[i] = output[offsets[k] : offsets[k + 1]]
            return np.concatenate(blocks)
        result = np.empty((len(lengths), *outputs[0].shape[1:]), dtype=outputs[0].dtype)
        for rows, output in zip(buckets, outputs, strict=True):
            result[rows] = output
        return result

    def _run(
        self, ids: np.ndarray, lengths: np.ndarray, type_ids: np.ndarray | None, alone: bool
    ) -> np.ndarray:
        positions = np.arange(int(lengths.max()))
        valid = positions[None, :] < lengths[:, None]
        input_ids = np.full(valid.shape, self.pad_id, dtype=np.int64)
        input_ids[valid] = ids
        mask = valid.astype(np.int64)
        inputs = {"input_ids": input_ids, "attention_mask": mask}
        if type_ids is not None:
            types = np.zeros(valid.shape, dtype=np.int64)
            types[valid] = type_ids
            inputs["token_type_ids"] = types
        output = self.runner(inputs, alone)
        if self.head is Head.MASKED:  # only the mask positions' rows leave the worker
            mask = (input_ids == self.mask_id).astype(np.int64)
        return self.reduce(output, mask)
