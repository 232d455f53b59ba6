"""The numbers of the morning email: an account's month files (in its bucket, or given by
path), each read once and summed per local day, user and service into one :class:`Digest`.

Each file's tables come from one :func:`costlib.spend` call per user tag (and one per service)
and are combined with the other files' (a sum of sums); the summaries of closed months come
from the grant cache (:mod:`costlib.notify.grants`) instead of their files.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import io
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import IO

import numpy as np
import pandas as pd

from .. import money
from ..buckets import Month, months, s3_listing
from ..errors import OptionError
from ..files import is_manifest, sample_path
from ..invoice import CUSTOM_CHARGE
from ..layout import PLOT_DAYS
from ..reading import Bill, read, read_condensed
from ..scanning import scan
from ..spending import HOUR, Spend, spend
from ..timezones import UTC, instant, local_time
from .aws import NotifyError, client, error_code
from .config import Config
from .grants import GrantStatus, MonthSummary, SummaryCache, grantee_days, pace
from .unusual import Unusual, find_unusual

log = logging.getLogger("costlib.notify")  # the whole morning run logs as costlib.notify

DAY = dt.timedelta(days=1)
SPARK_DAYS = PLOT_DAYS  #: the days of the email's chart, read even from the month before


# ------------------------------------------------------------------------ where the files are


#: One month's billing data: where it is, its ETag and when it was last written
#: (:class:`costlib.buckets.Month`: one bill, a report's manifest, or a period's parts).
MonthFile = Month


class BucketSource:
    """The months of one account in a bucket: its detailed bills, found by name
    (``files.bill_name``), or the months of a Cost and Usage Report or a Data Export under the
    prefix (:mod:`costlib.buckets`: a month's parts by its manifest, never two assemblies)."""

    def __init__(self, bucket: str, account: str, prefix: str = "", s3=None) -> None:
        self.bucket, self.account, self.prefix = bucket, account, prefix
        self.s3 = s3 or client("s3")
        self._last: tuple[tuple, Bill] | None = None  # a run's next day reuses the last file

    def files(self) -> dict[str, MonthFile]:
        """Every month of the account (one list call per 1,000 keys): its detailed bills,
        listed by their names alone (all the role may list), else the months of the report
        written under ``prefix``."""
        from botocore.exceptions import BotoCoreError, ClientError

        root = f"s3://{self.bucket}/"
        bills = f"{self.prefix}{self.account}-aws-billing-detailed-line-items"
        try:
            found = months(s3_listing(self.s3, self.bucket, bills), root, self.account)
            if found or not self.prefix:
                return found
            return months(s3_listing(self.s3, self.bucket, self.prefix), root, self.account)
        except ClientError as err:
            code = error_code(err)
            hint = " (the role needs s3:ListBucket on it)" if code == "AccessDenied" else ""
            raise NotifyError(f"s3://{self.bucket}: cannot list the billing files "
                              f"({code}){hint}") from None
        except BotoCoreError as err:
            raise NotifyError(f"s3://{self.bucket}: cannot reach S3 ({err})") from None

    @property
    def label(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def read(self, file: MonthFile, tags: Sequence[str] = ()) -> Bill:
        """The month's bill, streamed from S3 and condensed to what the email needs (the
        ``tags`` naming users): memory follows the distinct keys, not the rows. A month in
        parts is read part after part, here (``jobs=1``: a Lambda has no process pool). The
        last month read is kept (one only, so memory stays one month's): a run that completes
        an earlier partial day, then reports yesterday, reads the open month once."""
        key = (file.url, file.etag, tuple(tags))
        if self._last is None or self._last[0] != key:
            self._last = None  # freed before the next file is read
            paths, keep = file.paths, list(tags) or None
            if len(paths) == 1 and not is_manifest(paths[0]):
                bill = read_condensed(paths[0], keep, progress=False)
            else:
                bill = scan(paths, keep, jobs=1, progress=False)
            self._last = (key, bill)
        return self._last[1]


class LocalSource:
    """Billing files given by path (``costlib notify --bill``), each read once."""

    def __init__(self, *bills: str | os.PathLike | IO | Bill) -> None:
        self.bills = {}
        for item in bills:
            bill = item if isinstance(item, Bill) else read(item)
            if bill.month is None:
                raise OptionError(f"{bill.name}: cannot tell which month the file is for")
            self.bills[bill.month] = bill

    def files(self) -> dict[str, MonthFile]:
        """One entry per bill, by month."""
        return {m: Month(m, b.name, f"local:{id(b)}") for m, b in self.bills.items()}

    def read(self, file: MonthFile, tags: Sequence[str] = ()) -> Bill:
        """The bill already read."""
        return self.bills[file.month]

    @property
    def label(self) -> str:
        return "the files given"

    def last_full_day(self, tz: str) -> dt.date:
        """The last local day the files cover to its end (the newest day with data when no
        day is covered to its end)."""
        through = max((t for t in map(_data_through, self.bills.values()) if t is not None),
                      default=None)
        if through is None:
            raise OptionError("the billing file holds no dated rows: give --day")
        day = _day_before(through, tz)
        if instant(day + DAY, tz) <= through:
            return day
        first = min(b.items["UsageStartDate"].min() for b in self.bills.values())
        full = instant(day, tz) > first.tz_convert(None).to_datetime64()
        return day - DAY if full else day


def demo_bill() -> str | IO[bytes]:
    """The bundled sample bill (made in memory when the package data is not there)."""
    path = sample_path()
    if os.path.exists(path):
        return path
    from ..sample import make_bill

    data = io.BytesIO(make_bill())
    data.name = os.path.basename(path)
    return data


# ------------------------------------------------------------------- from files to one digest


@dataclass
class Digest:
    """Everything the emails about one reported day say, in units of 1e-10 dollars.

    ``daily`` is the account's spend per local day over every month read or cached; ``users``
    and ``services`` are spend per local day (rows) of the reported day's month up to that
    day, by user and by service (columns); grants hold each grantee's spend per day.
    """

    config: Config
    day: dt.date
    daily: dict[dt.date, int] = field(default_factory=dict)
    users: pd.DataFrame = field(default_factory=pd.DataFrame)
    services: pd.DataFrame = field(default_factory=pd.DataFrame)
    undated: int = 0
    grant_daily: dict[str, dict[dt.date, int]] = field(default_factory=dict)
    grant_undated: dict[str, int] = field(default_factory=dict)
    user_daily: dict[str, dict[dt.date, int]] = field(default_factory=dict)
    service_daily: dict[str, dict[dt.date, int]] = field(default_factory=dict)
    grants: list[GrantStatus] = field(default_factory=list)
    data_through: np.datetime64 | None = None
    newest_open: bool = False
    updated: dt.datetime | None = None
    files: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    read: list[str] = field(default_factory=list)
    source: str = ""

    @property
    def tz(self) -> str:
        return self.config.tz

    @property
    def has_data(self) -> bool:
        """True when the files hold data from within the reported day."""
        return self.data_through is not None and self.data_through > instant(self.day, self.tz)

    @property
    def complete(self) -> bool:
        """True when the data reaches the end of the reported day."""
        return self.data_through is not None and self.data_through >= instant(
            self.day + DAY, self.tz)

    @property
    def last_data_day(self) -> dt.date | None:
        """The local day of the newest data."""
        if self.data_through is None:
            return None
        return _day_before(self.data_through, self.tz)

    @property
    def provisional_from(self) -> dt.date | None:
        """The first day still revised by later files (``None``: nothing is provisional)."""
        last = self.last_data_day
        if last is None or not self.newest_open or not self.config.provisional_days:
            return None
        return last - dt.timedelta(days=self.config.provisional_days - 1)

    def total(self, day: dt.date, lacking_ok: bool = False) -> int | None:
        """The account's units on ``day``; ``None`` when the data do not reach it or (unless
        ``lacking_ok``) a month file it needs is missing (see :meth:`lacking`); a day may be
        partial: see :attr:`complete`."""
        if day not in self.daily or self.data_through is None:
            return None
        if instant(day, self.tz) >= self.data_through:
            return None
        if self.lacking(day) and not lacking_ok:
            return None
        return self.daily[day]

    def lacking(self, day: dt.date) -> list[str]:
        """The month files ``day`` needs that are missing though newer data exist (east of
        UTC, the 1st of a month starts in the month before's file)."""
        if self.data_through is None:
            return []
        newest = f"{_day_before(self.data_through, UTC):%Y-%m}"
        return [m for m in _utc_months(day, day + DAY, self.tz)
                if m in self.missing and m <= newest]

    @property
    def unusual(self) -> list[Unusual]:
        """Users and services far above their own trailing baseline on the reported day
        (the rule: :mod:`costlib.notify.unusual`); none when the day has no data."""
        if self.total(self.day, lacking_ok=True) is None:
            return []
        covered = [d for d in self.daily if d < self.day and self.total(d) is not None]
        floor = int(money.units([self.config.unusual_floor])[0])
        return find_unusual(self.day, covered, {"user": self.user_daily,
                                                "service": self.service_daily}, floor)

    @property
    def month_to_date(self) -> int:
        """Units from the 1st of the reported day's month to the end of the reported day."""
        first = self.day.replace(day=1)
        return sum(v for d, v in self.daily.items() if first <= d <= self.day)


def gather(config: Config, day: dt.date, source: BucketSource | LocalSource, *,
           cache: SummaryCache | None = None, now: dt.datetime | None = None) -> Digest:
    """Read the month files the email about ``day`` needs (closed months from ``cache``)."""
    now = now or dt.datetime.now(dt.UTC)
    first = day.replace(day=1)
    detail_days = {first + k * DAY for k in range((day - first).days + 1)}
    lo = min([day - (SPARK_DAYS - 1) * DAY, first - DAY]
             + [g.start for g in config.grants if g.start <= day])
    digest = Digest(config=config, day=day, source=source.label,
                    grant_daily={g.name: {} for g in config.grants},
                    grant_undated=dict.fromkeys((g.name for g in config.grants), 0))
    files = source.files()
    users, services = [], []
    for month in _utc_months(lo, day + DAY, config.tz):
        file = files.get(month)
        if file is None:
            digest.missing.append(month)
            continue
        summary = cache.get(month, file.etag) if cache is not None else None
        if summary is None or detail_days & set(summary.daily):
            log.info("reading %s", file.url)
            bill = source.read(file, _tags(config))
            summary, detail = summarize(bill, file, config, detail_days, now)
            del bill
            digest.read.append(month)
            users.append(detail[0])
            services.append(detail[1])
            if month == f"{day:%Y-%m}":
                digest.undated += detail[2]
            if cache is not None:  # saved at once: a run that times out later keeps it
                cache.put(summary)
                cache.save()
        _add_summary(digest, summary, file, detail_days)
    digest.users = _combine(users)
    digest.services = _combine(services)
    for grant in config.grants:
        missing = [m for m in digest.missing if _overlaps(m, grant.start, min(grant.end, day))]
        digest.grants.append(pace(grant, day, digest.grant_daily[grant.name],
                                  digest.grant_undated[grant.name], missing))
    return digest


def summarize(bill: Bill, file: MonthFile, config: Config, detail_days: set[dt.date],
              now: dt.datetime) -> tuple[MonthSummary, tuple[pd.DataFrame, pd.DataFrame, int]]:
    """One month file: its :class:`MonthSummary` and its per-user and per-service units on the
    detailed days (plus its undated units), each from one :func:`costlib.spend` call."""
    tz = config.tz
    by_user = _spend(bill, config.tag, tz)
    by_service = _spend(bill, ("ProductName",), tz)
    month_end = pd.Timestamp(f"{file.month}-01", tz="UTC") + pd.offsets.MonthBegin(1)
    closed = bill.closed or now >= (month_end + pd.Timedelta(days=config.settle_days))
    summary = MonthSummary(month=file.month, etag=file.etag, closed=bool(closed),
                           daily=_per_day(by_user, by_user.table.sum(axis=1)),
                           undated=int(by_user.table[-1].sum()),
                           data_through=_data_through(bill),
                           users=_per_column(by_user), services=_per_column(by_service))
    custom = _column_units(by_service, CUSTOM_CHARGE)
    ratio = (custom, by_service.total_units - custom)
    spends: dict[tuple, Spend] = {(tuple(config.tag), True): by_user}
    for grant in config.grants:
        key = (tuple(grant.tag or config.tag), grant.credits)
        if key not in spends:
            chain = key[0]
            spends[key] = _spend(bill if grant.credits else _without_credits(bill, chain),
                                 chain, tz)
        summary.grants[grant.name] = grantee_days(spends[key], grant, ratio)
    detail = (_detail(by_user, detail_days), _detail(by_service, detail_days),
              summary.undated)
    return summary, detail


def _spend(bill: Bill, chain, tz: str) -> Spend:
    """:func:`costlib.spend` by ``chain``; a month file without any of its columns (tags are
    activated over time) counts all its spend as untagged instead of failing."""
    chain = tuple(chain)
    if not any(t in bill.items.columns for t in chain):
        log.info("%s has no column %s: its spend counts as untagged", bill.name,
                 " or ".join(chain))
    return spend(bill, chain, tz=tz, strict=False)


def _without_credits(bill: Bill, chain) -> Bill:
    """The bill without its credits and refunds (negative rows other than the custom
    charge), with only the columns :func:`costlib.spend` needs."""
    items = bill.items
    keep = (items[bill.cost_column] >= 0).to_numpy()
    if "ProductName" in items.columns:
        keep = keep | (items["ProductName"] == CUSTOM_CHARGE).to_numpy()
    columns = ["UsageStartDate", bill.cost_column, *[t for t in chain if t in items.columns]]
    return replace(bill, items=items.loc[keep, columns].reset_index(drop=True))


def _per_day(s: Spend, units: np.ndarray) -> dict[dt.date, int]:
    return {d.astype(dt.date): int(v) for d, v in zip(s.days, units[:-1], strict=True)}


def _per_column(s: Spend) -> dict[str, dict[dt.date, int]]:
    """Each user's (or service's) units per local day, the days with spend only."""
    days = [d.astype(dt.date) for d in s.days]
    return {str(user): {day: int(v) for day, v in zip(days, s.table[:-1, i], strict=True) if v}
            for i, user in enumerate(s.users)}


def _column_units(s: Spend, user: str) -> int:
    return int(s.table[:, s.users.index(user)].sum()) if user in s.users else 0


def _detail(s: Spend, days: set[dt.date]) -> pd.DataFrame:
    """Units per detailed day (rows) and user (columns) of one file."""
    rows = [i for i, d in enumerate(s.days) if d.astype(dt.date) in days]
    index = pd.DatetimeIndex(s.days[rows].astype("datetime64[ns]"), name="day")
    return pd.DataFrame(s.table[rows], index=index, columns=pd.Index(s.users, name="user"))


def _combine(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Add per-file unit tables, aligned on day and user, in exact integers."""
    frames = [f for f in frames if len(f.index)]
    if not frames:
        return pd.DataFrame(index=pd.DatetimeIndex([], name="day"), dtype="int64")
    index = frames[0].index
    columns = list(frames[0].columns)
    for frame in frames[1:]:
        index = index.union(frame.index)
        columns += [c for c in frame.columns if c not in columns]
    total = sum(f.reindex(index=index, columns=columns, fill_value=0) for f in frames)
    total.index.name, total.columns.name = "day", frames[0].columns.name
    return total.loc[:, (total != 0).any(axis=0)]


def _add_summary(digest: Digest, summary: MonthSummary, file: MonthFile,
                 detail_days: set[dt.date]) -> None:
    _add_days(digest.daily, summary.daily)
    for into, more in ((digest.user_daily, summary.users),
                       (digest.service_daily, summary.services)):
        for name, daily in more.items():
            _add_days(into.setdefault(name, {}), daily)
    for grant in digest.config.grants:
        daily, undated = summary.grants.get(grant.name, ({}, 0))
        _add_days(digest.grant_daily[grant.name], daily)
        if _overlaps(summary.month, grant.start, min(grant.end, digest.day)):
            digest.grant_undated[grant.name] += undated
    through = summary.data_through
    if through is not None and (digest.data_through is None or through >= digest.data_through):
        digest.data_through = through
        digest.newest_open = not summary.closed
    if detail_days & set(summary.daily) and file.last_modified is not None:
        digest.updated = max(filter(None, (digest.updated, file.last_modified)))
    digest.files.append(file.url)


def _add_days(into: dict[dt.date, int], daily: Mapping[dt.date, int]) -> None:
    for day, units in daily.items():
        into[day] = into.get(day, 0) + units


def _data_through(bill: Bill) -> np.datetime64 | None:
    """The end of the newest hour in the file (its newest UsageStartDate + 1 h)."""
    starts = bill.items["UsageStartDate"]
    if starts.isna().all():
        return None
    return instant(starts.max()) + HOUR


def _utc_months(first: dt.date, end: dt.date, tz: str) -> list[str]:
    """The months (``YYYY-MM``, UTC, as the files are cut) holding the local days
    ``[first, end)``."""
    lo = pd.Timestamp(instant(first, tz)).to_period("M")
    hi = pd.Timestamp(instant(end, tz) - np.timedelta64(1, "ns")).to_period("M")
    return [str(p) for p in pd.period_range(lo, hi, freq="M")]


def _overlaps(month: str, first: dt.date, last: dt.date) -> bool:
    start = dt.date.fromisoformat(f"{month}-01")
    end = start.replace(day=calendar.monthrange(start.year, start.month)[1])
    return start <= last and end >= first


def _day_before(t: np.datetime64, tz: str) -> dt.date:
    """The local day of the last instant before ``t``: the day of data that end at ``t``."""
    return local_time(t - np.timedelta64(1, "ns"), tz).date()


def _tags(config: Config) -> list[str]:
    """Every tag column the account's and the grants' figures are split by."""
    tags = list(config.tag)
    for grant in config.grants:
        tags += [t for t in grant.tag or () if t not in tags]
    return tags


def fingerprint(config: Config) -> str:
    """What cached month summaries depend on: the zone, the user tag and the grants."""
    key = {"tz": config.tz, "tag": list(config.tag),
           "grants": [g.key(config.tag) for g in config.grants], "version": 2}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


__all__ = [
    "BucketSource", "Digest", "LocalSource", "MonthFile", "demo_bill", "fingerprint", "gather",
    "summarize",
]
