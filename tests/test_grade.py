"""Grading: every sample submission in tests/submissions gets its score and the feedback that
names its mistake, on a month nobody practised on; nothing a submission does stops the rest."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from submissions import make

import costlib
from conftest import ROOT, run_cli, sample
from costlib import contest
from costlib.contest.answers import differences, expected
from costlib.contest.grade import GradeError, feedback_file, find_submissions, grade
from costlib.contest.sandbox import Limits, _set_limits, isolation
from costlib.files import bill_name
from costlib.sample import write_bill

SUBMISSIONS = ROOT / "tests" / "submissions"
KEYS = [t.key for t in contest.TASKS]
#: Short limits: a loop burns its 6 s of CPU, a sleeper waits out its 20 s of wall time.
LIMITS = Limits(wall=20, cpu=6, memory=int(1.5 * 2**30))
JOBS = 3  # two cores: one slot may sleep while two compute
#: In bubblewrap's sandbox where the machine has it; as plain processes (--no-sandbox) where
#: not, so that these tests run everywhere (tests/test_hostile.py needs the sandbox).
SANDBOX = isolation().kind == "bwrap"

#: submission -> (tasks that score zero, phrases its feedback holds); "by end": the tasks
#: whose answers change when every row is binned by its UsageEndDate (daily and pacific at
#: least: which others depends on the bill)
EXPECTED: dict[str, tuple[set[str] | str, list[str]]] = {
    "correct.ipynb": (set(), ["Your notebook ran to the end."]),
    "02-with-costlib.ipynb": (set(), ["Your notebook ran to the end."]),
    "starter.ipynb": ("all", ["raised an error, the first in code cell 3: NotImplementedError",
                              "Nothing was handed in", "Restart Kernel and Run All Cells"]),
    "skips-bonus.ipynb": ({"daily", "window", "pacific"}, [
        "the first in code cell 9: NotImplementedError", "It never handed in with "
        "contest.submit(...): the answers its variables held after the last cell are scored"]),
    "fails-a-check.ipynb": ({"open"}, [
        "The checks of task 1 failed (code cell 4): that task scores 0",
        "tag_columns must be a list of strings; int"]),
    "end-date.ipynb": ("by end", ["did you bin by UsageEndDate? ", "(tasks bonus A, "]),
    "total-rows-twice.ipynb": ({"invoice", "users"}, [
        "Your total counts the bill twice: it adds in the total rows (AccountTotal)",
        "- `blended_total: ", "- `users['(untagged)']: "]),
    "untagged-ignored.ipynb": ({"users"}, ['Untagged spend is missing', "(task 3)",
                                           "`users_equal_total: False, expected True`"]),
    "fixed-utc-8.ipynb": ({"pacific"}, [
        "fixed UTC-8, but Seattle switches to daylight time (UTC-7) on 2026-03-08"]),
    "practice-file.ipynb": ("all", ["the practice month's answers (2026-02)",
                                    "(tasks 1, 2, 3, bonus A, bonus C)"]),
    "practice-answers.json": ("all", [
        "computed on 012345678901-aws-billing-detailed-line-items-with-resources-and-tags-"
        "2026-02.csv.zip, not on the bill you were graded on", "the practice month's answers"]),
    "crash.ipynb": ({"open"}, ["the first in code cell 3: NameError: name 'record' is not "
                               "defined", "The checks of task 1 failed (code cell 4)"]),
    # CPU time on a quiet machine, wall time on a loaded one: a limit, whichever comes first
    "infinite-loop.ipynb": ("all", ["Your notebook was stopped by the ", "-time limit (",
                                    "An endless loop, or far too slow?"]),
    "sleeps-forever.ipynb": ("all", ["stopped by the wall-time limit (20 s) in code cell 1"]),
    "memory-hog.ipynb": ("all", ["the first in code cell 1: MemoryError (over the memory "
                                 "limit, 1.5 GiB)"]),
    "garbage-output.ipynb": ("all", ["Your notebook ran to the end.", "Your answers file "
                                     "cannot be scored: answers.json: not an answers file"]),
    "malformed-answers.json": ("all", [
        "`account must be a string, not int 12345678901 (account ids are text",
        "`users must be a dict", "Ignored: unknown answer 'colour'"]),
    "class-b/one-bad-answer.json": ({"open"}, ["`rows must be a whole number, not str 'many'`"]),
}


def _changed_by_end_date(path: Path) -> set[str]:
    """The tasks whose right answers change when rows are binned by UsageEndDate."""
    bill = costlib.read(path)
    ends = dataclasses.replace(bill, items=bill.items.assign(
        UsageStartDate=bill.items["UsageEndDate"]))
    window = contest.window(path)
    wrong = expected(ends, window, None)
    return {k for k, p in differences(wrong, expected(bill, window)).items() if p}


def _march(folder: Path) -> Path:
    """A month nobody practised on: another seed, the switch to daylight time inside."""
    return write_bill(folder / bill_name("012345678901", "2026-03"), month="2026-03",
                      kind="dbr", seed=7)


def _hand_ins(folder: Path, bill: Path) -> Path:
    """Everything in tests/submissions, the other reference solution as it is, an untouched
    starter, and (in a subfolder) an answers file with one answer of the wrong shape."""
    folder.mkdir()
    for path in SUBMISSIONS.iterdir():
        if path.suffix in (".ipynb", ".json"):
            shutil.copy(path, folder / path.name)
    with_costlib = make.handed_in_notebook(ROOT / "solutions" / "02-with-costlib.ipynb")
    nbformat.write(with_costlib, folder / "02-with-costlib.ipynb")
    shutil.copy(ROOT / "contest" / "01-by-hand.ipynb", folder / "starter.ipynb")
    (folder / ".hidden.ipynb").write_text("{}")
    (folder / "notes.txt").write_text("my notes")
    right = expected(bill, contest.window(bill), None)
    (folder / "class-b").mkdir()
    (folder / "class-b" / "one-bad-answer.json").write_text(json.dumps({
        "format": contest.FORMAT, "bill": bill.name, "answers": {**right, "rows": "many"}}))
    return folder


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The whole folder graded once, in parallel, with the grader's scratch folders in a
    temporary folder of this test's own (to look for processes left behind)."""
    base = tmp_path_factory.mktemp("grade")
    bill = _march(base / "bills")
    folder = _hand_ins(base / "hand-ins", bill)
    scratch_root = base / "scratch"
    scratch_root.mkdir()
    saved, tempfile.tempdir = tempfile.tempdir, str(scratch_root)
    started = time.monotonic()
    try:
        results = grade(folder, bill, out=base / "results", limits=LIMITS, jobs=JOBS,
                        sandbox=SANDBOX, progress=None)
    finally:
        tempfile.tempdir = saved
    return {"results": {r.submission: r for r in results}, "out": base / "results",
            "folder": folder, "bill": bill, "scratch": scratch_root,
            "seconds": time.monotonic() - started}


