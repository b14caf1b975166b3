"""Benchmark reports: Markdown rendering and the files written for a suite."""

from __future__ import annotations

import json
from pathlib import Path

from bench import markdown, report
from bench.result import BarPlot, LinePlot, SuiteResult, Table
from bench.stats import at_least

ENV = {
    "machine": {"cpu_model": "Test CPU", "cpu_cores": 2, "ram_gib": 8.0, "platform": "linux"},
    "git_commit": "abc123",
    "versions": {"vllm": "0.0", "torch": "0.0"},
}


def _result() -> SuiteResult:
    return SuiteResult(
        "encoders",
        {"quick": True},
        results={"errors": 0},
        ratios={"embed_c64_vs_ceiling": 0.93456},
        targets=[at_least("embed vs ceiling", 0.93456, 0.9), at_least("ner vs ceiling", 0.5, 0.85)],
        tables=[
            Table(
                "Runs",
                ("task", "inputs/s", "note"),
                [("embed", 1234.5678, "a|b"), ("ner", None, 0.5)],
            )
        ],
        plots=[
            LinePlot("throughput", "T", "clients", "inputs/s", {"ours": [(1, 10.0), (8, 30.0)]}),
            BarPlot("latency", "L", "ms", ["c1", "c8"], {"p50": [1.0, None], "p99": [2.0, 3.0]}),
        ],
        notes=["vLLM pooling did not start"],
    )


def test_markdown_table_escapes_and_formats_cells() -> None:
    text = markdown.table(("a", "b"), [(1234.5678, "x|y"), (None, 0.12345)])
    assert text.splitlines() == ["| a | b |", "|---|---|", "| 1,234.6 | x\\|y |", "| - | 0.123 |"]


def test_render_lists_targets_tables_notes_and_images() -> None:
    text = markdown.render(_result(), ENV, "2026-01-02", ["x.png"])
    assert text.startswith("# Benchmark: encoders (2026-01-02)")
    assert "Test CPU, 2 cores" in text
    assert "| embed vs ceiling | 0.935 | >= 0.9 | yes |" in text
    assert "| ner vs ceiling | 0.5 | >= 0.85 | NO |" in text
    assert "### Runs" in text
    assert "- vLLM pooling did not start" in text
    assert text.rstrip().endswith("![x.png](x.png)")


def test_write_produces_json_markdown_and_plots(tmp_path: Path) -> None:
    paths = report.write(_result(), ENV, tmp_path, "2026-01-02")
    names = sorted(p.name for p in paths)
    assert names == [
        "2026-01-02-encoders-latency.png",
        "2026-01-02-encoders-throughput.png",
        "2026-01-02-encoders.json",
        "2026-01-02-encoders.md",
    ]
    data = json.loads((tmp_path / "2026-01-02-encoders.json").read_text())
    assert data["date"] == "2026-01-02"
    assert data["machine"]["cpu_cores"] == 2
    assert data["ratios"] == {"embed_c64_vs_ceiling": 0.9346}
    assert [t["met"] for t in data["targets"]] == [True, False]
    assert data["all_targets_met"] is False
    assert (tmp_path / "2026-01-02-encoders-throughput.png").read_bytes()[:4] == b"\x89PNG"
