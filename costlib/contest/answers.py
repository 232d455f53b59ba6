"""The contest's right answers for a bill, and a submission compared with them, to the cent.

:func:`expected` gives costlib's own answers for a bill in the form
:func:`costlib.contest.submit` writes; :func:`differences` (from the hand-in module, which
holds no answer) compares a submission with them.
This is the answer key: it imports costlib's core, is used by the grader and the reference
solutions' hidden tests, and is never visible inside a graded notebook's run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .. import money
from ..invoice import check_invoice
from ..reading import Bill, read
from ..spending import UNTAGGED, spend
from ..timezones import PACIFIC
from . import (
    PRACTICE_FORMAT,
    bill_path,
    default_window,
    differences,
    invoice,
    plot_days,
    practice_answers_path,
    validate,
    window,
)

__all__ = ["differences", "expected", "practice_record", "write_practice_answers"]

_env_bill, _env_window, _env_invoice = bill_path, window, invoice  # expected()'s defaults


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


# ------------------------------------------------------------------ the practice answers


def practice_record(bill: str | os.PathLike) -> dict:
    """The answers :func:`costlib.contest.check` compares with on a practice bill: costlib's
    own, for the bill's default window and its own total rows (no invoice given)."""
    path = os.fspath(bill)
    start, end = default_window(path)
    return {"format": PRACTICE_FORMAT, "bill": os.path.basename(path), "window": [start, end],
            "invoice": None, "answers": expected(path, (start, end), None)}


def write_practice_answers(bill: str | os.PathLike) -> Path:
    """Write :func:`practice_record` beside ``bill`` (``<bill name>.answers.json``)."""
    target = practice_answers_path(bill)
    text = json.dumps(practice_record(bill), indent=1, ensure_ascii=False)
    target.write_text(text + "\n", encoding="utf-8")
    return target
