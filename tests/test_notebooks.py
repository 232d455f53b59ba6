"""The lessons and solutions are paired, executed in order and leak no account id; the contest
starters are fresh and show no solution.

nbval (``--nbval --nbval-current-env`` in pyproject's addopts, on ``notebooks/`` and
``solutions/``) re-runs every cell and compares its output with the stored one; these tests
check what nbval cannot: that every cell *has* a stored output to compare.
"""

from __future__ import annotations

import importlib.util
import io
import re
import sys
import tomllib
from pathlib import Path

import jupytext
import nbformat
import pytest

from conftest import ROOT

LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]-*.ipynb"))
STARTERS = sorted((ROOT / "contest").glob("[0-9][0-9]-*.ipynb"))
EXECUTED = LESSONS + SOLUTIONS
#: Twelve digits standing alone (not part of a longer number, not decimals after a point).
ACCOUNT_ID = re.compile(r"(?<![\d.])\d{12}(?!\d)")


def _name(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _tool(name: str):
    """A module of ``tools/`` (not a package: loaded from its file)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _code(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def test_the_lessons_are_numbered_in_order_with_a_solution_and_starter_each():
    assert [p.stem[:2] for p in LESSONS] == [f"{n:02d}" for n in range(1, len(LESSONS) + 1)]
    assert len(LESSONS) >= 7
    assert SOLUTIONS and [p.name for p in STARTERS] == [p.name for p in SOLUTIONS]


@pytest.mark.parametrize("path", EXECUTED, ids=_name)
def test_notebook_and_its_script_hold_the_same_cells(path):
    script = path.with_suffix(".py")
    assert script.exists(), f"{_name(path)} has no paired {script.name}"
    notebook, text = jupytext.read(path), jupytext.read(script)
    cells = [(c.cell_type, c.source, c.metadata.get("tags"), c.metadata.get("nbgrader"))
             for c in notebook.cells]
    paired = [(c.cell_type, c.source, c.metadata.get("tags"), c.metadata.get("nbgrader"))
              for c in text.cells]
    assert cells == paired, (f"{_name(path)} and {script.name} differ: "
                             "run python tools/refresh_notebooks.py")


@pytest.mark.parametrize("path", EXECUTED, ids=_name)
def test_every_code_cell_was_executed_once_in_order(path):
    counts = [c.execution_count for c in _code(_read(path))]
    assert counts == list(range(1, len(counts) + 1)), (
        f"{_name(path)}: execution counts {counts}; run python tools/refresh_notebooks.py")


@pytest.mark.parametrize("path", EXECUTED + STARTERS, ids=_name)
def test_kernelspec_is_plain_python3(path):
    assert _read(path).metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", EXECUTED, ids=_name)
def test_no_stored_error_or_warning(path):
    for i, cell in enumerate(_code(_read(path)), 1):
        kinds = [(o.output_type, o.get("name")) for o in cell.outputs]
        assert ("error", None) not in kinds, f"{_name(path)} code cell {i} stored an error"
        assert ("stream", "stderr") not in kinds, f"{_name(path)} code cell {i} wrote to stderr"


@pytest.mark.parametrize("path", EXECUTED, ids=_name)
def test_plot_cells_end_with_plt_show_and_store_a_real_figure(path):
    for cell in _code(_read(path)):
        figures = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        if figures or "plt.show()" in cell.source:
            assert cell.source.rstrip().endswith("plt.show()"), cell.source[:80]
            assert len(figures) == 1 and len(figures[0].data["image/png"]) > 10_000
            assert figures[0].data["text/plain"].startswith("<Figure size")


def _texts(nb):
    """Every cell source and every textual output (images are not text)."""
    for cell in nb.cells:
        yield cell.source
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                yield output.text
            for mime, value in output.get("data", {}).items():
                if not mime.startswith("image/"):
                    yield value if isinstance(value, str) else str(value)
            if output.output_type == "error":
                yield "\n".join(output.traceback)


def _foreign_ids(text: str) -> set[str]:
    from costlib.sample import LINKED_ACCOUNTS

    return set(ACCOUNT_ID.findall(text)) - set(LINKED_ACCOUNTS)


def test_the_leak_check_sees_a_real_account_id():
    conformance = ROOT.parent / "shared" / "conformance"
    real = "095669871260"
    assert _foreign_ids(f"Total for linked account# {real} (x)") == {real}
    assert _foreign_ids("cost 0.000000123456 and RecordId 31202602000161210076643359") == set()
    assert _foreign_ids("012345678901 and 012345678902, the synthetic sample") == set()
    if conformance.exists():
        text = "".join(p.read_text(errors="replace") for p in conformance.glob("*.csv"))
        assert _foreign_ids(text), "the conformance files' ids must count as foreign"


@pytest.mark.parametrize("path", EXECUTED + STARTERS, ids=_name)
def test_no_stored_output_holds_a_real_account_id(path):
    found = set().union(*[_foreign_ids(text) for text in _texts(_read(path))])
    assert not found, (f"{_name(path)} holds account ids {sorted(found)}: was it run on a real "
                       "bill? Refresh it on the sample: python tools/refresh_notebooks.py")


def test_starters_are_fresh():
    problems = _tool("make_starters").stale()
    assert not problems, problems


@pytest.mark.parametrize("solution", SOLUTIONS, ids=_name)
def test_starter_shows_no_solution_and_no_hidden_test(solution):
    make_starters = _tool("make_starters")
    starter = _read(make_starters.starter_path(solution))
    source = _read(solution)
    solution_code = "\n".join(c.source for c in _code(source))
    visible = "\n".join(make_starters.strip_source(c.source) for c in _code(source))
    secret = {line for c in _code(source) for line in make_starters.hidden_lines(c.source)
              if len(line) >= 12 and not line.startswith("#") and line not in visible}
    assert secret, "a solution notebook with nothing to hide"
    text = "\n".join(c.source for c in starter.cells)
    leaked = sorted(line for line in secret if line in text)
    assert not leaked, f"{make_starters.starter_path(solution).name} shows {leaked[:3]}"
    for marker in make_starters.MARKERS:
        assert marker not in text
    starter_code = "\n".join(c.source for c in _code(starter))
    stubs = starter_code.count("raise NotImplementedError()")
    assert stubs == solution_code.count("### BEGIN SOLUTION")
    assert all(not c.outputs and c.execution_count is None for c in _code(starter))


def test_strip_source_uses_nbgraders_spellings():
    strip_source = _tool("make_starters").strip_source
    source = ("def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n"
              "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(2) == 3\n"
              "### END HIDDEN TESTS")
    assert strip_source(source) == ("def f(x):\n    # YOUR CODE HERE\n"
                                    "    raise NotImplementedError()\nassert f(1) == 2")
    MarkerError = _tool("make_starters").MarkerError
    for broken in ("### BEGIN SOLUTION\nx = 1", "x = 1\n### END SOLUTION",
                   "### BEGIN SOLUTION\n### BEGIN HIDDEN TESTS\n### END SOLUTION"):
        with pytest.raises(MarkerError):
            strip_source(broken)


@pytest.mark.parametrize("solution", SOLUTIONS, ids=_name)
def test_solutions_carry_nbgrader_metadata_with_the_contests_points(solution):
    from costlib.contest import TASKS

    points = {t.key: t.points for t in TASKS}
    solved, graded = set(), {}
    for cell in _code(_read(solution)):
        meta = cell.metadata.get("nbgrader")
        if "### BEGIN SOLUTION" in cell.source:
            assert meta and meta["solution"] and not meta["grade"], cell.source[:60]
            solved.add(meta["grade_id"])
        if "### BEGIN HIDDEN TESTS" in cell.source:
            assert meta and meta["grade"] and not meta["solution"], cell.source[:60]
            graded[meta["grade_id"].removesuffix("-tests")] = meta["points"]
    assert solved == set(points) and graded == points


def test_pytest_runs_nbval_on_the_lessons_and_solutions_only():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    options = config["ini_options"]
    assert {"tests", "notebooks", "solutions"} <= set(options["testpaths"])
    assert "contest" not in options["testpaths"]
    addopts = options["addopts"].split()
    assert "--nbval" in addopts and "--nbval-current-env" in addopts
    assert "--nbval-lax" not in addopts


def _check_your_understanding(path: Path) -> tuple[list[str], int, str]:
    """The lesson's code cells, the index of the answer cell (the first code cell after the
    "Check your understanding" heading) and the hidden solution's code."""
    cells = _read(path).cells
    heading = next(i for i, c in enumerate(cells) if c.cell_type == "markdown"
                   and "## Check your understanding" in c.source)
    solution = re.search(r"<details>.*?```python\n(.*?)```", cells[heading].source, re.DOTALL)
    assert solution, f"{_name(path)}: the task's solution is not in a <details> block"
    codes = [i for i, c in enumerate(cells) if c.cell_type == "code"]
    answer = next(n for n, i in enumerate(codes) if i > heading)
    return [cells[i].source for i in codes], answer, solution.group(1)


