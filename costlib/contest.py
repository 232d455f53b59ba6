"""The contest's answer sheet: which bill, which window, what to hand in, and the right answers.

    >>> import costlib
    >>> from costlib import contest
    >>> bill = costlib.read(contest.bill_path())     # the grader may swap in another month
    >>> start, end = contest.window()                # the bonus window, [start, end) in UTC
    >>> contest.submit(account=bill.account, month=bill.month)  # doctest: +SKIP
    2 answers to 1 of 6 tasks written to answers.json
    not answered: rows, tag_columns

A contestant's notebook opens its bill with :func:`bill_path` and records its answers with one
call to :func:`submit`, so the grader never parses prose. :data:`TASKS` is the one table of
tasks, answer names and shapes: the contest README, :func:`submit`, the grader and the
reference solutions all read it. :func:`expected` gives costlib's own answers for a bill and
:func:`differences` compares a submission with them, to the cent.

The environment decides what a run works on, so one notebook serves practice and grading:

- ``COSTLIB_BILL``: the bill (default: the bundled sample, :func:`costlib.sample_path`);
- ``COSTLIB_WINDOW``: the bonus window as ``"START,END"`` (default: inside the bill's month);
- ``COSTLIB_INVOICE``: the invoice for a bill without total rows: an amount or the monthly
  ``aws-billing-csv`` report (default: none, use the bill's own total rows);
- ``COSTLIB_ANSWERS``: where :func:`submit` writes (default: ``answers.json`` here).
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import numbers
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

from . import money
from .errors import CostlibError
from .files import parse_name, sample_path
from .invoice import check_invoice
from .reading import Bill, read
from .spending import UNTAGGED, spend
from .timezones import PACIFIC

BILL_ENV = "COSTLIB_BILL"
WINDOW_ENV = "COSTLIB_WINDOW"
INVOICE_ENV = "COSTLIB_INVOICE"
ANSWERS_ENV = "COSTLIB_ANSWERS"
ENV_VARS = (BILL_ENV, WINDOW_ENV, INVOICE_ENV, ANSWERS_ENV)
ANSWERS_FILE = "answers.json"
FORMAT = "costlib-contest-answers/1"
#: The bonus plot covers this many UTC days, ending with the last day that has data.
PLOT_DAYS = 28
#: The default bonus window, as day-of-month and time: from the 8th 06:00 to the 15th 18:00.
DEFAULT_WINDOW = ("08 06:00", "15 18:00")
#: Money is right when it is within half a cent of costlib's exact sum.
HALF_CENT = Decimal("0.005")


class AnswerError(CostlibError, ValueError):
    """An answer has an unknown name or the wrong shape; the message says which and why."""


@dataclass(frozen=True)
class Answer:
    """One value a contestant hands in: its name, its shape and what it means."""

    name: str
    shape: str
    meaning: str


@dataclass(frozen=True)
class Task:
    """One task of the contest and the answers that score it."""

    key: str
    number: str
    title: str
    points: int
    bonus: bool
    answers: tuple[Answer, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.answers)


#: Shapes, and how each is written in JSON.
SHAPES = {
    "text": "a string",
    "count": "a whole number",
    "names": "a list of strings",
    "money": "dollars, a number (compared to the cent)",
    "money or none": "dollars, or None when there is no invoice",
    "yes/no": "True or False",
    "yes/no or none": "True, False, or None when there is no invoice",
    "money per user": '{user: dollars}, untagged spend under "(untagged)"',
    "money per day": '{"YYYY-MM-DD": dollars}',
    "money per day and user": '{"YYYY-MM-DD": {user: dollars}}',
}

TASKS: tuple[Task, ...] = (
    Task("open", "1", "Open the file", 1, False, (
        Answer("account", "text", "the 12-digit payer account, as a string (leading zeros kept)"),
        Answer("month", "text", 'the month the bill is for, "YYYY-MM"'),
        Answer("rows", "count", "data records in the CSV after the header, total rows included"),
        Answer("tag_columns", "names", 'the tag columns ("user:..." and "aws:..."), in file order'),
    )),
    Task("invoice", "2", "The month's blended cost against the invoice", 2, False, (
        Answer("blended_total", "money", "BlendedCost (Cost in a single-account file) summed over "
               "the charge rows: total and rounding rows left out"),
        Answer("invoice_total", "money or none", "the invoice's total (the InvoiceTotal row, or "
               "COSTLIB_INVOICE); None while the month is open or when there is no invoice"),
        Answer("invoice_matches", "yes/no or none", "charges (+ rounding rows, - what that "
               "invoice leaves out) equal the invoice to the cent; None without an invoice"),
    )),
    Task("users", "3", "Spend per user, and do the users add up?", 2, False, (
        Answer("users", "money per user", "blended cost per user:Owner value over the whole "
               'file, rows without dates included; no user:Owner value: "(untagged)"'),
        Answer("users_equal_total", "yes/no", "the users' spend adds up exactly to "
               "blended_total"),
    )),
    Task("daily", "bonus A", "28 days per user (the plot)", 1, True, (
        Answer("daily", "money per day and user", "spend per UTC day (of UsageStartDate) and "
               f"user over the {PLOT_DAYS} days ending with the last day that has data"),
    )),
    Task("window", "bonus B", "A time window with two parameters", 1, True, (
        Answer("window_total", "money", "blended cost of the rows whose UsageStartDate is in "
               "[start, end) of contest.window(), times in UTC"),
        Answer("window_users", "money per user", "the same, per user"),
    )),
    Task("pacific", "bonus C", "UTC compensation: Pacific days", 1, True, (
        Answer("pacific_daily", "money per day", "spend per America/Los_Angeles day (PST -8, "
               "PDT -7) from the first to the last day with dated rows"),
    )),
)
ANSWERS: dict[str, Answer] = {a.name: a for t in TASKS for a in t.answers}
TASK_OF: dict[str, str] = {a.name: t.key for t in TASKS for a in t.answers}


# ------------------------------------------------------------------------ what to work on


def bill_path() -> str:
    """The bill to answer on: ``$COSTLIB_BILL`` if set, else the bundled sample."""
    return os.environ.get(BILL_ENV) or sample_path()


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


def plot_days(last_start: np.datetime64 | dt.datetime | str) -> tuple[str, str]:
    """First and last UTC day of the bonus plot, given the latest ``UsageStartDate``."""
    last = np.datetime64(last_start, "D")
    return str(last - (PLOT_DAYS - 1)), str(last)


_env_bill, _env_window, _env_invoice = bill_path, window, invoice  # expected()'s defaults


def _month_of(path: str) -> str:
    name = parse_name(path)
    if name.month:
        return name.month
    found = re.findall(r"(?<!\d)(\d{4}-\d{2})(?!\d)", os.path.basename(path))
    if found:
        return found[-1]
    month = read(path).month
    if month is None:
        raise AnswerError(f"{path}: cannot tell the bill's month; set {WINDOW_ENV}")
    return month


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
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
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
        if not isinstance(value, (bool, np.bool_)):
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
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, Decimal)):
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
    if isinstance(key, np.datetime64):
        return str(key.astype("datetime64[D]"))
    if isinstance(key, dt.datetime):  # pandas Timestamp included
        if (key.hour, key.minute, key.second, key.microsecond) != (0, 0, 0, 0):
            raise AnswerError(f"{where}: a day, not a time of day ({key})")
        return key.date().isoformat()
    if isinstance(key, dt.date):
        return key.isoformat()
    raise AnswerError(f"{where}: days are strings YYYY-MM-DD, not {_what(key)}")


def _is_sequence(value) -> bool:
    return isinstance(value, (list, tuple)) or (
        hasattr(value, "__len__") and hasattr(value, "__iter__") and not isinstance(
            value, (Mapping, bytes)) and not hasattr(value, "items"))


def _what(value) -> str:
    text = repr(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"{type(value).__name__} {text}"


# ------------------------------------------------------------------------ the right answers


def expected(bill_path: str | os.PathLike | Bill | None = None,
             window: tuple[str, str] | None = None, invoice=None) -> dict:
    """costlib's own answers to every task for a bill, in the form :func:`submit` writes.

    ``bill_path`` may also be a :class:`~costlib.Bill` already read (the grader passes bills
    it changed, to compute the answers a typical mistake gives). Defaults: the bill, window
    and invoice the environment names (see the module doc).
    """
    given = bill_path if isinstance(bill_path, Bill) else None
    if given is not None:
        path = given.name
    else:
        path = os.fspath(bill_path) if bill_path is not None else _env_bill()
    start, end = window if window is not None else _env_window(path)
    if invoice is None:
        invoice = _env_invoice()
    bill = given if given is not None else read(path)
    check = check_invoice(bill, invoice)
    whole = spend(bill)
    answers = {
        "account": bill.account,
        "month": bill.month,
        "rows": len(bill.items) + len(bill.controls),
        "tag_columns": list(bill.tags),
        "blended_total": whole.total,
        "invoice_total": check.total,
        "invoice_matches": check.matches,
        "users": _per_user(whole.users, whole.table.sum(axis=0)),
        "users_equal_total": whole.users_add_up,
    }
    starts = bill.items["UsageStartDate"].dropna()
    if len(starts):
        first, last = plot_days(starts.max().tz_convert(None).to_datetime64())
        plot = spend(bill, start=first, end=str(np.datetime64(last) + 1))
        answers["daily"] = {str(day): _per_user(plot.users, plot.table[i])
                            for i, day in enumerate(plot.days)}
    else:
        answers["daily"] = {}
    inside = spend(bill, start=start, end=end)
    answers["window_total"] = inside.total
    answers["window_users"] = _per_user(inside.users, inside.table.sum(axis=0))
    local = spend(bill, tz=PACIFIC)
    per_day = local.table[: len(local.days)].sum(axis=1)
    answers["pacific_daily"] = {str(day): money.dollars(v)
                                for day, v in zip(local.days, per_day, strict=True)}
    return validate(answers)


def _per_user(users: list[str], units) -> dict[str, float]:
    return {u: money.dollars(v) for u, v in zip(users, units, strict=True)
            if v or u != UNTAGGED}


# ------------------------------------------------------------------------------ comparing


def differences(answers: Mapping, right: Mapping) -> dict[str, list[str]]:
    """What is wrong in ``answers``, task by task (an empty list: the task is right).

    Both are in the form :func:`submit` writes (``right`` usually from :func:`expected`).
    Money is right within half a cent; in tables a missing user or day counts as zero.
    """
    out: dict[str, list[str]] = {}
    for task in TASKS:
        problems: list[str] = []
        for name in task.names:
            if name not in answers:
                problems.append(f"{name}: not answered")
                continue
            problems += _compare(name, ANSWERS[name].shape, answers[name], right.get(name))
        out[task.key] = problems
    return out


def _compare(where: str, shape: str, got, want) -> list[str]:
    if shape.startswith("money per day and user"):
        got, want = got or {}, want or {}
        problems = []
        for day in sorted(set(got) | set(want)):
            problems += _compare(f"{where}[{day!r}]", "money per user", got.get(day, {}),
                                 want.get(day, {}))
        return problems
    if shape in ("money per user", "money per day"):
        got, want = got or {}, want or {}
        keys = list(want) + [k for k in got if k not in want]
        return [p for k in keys for p in _compare(f"{where}[{k!r}]", "money", got.get(k, 0.0),
                                                  want.get(k, 0.0))]
    if shape.startswith("money"):
        if got is None or want is None:
            return [] if got is want else [f"{where}: {_show(got)}, expected {_show(want)}"]
        if abs(_decimal(got) - _decimal(want)) < HALF_CENT:
            return []
        return [f"{where}: {_show(got)}, expected {_show(want)}"]
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
