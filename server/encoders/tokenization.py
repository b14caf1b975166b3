"""Tokenization in the API process, with the worker's own fast tokenizer.

Tokenizing here (not in the worker) lets the batcher know every input's length before it
batches, and sends the worker compact token ids instead of text. The Rust tokenizer comes
from the worker (serialized), so the API process never imports transformers or torch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from enum import StrEnum

import numpy as np
from tokenizers import Encoding, Tokenizer

from server.core.errors import ContextLengthExceeded, InvalidRequest
from server.encoders.shared.spec import Features, ModelDescription, Payload, TextFeatures

# Above this many characters in one request, tokenize off the event loop (the Rust tokenizer
# releases the GIL), so that one huge request does not stall every other client.
THREAD_THRESHOLD_CHARS = 16_384


class Side(StrEnum):
    """Which end of a too-long input is cut; NONE refuses it (400 naming the numbers)."""

    NONE = "none"
    START = "start"  # keep the last tokens
    END = "end"  # keep the first tokens


def _copy(tokenizer: Tokenizer) -> Tokenizer:
    return Tokenizer.from_str(tokenizer.to_str())


class TextEncoder:
    """Text to token ids with the model's limits: exact, truncating, or pairs in overlapping
    windows (QA); plain texts go to the workers as they are (``for_workers``)."""

    def __init__(self, description: ModelDescription) -> None:
        self.max_length = description.max_length
        self.vocab_size = description.vocab_size
        self.uses_token_type_ids = description.uses_token_type_ids
        base = Tokenizer.from_str(description.tokenizer_json)
        base.no_padding()
        self._exact = _copy(base)
        self._exact.no_truncation()
        self._truncating = _copy(base)
        self._truncating.enable_truncation(self.max_length, strategy="longest_first")
        self._base = base
        self._pair_windows: dict[tuple[int, int], Tokenizer] = {}

    def token_to_id(self, token: str) -> int | None:
        """The id of a vocabulary entry, or None."""
        return self._exact.token_to_id(token)

    def encode_plain(self, text: str) -> Encoding:
        """``text`` without special tokens and untruncated."""
        return self._exact.encode(text, add_special_tokens=False)

    def pair_windows(
        self, first: str, second: str, *, max_length: int, stride: int
    ) -> list[Encoding]:
        """``(first, second)`` as windows of at most ``max_length`` tokens that cut only the
        second text, consecutive windows sharing ``stride`` of its tokens."""
        key = (max_length, stride)
        tokenizer = self._pair_windows.get(key)
        if tokenizer is None:
            tokenizer = _copy(self._base)
            tokenizer.enable_truncation(max_length, stride=stride, strategy="only_second")
            self._pair_windows[key] = tokenizer
        encoding = tokenizer.encode(first, second)
        return [encoding, *encoding.overflowing]

    def _encode_exact(self, texts: Sequence[str]) -> list[Encoding]:
        """Untruncated encodings: one text encoded directly, several as one batch."""
        if len(texts) == 1:
            return [self._exact.encode(texts[0])]
        return self._exact.encode_batch(list(texts))

    # -- single texts -------------------------------------------------------------------------

    async def encode(self, texts: Sequence[str], *, truncate: bool, param: str) -> list[Encoding]:
        """Encodings of ``texts``; 400 naming the token counts if one is too long."""
        if sum(map(len, texts)) > THREAD_THRESHOLD_CHARS:
            return await asyncio.to_thread(self.encode_now, texts, truncate=truncate, param=param)
        return self.encode_now(texts, truncate=truncate, param=param)

    def encode_now(self, texts: Sequence[str], *, truncate: bool, param: str) -> list[Encoding]:
        """:meth:`encode` on the calling thread."""
        encodings = self._encode_exact(texts)
        for i, encoding in enumerate(encodings):
            if len(encoding.ids) > self.max_length:
                if not truncate:
                    raise self._too_long(param, i, len(encoding.ids), len(texts) > 1)
                encodings[i] = self._truncating.encode(texts[i])
        return encodings

    # -- instructed single texts (embeddings) ------------------------------------------------

    async def encode_prompted(
        self,
        texts: Sequence[str],
        *,
        prompt: str,
        side: Side,
        limit: int | None,
        param: str,
        hint: str,
    ) -> list[Features]:
        """``prompt + text`` for each text, at most ``limit`` tokens (the model's if None).

        Tokenized as one string, as sentence-transformers does. Cutting from the end keeps
        the first tokens; cutting from the start keeps the prompt and the text's last tokens
        (an instruction cut away would change what the vector means). ``hint`` says how to
        allow cutting, in the caller's words, when ``side`` is NONE.
        """
        if sum(map(len, texts)) > THREAD_THRESHOLD_CHARS:
            return await asyncio.to_thread(
                self._prompted_now, texts, prompt, side, limit, param, hint
            )
        return self._prompted_now(texts, prompt, side, limit, param, hint)

    def _prompted_now(
        self,
        texts: Sequence[str],
        prompt: str,
        side: Side,
        limit: int | None,
        param: str,
        hint: str,
    ) -> list[Features]:
        limit = self.max_length if limit is None else limit
        encodings = self._encode_exact([prompt + text for text in texts])
        result = []
        for i, encoding in enumerate(encodings):
            ids = encoding.ids
            if len(ids) > limit:
                if side is Side.NONE:
                    raise self._too_long(param, i, len(ids), len(texts) > 1, limit=limit, hint=hint)
                if side is Side.END:
                    ids = _keep(encoding, [], limit, Side.END, param)
                else:
                    prompt_ids = self._exact.encode(prompt, add_special_tokens=False).ids
                    ids = _keep(self._exact.encode(texts[i]), prompt_ids, limit, side, param)
            result.append(Features(np.array(ids, dtype=np.int32)))
        return result

    # -- texts the workers tokenize -----------------------------------------------------------

    def for_workers(
        self, texts: Sequence[str], *, cut: bool, windowed: bool = False
    ) -> list[TextFeatures]:
        """``texts`` as payloads that the worker tokenizes (see ``TextFeatures``); once they
        have run, :meth:`check_whole` raises what :meth:`encode_now` would have raised.
        ``windowed``: for a token model, which reads every token in windows."""
        limit = None if windowed else self.max_length
        return [TextFeatures.of(text, limit=limit, cut=cut) for text in texts]

    def check_whole(
        self, features: Sequence[Payload], *, param: str, hint: str = '"truncate": true'
    ) -> None:
        """400 naming the token counts for the first text the workers tokenized that is over
        the limit and must not be cut (inputs tokenized here were checked already)."""
        for i, feature in enumerate(features):
            if not isinstance(feature, TextFeatures):
                continue
            if not feature.cut and feature.whole > self.max_length:
                raise self._too_long(param, i, feature.whole, len(features) > 1, hint=hint)

    # -- pairs (cross-encoders) ---------------------------------------------------------------

    async def encode_pairs(
        self, query: str, documents: Sequence[str], *, truncate: bool
    ) -> list[Encoding]:
        """Encodings of ``(query, document)`` pairs, as a cross-encoder reads them."""
        if len(query) * len(documents) + sum(map(len, documents)) > THREAD_THRESHOLD_CHARS:
            return await asyncio.to_thread(self._encode_pairs, query, documents, truncate)
        return self._encode_pairs(query, documents, truncate)

    def _encode_pairs(self, query: str, documents: Sequence[str], truncate: bool) -> list[Encoding]:
        return self.encode_pair_list([(query, doc) for doc in documents], truncate=truncate)

    def encode_pair_list(
        self, pairs: Sequence[tuple[str, str]], *, truncate: bool, param: str = "documents"
    ) -> list[Encoding]:
        """Encodings of text pairs (first, second), on the calling thread."""
        tokenizer = self._truncating if truncate else self._exact
        encodings = tokenizer.encode_batch(list(pairs))
        for i, encoding in enumerate(encodings):
            if len(encoding.ids) > self.max_length:
                raise self._too_long(param, i, len(encoding.ids), True, pair=True)
        return encodings

    def first_tokens(self, text: str, count: int) -> str:
        """The start of ``text`` that holds its first ``count`` tokens (all of it if shorter)."""
        encoding = self._exact.encode(text, add_special_tokens=False)
        if len(encoding.ids) <= count:
            return text
        return text[: encoding.offsets[count - 1][1]]

    # -- to model inputs ----------------------------------------------------------------------

    def features(self, encoding: Encoding, *, pair: bool = False) -> Features:
        """The batcher payload for one encoding."""
        ids = np.array(encoding.ids, dtype=np.int32)
        if pair and self.uses_token_type_ids:
            return Features(ids, np.array(encoding.type_ids, dtype=np.int8))
        return Features(ids)

    def decode(
        self,
        ids: Sequence[int],
        *,
        clean_up_tokenization_spaces: bool,
        skip_special_tokens: bool = True,
    ) -> str:
        """Token ids as text, special tokens left out unless told: what Transformers'
        ``decode`` gives."""
        text = self._exact.decode(list(ids), skip_special_tokens=skip_special_tokens)
        return clean_up_tokenization(text) if clean_up_tokenization_spaces else text

    def features_from_ids(
        self,
        token_ids: Sequence[Sequence[int]],
        *,
        truncate: bool,
        param: str,
        limit: int | None = None,
        side: Side = Side.END,
    ) -> list[Features]:
        """Client-supplied token ids, checked against the vocabulary and the length limit.

        They are used as given (no special tokens added), as vLLM does for token-id prompts;
        too long with ``truncate``: cut at ``side`` to ``limit`` (the model's if None).
        """
        limit = self.max_length if limit is None else limit
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
            if len(array) > limit:
                if not truncate:
                    raise self._too_long(param, i, len(array), len(token_ids) > 1, limit=limit)
                array = array[:limit] if side is Side.END else array[-limit:]
            result.append(Features(array.astype(np.int32)))
        return result

    def _too_long(
        self,
        param: str,
        index: int,
        tokens: int,
        many: bool,
        *,
        pair: bool = False,
        limit: int | None = None,
        hint: str = '"truncate": true',
    ) -> ContextLengthExceeded:
        where = f"{param}[{index}]" if many else param
        what = "query and document together have" if pair else "has"
        limit = self.max_length if limit is None else limit
        whose = "this model accepts" if limit == self.max_length else "this request allows"
        return ContextLengthExceeded(
            f"{where} {what} {tokens} tokens, more than the {limit} {whose}; "
            f"shorten it or set {hint}",
            param=param,
        )


# Transformers' ``clean_up_tokenization``: spaces a word-level tokenizer leaves before
# punctuation and English contractions.
_CLEAN_UPS = (
    (" .", "."),
    (" ?", "?"),
    (" !", "!"),
    (" ,", ","),
    (" ' ", "'"),
    (" n't", "n't"),
    (" 'm", "'m"),
    (" 's", "'s"),
    (" 've", "'ve"),
    (" 're", "'re"),
)


def clean_up_tokenization(text: str) -> str:
    """``text`` without the spaces of :data:`_CLEAN_UPS`, as Transformers cleans it up."""
    for spaced, joined in _CLEAN_UPS:
        text = text.replace(spaced, joined)
    return text


def _keep(
    encoding: Encoding, prompt_ids: list[int], limit: int, side: Side, param: str
) -> list[int]:
    """``encoding``'s special tokens around ``prompt_ids`` and as much of its text as fits."""
    ids, special = encoding.ids, encoding.special_tokens_mask
    lead = next((i for i, flag in enumerate(special) if not flag), len(ids))
    trail = next((i for i, flag in enumerate(reversed(special)) if not flag), 0)
    body = ids[lead : len(ids) - trail]
    budget = limit - lead - trail - len(prompt_ids)
    if budget < 1:
        raise InvalidRequest(
            f"{param}: a limit of {limit} tokens leaves no room for the text", param=param
        )
    kept = body[:budget] if side is Side.END else body[len(body) - budget :]
    return [*ids[:lead], *prompt_ids, *kept, *ids[len(ids) - trail :]]
