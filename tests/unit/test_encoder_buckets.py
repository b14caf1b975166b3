"""Length buckets: every input once, tight padding, no tiny buckets."""

from __future__ import annotations

import numpy as np

from server.encoders.workers.buckets import length_buckets


def _padding(lengths: np.ndarray, bucket: np.ndarray) -> float:
    part = lengths[bucket]
    return 1 - part.sum() / (part.max() * len(part))


def test_every_input_once_each_bucket_sorted() -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 60, size=64)
    buckets = length_buckets(lengths)
    assert sorted(np.concatenate(buckets).tolist()) == list(range(64))
    for bucket in buckets:
        assert list(lengths[bucket]) == sorted(lengths[bucket])


def test_buckets_cut_padding_but_keep_a_minimum_size() -> None:
    rng = np.random.default_rng(1)
    lengths = rng.integers(10, 50, size=48)
    whole = 1 - lengths.sum() / (lengths.max() * len(lengths))
    buckets = length_buckets(lengths, max_padding=0.1, min_tokens=200)
    assert len(buckets) > 1
    assert all(
        _padding(lengths, b) <= 0.1 or lengths[b].sum() < 200 + lengths.max() for b in buckets
    )
    assert np.mean([_padding(lengths, b) for b in buckets]) < whole / 2
    assert all(lengths[b].sum() >= 200 for b in buckets[:-1])


def test_equal_lengths_and_small_batches_stay_whole() -> None:
    assert [b.tolist() for b in length_buckets(np.array([7, 7, 7, 7]))] == [[0, 1, 2, 3]]
    few = np.array([3, 40, 12])  # 55 tokens: below the minimum, one bucket despite padding
    assert len(length_buckets(few)) == 1
    assert len(length_buckets(np.array([9]))) == 1
