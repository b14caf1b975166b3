"""Which queued inputs go into the next model batch.

The oldest input is always taken (so nothing starves); the rest are its neighbours in length
order, so that inputs of similar length share a batch and little compute goes to padding.
"""

from __future__ import annotations

from collections.abc import Sequence

_NO = float("inf")


def padded_tokens(lengths: Sequence[int]) -> int:
    """Tokens a batch costs once every input is padded to the longest one."""
    return max(lengths, default=0) * len(lengths)


def select_batch(lengths: Sequence[int], max_size: int, max_tokens: int) -> list[int]:
    """Indices (into ``lengths``, oldest first) of the inputs to run together, shortest first.

    Bounded by ``max_size`` inputs and ``max_tokens`` padded tokens; an input longer than the
    token budget on its own still runs, alone.
    """
    if not lengths:
        return []
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    lo = hi = order.index(0)
    longest = lengths[0]
    count = 1
    while count < max_size:
        # Padding each candidate adds: a shorter input pads itself up to the current longest;
        # a longer one pads every input already chosen up to its own length.
        left_cost: float = _NO
        if lo > 0 and longest * (count + 1) <= max_tokens:
            left_cost = longest - lengths[order[lo - 1]]
        right_cost: float = _NO
        if hi + 1 < len(order) and lengths[order[hi + 1]] * (count + 1) <= max_tokens:
            right_cost = (lengths[order[hi + 1]] - longest) * count
        if left_cost == _NO and right_cost == _NO:
            break
        if left_cost <= right_cost:
            lo -= 1
        else:
            hi += 1
            longest = lengths[order[hi]]
        count += 1
    return order[lo : hi + 1]
