"""Texts the API process sent untokenized: tokenized here, one call per batch.

The API process tokenizes only what it must inspect (windows, pairs, masks, instructions
cut from the start); plain texts come as strings, which saves the API process most of its
time per input. The tokenizer is the one the API process uses (``tokenizer.json``), so the
ids are the same; a text over the model's limit is cut as Transformers cuts it (special
tokens kept), and its whole length goes back so that the API process can refuse it when
cutting was not allowed.
"""

from __future__ import annotations

from itertools import chain

import numpy as np
from tokenizers import Tokenizer

from server.encoders.shared.ipc import TEXT, RunBatch
from server.encoders.shared.spec import ModelDescription


class TextTokenizer:
    """Fills a batch's ``TEXT`` inputs with their token ids."""

    def __init__(self, description: ModelDescription) -> None:
        self.max_length = description.max_length
        self._exact = Tokenizer.from_str(description.tokenizer_json)
        self._exact.no_padding()
        self._exact.no_truncation()
        self._cutting = Tokenizer.from_str(description.tokenizer_json)
        self._cutting.no_padding()
        self._cutting.enable_truncation(self.max_length, strategy="longest_first")

    def resolve(self, batch: RunBatch) -> np.ndarray:
        """Tokenize ``batch.texts`` into ``batch`` in place; for each text, the tokens the
        model reads and the whole text's tokens."""
        texts = batch.texts or []
        id_lists = [encoding.ids for encoding in self._exact.encode_batch_fast(texts)]
        counts = np.empty((len(texts), 2), dtype=np.int32)
        for i, ids in enumerate(id_lists):
            counts[i, 1] = len(ids)
            if len(ids) > self.max_length:
                id_lists[i] = self._cutting.encode(texts[i]).ids
            counts[i, 0] = len(id_lists[i])
        if len(texts) == len(batch.lengths):  # only texts: the usual batch
            total = int(counts[:, 0].sum())
            batch.ids = np.fromiter(chain.from_iterable(id_lists), np.int32, total)
            batch.lengths = counts[:, 0].copy()
        else:
            _merge(batch, id_lists, counts[:, 0])
        batch.texts = None
        return counts


def _merge(batch: RunBatch, id_lists: list[list[int]], text_lengths: np.ndarray) -> None:
    """Put the texts' ids in their places among the inputs tokenized by the API process
    (token types: zeros for a text, which is a single sequence)."""
    given = np.cumsum(np.where(batch.lengths == TEXT, 0, batch.lengths))
    starts = np.concatenate(([0], given[:-1]))
    ids: list[np.ndarray] = []
    types: list[np.ndarray] = []
    lengths = batch.lengths.copy()
    texts = iter(range(len(id_lists)))
    for i, length in enumerate(batch.lengths):
        if length == TEXT:
            k = next(texts)
            ids.append(np.asarray(id_lists[k], dtype=np.int32))
            types.append(np.zeros(len(id_lists[k]), dtype=np.int8))
            lengths[i] = text_lengths[k]
        else:
            span = slice(starts[i], starts[i] + length)
            ids.append(batch.ids[span])
            if batch.type_ids is not None:
                types.append(batch.type_ids[span])
    batch.ids = np.concatenate(ids)
    if batch.type_ids is not None:
        batch.type_ids = np.concatenate(types)
    batch.lengths = lengths
