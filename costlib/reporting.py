"""The month in one object: invoice check, spend per user and per day, as text or JSON."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from . import money
from .invoice import InvoiceCheck, check_invoice
from .layout import KINDS, printable
from .reading import Bill
from .spending import UNTAGGED, Spend, spend
from .timezones import UTC, When


@dataclass(frozen=True)
class Report:
    """A bill's invoice check and its spend in one window: what ``costlib report`` prints."""

    bill: Bill
    invoice: InvoiceCheck
    spend: Spend
    #: The same spend split by usage account, line item type and (FOCUS) provider.
    breakdowns: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The ``--json`` object: amounts in dollars, unrounded, from exact sums."""
        s = self.spend
        daily = {str(day): _amounts(s.users, s.table[i]) for i, day in enumerate(s.days)}
        if s.table[-1].any():
            daily["undated"] = _amounts(s.users, s.table[-1])
        return {
            "file": os.path.basename(self.bill.name),
            "account": self.bill.account,
            "month": self.bill.month,
            "kind": self.bill.kind,
            "invoice_id": self.bill.invoice_id,
            "tag": s.tags[0] if len(s.tags) == 1 else list(s.tags),
            "tz": s.tz,
            "window": {"start": _iso(s.start), "end": _iso(s.end)},
            "cost": self.bill.cost_basis,
            "total": s.total,
            **({"blended_total": s.total} if self.bill.cost_basis == "blended" else {}),
            "invoice": self.invoice.as_dict(),
            "users": _amounts(s.users, s.table.sum(axis=0)),
            "users_add_up": s.users_add_up,
            "daily": daily,
            **self.breakdowns,
            **_many(self.bill),
        }

    def __str__(self) -> str:
        b, s = self.bill, self.spend
        window = (("whole file" if getattr(b, "files", None) is None else "whole files")
                  if s.start is None and s.end is None
                  else f"[{_iso(s.start) or '...'}, {_iso(s.end) or '...'}) UTC")
        files = getattr(b, "files", None)
        lines = [
            f"{os.path.basename(b.name)}",
            f"account {b.account}, month {b.month}, {KINDS[b.kind]}, "
            f"invoice {b.invoice_id or 'none'}",
        ] if files is None else _per_month_and_account(b)
        lines += [
            f"window: {window}; days: {s.label}",
            "",
            "Invoice check (whole month)" if files is None else "Invoice check (all files)",
            *[f"  {line}" for line in str(self.invoice).splitlines()],
            "",
            f"Spend per user ({' > '.join(printable(t) for t in s.tags)})",
        ]
        names = [printable(u) for u in s.users]
        per_user = [money.dollars(units) for units in s.table.sum(axis=0)]
        width = max([len(u) for u in names] + [10])
        for user, cost in zip(names, per_user, strict=True):
            share = f"{100 * cost / s.total:5.1f}%" if s.total else ""
            lines.append(f"  {user:<{width}}  {money.usd(cost):>14}  {share}")
        lines.append(f"  {'total':<{width}}  {money.usd(s.total):>14}  "
                     f"(users add up to the total: {'yes' if s.users_add_up else 'NO'})")
        lines += ["", f"Daily spend ({s.tz})"]
        day_totals = s.table.sum(axis=1)
        for day, units in zip(s.days, day_totals[:-1], strict=True):
            weekday = np.datetime_as_string(day)
            lines.append(f"  {weekday} {_weekday(day)}  {money.usd(money.dollars(units)):>14}")
        if s.table[-1].any():
            lines.append(f"  {'undated':<14}  {money.usd(money.dollars(day_totals[-1])):>14}")
        return "\n".join(lines)


def report(bill: Bill, tag: str | Sequence[str] | None = None, *, tz: str = UTC,
           start: When | None = None, end: When | None = None, invoice=None,
           spread: bool = False) -> Report:
    """Check ``bill`` against its invoice and sum its spend per user and day in one go.

    >>> import costlib
    >>> week = report(costlib.read(costlib.sample_path()), start="2026-02-08", end="2026-02-15")
    >>> week.as_dict()["blended_total"], week.invoice.matches
    (616.5102318711, True)