# ------------------------------------------------------------------- the sample hand-ins


def test_sample_submissions_are_made_from_the_current_solution():
    assert make.stale() == [], "run: python tests/submissions/make.py"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_submission_gets_its_score_and_feedback(graded, name):
    zero, phrases = EXPECTED[name]
    if zero == "by end":
        zero = _changed_by_end_date(graded["bill"])
        assert {"daily", "pacific"} <= zero
    result = graded["results"][name]
    want = {t.key: 0 if zero == "all" or t.key in zero else t.points for t in contest.TASKS}
    assert result.points == want, result.feedback
    feedback = (graded["out"] / "feedback" / feedback_file(name)).read_text(encoding="utf-8")
    assert feedback == result.feedback
    assert feedback.startswith(f"# {name}: {sum(want.values())} of 8 points\n")
    for phrase in phrases:
        assert phrase in feedback, feedback


def test_every_hand_in_is_graded_and_nothing_else(graded):
    assert set(graded["results"]) == set(EXPECTED)
    names, skipped = find_submissions(graded["folder"])
    assert names == sorted(EXPECTED)
    assert skipped == [(".hidden.ipynb", "hidden (a name starting with a dot, such as "
                        ".ipynb_checkpoints)"), ("notes.txt", "not a notebook (.ipynb) or an "
                                                 "answers file (.json)")]
    listing = (graded["out"] / "leaderboard.md").read_text(encoding="utf-8")
    assert "- `notes.txt`: not a notebook" in listing and "- `.hidden.ipynb`: hidden" in listing


def test_a_right_submission_gets_no_mistakes_named(graded):
    for name in ("correct.ipynb", "02-with-costlib.ipynb"):
        feedback = graded["results"][name].feedback
        assert "Likely mistakes" not in feedback and "| wrong |" not in feedback


