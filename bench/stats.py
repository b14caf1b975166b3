"""Pure numbers: percentiles, ratios and target checks."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile (numpy's default method); NaN for no values."""
    if not 0 <= pct <= 100:
        raise ValueError("pct must be within 0..100")
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ratio(ours: float | None, reference: float | None) -> float | None:
    """``ours / reference``; None when either is missing, non-finite or the reference is 0."""
    if ours is None or reference is None:
        return None
    if not (math.isfinite(ours) and math.isfinite(reference)) or reference == 0:
        return None
    return ours / reference


@dataclass(frozen=True)
class Target:
    """A claim about a ratio: ``ratio >= threshold`` (at least) or ``<=`` (at most)."""

    name: str
    ratio: float | None
    op: Literal[">=", "<="]
    threshold: float

    @property
    def met(self) -> bool:
        if self.ratio is None:
            return False
        return self.ratio >= self.threshold if self.op == ">=" else self.ratio <= self.threshold

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "met": self.met}


def at_least(name: str, value: float | None, threshold: float) -> Target:
    return Target(name, value, ">=", threshold)


def at_most(name: str, value: float | None, threshold: float) -> Target:
    return Target(name, value, "<=", threshold)
