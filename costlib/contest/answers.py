"""The contest's right answers for a bill, and a submission compared with them, to the cent.

:func:`expected` gives costlib's own answers for a bill in the form
:func:`costlib.contest.submit` writes; :func:`differences` compares a submission with them.
This is the answer key: it imports costlib's core, is used by the grader and the reference
solutions' hidden tests, and is never visible inside a graded notebook's run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

import numpy as np

from .. import money
from ..invoice import check_invoice
from ..reading import Bill, read
from ..spending import UNTAGGED, spend
from ..timezones import PACIFIC
from . import ANSWERS, HALF_CENT, TASKS, bill_path, invoice, plot_days, validate, window

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
