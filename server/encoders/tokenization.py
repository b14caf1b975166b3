"""Tokenization in the API process, with the worker's own fast tokenizer.

Tokenizing here (not in the worker) lets the batcher know every input's length before it
batches, and sends the worker compact token ids instead of text. The Rust tokenizer comes
from the worker (serialized), so the API process never imports transformers or torch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from tokenizers import Encoding, Tokenizer

from server.core.errors import ContextLengthExceeded, InvalidRequest
from server.encoders.workers.spec import ModelDescription

# Above this many characters in one request, tokenize off the event loop (the Rust tokenizer
# releases the GIL), so that one huge request does not stall every other client.
THREAD_THRESHOLD_CHARS = 16_384


@dataclass(slots=True)
class Features:
    """One model input as the batcher and the worker see it."""

    ids: np.ndarray  # int32
    type_ids: np.ndarray | None = None  # int8, only for pairs on models with token types

    def __len__(self) -> int:
        return len(self.ids)


def _copy(tokenizer: Tokenizer) -> Tokenizer:
    return Tokenizer.from_str(tokenizer.to_str())


class TextEncoder:
    """Text to token ids with the model's limits: exact, truncating, or in overlapping windows."""

    def __init__(self, description: ModelDescription, *, window_stride: int | None = None) -> None:
        self.max_length = description.max_length
        self.vocab_size = description.vocab_size
        self.uses_token_type_ids = description.uses_token_type_ids
        self.unk_id = description.unk_id
        self.continuing_subword_prefix = description.continuing_subword_prefix
        base = Tokenizer.from_str(description.tokenizer_json)
        base.no_padding()
        self._exact = _copy(base)
        self._exact.no_truncation()
        self._truncating = _copy(base)
        self._truncating.enable_truncation(self.max_length, strategy="longest_first")
        self.window_stride = window_stride
        self._windows: Tokenizer | None = None
        if window_stride is not None:
            self._windows = _copy(base)
            self._windows.enable_truncation(self.max_length, stride=window_stride)

    def id_to_token(self, token_id: int) -> str:
        """The vocabulary entry of ``token_id`` (what Transformers' convert_ids_to_tokens gives)."""
        return self._exact.id_to_token(token_id) or ""

    # -- single texts -------------------------------------------------------------------------

    async def encode(self, texts: Sequence[str], *, truncate: bool, param: str) -> list[Encoding]:
        """Encodings of ``texts``; 400 naming the token counts if one is too long."""
        if sum(map(len, texts)) > THREAD_THRESHOLD_CHARS:
            return await asyncio.to_thread(self.encode_now, texts, truncate=truncate, param=param)
        return self.encode_now(texts, truncate=truncate, param=param)

    def encode_now(self, texts: Sequence[str], *, truncate: bool, param: str) -> list[Encoding]:
        """:meth:`encode` on the calling thread."""
        if len(texts) == 1:
            encodings = [self._exact.encode(texts[0])]
        else:
            encodings = self._exact.encode_batch(list(texts))
        for i, encoding in enumerate(encodings):
            if len(encoding.ids) > self.max_length:
                if not truncate:
                    raise self._too_long(param, i, len(encoding.ids), len(texts) > 1)
                encodings[i] = self._truncating.encode(texts[i])
        return encodings

    # -- pairs (cross-encoders) ---------------------------------------------------------------

    async def encode_pairs(
        self, query: str, documents: Sequence[str], *, truncate: bool
    ) -> list[Encoding]:
        """Encodings of ``(query, document)`` pairs, as a cross-encoder reads them."""
        if len(query) * len(documents) + sum(map(len, documents)) > THREAD_THRESHOLD_CHARS:
            return await asyncio.to_thread(self._encode_pairs, query, documents, truncate)
        return self._encode_pairs(query, documents, truncate)

    def _encode_pairs(self, query: str, documents: Sequence[str], truncate: bool) -> list[Encoding]:
        pairs = [(query, doc) for doc in documents]
        tokenizer = self._truncating if truncate else self._exact
        encodings = tokenizer.encode_batch(pairs)
        for i, encoding in enumerate(encodings):
            if len(encoding.ids) > self.max_length:
                raise self._too_long("documents", i, len(encoding.ids), True, pair=True)
        return encodings

    # -- windows (token classification) -------------------------------------------------------

    async def windows(self, texts: Sequence[str]) -> list[list[Encoding]]:
        """Each text as overlapping windows of at most ``max_length`` tokens (usually one)."""
        if sum(map(len, texts)) > THREAD_THRESHOLD_CHARS:
            return await asyncio.to_thread(self._windows_now, texts)
        return self._windows_now(texts)

    def _windows_now(self, texts: Sequence[str]) -> list[list[Encoding]]:
        assert self._windows is not None, "this model was not set up for windows"
        if len(texts) == 1:
            encodings = [self._windows.encode(texts[0])]
        else:
            encodings = self._windows.encode_batch(list(texts))
        return [[encoding, *encoding.overflowing] for encoding in encodings]

    # -- to model inputs ----------------------------------------------------------------------

    def features(self, encoding: Encoding, *, pair: bool = False) -> Features:
        """The batcher payload for one encoding."""
        ids = np.array(encoding.ids, dtype=np.int32)
        if pair and self.uses_token_type_ids:
            return Features(ids, np.array(encoding.type_ids, dtype=np.int8))
        return Features(ids)

    def features_from_ids(
        self, token_ids: Sequence[Sequence[int]], *, truncate: bool, param: str
    ) -> list[Features]:
        """Client-supplied token ids, checked against the vocabulary and the length limit.

        They are used as given (no special tokens added), as vLLM does for token-id prompts.
        """
        result = []
        for i, ids in enumerate(token_ids):
            where = f"{param}[{i}]" if len(token_ids) > 1 else param
            if not ids:
                raise InvalidRequest(f"{where}: token id list must not be empty", param=param)
            array = np.asarray(ids, dtype=np.int64)
            if array.min() < 0 or array.max() >= self.vocab_size:
                raise InvalidRequest(
                    f"{where}: token ids must be in [0, {self.vocab_size})", param=param
                )
            if len(array) > self.max_length:
                if not truncate:
                    raise self._too_long(param, i, len(array), len(token_ids) > 1)
                array = array[: self.max_length]
            result.append(Features(array.astype(np.int32)))
        return result

    def _too_long(
        self, param: str, index: int, tokens: int, many: bool, *, pair: bool = False
    ) -> ContextLengthExceeded:
        where = f"{param}[{index}]" if many else param
        what = "query and document together have" if pair else "has"
        return ContextLengthExceeded(
            f"{where} {what} {tokens} tokens, more than the {self.max_length} this model accepts; "
            'shorten it or set "truncate": true',
            param=param,
        )
