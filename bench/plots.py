"""PNG plots of suite results with matplotlib's file-only backend."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.result import BarPlot, LinePlot


def _line(plot: LinePlot, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, points in plot.series.items():
        if points:
            xs, ys = zip(*sorted(points), strict=True)
            ax.plot(xs, ys, marker="o", label=label)
    if plot.log_x:
        ax.set_xscale("log", base=2)
    ax.set(title=plot.title, xlabel=plot.xlabel, ylabel=plot.ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _bars(plot: BarPlot, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(max(7, 0.9 * len(plot.categories) + 3), 4.5))
    width = 0.8 / max(1, len(plot.series))
    for i, (label, values) in enumerate(plot.series.items()):
        xs = [j + i * width for j in range(len(plot.categories))]
        heights = [v if v is not None and v > 0 else float("nan") for v in values]
        ax.bar(xs, heights, width, label=label)
    ax.set_xticks([j + width * (len(plot.series) - 1) / 2 for j in range(len(plot.categories))])
    ax.set_xticklabels(plot.categories, rotation=30, ha="right")
    if plot.log_y:
        ax.set_yscale("log")
    ax.set(title=plot.title, ylabel=plot.ylabel)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save(plot: LinePlot | BarPlot, path: Path) -> Path:
    if isinstance(plot, LinePlot):
        _line(plot, path)
    else:
        _bars(plot, path)
    return path