def test_feedback_lists_only_a_few_differences_per_task(graded):
    feedback = graded["results"]["practice-file.ipynb"].feedback
    section = feedback.split("## bonus A.")[1].split("##")[0]
    assert section.count("\n- `daily[") == 5 and "- ... and " in section


def test_leaderboard_has_a_column_per_task_and_the_best_first(graded):
    out = graded["out"]
    with open(out / "leaderboard.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["submission", "track", *KEYS, "score"]
    table = {row[0]: row[1:] for row in rows[1:]}
    assert set(table) == set(EXPECTED)
    for name, result in graded["results"].items():
        assert table[name] == [result.track, *(str(result.points[k]) for k in KEYS),
                               str(result.score)]
    assert table["02-with-costlib.ipynb"][0] == "with-costlib"
    assert table["correct.ipynb"][0] == table["malformed-answers.json"][0] == "by-hand"
    scores = [(-int(row[-1]), row[0]) for row in rows[1:]]
    assert scores == sorted(scores)
    assert rows[1][-1] == "8" and rows[-1][-1] == "0"
    markdown = (out / "leaderboard.md").read_text(encoding="utf-8").splitlines()
    header = markdown.index("| submission | track | " + " | ".join(KEYS) + " | score |")
    table_end = markdown.index("", header)
    assert [line.split(" | ")[0].lstrip("| ") for line in markdown[header + 2:table_end]] == [
        row[0] for row in rows[1:]]


def test_the_log_has_the_times_and_the_runners_output(graded):
    log = (graded["out"] / "grading.log").read_text(encoding="utf-8")
    assert "sleeps-forever.ipynb: 0/8 wall in " in log
    assert "correct.ipynb: 8/8 finished in " in log


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc")
def test_no_process_outlives_its_run_and_no_scratch_is_left(graded):
    marker = str(graded["scratch"]).encode()  # in a sandbox's command line, a runner's env
    left = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and any(marker in (entry / part).read_bytes()
                                            for part in ("environ", "cmdline")):
                left.append((entry / "cmdline").read_bytes().replace(b"\0", b" "))
        except OSError:
            continue
    assert left == []
    assert list(graded["scratch"].iterdir()) == []


def test_notebooks_run_side_by_side(graded):
    runs = [r.run.seconds for r in graded["results"].values() if r.run is not None]
    assert sum(runs) > 1.5 * graded["seconds"]  # JOBS at a time, not one after another


# ------------------------------------------------------------------- other bills, twice


def test_reference_solutions_score_full_marks_on_the_open_november(samples, tmp_path):
    folder = tmp_path / "hand-ins"
    folder.mkdir()
    for name in ("01-by-hand.ipynb", "02-with-costlib.ipynb"):  # as contestants hand them in
        nbformat.write(make.handed_in_notebook(ROOT / "solutions" / name), folder / name)
    shutil.copy(SUBMISSIONS / "fixed-utc-8.ipynb", folder)
    results = grade(folder, sample(samples, "tags-2026-11"), out=tmp_path / "results",
                    limits=LIMITS, jobs=JOBS, sandbox=SANDBOX, progress=None)
    scores = {r.submission: r.score for r in results}
    assert scores == {"01-by-hand.ipynb": 8, "02-with-costlib.ipynb": 8, "fixed-utc-8.ipynb": 7}
    feedback = (tmp_path / "results" / "feedback" / feedback_file("fixed-utc-8.ipynb")).read_text()
    assert "Seattle switches to standard time (UTC-8) on 2026-11-01" in feedback
    assert "invoice: the bill's own total rows" in feedback


def test_grading_the_same_folder_twice_gives_the_same_files(tmp_path):
    bill = _march(tmp_path / "bills")
    folder = tmp_path / "hand-ins"
    folder.mkdir()
    for name in ("crash.ipynb", "malformed-answers.json", "practice-answers.json"):
        shutil.copy(SUBMISSIONS / name, folder)
    outs = [tmp_path / "first", tmp_path / "second"]
    for out in outs:
        grade(folder, bill, out=out, limits=LIMITS, jobs=JOBS, sandbox=SANDBOX, progress=None)
    files = [sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
             for out in outs]
    assert files[0] == files[1]
    for name in files[0]:
        if name != "grading.log":  # the one file with times in it
            assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name


def test_regrading_one_hand_in_keeps_every_other_row_and_feedback(tmp_path):
    bill = _march(tmp_path / "bills")
    folder, out = tmp_path / "hand-ins", tmp_path / "results"
    folder.mkdir()
    for name in ("malformed-answers.json", "practice-answers.json"):
        shutil.copy(SUBMISSIONS / name, folder)
    grade(folder, bill, out=out, progress=None)
    before = (out / "feedback" / feedback_file("malformed-answers.json")).read_text()
    kept = (out / "feedback" / feedback_file("practice-answers.json")).read_bytes()
    (folder / "malformed-answers.json").write_text((SUBMISSIONS / "practice-answers.json")
                                                   .read_text())
    results = grade(folder, bill, out=out, progress=None, only=["malformed-answers.json"])
    assert [r.submission for r in results] == ["malformed-answers.json"]
    with open(out / "leaderboard.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert len(rows) == 3 and sorted(r[0] for r in rows[1:]) == ["malformed-answers.json",
                                                                  "practice-answers.json"]
    assert (out / "feedback" / feedback_file("malformed-answers.json")).read_text() != before
    assert (out / "feedback" / feedback_file("practice-answers.json")).read_bytes() == kept
    other = tmp_path / "class-b"  # another folder into the same results: rows are added
    other.mkdir()
    shutil.copy(SUBMISSIONS / "malformed-answers.json", other / "late.json")
    grade(other, bill, out=out, progress=None)
    assert len((out / "leaderboard.csv").read_text().splitlines()) == 4
    with pytest.raises(GradeError, match="nope.json: no such hand-in"):
        grade(folder, bill, out=out, progress=None, only=["nope.json"])


def test_names_of_any_length_and_formula_cells_are_safe(tmp_path):
    bill = _march(tmp_path / "bills")
    folder, out = tmp_path / "hand-ins", tmp_path / "results"
    folder.mkdir()
    names = ["x" * 245 + ".json", "=SUM(1+1).json", "a b|c.json"]
    for name in names:
        shutil.copy(SUBMISSIONS / "practice-answers.json", folder / name)
    grade(folder, bill, out=out, progress=None)
    with open(out / "leaderboard.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert sorted(r[0] for r in rows[1:]) == sorted(["'=SUM(1+1).json", "x" * 245 + ".json",
                                                     "a b|c.json"])
    files = sorted(p.name for p in (out / "feedback").iterdir())
    assert files == sorted(feedback_file(n) for n in names)
    assert all(len(f) < 80 for f in files)
    assert feedback_file("a/b.json") != feedback_file("a-b.json")


