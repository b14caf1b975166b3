"""The forward stage gives each input the same output whether its batch ran whole or as
length buckets, in the caller's order (row heads and token heads)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from server.encoders.shared.spec import Activation, Head, ModelDescription, PoolingSpec
from server.encoders.workers.buckets import length_buckets
from server.encoders.workers.forward import BatchForward


class _TokenwiseRunner:
    """A fake model whose output at a position depends only on that position's token."""

    device = torch.device("cpu")

    def __init__(self, head: Head) -> None:
        self.head = head
        self.batch_sizes: list[int] = []
        self.alone: list[bool] = []

    def __call__(self, inputs: dict[str, np.ndarray], alone: bool = False) -> torch.Tensor:
        ids = torch.from_numpy(inputs["input_ids"]).float()
        self.batch_sizes.append(ids.shape[0])
        self.alone.append(alone)
        out = torch.stack([torch.sin(ids), torch.cos(ids / 7), ids / 100], dim=-1)
        return out[:, 0] if self.head is Head.SEQUENCE else out  # logits from the first token


@pytest.mark.parametrize("head", [Head.EMBED, Head.TOKENS, Head.SEQUENCE])
def test_buckets_match_one_input_at_a_time(head: Head) -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 60, size=40).astype(np.int32)
    ids = rng.integers(1, 1000, size=int(lengths.sum())).astype(np.int32)
    assert len(length_buckets(lengths)) > 1
    description = ModelDescription(head=head, architecture="fake", max_length=64)
    if head is Head.SEQUENCE:
        description = ModelDescription(
            head=head, architecture="fake", max_length=64, activation=Activation.SOFTMAX
        )
    pooling = PoolingSpec() if head is Head.EMBED else None
    runner = _TokenwiseRunner(head)
    forward = BatchForward(runner, description, pooling, dtype=torch.float32)
    batched = forward(ids, lengths, None)
    assert len(runner.batch_sizes) > 1 and sum(runner.batch_sizes) == len(lengths)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    alone = [
        forward(ids[s : s + n], np.array([n], dtype=np.int32), None)
        for s, n in zip(starts, lengths, strict=True)
    ]
    np.testing.assert_allclose(batched, np.concatenate(alone), atol=1e-6)


@pytest.mark.parametrize("alone", [False, True])
def test_every_bucket_runs_as_its_batch_was_sent(alone: bool) -> None:
    lengths = np.array([8] * 20 + [60] * 10, dtype=np.int32)
    ids = np.arange(1, int(lengths.sum()) + 1, dtype=np.int32)
    runner = _TokenwiseRunner(Head.EMBED)
    description = ModelDescription(head=Head.EMBED, architecture="fake", max_length=64)
    forward = BatchForward(runner, description, PoolingSpec(), dtype=torch.float32)
    forward(ids, lengths, None, alone)
    assert len(runner.alone) > 1 and set(runner.alone) == {alone}
