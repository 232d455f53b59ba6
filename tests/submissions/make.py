"""Make the sample submissions in this folder from the by-hand reference solution.

    python tests/submissions/make.py           # write the notebooks here
    python tests/submissions/make.py --check   # exit 1 when one is stale or missing

Each typical mistake is the reference solution (``solutions/01-by-hand.ipynb``) without its
hidden tests, with one small edit; the robustness cases are tiny notebooks of their own.
``correct.ipynb`` is the solution as a contestant hands it in (no hidden tests),
``skips-bonus.ipynb`` the same with the bonus cells as the starter ships them,
``practice-answers.json`` the answers a right notebook hands in on the practice month (the
bundled sample). Edit the solution or the
sample, then run this, as for the contest starters. ``malformed-answers.json`` is written by
hand.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
SOLUTION = HERE.parent.parent / "solutions" / "01-by-hand.ipynb"
PRACTICE = "012345678901-aws-billing-detailed-line-items-with-resources-and-tags-2026-02.csv.zip"

#: name -> (text in the solution, what the contestant wrote instead)
MISTAKES: dict[str, tuple[str, str]] = {
    "end-date": ('starts = np.array([r[col["UsageStartDate"]]',
                 'starts = np.array([r[col["UsageEndDate"]]'),
    "total-rows-twice": ('TOTAL_ROWS = {"AccountTotal", "Rounding",', 'TOTAL_ROWS = {"Rounding",'),
    "untagged-ignored": ('    user = (r[owner] if owner is not None else "") or UNTAGGED\n',
                         '    user = (r[owner] if owner is not None else "") or UNTAGGED\n'
                         '    if user == UNTAGGED:\n        continue\n'),
    "fixed-utc-8": ('(utc + pacific_offset(utc).astype("timedelta64[h]"))',
                    '(utc - np.timedelta64(8, "h"))'),
    "practice-file": ("BILL = contest.bill_path() ",
                      f'BILL = os.path.join(os.path.dirname(contest.__file__), "..", "data", '
                      f'"{PRACTICE}") '),
    "crash": ("rows = len(records)", "rows = len(record)"),
    # a visible check fails (tag_columns holds a number): that task scores 0, the rest count
    "fails-a-check": ('tag_columns = [name for name in header if ":" in name]',
                      'tag_columns = [name for name in header if ":" in name] + [len(header)]'),
}
#: The bonus tasks, left as the starter ships them (raising NotImplementedError).
BONUS = ("daily", "window", "pacific")

#: name -> the code cells of a small notebook
SMALL: dict[str, list[str]] = {
    "infinite-loop": ["from costlib import contest\n\nBILL = contest.bill_path()",
                      "rows = 0\nwhile True:  # forgot to move on to the next record\n"
                      "    rows += 1"],
    "sleeps-forever": ["import time\n\nwhile True:\n    time.sleep(1)  # waits for a file that "
                       "never comes"],
    "memory-hog": ["blocks = []\nwhile True:\n    blocks.append(bytearray(2**26))  "
                   "# keeps a copy of everything"],
    "garbage-output": ["import os\nimport random\n\nrandom.seed(0)\nfor _ in range(200):  "
                       "# about 1 MB of noise\n    print(''.join(chr(random.randrange(1, 0x2ff))"
                       " for _ in range(2500)))",
                       "with open(os.environ.get('COSTLIB_ANSWERS', 'answers.json'), 'w') as f:"
                       "\n    f.write('\\x00\\x01 not an answers file {{{')"],
}


def handed_in(source: str) -> str:
    """A solution cell as a contestant hands it in: no hidden tests, no solution markers."""
    out, hidden = [], False
    for line in source.splitlines():
        text = line.strip()
        if text == "### BEGIN HIDDEN TESTS":
            hidden = True
        elif text == "### END HIDDEN TESTS":
            hidden = False
        elif not hidden and text not in ("### BEGIN SOLUTION", "### END SOLUTION"):
            out.append(line)
    return "\n".join(out).rstrip("\n")


def _clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb.metadata = nbformat.from_dict({k: nb.metadata[k] for k in ("kernelspec", "costlib")
                                      if k in nb.metadata})
    for cell in nb.cells:  # as the starters: nbgrader's cell metadata only
        cell.metadata = nbformat.from_dict({k: v for k, v in cell.metadata.items()
                                            if k == "nbgrader"})
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def handed_in_notebook(path: Path = SOLUTION, skip: tuple[str, ...] = ()
                       ) -> nbformat.NotebookNode:
    """A solution as a contestant hands it in: no hidden tests; the cells of the tasks in
    ``skip`` (nbgrader grade ids) as the starter ships them."""
    sys.path.insert(0, str(HERE.parent.parent / "tools"))
    from make_starters import strip_source

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            task = (cell.metadata.get("nbgrader") or {}).get("grade_id")
            cell.source = strip_source(cell.source) if task in skip else handed_in(cell.source)
    return nb


def mistaken(name: str) -> nbformat.NotebookNode:
    """The solution with the edit of ``MISTAKES[name]``; the edit must match exactly once."""
    old, new = MISTAKES[name]
    nb = handed_in_notebook()
    found = [c for c in nb.cells if old in c.source]
    if len(found) != 1 or found[0].source.count(old) != 1:
        raise SystemExit(f"make.py: {name}: {old!r} is not in {SOLUTION.name} exactly once; "
                         "update MISTAKES to the solution's new wording")
    found[0].source = found[0].source.replace(old, new)
    return _clean(nb)


def small(name: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python",
                                 "name": "python3"}
    nb.cells = [nbformat.v4.new_code_cell(code) for code in SMALL[name]]
    for i, cell in enumerate(nb.cells):
        cell.id = f"{name}-{i}"
    return nb


def practice_answers() -> str:
    """The answers file a right notebook hands in on the practice month (the bundled sample),
    written by contest.submit itself."""
    from costlib import contest
    from costlib.contest.answers import expected

    saved = {k: os.environ.pop(k) for k in contest.ENV_VARS if k in os.environ}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ[contest.ANSWERS_ENV] = os.path.join(tmp, "answers.json")
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                path = contest.submit(**expected())
            return path.read_text(encoding="utf-8")
        finally:
            os.environ.pop(contest.ANSWERS_ENV)
            os.environ.update(saved)


def made() -> dict[str, str]:
    """File name -> text of every notebook this script makes."""
    out = {"correct.ipynb": nbformat.writes(_clean(handed_in_notebook())) + "\n",
           "practice-answers.json": practice_answers()}
    out.update({f"{n}.ipynb": nbformat.writes(mistaken(n)) + "\n" for n in MISTAKES})
    out["skips-bonus.ipynb"] = nbformat.writes(_clean(handed_in_notebook(skip=BONUS))) + "\n"
    out.update({f"{n}.ipynb": nbformat.writes(small(n)) + "\n" for n in SMALL})
    return out


def stale() -> list[str]:
    return [name for name, text in made().items()
            if not (HERE / name).exists() or (HERE / name).read_text(encoding="utf-8") != text]


def main(argv: list[str]) -> int:
    if "--check" in argv:
        names = stale()
        for name in names:
            print(f"tests/submissions/{name} is stale: run python tests/submissions/make.py",
                  file=sys.stderr)
        return 1 if names else 0
    for name, text in made().items():
        (HERE / name).write_text(text, encoding="utf-8")
        print(f"wrote tests/submissions/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
