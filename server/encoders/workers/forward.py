"""The forward stage: padded tensors in, compact float32 numpy arrays out.

Worker-side only (imports torch). Results are reduced in the worker (pooling, softmax, only
the real tokens) so that little crosses the pipe back to the API process. The model itself
is a runner (torch or ONNX Runtime, see ``backends.runners``): padding, pooling and
activations are the same code for both.
"""

from __future__ import annotations

import numpy as np
import torch

from server.encoders.shared.spec import (
    ROW_HEADS,
    Activation,
    Head,
    ModelDescription,
    PoolingSpec,
    rows_per_input,
)
from server.encoders.workers.backends.runners import ModelRunner
from server.encoders.workers.buckets import length_buckets
from server.encoders.workers.sentence_pooling import SentencePooler


class BatchForward:
    """Runs one batch of concatenated token ids through the model."""

    def __init__(
        self,
        runner: ModelRunner,
        description: ModelDescription,
        pooling: PoolingSpec | None,
        *,
        dtype: torch.dtype,
    ) -> None:
        self.runner = runner
        self.head = description.head
        self.activation = description.activation
        self.pad_id = description.pad_id
        self.mask_id = description.mask_id
        self.device = runner.device
        self.pooler = SentencePooler(pooling, dtype, str(self.device)) if pooling else None

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
        buckets = length_buckets(lengths) if self.device.type == "cpu" else []
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
        with torch.inference_mode():
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
            return self._reduce(output, torch.from_numpy(mask).to(self.device)).cpu().numpy()

    def _reduce(self, output: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.head is Head.EMBED:
            assert self.pooler is not None
            return self.pooler(output, mask).float()
        logits = output.float()
        if self.head is Head.TOKENS or self.head is Head.MASKED:
            return torch.softmax(logits[mask.bool()], dim=-1)
        if self.head is Head.SPAN:  # start and end logits of each real token
            return logits[mask.bool()]
        if self.activation is Activation.SOFTMAX:
            return torch.softmax(logits, dim=-1)
        if self.activation is Activation.SIGMOID:
            return torch.sigmoid(logits)
        return logits
