"""Texts tokenized in the worker: the ids the API process would have made, in their places."""

from __future__ import annotations

import numpy as np
import pytest

from server.core.errors import ContextLengthExceeded
from server.encoders.pool.worker_pool import _pack
from server.encoders.shared import ipc
from server.encoders.shared.spec import (
    TOKEN_SPECIAL,
    TOKEN_SUBWORD,
    Features,
    Head,
    ModelDescription,
    Payload,
    TextFeatures,
)
from server.encoders.tokenization import Side
from server.encoders.workers.text_inputs import TextTokenizer
from tests.unit.test_encoder_tokenization import encoder, tokenizer_json

MAX = 16
TEXTS = [
    "hello",
    "A sentence of moderate length, with punctuation!",
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"
    " sixteen",
    "Ünïcödé wörds and 東京 too",
]


def _worker(head: Head = Head.EMBED) -> TextTokenizer:
    """The worker's side, with the API side's tokenizer and limit."""
    description = ModelDescription(
        head=head,
        architecture="BertModel",
        max_length=MAX,
        tokenizer_json=tokenizer_json(),
        unk_id=100,
        continuing_subword_prefix="##",
    )
    return TextTokenizer(description)


def _split(batch: ipc.RunBatch) -> list[list[int]]:
    ends = np.cumsum(batch.lengths)
    return [batch.ids[end - n : end].tolist() for n, end in zip(batch.lengths, ends, strict=True)]


async def test_a_texts_only_batch_gets_the_api_processes_ids() -> None:
    api = encoder(max_length=MAX)
    features = api.for_workers(TEXTS, cut=True)
    batch = _pack(7, list(features))
    assert batch.texts == TEXTS and (batch.lengths == ipc.TEXT).all() and len(batch.ids) == 0
    counts = _worker().resolve(batch).text_tokens
    expected = await api.encode_prompted(
        TEXTS, prompt="", side=Side.END, limit=None, param="input", hint=""
    )
    assert _split(batch) == [f.ids.tolist() for f in expected]
    whole = [len(api.encode_plain(text).ids) + 2 for text in TEXTS]  # and [CLS], [SEP]
    assert counts[:, 0].tolist() == [min(n, MAX) for n in whole]
    assert counts[:, 1].tolist() == whole and max(whole) > MAX  # one of them was cut
    assert batch.texts is None and batch.type_ids is None


def test_texts_take_their_places_among_tokenized_pairs() -> None:
    api = encoder(max_length=MAX)
    pair = Features(np.array([101, 7, 102, 8, 102], np.int32), np.array([0, 0, 0, 1, 1], np.int8))
    plain = Features(np.array([101, 9, 102], np.int32))
    payloads: list[Payload] = [api.for_workers(["hello"], cut=True)[0], pair, plain]
    payloads.append(api.for_workers(["hello there"], cut=True)[0])
    batch = _pack(1, payloads)
    assert batch.lengths.tolist() == [ipc.TEXT, 5, 3, ipc.TEXT]
    _worker().resolve(batch)
    rows = _split(batch)
    assert rows[1] == pair.ids.tolist() and rows[2] == plain.ids.tolist()
    assert rows[0] == [101, 7592, 102] and rows[3][:2] == [101, 7592]
    assert batch.type_ids is not None
    types = np.split(batch.type_ids, np.cumsum(batch.lengths)[:-1])
    assert [t.tolist() for t in types[:3]] == [[0, 0, 0], [0, 0, 0, 1, 1], [0, 0, 0]]


def test_an_uncut_text_over_the_limit_is_refused_with_its_count() -> None:
    api = encoder(max_length=MAX)
    features = api.for_workers(TEXTS, cut=False)
    batch = _pack(2, list(features))
    done = _worker().resolve(batch).text_tokens
    for feature, (tokens, whole, _) in zip(features, done, strict=True):
        feature.tokens, feature.whole = int(tokens), int(whole)
    with pytest.raises(ContextLengthExceeded) as info:
        api.check_whole(features, param="input")
    whole = len(api.encode_plain(TEXTS[2]).ids) + 2
    assert f"input[2] has {whole} tokens, more than the 16 this model accepts" in info.value.message
    api.check_whole(features[:2], param="input")  # the others pass


def test_estimates_err_long_and_stop_at_the_limit() -> None:
    ascii_text = "word " * 20
    assert TextFeatures.of(ascii_text, limit=512, cut=True).estimate >= 20 + 2
    assert TextFeatures.of("東京" * 10, limit=512, cut=True).estimate >= 20 + 2
    assert TextFeatures.of("x" * 100_000, limit=512, cut=True).estimate == 512


def test_a_token_model_reads_long_texts_in_overlapping_windows() -> None:
    api = encoder(max_length=MAX)
    words = " ".join(f"w{i}" for i in range(40))
    features = api.for_workers([words, "Acme"], cut=True, windowed=True)
    assert features[0].estimate > MAX  # all of it is read: the estimate is not capped
    batch = _pack(3, list(features))
    done = _worker(Head.TOKENS).resolve(batch)
    assert done.window_lengths is not None and done.token_info is not None
    windows = done.text_tokens[:, 2].tolist()
    assert windows[0] > 1 and windows[1] == 1
    assert batch.lengths.tolist() == done.window_lengths.tolist() and max(batch.lengths) <= MAX
    assert done.text_tokens[:, 0].tolist() == [sum(batch.lengths[:-1]), batch.lengths[-1]]
    assert len(done.token_info) == len(batch.ids)
    # Consecutive windows share `stride` (MAX // 4) tokens: the same spans of the text.
    first = done.token_info[: batch.lengths[0]]
    second = done.token_info[batch.lengths[0] : batch.lengths[0] + batch.lengths[1]]
    assert first[-1 - 4 : -1, :2].tolist() == second[1 : 1 + 4, :2].tolist()
    assert first[0, 2] == TOKEN_SPECIAL and first[-1, 2] == TOKEN_SPECIAL
    # "Acme" is [CLS] ac ##me [SEP]: the second piece continues the word.
    acme = done.token_info[-4:]
    assert acme[:, 2].tolist() == [TOKEN_SPECIAL, 0, TOKEN_SUBWORD, TOKEN_SPECIAL]
    assert acme[1:3, :2].tolist() == [[0, 2], [2, 4]]
