"""The contest's hand-in module: which bill, which window, and handing in the answers.

    >>> from costlib import contest
    >>> path = contest.bill_path()                   # the grader may swap in another month
    >>> start, end = contest.window()                # the bonus window, [start, end) in UTC
    >>> contest.submit(account="012345678901", month="2026-02")  # doctest: +SKIP
    2 answers to 1 of 6 tasks written to answers.json
    not answered: rows, tag_columns

A contestant's notebook opens its bill with :func:`bill_path` and records its answers with one
call to :func:`submit`, so the grader never parses prose. :data:`TASKS` is the one table of
tasks, answer names and shapes (:mod:`costlib.contest.tasks`).

This module is all a graded notebook can reach of the contest: it uses the standard library
only (no costlib core, no numpy or pandas import) and holds no answer. The right answers are
computed in :mod:`costlib.contest.answers`, grading is :mod:`costlib.contest.grade`, and the
isolated runs :mod:`costlib.contest.sandbox`; none of them is visible inside a graded run.

The environment decides what a run works on, so one notebook serves practice and grading:

- ``COSTLIB_BILL``: the bill (default: the bundled sample, :func:`costlib.sample_path`);
- ``COSTLIB_WINDOW``: the bonus window as ``"START,END"`` (default: inside the bill's month);
- ``COSTLIB_INVOICE``: the invoice for a bill without total rows: an amount or the monthly
  ``aws-billing-csv`` report (default: none, use the bill's own total rows);
- ``COSTLIB_ANSWERS``: where :func:`submit` writes (default: ``answers.json`` here).
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import difflib
import gzip
import io
import json
import math
import numbers
import os
import re
import sys
import zipfile
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .tasks import (
    ANSWERS,
    DEFAULT_WINDOW,
    HALF_CENT,
    PLOT_DAYS,
    SHAPES,
    TASK_OF,
    TASKS,
    Answer,
    Task,
)

BILL_ENV = "COSTLIB_BILL"
WINDOW_ENV = "COSTLIB_WINDOW"
INVOICE_ENV = "COSTLIB_INVOICE"
ANSWERS_ENV = "COSTLIB_ANSWERS"
ENV_VARS = (BILL_ENV, WINDOW_ENV, INVOICE_ENV, ANSWERS_ENV)
ANSWERS_FILE = "answers.json"
FORMAT = "costlib-contest-answers/1"
#: The format of a practice month's answers, shipped beside its bill (:func:`check`).
PRACTICE_FORMAT = "costlib-contest-practice-answers/1"
PRACTICE_SUFFIX = ".answers.json"
#: The bundled practice month (what :func:`bill_path` gives outside grading).
PRACTICE_BILL = ("012345678901-aws-billing-detailed-line-items-with-resources-and-tags-"
                 "2026-02.csv.zip")
__all__ = ["ANSWERS", "ANSWERS_ENV", "BILL_ENV", "DEFAULT_WINDOW", "ENV_VARS", "FORMAT",
           "HALF_CENT", "INVOICE_ENV", "PLOT_DAYS", "PRACTICE_FORMAT", "SHAPES", "TASKS",
           "TASK_OF", "WINDOW_ENV", "Answer", "AnswerError", "Task", "answers_path", "bill_path",
           "check", "check_answer", "check_answers", "default_window", "differences",
           "invoice", "load", "plot_days", "practice_answers_path", "submit", "validate",
           "window"]


class AnswerError(ValueError):
    """An answer has an unknown name or the wrong shape; the message says which and why.

    A plain ``ValueError`` (not a :class:`costlib.CostlibError`): this module imports nothing
    of costlib's core; the grader turns it into its own error where it must stop.
    """


# ------------------------------------------------------------------------ what to work on


def bill_path() -> str:
    """The bill to answer on: ``$COSTLIB_BILL`` if set, else the bundled sample."""
    return os.environ.get(BILL_ENV) or str(Path(__file__).resolve().parent.parent / "data"
                                            / PRACTICE_BILL)


def window(bill: str | os.PathLike | None = None) -> tuple[str, str]:
    """The bonus window ``(start, end)``, UTC times ``"YYYY-MM-DD HH:MM"``, end excluded.

    ``$COSTLIB_WINDOW`` (``"START,END"``) if set, else the 8th 06:00 to the 15th 18:00 of the
    bill's month (the month in the file name of ``bill``, by default :func:`bill_path`).
    """
    text = os.environ.get(WINDOW_ENV)
    if text:
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 2 or not all(parts):
            raise AnswerError(f"{WINDOW_ENV} must be START,END (e.g. '2026-02-08 06:00,"
                              f"2026-02-15 18:00'), not {text!r}")
        return parts[0], parts[1]
    return default_window(bill if bill is not None else bill_path())


def default_window(bill: str | os.PathLike) -> tuple[str, str]:
    """The bonus window of a bill when ``$COSTLIB_WINDOW`` is not set: the 8th 06:00 to the
    15th 18:00 of its month."""
    month = _month_of(os.fspath(bill))
    return f"{month}-{DEFAULT_WINDOW[0]}", f"{month}-{DEFAULT_WINDOW[1]}"


def invoice() -> str | None:
    """The invoice to check against, as text: ``$COSTLIB_INVOICE``, either an amount as typed
    (``"2088.09"``) or the path of AWS's monthly invoice report; ``None`` when it is not set
    (then the bill's own total rows are the invoice)."""
    return os.environ.get(INVOICE_ENV) or None


def practice_answers_path(bill: str | os.PathLike) -> Path:
    """Where a practice bill's expected answers are shipped: ``<bill name>.answers.json``
    beside it (:func:`check` reads it; graded months have none)."""
    path = Path(os.fspath(bill))
    return path.with_name(path.name + PRACTICE_SUFFIX)


def answers_path() -> Path:
    """Where :func:`submit` writes: ``$COSTLIB_ANSWERS``, else ``answers.json`` here."""
    return Path(os.environ.get(ANSWERS_ENV) or ANSWERS_FILE)


def plot_days(last_start) -> tuple[str, str]:
    """First and last UTC day of the bonus plot, given the latest ``UsageStartDate`` (a
    ``datetime64``, a ``datetime`` or an ISO string)."""
    last = dt.date.fromisoformat(str(last_start)[:10])
    return (last - dt.timedelta(days=PLOT_DAYS - 1)).isoformat(), last.isoformat()


def _month_of(path: str) -> str:
    """The month in a bill's file name, else the most common month of its first dated rows."""
    found = re.findall(r"(?<!\d)(\d{4}-\d{2})(?!\d)", os.path.basename(path))
    if found:
        return found[-1]
    months = collections.Counter(row["UsageStartDate"][:7] for row in _first_rows(path)
                                 if row.get("UsageStartDate"))
    if not months:
        raise AnswerError(f"{path}: cannot tell the bill's month; set {WINDOW_ENV}")
    return months.most_common(1)[0][0]


def _first_rows(path: str, count: int = 2000) -> list[dict]:
    """Up to ``count`` records of a ``.csv``, ``.csv.gz`` or ``.csv.zip`` bill, as dicts."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                member = next(n for n in archive.namelist() if n.lower().endswith(".csv"))
                raw = archive.open(member)
        else:
            raw = gzip.open(path) if path.endswith(".gz") else open(path, "rb")
        with raw, io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text:
            reader = csv.DictReader(text)
            return [row for _, row in zip(range(count), reader, strict=False)]
    except (OSError, StopIteration, UnicodeDecodeError, csv.Error, zipfile.BadZipFile) as err:
        raise AnswerError(f"{path}: cannot tell the bill's month ({err}); set {WINDOW_ENV}"
                          ) from None


# ---------------------------------------------------------------------------- handing in


def submit(**answers) -> Path:
    """Check the answers' names and shapes and write them as JSON; return the file's path.

    Give each answer by its name in :data:`TASKS` (leave out the tasks you skip). Amounts may
    be floats, ints, ``Decimal`` or numpy numbers; a table may be a dict or a pandas
    ``Series``/``DataFrame`` (days as the index); days may be strings, dates or
    ``datetime64``. An unknown name or a wrong shape raises :class:`AnswerError`.
    """
    clean = validate(answers)
    path = answers_path()
    start, end = window()
    record = {"format": FORMAT, "bill": os.path.basename(bill_path()), "window": [start, end],
              "answers": clean}
    text = json.dumps(record, indent=1, ensure_ascii=False, sort_keys=False)
    if path.parent != Path(""):
        path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
    done = [t.key for t in TASKS if any(n in clean for n in t.names)]
    partial = [n for t in TASKS if t.key in done for n in t.names if n not in clean]
    print(f"{len(clean)} answers to {len(done)} of {len(TASKS)} tasks written to {path.name}")
    if partial:
        print(f"not answered: {', '.join(partial)}")
    return path


def validate(answers: Mapping, *, strict: bool = True):
    """The answers in their JSON form, checked against :data:`TASKS`.

    ``strict`` raises :class:`AnswerError` at the first problem and returns the clean dict;
    otherwise returns ``(clean, problems)`` with one message per bad answer, for graders.
    """
    if not isinstance(answers, Mapping):
        raise AnswerError(f"answers must be a dict of name: value, not {type(answers).__name__}")
    clean: dict = {}
    problems: dict[str, str] = {}
    for name, value in answers.items():
        try:
            if name not in ANSWERS:
                raise AnswerError(_unknown(name))
            clean[name] = _convert(ANSWERS[name], value)
        except AnswerError as err:
            if strict:
                raise
            problems[str(name)] = str(err)
    if strict:
        if not clean:
            raise AnswerError("no answers given: submit(account=..., month=..., ...)")
        return clean
    return clean, problems


def load(path: str | os.PathLike) -> tuple[dict, dict[str, str]]:
    """Read an answers file: ``(answers, problems)``; a file that is not one raises."""
    where = os.fspath(path)
    try:
        record = json.loads(Path(where).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AnswerError(f"{where}: no answers file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise AnswerError(f"{where}: not an answers file ({err})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT or not isinstance(
            record.get("answers"), dict):
        raise AnswerError(f"{where}: not an answers file written by costlib.contest.submit()")
    return validate(record["answers"], strict=False)


def _unknown(name) -> str:
    close = difflib.get_close_matches(str(name), list(ANSWERS), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown answer {name!r}{hint}; the answers are: {', '.join(ANSWERS)}"


def _convert(answer: Answer, value):
    """``value`` in its JSON form for ``answer``; a wrong shape raises :class:`AnswerError`
    with one sentence: what was expected, what came, and the fix."""
    name, shape = answer.name, answer.shape
    value = _scalar(value)
    if shape.endswith(" or none"):
        if value is None:
            return None
        shape = shape[: -len(" or none")]
    if shape == "text":
        if not isinstance(value, str):
            raise AnswerError(f"{name} must be a string, got {_what(value)}"
                              + ("; account ids are text: keep the leading zeros, e.g. "
                                 "'012345678901'" if name == "account" else
                                 "; write it as text, e.g. '2026-02'"))
        return str(value)
    if shape == "count":
        if _is_bool(value) or not isinstance(value, numbers.Integral):
            raise AnswerError(f"{name} must be a whole number (int), got {_what(value)}; "
                              "count with len(...) or convert with int(...)")
        return int(value)
    if shape == "names":
        if isinstance(value, str) or not _is_sequence(value):
            raise AnswerError(f"{name} must be a list of strings, got {_what(value)}; "
                              "put the names in a list, e.g. ['user:Owner']")
        items = [_scalar(v) for v in value]
        bad = [v for v in items if not isinstance(v, str)]
        if bad:
            raise AnswerError(f"{name} must be a list of strings, got {_what(bad[0])} in it; "
                              "keep the column names as they are in the header")
        return [str(v) for v in items]
    if shape == "money":
        return _money(name, value)
    if shape == "yes/no":
        if not _is_bool(value):
            raise AnswerError(f"{name} must be True or False, got {_what(value)}; "
                              "a comparison such as a == b gives one")
        return bool(value)
    if shape == "money per user":
        return {_user(name, k): _money(f"{name}[{k!r}]", v) for k, v in _pairs(name, value)}
    if shape == "money per day":
        return _by_day(name, value, lambda where, v: _money(where, v))
    if shape == "money per day and user":
        return _by_day(name, _rows(value), lambda where, v: {
            _user(where, k): _money(f"{where}[{k!r}]", x) for k, x in _pairs(where, v)})
    raise AssertionError(shape)  # pragma: no cover


def _scalar(value):
    """A numpy or pandas scalar (anything 0-dimensional with ``.item()``) as a Python one."""
    if getattr(value, "ndim", None) == 0 and callable(getattr(value, "item", None)):
        return value.item()
    return value


def _money(where: str, value) -> float:
    value = _scalar(value)
    if _is_bool(value) or not isinstance(value, (numbers.Real, Decimal)):
        fix = ("convert the text with Decimal(...)" if isinstance(value, str) else
               "give the sum itself, a float or a Decimal")
        raise AnswerError(f"{where} must be a number (float or Decimal), got {_what(value)}; "
                          f"{fix}")
    amount = float(value)
    if not math.isfinite(amount):
        raise AnswerError(f"{where} must be a finite number of dollars, got {value!r}; "
                          "look for a division by zero or a missing value")
    return amount


def _user(where: str, key) -> str:
    if not isinstance(key, str):
        raise AnswerError(f"{where}: users must be tag values (strings), got {_what(key)}; "
                          'untagged spend goes under "(untagged)"')
    return str(key)


def _pairs(where: str, value):
    if hasattr(value, "items") and callable(value.items) and not hasattr(value, "columns"):
        return list(value.items())
    raise AnswerError(f"{where} must be a dict (or a pandas Series), got {_what(value)}; "
                      "build one with {key: value for ...} or dict(...)")


def _rows(value):
    """A DataFrame of days x users as {day: {user: amount}}; other values as they are."""
    if hasattr(value, "columns") and hasattr(value, "index"):
        return {day: dict(row.items()) for day, row in value.iterrows()}
    return value


def _by_day(where: str, value, convert) -> dict:
    out = {}
    for key, v in _pairs(where, value):
        day = _day(where, key)
        if day in out:
            raise AnswerError(f"{where}: each day must appear once, got {day} twice; "
                              "add up the amounts of each day first")
        out[day] = convert(f"{where}[{day!r}]", v)
    return dict(sorted(out.items()))


def _day(where: str, key) -> str:
    if isinstance(key, str):
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", key):
            raise AnswerError(f"{where}: days must be written YYYY-MM-DD, got {key!r}; "
                              "str(day) of a datetime64[D] gives one")
        try:
            dt.date.fromisoformat(key)
        except ValueError:
            raise AnswerError(f"{where}: days must be real days, got {key!r}, which is not a "
                              "real day; check how the day was computed") from None
        return key
    np = sys.modules.get("numpy")  # loaded by the notebook, if it uses numpy at all
    if np is not None and isinstance(key, np.datetime64):
        return str(key.astype("datetime64[D]"))
    if isinstance(key, dt.datetime):  # pandas Timestamp included
        if (key.hour, key.minute, key.second, key.microsecond) != (0, 0, 0, 0):
            raise AnswerError(f"{where}: days must be days, got a time of day ({key}); "
                              "take its .date() or floor it to the day")
        return key.date().isoformat()
    if isinstance(key, dt.date):
        return key.isoformat()
    raise AnswerError(f"{where}: days must be strings YYYY-MM-DD, got {_what(key)}; "
                      "write them as str(day)")


def _is_bool(value) -> bool:
    """``True``/``False``, numpy's ``bool_`` included (numpy is never imported here)."""
    np = sys.modules.get("numpy")
    return isinstance(value, bool) or (np is not None and isinstance(value, np.bool_))


def _is_sequence(value) -> bool:
    return isinstance(value, (list, tuple)) or (
        hasattr(value, "__len__") and hasattr(value, "__iter__") and not isinstance(
            value, (Mapping, bytes)) and not hasattr(value, "items"))


def _what(value) -> str:
    text = repr(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"{type(value).__name__}: {text}"


# ------------------------------------------------------------------------ checking yourself


def check_answer(name: str, value):
    """``value`` converted as :func:`submit` writes it; a wrong shape raises
    :class:`AnswerError` saying what ``name`` must be, what it got, and the fix.

        >>> check_answer("blended_total", Decimal("2088.09"))
        2088.09
        >>> check_answer("blended_total", "2088.09")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        costlib.contest.AnswerError: blended_total must be a number (float or Decimal), got ...
    """
    if name not in ANSWERS:
        raise AnswerError(_unknown(name))
    return _convert(ANSWERS[name], value)


def check_answers(**answers) -> dict:
    """The check cell of a task: :func:`check_answer` on each answer, and the rules that tie
    answers together; print one line when all is well and return the converted answers.

    Shapes only: whether the answers are right, :func:`check` tells on a practice month.
    """
    clean = {name: check_answer(name, value) for name, value in answers.items()}
    account, month = clean.get("account"), clean.get("month")
    if account is not None and not re.fullmatch(r"\d{12}", account):
        raise AnswerError(f"account must be 12 digits, got {account!r}; keep it as text from "
                          "the file (PayerAccountId), leading zeros included")
    if month is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise AnswerError(f"month must be 'YYYY-MM', got {month!r}; take the first 7 "
                          "characters of a date such as '2026-02-01'")
    if "invoice_total" in clean and "invoice_matches" in clean and (
            clean["invoice_total"] is None) != (clean["invoice_matches"] is None):
        raise AnswerError(
            "invoice_total and invoice_matches must be None together (no invoice) or neither, "
            f"got {clean['invoice_total']!r} and {clean['invoice_matches']!r}; without an "
            "invoice there is nothing to match")
    if clean.get("daily") is not None and len(clean["daily"]) != PLOT_DAYS:
        raise AnswerError(f"daily must have {PLOT_DAYS} days, got {len(clean['daily'])}; "
                          "include the days without spend, ending with the last day of data")
    names = ", ".join(clean)
    print(f"{names}: the right {'shape' if len(clean) == 1 else 'shapes'} "
          "(contest.check() at the end says whether they are right on the practice month)")
    return clean


def differences(answers: Mapping, right: Mapping, *, by: bool = False) -> dict[str, list[str]]:
    """What is wrong in ``answers``, task by task (an empty list: the task is right).

    Both are in the form :func:`submit` writes (``right`` usually from
    :func:`costlib.contest.answers.expected`). Money is right within half a cent; in tables a
    missing user or day counts as zero. ``by`` adds how far off each amount is.
    """
    out: dict[str, list[str]] = {}
    for task in TASKS:
        problems: list[str] = []
        for name in task.names:
            if name not in answers:
                problems.append(f"{name}: not answered")
                continue
            problems += _compare(name, ANSWERS[name].shape, answers[name], right.get(name), by)
        out[task.key] = problems
    return out


def _compare(where: str, shape: str, got, want, by: bool = False) -> list[str]:
    if shape.startswith("money per day and user"):
        got, want = got or {}, want or {}
        problems = []
        for day in sorted(set(got) | set(want)):
            problems += _compare(f"{where}[{day!r}]", "money per user", got.get(day, {}),
                                 want.get(day, {}), by)
        return problems
    if shape in ("money per user", "money per day"):
        got, want = got or {}, want or {}
        keys = list(want) + [k for k in got if k not in want]
        return [p for k in keys for p in _compare(f"{where}[{k!r}]", "money", got.get(k, 0.0),
                                                  want.get(k, 0.0), by)]
    if shape.startswith("money"):
        if got is None or want is None:
            return [] if got is want else [f"{where}: {_show(got)}, expected {_show(want)}"]
        off = _decimal(got) - _decimal(want)
        if abs(off) < HALF_CENT:
            return []
        return [f"{where}: {_show(got)}, expected {_show(want)}"
                + (f" (off by {float(off):+,.4f})" if by else "")]
    if got != want or type(got) is not type(want):
        return [f"{where}: {got!r}, expected {want!r}"]
    return []


def _decimal(value) -> Decimal:
    try:
        return Decimal(repr(float(value)))
    except (InvalidOperation, TypeError, ValueError):
        return Decimal("NaN")


def _show(value) -> str:
    return "None" if value is None else f"{float(value):,.4f}"


def check(**answers) -> None:
    """Compare your answers with the practice month's expected ones, task by task, and print
    which differ and by how much (the starters' last cell).

    The answers are those given, else those :func:`submit` wrote for this bill, else the
    answer names (``account``, ``rows``, ...) among the caller's variables. The expected ones
    are shipped beside a practice bill (:func:`practice_answers_path`); on any other bill
    this says there is nothing to compare with. It never raises.
    """
    caller = sys._getframe(1).f_globals
    try:
        _check(answers, caller)
    except Exception as err:  # a self-check must never end a notebook
        print(f"contest.check() could not compare ({type(err).__name__}: {err})")


def _check(given: dict, caller: Mapping) -> dict[str, list[str]] | None:
    bill = bill_path()
    shipped = practice_answers_path(bill)
    if not shipped.is_file():
        print(f"Nothing to compare with: {os.path.basename(bill)} is not a practice month "
              "(no expected answers shipped beside it). The grader will tell.")
        return None
    record = json.loads(shipped.read_text(encoding="utf-8"))
    if record.get("format") != PRACTICE_FORMAT:
        print(f"Nothing to compare with: {shipped.name} is not a practice answers file.")
        return None
    answers, problems, source = _my_answers(given, caller, bill)
    right = record["answers"]
    found = differences(answers, right, by=True)
    skipped = {}
    if list(window()) != record["window"]:
        skipped["window"] = (f"your window is {list(window())}, the practice answers are for "
                             f"{record['window']}")
    if invoice() != record["invoice"]:
        skipped["invoice"] = (f"your invoice is {invoice()!r}, the practice answers use the "
                              "bill's own total rows")
    print(f"Your answers ({source}) against the practice answers of {os.path.basename(bill)}:")
    points = 0
    for task in TASKS:
        head = f"  task {task.number} ({task.title}):"
        if task.key in skipped:
            print(f"{head} not compared, {skipped[task.key]}")
            found[task.key] = []
            continue
        lines = []
        for line in found[task.key]:  # an answer of the wrong shape: why, not "not answered"
            name = re.split(r"[:\[]", line, maxsplit=1)[0]
            lines.append(f"{name}: {problems[name]}" if name in problems else line)
        found[task.key] = lines
        if not lines:
            points += task.points
            print(f"{head} right")
            continue
        print(f"{head} {len(lines)} {'difference' if len(lines) == 1 else 'differences'}")
        for line in lines[:5]:
            print(f"    {line}")
        if len(lines) > 5:
            print(f"    ... and {len(lines) - 5} more")
    total = sum(t.points for t in TASKS if t.key not in skipped)
    print(f"{points} of {total} points on this practice month; the grader uses a month you "
          "have not seen.")
    return found


def _my_answers(given: dict, caller: Mapping, bill: str) -> tuple[dict, dict[str, str], str]:
    """The answers to check, their shape problems by name, and where they came from."""
    if given:
        clean, problems = validate(given, strict=False)
        return clean, problems, "given to check()"
    path = answers_path()
    if path.is_file():
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            record = None
        if isinstance(record, dict) and record.get("bill") == os.path.basename(bill):
            clean, problems = load(path)
            return clean, problems, f"as submit() wrote them to {path.name}"
    found = {name: caller[name] for name in ANSWERS if name in caller}
    clean, problems = validate(found, strict=False)
    return clean, problems, "the notebook's variables"
