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
from decimal import Decimal
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
#: The bundled practice month (what :func:`bill_path` gives outside grading).
PRACTICE_BILL = ("012345678901-aws-billing-detailed-line-items-with-resources-and-tags-"
                 "2026-02.csv.zip")
__all__ = ["ANSWERS", "ANSWERS_ENV", "BILL_ENV", "DEFAULT_WINDOW", "ENV_VARS", "FORMAT",
           "HALF_CENT", "INVOICE_ENV", "PLOT_DAYS", "SHAPES", "TASKS", "TASK_OF", "WINDOW_ENV",
           "Answer", "AnswerError", "Task", "answers_path", "bill_path", "invoice", "load",
           "plot_days", "submit", "validate", "window"]


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
    month = _month_of(os.fspath(bill) if bill is not None else bill_path())
    return f"{month}-{DEFAULT_WINDOW[0]}", f"{month}-{DEFAULT_WINDOW[1]}"


def invoice() -> str | None:
    """The invoice to check against: ``$COSTLIB_INVOICE`` (an amount or the path of the
    monthly invoice report), or ``None`` to use the bill's own total rows."""
    return os.environ.get(INVOICE_ENV) or None


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
    name, shape = answer.name, answer.shape
    if shape.endswith(" or none"):
        if value is None:
            return None
        shape = shape[: -len(" or none")]
    if shape == "text":
        if not isinstance(value, str):
            raise AnswerError(f"{name} must be a string, not {_what(value)}"
                              + (" (account ids are text: keep the leading zeros)"
                                 if name == "account" else ""))
        return str(value)
    if shape == "count":
        if _is_bool(value) or not isinstance(value, numbers.Integral):
            raise AnswerError(f"{name} must be a whole number, not {_what(value)}")
        return int(value)
    if shape == "names":
        if isinstance(value, str) or not _is_sequence(value):
            raise AnswerError(f"{name} must be a list of strings, not {_what(value)}")
        items = list(value)
        bad = [v for v in items if not isinstance(v, str)]
        if bad:
            raise AnswerError(f"{name} must be a list of strings; {_what(bad[0])} is not one")
        return [str(v) for v in items]
    if shape == "money":
        return _money(name, value)
    if shape == "yes/no":
        if not _is_bool(value):
            raise AnswerError(f"{name} must be True or False, not {_what(value)}")
        return bool(value)
    if shape == "money per user":
        return {_user(name, k): _money(f"{name}[{k!r}]", v) for k, v in _pairs(name, value)}
    if shape == "money per day":
        return _by_day(name, value, lambda where, v: _money(where, v))
    if shape == "money per day and user":
        return _by_day(name, _rows(value), lambda where, v: {
            _user(where, k): _money(f"{where}[{k!r}]", x) for k, x in _pairs(where, v)})
    raise AssertionError(shape)  # pragma: no cover


def _money(where: str, value) -> float:
    if _is_bool(value) or not isinstance(value, (numbers.Real, Decimal)):
        raise AnswerError(f"{where} must be an amount in dollars (a number), not {_what(value)}")
    amount = float(value)
    if not math.isfinite(amount):
        raise AnswerError(f"{where} must be a finite amount, not {value!r}")
    return amount


def _user(where: str, key) -> str:
    if not isinstance(key, str):
        raise AnswerError(f"{where}: users are tag values (strings), not {_what(key)}")
    return str(key)


def _pairs(where: str, value):
    if hasattr(value, "items") and callable(value.items) and not hasattr(value, "columns"):
        return list(value.items())
    raise AnswerError(f"{where} must be a dict (or a pandas Series), not {_what(value)}")


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
            raise AnswerError(f"{where}: day {day} appears twice")
        out[day] = convert(f"{where}[{day!r}]", v)
    return dict(sorted(out.items()))


def _day(where: str, key) -> str:
    if isinstance(key, str):
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", key):
            raise AnswerError(f"{where}: days are written YYYY-MM-DD, not {key!r}")
        try:
            dt.date.fromisoformat(key)
        except ValueError:
            raise AnswerError(f"{where}: {key!r} is not a real day") from None
        return key
    np = sys.modules.get("numpy")  # loaded by the notebook, if it uses numpy at all
    if np is not None and isinstance(key, np.datetime64):
        return str(key.astype("datetime64[D]"))
    if isinstance(key, dt.datetime):  # pandas Timestamp included
        if (key.hour, key.minute, key.second, key.microsecond) != (0, 0, 0, 0):
            raise AnswerError(f"{where}: a day, not a time of day ({key})")
        return key.date().isoformat()
    if isinstance(key, dt.date):
        return key.isoformat()
    raise AnswerError(f"{where}: days are strings YYYY-MM-DD, not {_what(key)}")


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
    return f"{type(value).__name__} {text}"
