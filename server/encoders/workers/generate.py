"""The generation stage of encoder-decoder models: padded inputs in, generated ids out.

Worker-side only (imports torch). A batch decodes together: its inputs that share generation
parameters run as one ``generate()`` call (encoder inputs right-padded with an attention
mask, as a Transformers tokenizer pads them), so the ids equal what ``generate()`` gives on
the same inputs. Decoding ids to text happens in the API process, with the same tokenizer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from server.encoders.shared.spec import GenerationParams

# Generated ids are returned as one int32 matrix, each row padded with this.
NO_TOKEN = -1


class Seq2SeqForward:
    """Runs ``generate()`` for a batch of concatenated token ids."""

    def __init__(self, model: Any, *, pad_id: int, eos_ids: tuple[int, ...]) -> None:
        self.model = model
        self.pad_id = pad_id
        self.eos_ids = eos_ids
        self.device = model.device

    def __call__(
        self, ids: np.ndarray, lengths: np.ndarray, generation: list[GenerationParams]
    ) -> np.ndarray:
        """One row of generated ids per input (the decoder's start token left out)."""
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        groups: dict[GenerationParams, list[int]] = {}
        for row, params in enumerate(generation):
            groups.setdefault(params, []).append(row)
        outputs: list[list[int]] = [[] for _ in lengths]
        for params, rows in groups.items():
            inputs = [ids[starts[i] : starts[i] + lengths[i]] for i in rows]
            for row, generated in zip(rows, self._generate(inputs, params), strict=True):
                outputs[row] = generated
        width = max((len(o) for o in outputs), default=0)
        result = np.full((len(outputs), width), NO_TOKEN, dtype=np.int32)
        for row, generated in enumerate(outputs):
            result[row, : len(generated)] = generated
        return result

    def _generate(self, inputs: list[np.ndarray], params: GenerationParams) -> list[list[int]]:
        longest = max(len(i) for i in inputs)
        input_ids = np.full((len(inputs), longest), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(inputs), longest), dtype=np.int64)
        for row, values in enumerate(inputs):
            input_ids[row, : len(values)] = values
            mask[row, : len(values)] = 1
        with torch.inference_mode():
            sequences = self.model.generate(
                input_ids=torch.from_numpy(input_ids).to(self.device),
                attention_mask=torch.from_numpy(mask).to(self.device),
                **params.arguments(),
            )
        return [self._trimmed(row) for row in sequences[:, 1:].cpu().tolist()]

    def _trimmed(self, row: list[int]) -> list[int]:
        """The generated ids up to the first end-of-sequence token (kept), without padding."""
        for position, token in enumerate(row):
            if token in self.eos_ids:
                return row[: position + 1]
        while row and row[-1] == self.pad_id:
            row = row[:-1]
        return row
