"""Pure numbers: percentiles, ratios and target checks."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
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


def median_of(runs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Per key, the median of the numeric values the runs give (other values: the first)."""
    out: dict[str, Any] = {}
    for key in dict.fromkeys(k for run in runs for k in run):
        values = [run[key] for run in runs if key in run]
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        numbers = [v for v in numbers if math.isfinite(v)]
        if not numbers:
            out[key] = values[0]
        elif all(v == numbers[0] for v in numbers):
            out[key] = numbers[0]  # a setting such as a prompt count keeps its type
        else:
            out[key] = statistics.median(numbers)
    return out


def median_by_level(
    rounds: Sequence[Mapping[int, Mapping[str, Any]]], levels: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """Per concurrency level, each figure's median over the rounds that measured it."""
    return {c: median_of([r[c] for r in rounds if c in r]) for c in levels}


def median_known(values: Sequence[float | None]) -> float | None:
    """The median of the values that are known; None if none is."""
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


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
