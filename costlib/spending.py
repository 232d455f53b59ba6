"""Spend per user and per day, in a window, in any time zone, summed exactly.

Everything comes from one table of money: (day, user) -> units. The month's total is summed
separately from the raw rows, so ``users_add_up`` compares two independent sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from . import money
from .errors import OptionError
from .layout import DEFAULT_TAG
from .reading import Bill, factorize_text
from .timezones import UTC, When, day_index, day_starts, local_days, window

if TYPE_CHECKING:
    import pandas as pd

#: The fallback chain the original costnotify Lambda used to name whose spend a row is.
LAMBDA_TAGS = ("user:Owner", "user:Project", "user:ProjectName", "user:Name")
UNTAGGED = "(untagged)"
OTHER = "other"  #: the column of users folded away by :func:`fold_users`
UNTAGGED_LABEL = "untagged"  #: how :func:`fold_users` names untagged spend
HOUR = np.timedelta64(3600, "s").astype("timedelta64[ns]")


@dataclass(frozen=True, eq=False)
class Spend:
    """Spend of one bill in one window: per user, per local day, and in total.

    ``table[d, u]`` holds the exact units of day ``d`` (the last row: rows without dates) and
    user ``u``; the float views below are made from it.
    """

    bill: Bill
    tags: tuple[str, ...]
    tz: str
    start: np.datetime64 | None
    end: np.datetime64 | None
    days: np.ndarray
    users: list[str]
    table: np.ndarray
    total_units: int

    @property
    def total(self) -> float:
        """Blended cost of the charge rows in the window, in dollars."""
        return money.dollars(self.total_units)

    @property
    def per_user(self) -> pd.Series:
        """Dollars per user, largest first, untagged spend last under ``"(untagged)"``."""
        import pandas as pd

        sums = self.table.sum(axis=0)  # (int64 only where no sum can overflow it)
        return pd.Series([money.dollars(s) for s in sums], index=pd.Index(self.users, name="user"),
                         name="cost", dtype="float64")

    @property
    def daily(self) -> pd.DataFrame:
        """Dollars per local day (rows, zero-filled) and user (columns)."""
        import pandas as pd

        index = pd.DatetimeIndex(self.days.astype("datetime64[ns]"), name="day")
        values = money.to_dollars(self.table[: len(self.days)])
        return pd.DataFrame(values, index=index, columns=pd.Index(self.users, name="user"))

    @property
    def undated(self) -> pd.Series:
        """Dollars per user of rows without dates (credits); they count only with no window."""
        import pandas as pd

        return pd.Series(money.to_dollars(self.table[-1]), index=pd.Index(self.users, name="user"),
                         name="undated")

    @property
    def users_add_up(self) -> bool:
        """True when the users' spend adds up exactly to the total summed from the rows."""
        return money.total(self.table) == self.total_units

    @property
    def label(self) -> str:
        """``2026-02-01 .. 2026-02-28 (UTC)``: the days covered, for titles."""
        if not len(self.days):
            return f"no days ({self.tz})"
        return f"{self.days[0]} .. {self.days[-1]} ({self.tz})"


def spend(bill: Bill, tag: str | Sequence[str] | None = None, *, start: When | None = None,
          end: When | None = None, tz: str = UTC, spread: bool = False,
          strict: bool | None = None) -> Spend:
    """Spend per user and per day of ``bill`` in the window ``[start, end)``, read in ``tz``.

    ``tag`` names the user: one tag column, or a chain whose first non-empty value wins
    (``costlib.LAMBDA_TAGS``); by default ``user:Owner``, all spend untagged in a file without
    it. A tag asked for by name must exist in the file unless ``strict=False`` (a month from
    before the tag was activated then counts as untagged). Cost belongs to the local day of
    ``UsageStartDate``; with ``spread=True`` a row lasting several hours (tax, fees) is spread
    evenly over its hours.
    With no window every charge row counts, rows without dates included.

    >>> import costlib
    >>> s = spend(costlib.read(costlib.sample_path()), tz="America/Los_Angeles")
    >>> s.users[0], s.users[-1], s.users_add_up
    ('chen.wei', '(untagged)', True)
    >>> s.label                      # Pacific days: the UTC month starts on 31 January there
    '2026-01-31 .. 2026-02-28 (America/Los_Angeles)'
    """
    tags = (DEFAULT_TAG,) if tag is None else (tag,) if isinstance(tag, str) else tuple(tag)
    lo, hi = window(start, end, tz)
    amounts = bill.cost_units
    times = bill.column("UsageStartDate") if len(amounts) else np.array([], "datetime64[ns]")
    total_rows = amounts
    labels = user_labels(bill, tags, strict=(tag is not None) if strict is None else strict)
    if spread:
        times, amounts, labels = _spread_hours(bill, times, amounts, labels)
    dated = ~np.isnat(times)
    if lo is None and hi is None:
        keep = np.ones(len(times), bool)
    else:
        keep = dated.copy()
        if lo is not None:
            keep &= times >= lo
        if hi is not None:
            keep &= times < hi

    if lo is not None or hi is not None:
        first = lo if lo is not None else (times[keep].min() if keep.any() else hi)
        last = (hi - np.timedelta64(1, "ns")) if hi is not None else (
            times[keep].max() if keep.any() else lo)
        days = local_days(first, last, tz)
        total_units = money.total(amounts[keep])
    else:
        days = (local_days(times[dated].min(), times[dated].max(), tz) if dated.any()
                else np.array([], "datetime64[D]"))
        total_units = money.total(total_rows)  # straight from the rows, before any spreading

    day = np.full(len(times), len(days), dtype=np.int64)  # the last slot: no date
    if len(days):
        day[dated] = day_index(times[dated], day_starts(days, tz))
    codes, users = _order_users(labels[keep], amounts[keep])
    table = money.sum_by((day[keep], codes), amounts[keep], (len(days) + 1, len(users)))
    return Spend(bill=bill, tags=tags, tz=tz, start=lo, end=hi, days=days, users=users,
                 table=table, total_units=total_units)