# ------------------------------------------------------------------- the command itself


def test_the_command_grades_and_exits_0(tmp_path):
    bill = _march(tmp_path / "bills")
    folder = tmp_path / "hand-ins"
    folder.mkdir()
    shutil.copy(SUBMISSIONS / "practice-answers.json", folder)
    done = run_cli("grade", str(folder), "--bill", str(bill), "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "0/8  practice-answers.json" in done.stdout
    assert (tmp_path / "out" / "leaderboard.csv").read_text().startswith(
        "submission,track,open,")
    assert (tmp_path / "out" / "feedback" / feedback_file("practice-answers.json")).exists()


@pytest.mark.parametrize(("case", "message"), [
    ("no folder", "no such folder of submissions"),
    ("empty folder", "nothing to grade"),
    ("bad bill", "not a billing file"),
    ("missing bill", "no such file"),
])
def test_the_command_exits_2_with_one_line_when_it_cannot_grade(tmp_path, case, message):
    folder = tmp_path / "hand-ins"
    if case != "no folder":
        folder.mkdir()
    if case not in ("no folder", "empty folder"):
        shutil.copy(SUBMISSIONS / "malformed-answers.json", folder)
    bill = tmp_path / "notes.csv"
    if case != "missing bill":
        bill.write_text("name,age\nann,3\n")
    if case in ("no folder", "empty folder"):
        bill = Path(costlib.sample_path())
    done = run_cli("grade", str(folder), "--bill", str(bill), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert done.stderr.startswith("costlib: error: ") and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_the_command_takes_a_window_and_limits_when_the_parser_has_them(tmp_path):
    import argparse

    from costlib.contest.grade import cli_main

    bill = _march(tmp_path / "bills")
    folder = tmp_path / "hand-ins"
    folder.mkdir()
    shutil.copy(SUBMISSIONS / "malformed-answers.json", folder)
    args = argparse.Namespace(submissions=str(folder), bill=str(bill), invoice="484.25",
                              out=str(tmp_path / "out"), window="2026-03-01, 2026-03-02",
                              wall=30.0, cpu=20, memory=2.0, jobs=1)
    assert cli_main(args) == 0
    feedback = (tmp_path / "out" / "feedback" / feedback_file("malformed-answers.json")
                ).read_text()
    assert "window 2026-03-01 to 2026-03-02 (UTC); invoice: 484.25." in feedback
    with pytest.raises(GradeError, match="--window must be START,END"):
        cli_main(argparse.Namespace(**{**vars(args), "window": "2026-03-01"}))
    with pytest.raises(GradeError, match="--cpu must be more than 0"):
        cli_main(argparse.Namespace(**{**vars(args), "cpu": 0}))


def test_grade_refuses_to_start_without_hand_ins(tmp_path):
    with pytest.raises(GradeError, match="nothing to grade"):
        grade(tmp_path, costlib.sample_path(), out=tmp_path / "out", progress=None)


# ------------------------------------------------------------- without the resource module


def test_without_the_resource_module_grading_goes_on_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "resource", None)  # as on Windows
    assert _set_limits(10, 2**30, 2**20, 64) == ["cpu", "memory", "files", "processes"]
    assert Limits().describe(("cpu", "memory", "processes", "disk")) == "wall 600 s"
    folder = tmp_path / "hand-ins"
    folder.mkdir()
    shutil.copy(SUBMISSIONS / "practice-answers.json", folder)
    said: list[str] = []
    grade(folder, costlib.sample_path(), out=tmp_path / "out", progress=said.append)
    assert any(line.startswith("warning: this system cannot set the CPU-time and memory "
                               "limits") for line in said)


def test_a_run_gets_no_secrets_utc_and_a_fixed_locale(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "placeholder-not-a-key")
    monkeypatch.setenv("GITHUB_TOKEN", "placeholder")
    monkeypatch.setenv("TZ", "America/New_York")
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")
    folder = tmp_path / "hand-ins"
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import os\nimport time\n\nleaks = sorted(k for k in os.environ if k.startswith('AWS_')"
        " or 'TOKEN' in k)\nraise RuntimeError(f'leaks={leaks} TZ={time.strftime(\"%Z\")} "
        "LC_ALL={os.environ[\"LC_ALL\"]} HOME={os.environ[\"HOME\"]}')")]
    nbformat.write(nb, folder / "env.ipynb")
    grade(folder, costlib.sample_path(), out=tmp_path / "out", limits=LIMITS, progress=None,
          sandbox=SANDBOX)
    feedback = (tmp_path / "out" / "feedback" / feedback_file("env.ipynb")).read_text()
    assert "RuntimeError: leaks=[] TZ=UTC LC_ALL=C.UTF-8 HOME=" in feedback


