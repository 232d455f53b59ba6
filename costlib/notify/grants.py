"""Grants: what a grantee may spend between two dates, what it has spent, and its pace.

A grant runs for years, so its spend needs every month file since it began. Each month's
contribution is a :class:`MonthSummary` (spend per local day, in total and per grantee); the
summaries of closed months are kept in one small JSON object in the bucket
(:class:`SummaryCache`), so a morning run reads only the open months.

    >>> import datetime as dt
    >>> g = Grant("NSF-1", 300.0, dt.date(2026, 1, 1), dt.date(2026, 1, 30), ("alice",))
    >>> daily = {dt.date(2026, 1, d): 10 * money.UNIT for d in range(1, 11)}
    >>> p = pace(g, dt.date(2026, 1, 10), daily)
    >>> p.status, money.dollars(p.spent), p.days_left
    ('on track', 100.0, 20)
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import money
from ..layout import PLOT_DAYS
from ..spending import Spend

log = logging.getLogger("costlib.notify")

#: Pace statuses, from the projection of spend at the recent burn to the grant's end.
ON_TRACK, WATCH, OVER = "on track", "watch", "over"
NOT_STARTED, ENDED = "not started", "ended"
#: projected / amount above WATCH_AT is "watch", above OVER_AT (or spent > amount) "over".
WATCH_AT = 1.0
OVER_AT = 1.1
#: The recent burn is the mean daily spend over this many days (fewer at a grant's start).
BURN_DAYS = PLOT_DAYS
CACHE_VERSION = 2  # 2: per-user and per-service days (the unusual-spend baseline)


@dataclass(frozen=True)
class Grant:
    """A grant: ``amount`` dollars from ``start`` to ``end`` (both included) for the spend whose
    user (the value of ``tag``, by default the configuration's user tag) is one of ``values``.

    ``custom_charge``: the grantee also pays its share of the reseller's custom charge (the
    month's custom charge times the grantee's share of the other spend). ``credits``: negative
    rows (credits, refunds) tagged to the grantee count. ``recipients`` get a view of this grant
    alone.
    """

    name: str
    amount: float
    start: dt.date
    end: dt.date
    values: tuple[str, ...]
    tag: tuple[str, ...] | None = None
    custom_charge: bool = True
    credits: bool = True
    recipients: tuple[str, ...] = ()
    sns_topic_arn: str | None = None

    @property
    def days(self) -> int:
        """Days the grant runs, both ends included."""
        return (self.end - self.start).days + 1

    def key(self, default_tag: Sequence[str]) -> list:
        """What the cached per-grantee sums depend on (a change invalidates the cache)."""
        return [self.name, list(self.tag or default_tag), sorted(self.values),
                self.custom_charge, self.credits]


@dataclass(frozen=True)
class GrantStatus:
    """A grant on the reported day: amounts in units of 1e-10 dollars (``costlib.money``)."""

    grant: Grant
    day: dt.date
    spent: int
    remaining: int
    days_left: int
    allowed_per_day: int | None
    burn_per_day: int
    projected: int
    status: str
    missing_months: tuple[str, ...] = ()

    @property
    def share_spent(self) -> float:
        """Spent as a share of the amount (0.25 is a quarter)."""
        return money.dollars(self.spent) / self.grant.amount


def pace(grant: Grant, day: dt.date, daily: Mapping[dt.date, int], undated: int = 0,
         missing_months: Sequence[str] = ()) -> GrantStatus:
    """Where ``grant`` stands at the end of ``day``, from the grantee's spend per local day
    (``daily``, units) and the grantee's undated rows (credits without dates) in its months.

    The status compares the projection (spent + recent daily burn x days left) with the amount:
    at most the amount is "on track", up to 10 % more "watch", beyond (or already spent more than
    the amount) "over"; "not started" before the first day (its days left counted from its
    start, no allowance yet), "ended" after the last. Overspent, it allows $0 a day.
    """
    amount = int(money.units([grant.amount])[0])
    last = min(day, grant.end)
    spent = undated + sum(v for d, v in daily.items() if grant.start <= d <= last)
    elapsed = (last - grant.start).days + 1
    days_left = max(0, (grant.end - max(day, grant.start - dt.timedelta(days=1))).days)
    recent = max(0, min(BURN_DAYS, elapsed))
    first_recent = last - dt.timedelta(days=recent - 1)
    burn = (sum(v for d, v in daily.items() if first_recent <= d <= last) // recent
            if recent else 0)
    projected = spent + burn * days_left
    remaining = amount - spent
    allowed = max(0, remaining) // days_left if days_left and day >= grant.start else None
    if day < grant.start:
        status = NOT_STARTED
    elif day > grant.end:
        status = ENDED
    elif spent > amount or projected > OVER_AT * amount:
        status = OVER
    elif projected > WATCH_AT * amount:
        status = WATCH
    else:
        status = ON_TRACK
    return GrantStatus(grant=grant, day=day, spent=spent, remaining=remaining,
                       days_left=days_left, allowed_per_day=allowed, burn_per_day=burn,
                       projected=projected, status=status,
                       missing_months=tuple(missing_months))


def grantee_days(spend: Spend, grant: Grant, custom_ratio: tuple[int, int] = (0, 1)
                 ) -> tuple[dict[dt.date, int], int]:
    """The grantee's units per local day and undated, from a whole-file ``spend`` whose user
    tag is the grant's; ``custom_ratio`` ``(custom, other)`` adds the custom-charge share."""
    columns = [i for i, user in enumerate(spend.users) if user in grant.values]
    per_day = spend.table[:, columns].sum(axis=1) if columns else np.zeros(
        len(spend.table), np.int64)
    custom, other = custom_ratio
    if grant.custom_charge and custom and other:
        per_day = np.array([_share(int(v), custom, other) + int(v) for v in per_day], np.int64)
    daily = {day.astype(dt.date): int(v) for day, v in zip(spend.days, per_day[:-1],
                                                           strict=True) if v}
    return daily, int(per_day[-1])