"""
    window = dict(start=start, end=end, tz=tz, spread=spread)
    breakdowns = {}
    for key, column in BREAKDOWNS.items():
        if column in bill.columns:
            by = spend(bill, column, strict=False, **window)
            split = _amounts([NONE if u == UNTAGGED else u for u in by.users],
                             by.table.sum(axis=0))
            breakdowns[key] = {k: v for k, v in split.items() if v or k != NONE}
    return Report(bill=bill, invoice=check_invoice(bill, invoice),
                  spend=spend(bill, tag, **window), breakdowns=breakdowns)


#: The JSON's splits of the spend, and the column each is by.
BREAKDOWNS = {"by_account": "LinkedAccountId", "by_type": "RecordType", "providers": "Provider"}
NONE = "(none)"  #: how a split names rows with no value (an account left blank)


def _many(bill: Bill) -> dict:
    """What the JSON of many files (:func:`costlib.scan`) adds: accounts, months, files."""
    files = getattr(bill, "files", None)
    if files is None:
        return {}
    extra = {"accounts": bill.accounts, "months": bill.months,
             "files": [f.as_dict() for f in files]}
    if bill.refused:
        extra["refused"] = [{"file": r.name, "error": r.reason} for r in bill.refused]
    return extra


def _per_month_and_account(bill: Bill) -> list[str]:
    """The text of many files: a table of charges per month (rows) and account (columns),
    each file's invoice check, and the files refused."""
    files = bill.files
    accounts = sorted({f.account or "(no account)" for f in files})
    months = sorted({f.month or "(no month)" for f in files})
    cell: dict[tuple[str, str], int] = {}
    for f in files:
        key = (f.month or "(no month)", f.account or "(no account)")
        cell[key] = cell.get(key, 0) + f.charges_units
    width = max([len(a) for a in accounts] + [14])
    lines = [f"{len(files)} files: {len(accounts)} accounts, {len(months)} months"
             f" ({months[0]} .. {months[-1]})" if months else f"{len(files)} files", "",
             "Charges per month and account (whole files)",
             "  " + f"{'month':<10}" + "".join(f"  {a:>{width}}" for a in accounts)
             + f"  {'total':>{width}}"]
    for month in [*months, "total"]:
        row = [sum(v for (m, a), v in cell.items() if a == account and month in (m, "total"))
               if month == "total" or (month, account) in cell else None
               for account in accounts]
        whole = sum(v for (m, _), v in cell.items() if month in (m, "total"))
        lines.append("  " + f"{month:<10}" + "".join(
            f"  {money.usd(money.dollars(v)) if v is not None else '-':>{width}}"
            for v in row) + f"  {money.usd(money.dollars(whole)):>{width}}")
    lines += ["", "Invoice check per file"]
    for f in sorted(files, key=lambda f: (f.month or "", f.account or "", f.name)):
        verdict = {True: "matches to the cent", False: "DOES NOT MATCH"}.get(
            f.invoice.matches, f.invoice.status)
        lines.append(f"  {f.month} {f.account}  {KINDS[f.kind].split(' (')[0]}: "
                     f"{money.usd(money.dollars(f.charges_units))}, {verdict}")
    if bill.refused:
        lines += ["", f"Files refused ({len(bill.refused)})"]
        lines += [f"  {printable(r.reason)}" for r in bill.refused]
    return [*lines, ""]


def _amounts(users: list[str], units) -> dict[str, float]:
    return {user: money.dollars(v) for user, v in zip(users, units, strict=True)}


def _iso(t: np.datetime64 | None) -> str | None:
    return None if t is None else np.datetime_as_string(t, unit="s") + "Z"


def _weekday(day: np.datetime64) -> str:
    return ("Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed")[int(day.astype("int64")) % 7]


def tag_coverage(bill: Bill) -> dict:
    """Each tag key of ``bill`` with the share of the spend (by absolute amount) on rows that
    carry it and how many distinct values it has: the first thing asked of a new bill.

    >>> import costlib
    >>> tags = tag_coverage(costlib.read(costlib.sample_path()))["tags"]
    >>> round(tags["user:Owner"]["share"], 2), tags["user:Owner"]["values"]
    (0.95, 6)
    """
    units = np.asarray(bill.cost_units)
    weight = np.abs(units.astype(np.float64))
    whole = float(weight.sum()) or 1.0
    tags = {}
    for tag in bill.tags:
        if tag not in bill.columns:
            continue
        values = bill.column(tag)
        carried = values != ""
        tags[tag] = {"share": float(weight[carried].sum()) / whole,
                     "values": len(set(values[carried].tolist()))}
    return {"file": os.path.basename(bill.name), "kind": bill.kind, "cost": bill.cost_basis,
            "total": money.dollars(money.total(units)),
            "tags": dict(sorted(tags.items(), key=lambda kv: -kv[1]["share"]))}
