"""The layout rules the import contracts cannot state: small files, one class per name."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SERVER = Path(__file__).resolve().parents[2] / "server"
MAX_LINES = 400


def _modules() -> list[Path]:
    return sorted(SERVER.rglob("*.py"))


def test_no_server_module_is_over_400_lines() -> None:
    long = {
        str(p.relative_to(SERVER)): n
        for p in _modules()
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_each_class_name_is_defined_once() -> None:
    where: dict[str, list[str]] = defaultdict(list)
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                where[node.name].append(str(path.relative_to(SERVER)))
    twice = {name: files for name, files in where.items() if len(files) > 1}
    assert not twice, f"class names defined more than once: {twice}"
