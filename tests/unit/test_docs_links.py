"""Every relative link and anchor in the Markdown docs resolves; the README stays short.

For ``README.md``, ``docs/**/*.md``, ``bench/README.md`` and ``deploy/**/README.md``: each
``[text](target)`` (and ``![alt](target)``) outside code must name a file or folder of the
repository, relative to the linking file, and each ``#anchor`` (in the page, or
``file.md#anchor``) must be the slug of a heading of the target file, by GitHub's rules.
``http(s)://`` and ``mailto:`` links are skipped, never fetched.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]
README_MAX_LINES = 250

EXTERNAL = ("http://", "https://", "mailto:")
FENCE = re.compile(r"^\s*(```|~~~)")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^()\s<>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
HEADING_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
HTML_TAG = re.compile(r"<[^>]+>")
NOT_SLUG = re.compile(r"[^\w\- ]")


def markdown_files() -> list[Path]:
    """The documents whose links are checked."""
    files = [ROOT / "README.md", ROOT / "bench" / "README.md"]
    files += sorted((ROOT / "docs").rglob("*.md"))
    files += sorted((ROOT / "deploy").rglob("README.md"))
    return [f for f in files if f.is_file()]


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks, inline code spans blanked out."""
    lines: list[tuple[int, str]] = []
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        match = FENCE.match(line)
        if match:
            if fence is None:
                fence = match.group(1)
            elif match.group(1) == fence:
                fence = None
            continue
        if fence is None:
            lines.append((number, INLINE_CODE.sub("code", line)))
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: link text kept, lowercase, punctuation but ``-`` and
    ``_`` dropped, each space a ``-``."""
    text = HEADING_LINK.sub(r"\1", heading)
    text = HTML_TAG.sub("", text)
    text = text.strip().lower().replace("`", "")
    return NOT_SLUG.sub("", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file, repeats numbered ``-1``, ``-2``... as GitHub
    does."""
    seen: Counter[str] = Counter()
    found: set[str] = set()
    text = path.read_text(encoding="utf-8")
    fence: str | None = None
    for line in text.splitlines():
        match = FENCE.match(line)
        if match:
            if fence is None:
                fence = match.group(1)
            elif match.group(1) == fence:
                fence = None
            continue
        heading = HEADING.match(line) if fence is None else None
        if heading is None:
            continue
        base = slug(heading.group(2))
        found.add(f"{base}-{seen[base]}" if seen[base] else base)
        seen[base] += 1
    return found


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    """Each relative link or anchor of ``path`` that does not resolve, as 'line N: target
    (why)'."""
    problems: list[str] = []
    for number, line in prose_lines(path.read_text(encoding="utf-8")):
        for match in LINK.finditer(line):
            target = match.group(1)
            if target.lower().startswith(EXTERNAL):
                continue
            where, _, anchor = target.partition("#")
            if where.startswith("/"):
                resolved = root / unquote(where).lstrip("/")
            else:
                resolved = path.parent / unquote(where) if where else path
            resolved = resolved.resolve()
            if not resolved.is_relative_to(root.resolve()):
                problems.append(f"line {number}: {target} (outside the repository)")
            elif not resolved.exists():
                problems.append(f"line {number}: {target} (no such file or folder)")
            elif anchor:
                if resolved.suffix.lower() != ".md" or not resolved.is_file():
                    problems.append(f"line {number}: {target} (an anchor on a non-Markdown file)")
                elif unquote(anchor).lower() not in anchors(resolved):
                    problems.append(f"line {number}: {target} (no heading #{anchor})")
    return problems


def test_the_checked_files_include_the_readme_and_docs() -> None:
    names = {f.relative_to(ROOT).as_posix() for f in markdown_files()}
    assert "README.md" in names
    assert any(name.startswith("docs/") for name in names)


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_and_anchors_resolve(path: Path) -> None:
    problems = broken_links(path)
    name = path.relative_to(ROOT).as_posix()
    assert not problems, f"{name} has broken links:\n" + "\n".join(problems)


def test_readme_stays_a_landing_page() -> None:
    lines = len((ROOT / "README.md").read_text(encoding="utf-8").splitlines())
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines (at most {README_MAX_LINES}): move reference to docs/"
    )


def test_slugs_follow_githubs_rules() -> None:
    assert slug("Limits, overload and shutdown") == "limits-overload-and-shutdown"
    assert slug("Defaults against `vllm serve`'s") == "defaults-against-vllm-serves"
    assert slug("Compose: server + Prometheus + Grafana") == "compose-server--prometheus--grafana"
    assert slug("What the static checks verify (`make test`)") == (
        "what-the-static-checks-verify-make-test"
    )
    assert slug("snake_case and [a link](x.md)") == "snake_case-and-a-link"


def test_the_checker_reports_broken_links(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Title\n\n## A section\n\n## A section\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n"
        "[ok](other.md) [ok](other.md#a-section) [ok](other.md#a-section-1) [ok](#page)\n"
        "[web](https://example.com/missing) [mail](mailto:a@example.com) `[code](nowhere.md)`\n"
        "```\n[fenced](nowhere.md)\n```\n"
        "[gone](missing.md) [bad anchor](other.md#nope) [bad here](#nope)\n"
        "![image](missing.png)\n"
    )
    problems = broken_links(page, root=tmp_path)
    assert [p.split(" (")[0] for p in problems] == [
        "line 8: missing.md",
        "line 8: other.md#nope",
        "line 8: #nope",
        "line 9: missing.png",
    ]
