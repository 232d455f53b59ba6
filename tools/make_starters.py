"""Make the contestants' starter notebooks (``contest/*.ipynb``) from the reference solutions.

    python tools/make_starters.py           # write contest/NN-*.ipynb from solutions/NN-*.ipynb
    python tools/make_starters.py --check   # exit 1 when a starter is stale or missing

The starters are never edited by hand: the solutions are the one source of truth. The marked
blocks use nbgrader's spellings, so an instructor can also drop ``solutions/`` into nbgrader
as it is:

- from ``### BEGIN SOLUTION`` to ``### END SOLUTION`` (marker lines included) becomes
  ``# YOUR CODE HERE`` and ``raise NotImplementedError()``, indented like the marker;
- from ``### BEGIN HIDDEN TESTS`` to ``### END HIDDEN TESTS`` vanishes.

Outputs and execution counts are cleared; the notebook keeps only its kernelspec and its
track (``metadata.costlib.track``: ``by-hand`` or ``with-costlib``, which the grader reads),
the cells only their nbgrader metadata.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
CONTEST = ROOT / "contest"

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
MARKERS = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN)
KEEP_CELL_METADATA = ("nbgrader",)
#: The notebook keeps its kernelspec and the contest track it declares (``costlib.track``).
KEEP_METADATA = ("kernelspec", "costlib")


class MarkerError(ValueError):
    """A solution notebook's markers do not pair up."""


def strip_source(source: str, where: str = "cell") -> str:
    """A cell's source with solution blocks stubbed out and hidden tests removed."""
    out: list[str] = []
    inside: str | None = None
    for number, line in enumerate(source.splitlines(), 1):
        text = line.strip()
        if inside is None:
            if text == BEGIN_SOLUTION:
                indent = line[: len(line) - len(line.lstrip())]
                out += [indent + stub for stub in STUB]
                inside = END_SOLUTION
            elif text == BEGIN_HIDDEN:
                inside = END_HIDDEN
            elif text in MARKERS:
                raise MarkerError(f"{where}, line {number}: {text!r} without its BEGIN")
            else:
                out.append(line)
        elif text == inside:
            inside = None
        elif text in MARKERS:
            raise MarkerError(f"{where}, line {number}: {text!r} inside an open block")
    if inside is not None:
        raise MarkerError(f"{where}: block not closed (missing {inside!r})")
    return "\n".join(out).rstrip("\n")


def hidden_lines(source: str) -> list[str]:
    """The lines of a cell that a starter must not show (inside either kind of block)."""
    lines, inside = [], False
    for line in source.splitlines():
        text = line.strip()
        if text in (BEGIN_SOLUTION, BEGIN_HIDDEN):
            inside = True
        elif text in (END_SOLUTION, END_HIDDEN):
            inside = False
        elif inside:
            lines.append(text)
    return lines


def starter(solution: nbformat.NotebookNode, where: str = "notebook") -> nbformat.NotebookNode:
    """The contestant's copy of a solution notebook."""
    nb = copy.deepcopy(solution)
    for i, cell in enumerate(nb.cells):
        cell.metadata = nbformat.from_dict(
            {k: v for k, v in cell.metadata.items() if k in KEEP_CELL_METADATA})
        if cell.cell_type == "code":
            cell.source = strip_source(cell.source, f"{where}, cell {i + 1}")
            cell.outputs = []
            cell.execution_count = None
        elif any(line.strip() in MARKERS for line in cell.source.splitlines()):
            raise MarkerError(f"{where}, cell {i + 1}: markers belong in code cells")
    nb.metadata = nbformat.from_dict({k: solution.metadata[k] for k in KEEP_METADATA
                                      if k in solution.metadata})
    return nb


def starter_path(solution: Path) -> Path:
    return CONTEST / solution.name


def render(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def solutions() -> list[Path]:
    return sorted(SOLUTIONS.glob("[0-9][0-9]-*.ipynb"))


def stale() -> list[str]:
    """What ``--check`` complains about: starters missing, different, or left over."""
    problems = []
    wanted = {starter_path(p): p for p in solutions()}
    for target, source in wanted.items():
        text = render(starter(nbformat.read(source, as_version=4), source.name))
        if not target.exists():
            problems.append(f"{target.relative_to(ROOT)} is missing")
        elif target.read_text(encoding="utf-8") != text:
            problems.append(f"{target.relative_to(ROOT)} is stale (made from an older "
                            f"{source.relative_to(ROOT)})")
    for extra in sorted(CONTEST.glob("[0-9][0-9]-*.ipynb")):
        if extra not in wanted:
            problems.append(f"{extra.relative_to(ROOT)} has no solution in solutions/")
    return problems


def write() -> list[Path]:
    CONTEST.mkdir(exist_ok=True)
    written = []
    for source in solutions():
        target = starter_path(source)
        text = render(starter(nbformat.read(source, as_version=4), source.name))
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
            written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 when a starter is stale or missing")
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = stale()
            for problem in problems:
                print(problem, file=sys.stderr)
            if problems:
                print("run: python tools/make_starters.py", file=sys.stderr)
            return 1 if problems else 0
        for path in write():
            print(f"wrote {path.relative_to(ROOT)}")
    except MarkerError as err:
        print(f"make_starters: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
