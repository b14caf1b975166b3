"""Writes a suite's result: ``<date>-<suite>.json``, ``.md`` and ``-<plot>.png`` files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import markdown, plots
from bench.result import SuiteResult


def write(result: SuiteResult, env: dict[str, Any], out_dir: Path, date: str) -> list[Path]:
    """Write every file for ``result`` into ``out_dir``; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{date}-{result.suite}"
    images = [plots.save(p, out_dir / f"{stem}-{p.name}.png") for p in result.plots]
    document = {"date": date, **env, **result.as_dict()}
    json_path = out_dir / f"{stem}.json"
    json_path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    md_path = out_dir / f"{stem}.md"
    md_path.write_text(markdown.render(result, env, date, [p.name for p in images]))
    return [json_path, md_path, *images]
