"""Texts the API process sent untokenized: tokenized here, one call per batch.

The API process tokenizes only what it must inspect (pairs, masks, instructions cut from the
start, client token ids); plain texts come as strings, which saves the API process most of
its time per input. The tokenizer is the one the API process uses (``tokenizer.json``), so
the ids are the same.

- A model with one output row per input reads a text cut as Transformers cuts it (special
  tokens kept) when it is over the limit; its whole length goes back, so that the API
  process can refuse it when cutting was not allowed.
- A token model (NER) reads the whole text, in windows that overlap by
  ``window_stride`` tokens, and each token's character span and flags go back with the
  outputs: all the API process needs to group tokens into entities.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

import numpy as np
from tokenizers import Encoding, Tokenizer

from server.encoders.shared.ipc import TEXT, RunBatch
from server.encoders.shared.spec import (
    TOKEN_SPECIAL,
    TOKEN_SUBWORD,
    Head,
    ModelDescription,
    window_stride,
)


@dataclass(slots=True)
class Tokenized:
    """What goes back to the API process besides the outputs (see ``ipc.BatchDone``)."""

    text_tokens: np.ndarray
    window_lengths: np.ndarray | None = None
    token_info: np.ndarray | None = None


class TextTokenizer:
    """Fills a batch's ``TEXT`` inputs with their token ids."""

    def __init__(self, description: ModelDescription) -> None:
        self.max_length = description.max_length
        self.windowed = description.head is Head.TOKENS
        self._exact = Tokenizer.from_str(description.tokenizer_json)
        self._exact.no_padding()
        self._exact.no_truncation()
        self._cutting = Tokenizer.from_str(description.tokenizer_json)
        self._cutting.no_padding()
        if self.windowed:
            stride = window_stride(self.max_length)
            self._cutting.enable_truncation(self.max_length, stride=stride)
        else:
            self._cutting.enable_truncation(self.max_length, strategy="longest_first")
        self._unk_id = description.unk_id
        self._word_aware = bool(description.continuing_subword_prefix)

    def resolve(self, batch: RunBatch) -> Tokenized:
        """Tokenize ``batch.texts`` into ``batch`` in place."""
        if self.windowed:
            return self._windows(batch)
        texts = batch.texts or []
        id_lists = [encoding.ids for encoding in self._exact.encode_batch_fast(texts)]
        counts = np.empty((len(texts), 3), dtype=np.int32)
        counts[:, 2] = 1
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
        return Tokenized(counts)

    def _windows(self, batch: RunBatch) -> Tokenized:
        texts = batch.texts or []
        if len(texts) != len(batch.lengths):
            raise ValueError("a token model's batch mixes texts and token ids")
        windows: list[Encoding] = []
        info: list[np.ndarray] = []
        counts = np.empty((len(texts), 3), dtype=np.int32)
        encodings = self._cutting.encode_batch(texts)
        for i, (text, encoding) in enumerate(zip(texts, encodings, strict=True)):
            own = [encoding, *encoding.overflowing]
            windows += own
            info += [self.token_info(text, window) for window in own]
            tokens = sum(len(window.ids) for window in own)
            counts[i] = (tokens, tokens, len(own))
        lengths = np.array([len(window.ids) for window in windows], dtype=np.int32)
        batch.ids = np.fromiter(
            chain.from_iterable(window.ids for window in windows), np.int32, int(lengths.sum())
        )
        batch.lengths = lengths
        batch.texts = None
        return Tokenized(counts, lengths, np.concatenate(info))

    def token_info(self, text: str, window: Encoding) -> np.ndarray:
        """Each token of ``window`` (of ``text``): its character span and flags, by the rules
        of Transformers' token-classification pipeline (``gather_pre_entities``) for what is
        a word piece."""
        rows = []
        for token_id, (start, end), special in zip(
            window.ids, window.offsets, window.special_tokens_mask, strict=True
        ):
            if special:
                rows.append((start, end, TOKEN_SPECIAL))
                continue
            if token_id == self._unk_id:
                subword = False
            elif self._word_aware:
                # A continuation piece ("##ing") is longer than the text it covers.
                subword = len(self._exact.id_to_token(token_id) or "") != end - start
            else:
                # The pipeline's fallback for tokenizers that do not mark word pieces.
                subword = start > 0 and " " not in text[start - 1 : start + 1]
            rows.append((start, end, TOKEN_SUBWORD if subword else 0))
        return np.array(rows, dtype=np.int32).reshape(-1, 3)


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