# ------------------------------------------------------------------- isolation and tracks


def _grade_module(*args: str, env: dict[str, str] | None = None, **kwargs):
    """``python -m costlib.contest.grade`` (every option of the grade command)."""
    full = {**os.environ, "MPLBACKEND": "Agg", **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "costlib.contest.grade", *args], env=full,
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kwargs)


def test_check_says_what_isolation_the_machine_gives(tmp_path):
    done = _grade_module("--check")
    out, _ = done.communicate(timeout=120)
    if SANDBOX:
        assert done.returncode == 0 and out.startswith("bubblewrap ")
        assert "no view of the submissions" in out and "TZ=UTC" in out
    without = _grade_module("--check", env={"PATH": str(tmp_path)})  # no bwrap on the PATH
    out, _ = without.communicate(timeout=120)
    assert without.returncode == 1
    assert out.startswith("no sandbox: bubblewrap (bwrap) is not installed.")


def test_without_a_sandbox_notebooks_need_no_sandbox_and_the_leaderboard_says_so(tmp_path):
    folder = tmp_path / "hand-ins"
    folder.mkdir()
    shutil.copy(SUBMISSIONS / "crash.ipynb", folder)
    common = (str(folder), "--bill", costlib.sample_path(), "--wall", "60")
    refused = _grade_module(*common, "--out", str(tmp_path / "a"),
                            env={"PATH": str(tmp_path)})
    _, err = refused.communicate(timeout=120)
    assert refused.returncode == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("costlib: error: no sandbox for the notebooks: bubblewrap (bwrap) "
                          "is not installed; install bubblewrap")
    assert not (tmp_path / "a").exists()
    graded = _grade_module(*common, "--out", str(tmp_path / "b"), "--no-sandbox",
                           env={"PATH": str(tmp_path)})
    out, err = graded.communicate(timeout=300)
    assert graded.returncode == 0, err
    assert "warning: --no-sandbox" in out
    assert "isolation: none (--no-sandbox" in (tmp_path / "b" / "leaderboard.md").read_text()


