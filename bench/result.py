"""What a suite hands to the report: raw numbers, ratios, targets, tables and plot data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.stats import Target

Cell = str | int | float | None


@dataclass(frozen=True)
class Table:
    title: str
    columns: tuple[str, ...]
    rows: Sequence[Sequence[Cell]]


@dataclass(frozen=True)
class LinePlot:
    """Y against X, one line per series (e.g. throughput vs concurrency per server)."""

    name: str
    title: str
    xlabel: str
    ylabel: str
    series: Mapping[str, Sequence[tuple[float, float]]]
    log_x: bool = True


@dataclass(frozen=True)
class BarPlot:
    """Grouped bars: one group per category, one bar per series (e.g. p50 and p99)."""

    name: str
    title: str
    ylabel: str
    categories: list[str]
    series: Mapping[str, Sequence[float | None]]
    log_y: bool = False


@dataclass
class SuiteResult:
    """One suite's outcome; ``passed`` is set by suites with pass/fail criteria (soak)."""

    suite: str
    parameters: dict[str, Any]
    results: dict[str, Any] = field(default_factory=dict)
    ratios: dict[str, float | None] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    plots: list[LinePlot | BarPlot] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    passed: bool | None = None

    @property
    def targets_met(self) -> bool:
        return all(t.met for t in self.targets)

    def as_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "parameters": self.parameters,
            "results": self.results,
            "ratios": {k: None if v is None else round(v, 4) for k, v in self.ratios.items()},
            "targets": [t.as_dict() for t in self.targets],
            "all_targets_met": self.targets_met,
            "passed": self.passed,
            "notes": self.notes,
        }