def _share(units: int, custom: int, other: int) -> int:
    """``units * custom / other`` rounded half away from zero, in exact integers."""
    value = abs(units) * custom
    share = (2 * value + other) // (2 * other)
    return share if units >= 0 else -share


@dataclass
class MonthSummary:
    """What one month file adds to the email outside the detailed days: spend per local day
    (total), the grantees' spend per local day and undated, how far its data reaches."""

    month: str
    etag: str
    closed: bool
    daily: dict[dt.date, int] = field(default_factory=dict)
    grants: dict[str, tuple[dict[dt.date, int], int]] = field(default_factory=dict)
    undated: int = 0
    data_through: np.datetime64 | None = None
    users: dict[str, dict[dt.date, int]] = field(default_factory=dict)
    services: dict[str, dict[dt.date, int]] = field(default_factory=dict)

    def as_json(self) -> dict:
        """The JSON form stored in the cache (days as ISO strings, units as integers)."""
        through = None if self.data_through is None else str(self.data_through)
        return {"etag": self.etag, "closed": self.closed, "undated": self.undated,
                "data_through": through, "daily": _days_out(self.daily),
                "grants": {name: {"daily": _days_out(d), "undated": u}
                           for name, (d, u) in self.grants.items()},
                "users": {k: _days_out(d) for k, d in self.users.items()},
                "services": {k: _days_out(d) for k, d in self.services.items()}}

    @classmethod
    def from_json(cls, month: str, data: dict) -> MonthSummary:
        """Inverse of :meth:`as_json`."""
        through = data.get("data_through")
        return cls(month=month, etag=data["etag"], closed=bool(data["closed"]),
                   daily=_days_in(data["daily"]), undated=int(data.get("undated", 0)),
                   grants={name: (_days_in(g["daily"]), int(g["undated"]))
                           for name, g in data.get("grants", {}).items()},
                   data_through=None if through is None else np.datetime64(through, "ns"),
                   users={k: _days_in(d) for k, d in data.get("users", {}).items()},
                   services={k: _days_in(d) for k, d in data.get("services", {}).items()})


def _days_out(daily: Mapping[dt.date, int]) -> dict[str, int]:
    return {d.isoformat(): int(v) for d, v in sorted(daily.items())}


def _days_in(daily: Mapping[str, int]) -> dict[dt.date, int]:
    return {dt.date.fromisoformat(d): int(v) for d, v in daily.items()}


class SummaryCache:
    """Closed months' summaries in one JSON object (``s3://bucket/key``), valid for one
    ``fingerprint`` (zone, user tag, grants) and, per month, for the file's ETag."""

    def __init__(self, s3, bucket: str, key: str, fingerprint: str,
                 writable: bool = True) -> None:
        self.s3, self.bucket, self.key, self.fingerprint = s3, bucket, key, fingerprint
        self.writable = writable  # a dry run reads the cache but never writes it
        self.months: dict[str, dict] = {}
        self.dirty = False

    def load(self) -> SummaryCache:
        """Read the object; a missing, unreadable or outdated cache is an empty one."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=self.key)["Body"].read()
            data = json.loads(body)
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "")
            if code not in ("NoSuchKey", "404"):
                log.warning("grant cache s3://%s/%s not read (%s): reading every month",
                            self.bucket, self.key, code)
            return self
        except (BotoCoreError, ValueError) as err:
            log.warning("grant cache s3://%s/%s unusable (%s): reading every month",
                        self.bucket, self.key, err)
            return self
        if (isinstance(data, dict) and data.get("version") == CACHE_VERSION
                and data.get("fingerprint") == self.fingerprint):
            self.months = dict(data.get("months", {}))
        return self

    def get(self, month: str, etag: str) -> MonthSummary | None:
        """The cached summary of ``month`` if it was made from the file with ``etag``."""
        data = self.months.get(month)
        if not data or data.get("etag") != etag:
            return None
        try:
            return MonthSummary.from_json(month, data)
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, summary: MonthSummary) -> None:
        """Keep a closed month's summary (open months change and are never kept)."""
        if summary.closed:
            self.months[summary.month] = summary.as_json()
            self.dirty = True

    def save(self) -> None:
        """Write the object back if anything was added; a refusal is logged, not fatal."""
        from botocore.exceptions import BotoCoreError, ClientError

        if not self.dirty or not self.writable:
            return
        body = json.dumps({"version": CACHE_VERSION, "fingerprint": self.fingerprint,
                           "months": dict(sorted(self.months.items()))}, sort_keys=True)
        try:
            self.s3.put_object(Bucket=self.bucket, Key=self.key, Body=body.encode(),
                               ContentType="application/json")
            self.dirty = False
        except (BotoCoreError, ClientError) as err:
            log.warning("grant cache s3://%s/%s not written (%s): the next run reads the "
                        "closed months again", self.bucket, self.key, err)
