"""The contest's answer sheet: the bill and window it names, what submit() accepts, the right
answers, and the reference solutions scoring full marks on months nobody practised on."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

import costlib
from conftest import ROOT, SCOPELY, conformance, sample
from costlib import contest
from costlib.contest.answers import differences, expected

CONTEST_README = ROOT / "contest" / "README.md"
CONFORMANCE_BILL = SCOPELY


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in contest.ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(contest.ANSWERS_ENV, str(tmp_path / "answers.json"))
    return tmp_path


@pytest.fixture(scope="module")
def right() -> dict:
    return expected(costlib.sample_path(), ("2026-02-08 06:00", "2026-02-15 18:00"))


# ----------------------------------------------------------------------- what to work on


def test_bill_path_is_the_sample_unless_the_grader_names_another(clean_env, monkeypatch):
    assert contest.bill_path() == costlib.sample_path()
    monkeypatch.setenv("COSTLIB_BILL", "/grading/012345678901-aws-billing-csv-2027-01.csv")
    assert contest.bill_path() == "/grading/012345678901-aws-billing-csv-2027-01.csv"


def test_window_defaults_inside_the_bills_month(clean_env, monkeypatch, samples):
    assert contest.window() == ("2026-02-08 06:00", "2026-02-15 18:00")
    monkeypatch.setenv("COSTLIB_BILL", str(sample(samples, "tags-2026-11")))
    assert contest.window() == ("2026-11-08 06:00", "2026-11-15 18:00")
    assert contest.window(sample(samples, "spreadsheet-copy"))[0] == "2026-02-08 06:00"


def test_window_from_the_environment(clean_env, monkeypatch):
    monkeypatch.setenv("COSTLIB_WINDOW", "2026-02-01, 2026-02-03 12:00")
    assert contest.window() == ("2026-02-01", "2026-02-03 12:00")
    monkeypatch.setenv("COSTLIB_WINDOW", "2026-02-01")
    with pytest.raises(contest.AnswerError, match="START,END"):
        contest.window()


def test_invoice_and_answers_path_from_the_environment(clean_env, monkeypatch):
    assert contest.invoice() is None
    monkeypatch.setenv("COSTLIB_INVOICE", "$1,234.56")
    assert contest.invoice() == "$1,234.56"
    assert contest.answers_path() == clean_env / "answers.json"
    monkeypatch.delenv("COSTLIB_ANSWERS")
    assert contest.answers_path().name == "answers.json"


def test_plot_days_are_the_28_ending_with_the_last_day_of_data():
    assert contest.plot_days(np.datetime64("2026-02-28T23:00")) == ("2026-02-01", "2026-02-28")
    assert contest.plot_days("2026-11-20T22:00") == ("2026-10-24", "2026-11-20")


# --------------------------------------------------------------------------- handing in


def test_submit_writes_one_json_record(clean_env, capsys, right):
    path = contest.submit(**right)
    record = json.loads(path.read_text())
    assert path == clean_env / "answers.json"
    assert record["format"] == contest.FORMAT
    assert record["bill"] == os.path.basename(costlib.sample_path())
    assert record["answers"] == right
    assert "13 answers to 6 of 6 tasks written to answers.json" in capsys.readouterr().out


def test_submit_takes_numpy_pandas_and_decimal_values(clean_env):
    days = pd.DatetimeIndex(["2026-02-01", "2026-02-02"])
    daily = pd.DataFrame({"alice": [1.5, 0.0], "(untagged)": [0.25, 2.0]}, index=days)
    contest.submit(account=np.str_("012345678901"), rows=np.int64(7160),
                   blended_total=Decimal("447.64591319"), users_equal_total=np.bool_(True),
                   tag_columns=pd.Index(["user:Owner"]), users=pd.Series({"alice": 1.5}),
                   daily=daily, pacific_daily={dt.date(2026, 2, 1): np.float64(3.25),
                                               np.datetime64("2026-02-02"): 1})
    answers, problems = contest.load(clean_env / "answers.json")
    assert not problems
    assert answers["rows"] == 7160 and answers["blended_total"] == 447.64591319
    assert answers["daily"] == {"2026-02-01": {"alice": 1.5, "(untagged)": 0.25},
                                "2026-02-02": {"alice": 0.0, "(untagged)": 2.0}}
    assert answers["pacific_daily"] == {"2026-02-01": 3.25, "2026-02-02": 1.0}


def test_submit_says_which_answers_of_a_task_are_missing(clean_env, capsys):
    contest.submit(account="012345678901", month="2026-02")
    out = capsys.readouterr().out
    assert "2 answers to 1 of 6 tasks" in out and "not answered: rows, tag_columns" in out


@pytest.mark.parametrize(("answers", "message"), [
    ({"user": {}}, r"unknown answer 'user' \(did you mean 'users'\?\); the answers are"),
    ({"Account": "012345678901"}, "did you mean 'account'"),
    ({"account": 12345678901}, "account must be a string.*leading zeros"),
    ({"rows": 7160.0}, "rows must be a whole number"),
    ({"rows": True}, "rows must be a whole number"),
    ({"blended_total": "447.65"}, "blended_total must be an amount"),
    ({"blended_total": float("nan")}, "finite"),
    ({"blended_total": None}, "blended_total must be an amount"),
    ({"invoice_matches": "yes"}, "invoice_matches must be True or False"),
    ({"users_equal_total": 1}, "users_equal_total must be True or False"),
    ({"tag_columns": "user:Owner"}, "tag_columns must be a list of strings"),
    ({"users": [("alice", 1.0)]}, "users must be a dict"),
    ({"users": {"alice": "1.00"}}, r"users\['alice'\] must be an amount"),
    ({"users": {1: 1.0}}, "users: users are tag values"),
    ({"pacific_daily": {"2026-02-30": 1.0}}, "not a real day"),
    ({"pacific_daily": {"02/01/2026": 1.0}}, "YYYY-MM-DD"),
    ({"daily": {"2026-02-01": 1.0}}, r"daily\['2026-02-01'\] must be a dict"),
    ({"daily": {pd.Timestamp("2026-02-01 06:00"): {}}}, "a day, not a time of day"),
    ({}, "no answers given"),
])
def test_submit_refuses_unknown_names_and_wrong_shapes(clean_env, answers, message):
    with pytest.raises(contest.AnswerError, match=message):
        contest.submit(**answers)
    assert not (clean_env / "answers.json").exists()


def test_none_is_an_answer_only_where_there_may_be_no_invoice(clean_env):
    contest.submit(invoice_total=None, invoice_matches=None)
    assert contest.load(clean_env / "answers.json")[0] == {"invoice_total": None,
                                                          "invoice_matches": None}


def test_load_reports_bad_answers_one_by_one_and_refuses_other_files(tmp_path):
    good = {"format": contest.FORMAT, "answers": {"rows": "many", "month": "2026-02",
                                                  "colour": "blue"}}
    (tmp_path / "a.json").write_text(json.dumps(good))
    answers, problems = contest.load(tmp_path / "a.json")
    assert answers == {"month": "2026-02"} and set(problems) == {"rows", "colour"}
    (tmp_path / "b.json").write_text("[1, 2]")
    (tmp_path / "c.json").write_text("{not json")
    for name in ("b.json", "c.json", "missing.json"):
        with pytest.raises(contest.AnswerError):
            contest.load(tmp_path / name)


# ------------------------------------------------------------------------ right answers


def _records(path) -> tuple[list[str], list[list[str]]]:
    """The header and records of a zipped bill, read with the standard library alone."""
    import csv
    import io
    import zipfile

    with zipfile.ZipFile(path) as archive:
        (member,) = archive.namelist()
        text = archive.read(member).decode("utf-8-sig")
    header, *records = csv.reader(io.StringIO(text, newline=""))
    return header, records


def test_expected_answers_on_the_sample(right):
    header, records = _records(costlib.sample_path())
    col = {name: i for i, name in enumerate(header)}
    kind = [r[col["RecordType"]] for r in records]
    invoice = Decimal(records[kind.index("InvoiceTotal")][col["BlendedCost"]])
    charges = sum(Decimal(r[col["BlendedCost"]]) for r, k in zip(records, kind, strict=True)
                  if k == "LineItem")
    assert (right["account"], right["month"]) == ("012345678901", "2026-02")
    assert right["rows"] == len(records)
    assert right["tag_columns"] == ["aws:createdBy", "user:Name", "user:Owner", "user:Project"]
    assert right["invoice_total"] == float(invoice) and right["invoice_matches"] is True
    assert right["users_equal_total"] is True
    assert sum(Decimal(str(v)) for v in right["users"].values()) == charges
    assert list(right["daily"])[0] == "2026-02-01" and len(right["daily"]) == 28
    assert list(right["pacific_daily"])[0] == "2026-01-31"
    bill = costlib.read(costlib.sample_path())
    assert right["window_total"] == costlib.spend(bill, start="2026-02-08 06:00",
                                                  end="2026-02-15 18:00").total


def _invoice_row(path) -> float:
    """The InvoiceTotal of a plain CSV bill or invoice report, read with ``csv``."""
    import csv

    with open(path, encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["RecordType"] == "InvoiceTotal":
                return float(Decimal(row.get("TotalCost") or row.get("Cost")))
    raise AssertionError(f"no InvoiceTotal row in {path}")


@pytest.mark.parametrize(("part", "invoice", "holder", "matches"), [
    ("tags-2026-03", None, None, None),
    ("tags-2026-03", "billing-csv-2026-03", "billing-csv-2026-03", True),
    ("tags-2026-11", None, None, None),
    ("line-items-2026-01", None, "line-items-2026-01", True),
])
def test_expected_invoice_answers_on_other_months(samples, part, invoice, holder, matches):
    bill = sample(samples, part)
    report = sample(samples, invoice) if invoice else None
    total = _invoice_row(sample(samples, holder)) if holder else None
    right = expected(bill, contest.window(bill), report)
    assert (right["invoice_total"], right["invoice_matches"]) == (total, matches)
    assert right["users_equal_total"] is True


# ------------------------------------------------------------------------------ comparing


def test_right_answers_have_no_differences(right):
    assert differences(right, right) == {t.key: [] for t in contest.TASKS}


def test_money_is_compared_to_the_cent(right):
    near = {**right, "blended_total": right["blended_total"] + 0.004}
    off = {**right, "blended_total": right["blended_total"] + 0.006}
    assert differences(near, right)["invoice"] == []
    assert differences(off, right)["invoice"] == [
        f"blended_total: {right['blended_total'] + 0.006:,.4f}, "
        f"expected {right['blended_total']:,.4f}"]


def test_missing_users_and_days_count_as_zero_and_extra_ones_must_be_zero(right):
    daily = {day: {u: v for u, v in users.items() if v} for day, users in right["daily"].items()}
    assert differences({**right, "daily": daily}, right)["daily"] == []
    extra = {**right, "users": {**right["users"], "mallory": 0.001}}
    assert differences(extra, right)["users"] == []
    extra["users"]["mallory"] = 5.0
    assert differences(extra, right)["users"] == ["users['mallory']: 5.0000, "
                                                          "expected 0.0000"]


def test_differences_catch_the_usual_mistakes(right):
    untagged = {u: v for u, v in right["users"].items() if u != costlib.UNTAGGED}
    assert differences({**right, "users": untagged}, right)["users"]
    bill = costlib.read(costlib.sample_path())
    items = bill.items.assign(UsageStartDate=bill.items["UsageEndDate"])
    by_end = costlib.spend(dataclasses.replace(bill, items=items), start="2026-02-01",
                           end="2026-03-01").daily
    assert differences({**right, "daily": contest.validate({"daily": by_end})["daily"]},
                               right)["daily"]
    assert differences({**right, "invoice_total": None}, right)["invoice"]
    assert differences({"account": "12345678901"}, right)["open"][0].startswith(
        "account: '12345678901', expected '012345678901'")
    assert "users: not answered" in differences({}, right)["users"]


# ------------------------------------------------------------------------- the contest


def test_every_answer_is_in_the_contest_readme():
    text = CONTEST_README.read_text()
    for task in contest.TASKS:
        assert task.title in text, task.title
        for name in task.names:
            assert f"`{name}`" in text, name
    for name in contest.ENV_VARS:
        assert name in text, name


def test_task_table_is_consistent():
    names = [a.name for t in contest.TASKS for a in t.answers]
    assert len(names) == len(set(names)) == len(contest.ANSWERS)
    assert all(a.shape in contest.SHAPES for a in contest.ANSWERS.values())
    assert [t.bonus for t in contest.TASKS] == [False] * 3 + [True] * 3


SOLUTION_RUNS = [
    ("01-by-hand", "tags-2026-02", None),
    ("01-by-hand", "tags-2026-03", "billing-csv-2026-03"),  # and a window of the grader's
    ("01-by-hand", "tags-2026-03", None),
    ("01-by-hand", "tags-2026-11", None),
    ("01-by-hand", "line-items-2026-01", None),
    ("01-by-hand", "spreadsheet-copy", None),
    ("02-with-costlib", "tags-2026-03", "billing-csv-2026-03"),
    ("02-with-costlib", "tags-2026-11", None),
    ("01-by-hand", "conformance", None),  # written by others: no totals, no user:Owner
]


@pytest.mark.parametrize(("solution", "part", "invoice"), SOLUTION_RUNS,
                         ids=[f"{s}-{p}{'-invoice' if i else ''}" for s, p, i in SOLUTION_RUNS])
def test_reference_solutions_score_full_marks_on_months_they_never_saw(
        samples, tmp_path, solution, part, invoice):
    bill = conformance(CONFORMANCE_BILL) if part == "conformance" else sample(samples, part)
    report = str(sample(samples, invoice)) if invoice else ""
    window = ("2026-02-28 12:00", "2026-03-02") if invoice and "by-hand" in solution else None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COSTLIB_", "AWS_"))}
    env.update(COSTLIB_BILL=str(bill), COSTLIB_INVOICE=report, MPLBACKEND="Agg",
               COSTLIB_ANSWERS=str(tmp_path / "answers.json"),
               PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]))
    if window:
        env["COSTLIB_WINDOW"] = ",".join(window)
    script = ROOT / "solutions" / f"{solution}.py"  # the notebook's paired script
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    answers, problems = contest.load(tmp_path / "answers.json")
    assert not problems
    right = expected(bill, window or contest.window(bill), report or None)
    assert differences(answers, right) == {t.key: [] for t in contest.TASKS}


def test_an_untouched_starter_hands_in_nothing(tmp_path):
    import jupytext

    starter = jupytext.read(ROOT / "contest" / "01-by-hand.ipynb")
    script = tmp_path / "starter.py"
    script.write_text(jupytext.writes(starter, fmt="py:percent"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COSTLIB_", "AWS_"))}
    env.update(MPLBACKEND="Agg", COSTLIB_ANSWERS=str(tmp_path / "answers.json"),
               PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "NotImplementedError" in done.stderr
    assert not (tmp_path / "answers.json").exists()


# ---------------------------------------------------------------------- the contest wing


def test_the_hand_in_module_imports_no_core_and_no_numpy():
    code = ("import sys\nfrom costlib import contest\ncontest.window(contest.bill_path())\n"
            "contest.validate({'rows': 3})\n"
            "print(' '.join(m for m in sys.modules if m.split('.')[0] in "
            "('costlib', 'numpy', 'pandas')))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    assert sorted(done.stdout.split()) == ["costlib", "costlib.contest", "costlib.contest.tasks"]
    assert not hasattr(contest, "expected") and not hasattr(contest, "differences")


def test_the_practice_bill_is_the_bundled_sample():
    from costlib.sample import DEFAULT_SAMPLE

    assert contest.PRACTICE_BILL == DEFAULT_SAMPLE


NOTIFY_WING = ("config", "digest", "grants", "message", "send", "notify", "aws",
               "lambda_handler")


@pytest.mark.parametrize("path", sorted((ROOT / "costlib" / "contest").glob("*.py")),
                         ids=lambda p: p.name)
def test_the_contest_wing_never_imports_the_notify_wing(path):
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()  # costlib's own modules this file imports, as dotted parts
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith(
                "costlib")):
            names |= {node.module or ""} | {f"{node.module or ''}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            names |= {a.name for a in node.names if a.name.startswith("costlib")}
    parts = {p for name in names for p in name.split(".")}
    assert not parts & set(NOTIFY_WING), path.name


def test_a_non_editable_install_carries_every_package_of_costlib():
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = {".".join(p.parent.relative_to(ROOT).parts)
                for p in (ROOT / "costlib").rglob("__init__.py")}
    assert packages <= set(config["packages"]), "list them in [tool.setuptools] packages"


def test_the_hand_in_module_counts_the_same_28_days_as_the_core():
    """The hand-in module may not import the core, so it writes the number itself: the same."""
    from costlib.layout import PLOT_DAYS

    assert contest.PLOT_DAYS == PLOT_DAYS