@pytest.mark.skipif(not SANDBOX, reason="tracks are enforced in bubblewrap's sandbox only")
def test_a_by_hand_notebook_cannot_import_costlibs_core(tmp_path):
    folder = tmp_path / "hand-ins"
    folder.mkdir()
    nb = make.handed_in_notebook(ROOT / "solutions" / "02-with-costlib.ipynb")
    nb.metadata.pop("costlib")  # no track declared: by-hand
    nbformat.write(nb, folder / "undeclared.ipynb")
    nb.metadata["costlib"] = {"track": "by hand"}  # misspelt: by-hand, with a note
    nbformat.write(nb, folder / "misspelt.ipynb")
    results = {r.submission: r for r in grade(folder, costlib.sample_path(), out=tmp_path / "o",
                                              limits=LIMITS, jobs=2, progress=None)}
    for result in results.values():
        assert result.score == 0 and result.track == "by-hand"
        assert "ModuleNotFoundError: No module named 'costlib." in result.feedback
    assert "names the track 'by hand'" in results["misspelt.ipynb"].feedback


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
def test_ctrl_c_stops_the_runs_writes_what_is_done_and_exits_with_one_line(tmp_path):
    folder = tmp_path / "hand-ins"
    folder.mkdir()
    shutil.copy(SUBMISSIONS / "sleeps-forever.ipynb", folder)
    shutil.copy(SUBMISSIONS / "practice-answers.json", folder)
    extra = () if SANDBOX else ("--no-sandbox",)
    grading = _grade_module(str(folder), "--bill", costlib.sample_path(), "--out",
                            str(tmp_path / "out"), "--jobs", "2", "--wall", "300", *extra,
                            env={"PYTHONUNBUFFERED": "1"},  # (a background job ignores ^C)
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines = []
    for line in grading.stdout:  # the answers file is graded while the notebook sleeps
        lines.append(line)
        if "practice-answers.json" in line and "/8" in line:
            break
    grading.send_signal(signal.SIGINT)
    out, err = grading.communicate(timeout=120)
    assert grading.returncode == 130, err
    assert err.strip().splitlines() == [
        f"costlib: interrupted: 1 of 2 graded before Ctrl-C; their results are in "
        f"{tmp_path / 'out'}"]
    rows = (tmp_path / "out" / "leaderboard.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["practice-answers.json"]


# --------------------------------------------------------------- feedback names the mistake


def _answers_file(folder: Path, name: str, bill: str, answers: dict) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(json.dumps({"format": contest.FORMAT,
                                           "bill": os.path.basename(bill), "answers": answers}))


def test_feedback_names_only_the_mistake_that_explains_the_answers(tmp_path):
    bill = costlib.sample_path()  # February: all of it on Pacific standard time
    right = expected(bill, contest.window(bill))
    utc7 = costlib.spend(costlib.read(bill), tz="Etc/GMT+7").daily.sum(axis=1)
    folder = tmp_path / "hand-ins"
    # a float == between the users' sum and the total: only users_equal_total is wrong
    _answers_file(folder, "float-equals.json", bill, {**right, "users_equal_total": False})
    # a fixed UTC-7 in February: the Pacific days shift by an hour, the UTC days are right
    _answers_file(folder, "utc-7.json", bill, {
        **right, "pacific_daily": contest.validate({"pacific_daily": utc7})["pacific_daily"]})
    results = {r.submission: r.feedback for r in grade(folder, bill, out=tmp_path / "out",
                                                       progress=None)}
    assert "Untagged spend is missing" not in results["float-equals.json"]
    assert "did you bin by UsageEndDate" not in results["utc-7.json"]
    assert "fixed UTC-7" in results["utc-7.json"]


def test_the_leaderboard_says_which_mistakes_this_bill_cannot_tell_apart(tmp_path):
    bill = costlib.sample_path()
    _answers_file(tmp_path / "hand-ins", "right.json", bill,
                  expected(bill, contest.window(bill)))
    grade(tmp_path / "hand-ins", bill, out=tmp_path / "out", progress=None)
    listing = (tmp_path / "out" / "leaderboard.md").read_text()
    note = listing.split("This bill cannot tell apart: ")[1].split("\n")[0]
    # February has no daylight-saving switch: a fixed UTC-8 gives the right Pacific days
    assert "a fixed UTC-8 for Seattle from the right answers" in note
    assert "a month with a daylight-saving switch" in note


def test_after_ctrl_c_no_run_starts_until_a_new_grading(tmp_path):
    from costlib.contest.sandbox import allow_runs, run_notebook, stop_all

    stop_all()  # as Ctrl-C does, while another thread is about to start a run
    try:
        run = run_notebook(SUBMISSIONS / "sleeps-forever.ipynb", tmp_path / "s", {}, LIMITS,
                           sandbox=SANDBOX)
    finally:
        allow_runs()
    assert (run.status, run.message) == ("failed", "grading was stopped (Ctrl-C)")


def _unblended_is_blended(folder: Path) -> Path:
    """The sample with UnBlendedCost equal to BlendedCost on every row (a bill that cannot
    see the mistake), written with the standard library."""
    import io
    import zipfile

    source = Path(costlib.sample_path())
    with zipfile.ZipFile(source) as archive:
        (member,) = archive.namelist()
        rows = list(csv.reader(io.StringIO(archive.read(member).decode("utf-8-sig"),
                                           newline="")))
    blended, unblended = rows[0].index("BlendedCost"), rows[0].index("UnBlendedCost")
    for row in rows[1:]:
        row[unblended] = row[blended]
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, text.getvalue())
    return target


def test_unblended_cost_is_named_and_a_bill_that_cannot_see_it_says_so(tmp_path):
    bill = costlib.sample_path()
    read = costlib.read(bill)
    unblended = dataclasses.replace(read, items=read.items.assign(
        BlendedCost=read.items["UnBlendedCost"]))
    wrong = expected(unblended, contest.window(bill))
    folder = tmp_path / "hand-ins"
    _answers_file(folder, "unblended.json", bill, {
        **expected(bill, contest.window(bill)), "blended_total": wrong["blended_total"],
        "users": wrong["users"]})
    (result,) = grade(folder, bill, out=tmp_path / "out", progress=None)
    assert "UnBlendedCost" in result.feedback.split("## Likely mistakes")[1]
    same = _unblended_is_blended(tmp_path / "bills")
    grade(folder, same, out=tmp_path / "out2", progress=None)
    note = (tmp_path / "out2" / "leaderboard.md").read_text().split(
        "This bill cannot tell apart: ")[1]
    assert "UnblendedCost instead of BlendedCost from the right answers" in note


def test_the_costlib_command_takes_every_grading_option():
    """``costlib grade`` and ``python -m costlib.contest.grade`` share one set of options."""
    done = run_cli("grade", "--help")
    for option in ("--check", "--only", "--no-sandbox", "--disk", "--processes", "--jobs"):
        assert option in done.stdout, option
    assert done.returncode == 0


def test_a_checkout_under_tmp_still_gets_a_sandbox(tmp_path):
    """A clone or venv under /tmp is mounted there, so /tmp cannot also be the scratch link
    (bwrap: "Can't make symlink at /tmp"); TMPDIR points into the scratch folder instead."""
    from costlib.contest import sandbox

    found = sandbox.Isolation("bwrap", tool="bwrap", root=True)
    view = [("ro-bind", str(tmp_path), str(tmp_path))]
    args = sandbox._bwrap_args(found, view, {})
    pairs = list(zip(args, args[1:], args[2:], strict=False))
    assert ("--symlink", f"{sandbox.SCRATCH}/tmp", "/tmp") not in pairs
    elsewhere = sandbox._bwrap_args(found, [("ro-bind", "/opt/x", "/opt/x")], {})
    assert ("--symlink", f"{sandbox.SCRATCH}/tmp", "/tmp") in list(
        zip(elsewhere, elsewhere[1:], elsewhere[2:], strict=False))
