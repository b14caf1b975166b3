"""Markdown rendering of a suite result (pure: no files)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.result import Cell, SuiteResult, Table


def cell(value: Cell) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 10 else f"{value:,.1f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(columns: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    head = "| " + " | ".join(columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join([head, rule, *body])


def _section(t: Table) -> str:
    return f"### {t.title}\n\n{table(t.columns, t.rows)}\n"


def render(result: SuiteResult, env: dict[str, Any], date: str, images: Sequence[str]) -> str:
    """The suite's report: where it ran, targets, tables, notes and plots."""
    machine = env["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    lines = [
        f"# Benchmark: {result.suite} ({date})",
        "",
        f"{machine['cpu_model']}, {machine['cpu_cores']} cores, {machine['ram_gib']} GiB RAM; "
        f"commit `{env['git_commit']}`; {versions}.",
        "",
    ]
    if result.parameters.get("quick"):
        lines += ["Quick mode: tiny counts, the numbers only show that the harness works.", ""]
    if result.targets:
        targets = [
            (t.name, t.ratio, f"{t.op} {t.threshold}", "yes" if t.met else "NO")
            for t in result.targets
        ]
        lines += ["## Targets", "", table(("target", "ratio", "wanted", "met"), targets), ""]
    if result.passed is not None:
        lines += [f"**Result: {'PASS' if result.passed else 'FAIL'}**", ""]
    if result.ratios:
        ratios = list(result.ratios.items())
        lines += [
            "## Ratios (ours / reference, same run)",
            "",
            table(("ratio", "value"), ratios),
            "",
        ]
    if result.tables:
        lines += ["## Results", ""] + [_section(t) for t in result.tables]
    if result.notes:
        lines += ["## Notes", "", *(f"- {n}" for n in result.notes), ""]
    lines += [f"![{name}]({name})" for name in images]
    return "\n".join(lines).rstrip() + "\n"


def listed(values: Sequence[float | None]) -> str:
    """Numbers as one cell: ``0.97, 1.02, -`` (``-`` for a missing value)."""
    return ", ".join("-" if v is None else f"{v:.2f}" for v in values)