def blended_total(bill: Bill, *, start: When | None = None, end: When | None = None,
                  tz: str = UTC) -> float:
    """The month's blended cost over the charge rows (total rows excluded), in the window."""
    return spend(bill, start=start, end=end, tz=tz).total


def spend_per_user(bill: Bill, tag: str | Sequence[str] | None = None, **window) -> pd.Series:
    """Dollars per user (the ``tag`` value), untagged spend under ``"(untagged)"``."""
    return spend(bill, tag, **window).per_user


def daily_spend(bill: Bill, tag: str | Sequence[str] | None = None, **window) -> pd.DataFrame:
    """Dollars per local day and user, zero-filled; see :func:`spend` for the options."""
    return spend(bill, tag, **window).daily


def user_labels(bill: Bill, tags: Sequence[str], *, strict: bool = True) -> np.ndarray:
    """Each charge row's user: the first non-empty value along ``tags``, else ``"(untagged)"``.

    ``strict`` refuses a file that has tag columns but none of ``tags`` (a typo, most likely).
    """
    columns = bill.columns
    present = [c for c in dict.fromkeys(t if t in columns else bill.tag_column(t) for t in tags)
               if c is not None and c in columns]
    if strict and not present and bill.tags:
        have = ", ".join(bill.tags) or "none"
        raise OptionError(f"{bill.name}: no tag column {' or '.join(tags)} "
                          f"(tags in this file: {have})")
    rows = len(bill.column(bill.cost_column))
    labels = np.full(rows, UNTAGGED, dtype=object)
    unset = np.ones(rows, bool)
    for tag in present:
        values = bill.column(tag)
        take = unset & (values != "")
        labels[take] = values[take]
        unset &= ~take
    return labels


def _order_users(labels: np.ndarray, amounts: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Codes into a user list ordered by spend (largest first), untagged last."""
    codes, uniques = factorize_text(labels)
    sums = money.sum_by(codes, amounts, len(uniques))
    order = sorted(range(len(uniques)),
                   key=lambda i: (uniques[i] == UNTAGGED, -sums[i], str(uniques[i])))
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[order] = np.arange(len(uniques))
    users = [str(uniques[i]) for i in order]
    if UNTAGGED not in users:
        users.append(UNTAGGED)
    return rank[codes], users


def _spread_hours(bill: Bill, times: np.ndarray, amounts: np.ndarray,
                  labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split each row lasting over an hour into hourly pieces whose units add up exactly."""
    ends = bill.column("UsageEndDate") if len(times) else times
    span = np.where(np.isnat(times) | np.isnat(ends), HOUR, ends - times)
    hours = np.maximum(1, -(-span // HOUR)).astype(np.int64)  # ceiling division
    row = np.repeat(np.arange(len(times)), hours)
    first = np.cumsum(hours) - hours
    k = np.arange(len(row)) - np.repeat(first, hours)
    base, rest = np.divmod(amounts, hours)
    pieces = base[row] + (k < rest[row])
    return times[row] + k * HOUR, money.fit(np.asarray(pieces)), labels[row]


def fold_users(daily: pd.DataFrame, top: int) -> pd.DataFrame:
    """The daily table as plotted: the ``top`` users kept, the rest summed into ``"other"``.

    Users are ranked by their spend over the table's days (the window plotted), ties in column
    order. ``"(untagged)"`` is never folded: it becomes ``"untagged"``, and is dropped only
    when it is zero every day. Each row still sums to the original row, so the plot shows all
    the money. A real user called ``"other"`` or ``"untagged"`` keeps its name and the folded
    column keeps the parenthesised form instead.
    """
    return fold_counted(daily, top)[0]


def fold_counted(daily: pd.DataFrame, top: int) -> tuple[pd.DataFrame, int]:
    """:func:`fold_users`, and how many leading columns are real users (the rest are folds)."""
    import pandas as pd

    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 0:
        raise OptionError(f"top must be a whole number >= 0, not {top!r}")
    users = [c for c in daily.columns if c != UNTAGGED]
    sums = daily[users].sum(axis=0).to_numpy() if users else np.array([])
    order = sorted(range(len(users)), key=lambda i: -sums[i])  # stable: ties keep column order
    kept = [users[i] for i in order[:top]]
    folded = [users[i] for i in order[top:]]

    out = daily[kept].copy()
    out.columns = pd.Index(kept, name=daily.columns.name)
    if folded:
        name = OTHER if OTHER not in kept else f"({OTHER})"
        out[name] = daily[folded].sum(axis=1)
    if UNTAGGED in daily.columns and (daily[UNTAGGED] != 0).any():
        name = UNTAGGED_LABEL if UNTAGGED_LABEL not in kept else UNTAGGED
        out[name] = daily[UNTAGGED]
    return out, len(kept)
