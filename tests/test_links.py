"""Every relative link a learner can click (README, contest README, the lessons) leads somewhere,
and the README's local routes start Jupyter at the repository root, where those links work."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pytest

from conftest import ROOT

#: ``[text](target)`` and ``![alt](target "title")``; the target stops at a space or ``)``.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))


def markdown_of(path: Path) -> str:
    """The Markdown a reader sees: a file's text, or a notebook's markdown cells."""
    if path.suffix == ".ipynb":
        cells = nbformat.read(path, as_version=4).cells
        return "\n\n".join(c.source for c in cells if c.cell_type == "markdown")
    return path.read_text(encoding="utf-8")


def links(markdown: str) -> list[str]:
    """Relative link targets outside code blocks (no scheme, no ``mailto:``)."""
    return [target for target in LINK.findall(FENCE.sub("", markdown))
            if not re.match(r"[a-z][a-z0-9+.-]*:", target, re.IGNORECASE)]


def anchors(markdown: str) -> set[str]:
    """The ids a heading gets: GitHub's (``how-it-is-scored``) and JupyterLab's
    (``How-it-is-scored``)."""
    found = set()
    for heading in HEADING.findall(FENCE.sub("", markdown)):
        text = re.sub(r"[`*_]", "", re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)).strip()
        found.add(re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-"))
        found.add(text.replace(" ", "-"))
    return found


def dead(source: Path, target: str, root: Path = ROOT) -> str | None:
    """Why ``target``, linked from ``source`` in ``root``, leads nowhere (None when it works)."""
    where, _, anchor = target.partition("#")
    path = (source.parent / unquote(where)).resolve() if where else source
    if not path.exists():
        return f"{target}: no such file"
    if root.resolve() not in (path, *path.parents):
        return f"{target}: outside the repository"
    if anchor and path.is_file() and path.suffix in (".md", ".ipynb"):
        if unquote(anchor) not in anchors(markdown_of(path)):
            return f"{target}: no heading #{anchor} in {path.name}"
    return None


def test_the_link_finder_sees_relative_links_and_skips_urls_and_code():
    text = ("See [lesson 2](02-check.ipynb#An-open-month), ![p](img/a.png \"t\"), "
            "[web](https://example.org/x) and [mail](mailto:a@b).\n"
            "```\n[not a link](nowhere.md)\n```\n")
    assert links(text) == ["02-check.ipynb#An-open-month", "img/a.png"]
    assert anchors("# 2. Check\n## How it is `scored`\n") >= {
        "2-check", "how-it-is-scored", "How-it-is-scored"}


def test_a_dead_link_is_reported(tmp_path):
    (tmp_path / "b.md").write_text("# Grading rules\n")
    source = tmp_path / "a.md"
    assert dead(source, "b.md#grading-rules", tmp_path) is None
    assert "no such file" in dead(source, "c.md", tmp_path)
    assert "no heading" in dead(source, "b.md#scoring", tmp_path)
    assert "outside" in dead(source, "b.md", tmp_path / "sub")


@pytest.mark.parametrize("path", [ROOT / "README.md", ROOT / "contest" / "README.md", *LESSONS],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_somewhere(path):
    found = links(markdown_of(path))
    problems = [why for why in (dead(path, target) for target in found) if why]
    assert not problems, f"{path.relative_to(ROOT)}: dead links {problems}"


def test_lessons_link_to_each_other_and_the_last_to_the_contest():
    for lesson, following in zip(LESSONS, LESSONS[1:], strict=False):
        assert following.name in links(markdown_of(lesson)), f"{lesson.name} -> {following.name}"
    assert "../contest/README.md" in links(markdown_of(LESSONS[-1]))


def test_readme_starts_jupyter_at_the_repository_root():
    """``jupyter lab notebooks/x.ipynb`` alone serves ``notebooks/``: ``contest/`` out of reach."""
    text = (ROOT / "README.md").read_text()
    starts = re.findall(r"^\S*jupyter lab\b.*$", text, re.MULTILINE)
    assert len(starts) >= 2, starts  # the Anaconda and the pip routes
    for line in starts:
        opens_a_file = re.search(r"\s(\S+\.ipynb)\b", line)
        assert not opens_a_file or "--ServerApp.root_dir=." in line, line
        if opens_a_file:
            assert (ROOT / opens_a_file.group(1)).exists(), line