def _run(source: str, namespace: dict) -> str:
    """Run a cell's code (IPython magics dropped) and return what it printed."""
    import contextlib

    code = "\n".join(line for line in source.splitlines() if not line.startswith("%"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<cell>", "exec"), namespace)
    return out.getvalue()


@pytest.mark.parametrize("path", LESSONS, ids=_name)
def test_check_your_understanding_is_a_task_its_solution_passes_and_a_wrong_answer_fails(
        path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(path.parent)
    codes, answer, solution = _check_your_understanding(path)
    assert "..." in codes[answer], f"{_name(path)}: the answer cell leaves nothing to write"
    stored = [o.text for o in _code(_read(path))[answer + 1].outputs if o.output_type == "stream"]
    assert stored and stored[0].startswith("not answered yet"), stored
    names = re.findall(r"^(\w+) = ", codes[answer], re.MULTILINE)
    namespace: dict = {}
    try:
        for source in codes[:answer]:
            _run(source, namespace)
        _run(solution, namespace)
        assert _run(codes[answer + 1], namespace).startswith("right"), _name(path)
        _run("\n".join(f"{name} = -1" for name in names), namespace)
        with pytest.raises(AssertionError, match=names[0]):
            _run(codes[answer + 1], namespace)
    finally:
        plt.close("all")


@pytest.mark.parametrize("path", LESSONS, ids=_name)
def test_every_lesson_has_two_exercises_one_to_predict_or_break(path):
    text = "\n".join(c.source for c in _read(path).cells if c.cell_type == "markdown")
    exercises = re.findall(r"^### Exercise \d+: (.+)$", text, re.MULTILINE)
    assert len(exercises) >= 2, f"{_name(path)}: exercises {exercises}"
    assert any(re.search(r"predict|break", e, re.IGNORECASE) for e in exercises), exercises
    solutions = text.count("<details><summary>Solution</summary>")
    assert solutions >= len(exercises) + 1, "each exercise and the task hide a solution"
