"""The costnotify morning email: yesterday's burn, spend per user and service, the last 28
days, month to date and grant pacing, sent at most once per account and reported day.

    >>> from costlib.config import demo_config
    >>> outcome = run(demo_config(), dry_run=True, bill=demo_bill(), out=io.StringIO())
    >>> outcome.status
    'dry run'

The numbers come from :func:`costlib.spend` run once per month file (per user, per service);
each file's tables are combined with the others' (a sum of sums) and closed months come from
the grant cache (:mod:`costlib.grants`). :func:`run` does the whole morning; the Lambda
(:mod:`costlib.lambda_handler`) and ``costlib notify`` only call it.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import hashlib
import html
import io
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from email.utils import formatdate
from typing import IO

import numpy as np
import pandas as pd

from . import money
from .config import Config, ConfigError, demo_config, load_config
from .errors import CostlibError, OptionError
from .files import bill_name, parse_name
from .grants import GrantStatus, MonthSummary, SummaryCache, grantee_days, pace
from .read import Bill, read, sample_path
from .spend import OTHER, UNTAGGED, UNTAGGED_LABEL, Spend, fold_users, spend
from .timezones import UTC, instant, zone

log = logging.getLogger("costlib.notify")

DAY = dt.timedelta(days=1)
SPARK_DAYS = 28
SPARKS = "▁▂▃▄▅▆▇█"
NO_DATA = "·"
CUSTOM_CHARGE = "Custom Charge"
METRIC_NAMESPACE = "costnotify"
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")
_MONTHS = tuple(name[:3] for name in _MONTH_NAMES)


class NotifyError(CostlibError, RuntimeError):
    """The morning run cannot go on: the bucket cannot be listed or read, a send was refused."""


# ------------------------------------------------------------------------ where the files are


@dataclass(frozen=True)
class MonthFile:
    """One month's billing file: where it is, its ETag and when it was last written."""

    month: str
    url: str
    etag: str
    last_modified: dt.datetime | None = None


class BucketSource:
    """The month files of one account in a bucket, found by name (``files.bill_name``)."""

    def __init__(self, bucket: str, account: str, prefix: str = "", s3=None) -> None:
        self.bucket, self.account, self.prefix = bucket, account, prefix
        self.s3 = s3 or _client("s3")

    def files(self) -> dict[str, MonthFile]:
        """Every month file of the account (one list call per 1,000 keys); the tagged file
        wins over the untagged one of the same month."""
        from botocore.exceptions import BotoCoreError, ClientError

        start = f"{self.prefix}{self.account}-aws-billing-detailed-line-items"
        found: dict[str, MonthFile] = {}
        try:
            for page in self.s3.get_paginator("list_objects_v2").paginate(
                    Bucket=self.bucket, Prefix=start):
                for obj in page.get("Contents", []):
                    name = parse_name(obj["Key"])
                    if name.month is None or name.invoice_report or name.account != self.account:
                        continue
                    tagged = obj["Key"].endswith(bill_name(self.account, name.month))
                    if name.month in found and not tagged:
                        continue
                    found[name.month] = MonthFile(
                        name.month, f"s3://{self.bucket}/{obj['Key']}", obj["ETag"].strip('"'),
                        obj["LastModified"])
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "") or str(err)
            hint = " (the role needs s3:ListBucket on it)" if code == "AccessDenied" else ""
            raise NotifyError(f"s3://{self.bucket}: cannot list the billing files "
                              f"({code}){hint}") from None
        except BotoCoreError as err:
            raise NotifyError(f"s3://{self.bucket}: cannot reach S3 ({err})") from None
        return found

    @property
    def label(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def read(self, file: MonthFile) -> Bill:
        """The month's bill, read from S3."""
        return read(file.url)


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
        return {m: MonthFile(m, b.name, f"local:{id(b)}") for m, b in self.bills.items()}

    def read(self, file: MonthFile) -> Bill:
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
        day = _local_date(through - np.timedelta64(1, "ns"), tz)
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
    from .sample import make_bill

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
        return _local_date(self.data_through - np.timedelta64(1, "ns"), self.tz)

    @property
    def provisional_from(self) -> dt.date | None:
        """The first day still revised by later files (``None``: nothing is provisional)."""
        last = self.last_data_day
        if last is None or not self.newest_open or not self.config.provisional_days:
            return None
        return last - dt.timedelta(days=self.config.provisional_days - 1)

    def total(self, day: dt.date) -> int | None:
        """The account's units on ``day``; ``None`` when the data do not reach it or a month
        file it needs is missing (a day may be partial: see :attr:`complete`)."""
        if day not in self.daily or self.data_through is None:
            return None
        if instant(day, self.tz) >= self.data_through:
            return None
        newest = f"{_local_date(self.data_through - np.timedelta64(1, 'ns'), UTC):%Y-%m}"
        if any(m in self.missing and m <= newest for m in _utc_months(day, day + DAY, self.tz)):
            return None
        return self.daily[day]

    @property
    def month_to_date(self) -> int:
        """Units from the 1st of the reported day's month to the end of the reported day."""
        first = self.day.replace(day=1)
        return sum(v for d, v in self.daily.items() if first <= d <= self.day)


def gather(config: Config, day: dt.date, source, *, cache: SummaryCache | None = None,
           now: dt.datetime | None = None) -> Digest:
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
            bill = source.read(file)
            summary, detail = summarize(bill, file, config, detail_days, now)
            del bill
            digest.read.append(month)
            users.append(detail[0])
            services.append(detail[1])
            if month == f"{day:%Y-%m}":
                digest.undated += detail[2]
            if cache is not None:
                cache.put(summary)
        _add_summary(digest, summary, file, detail_days)
    if cache is not None:
        cache.save()
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
                           data_through=_data_through(bill))
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
    for day, units in summary.daily.items():
        digest.daily[day] = digest.daily.get(day, 0) + units
    for grant in digest.config.grants:
        daily, undated = summary.grants.get(grant.name, ({}, 0))
        into = digest.grant_daily[grant.name]
        for day, units in daily.items():
            into[day] = into.get(day, 0) + units
        if _overlaps(summary.month, grant.start, min(grant.end, digest.day)):
            digest.grant_undated[grant.name] += undated
    through = summary.data_through
    if through is not None and (digest.data_through is None or through >= digest.data_through):
        digest.data_through = through
        digest.newest_open = not summary.closed
    if detail_days & set(summary.daily) and file.last_modified is not None:
        digest.updated = max(filter(None, (digest.updated, file.last_modified)))
    digest.files.append(file.url)


def _data_through(bill: Bill) -> np.datetime64 | None:
    """The end of the newest hour in the file (its newest UsageStartDate + 1 h)."""
    starts = bill.items["UsageStartDate"]
    if starts.isna().all():
        return None
    return starts.max().tz_convert(None).to_datetime64().astype("datetime64[ns]") + (
        np.timedelta64(3600, "s"))


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


def _local_date(t: np.datetime64, tz: str) -> dt.date:
    return pd.Timestamp(t).tz_localize("UTC").tz_convert(tz).date()


def fingerprint(config: Config) -> str:
    """What cached month summaries depend on: the zone, the user tag and the grants."""
    key = {"tz": config.tz, "tag": list(config.tag),
           "grants": [g.key(config.tag) for g in config.grants], "version": 1}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


# -------------------------------------------------------------------------------- the emails


@dataclass(frozen=True)
class Email:
    """One email: to whom (``audience`` is ``account`` or ``grant:<name>``) and what."""

    audience: str
    kind: str
    subject: str
    text: str
    html: str
    to: tuple[str, ...]
    topic: str | None = None

    def message(self, sender: str | None) -> EmailMessage:
        """The MIME message: plain text with an HTML alternative."""
        msg = EmailMessage()
        msg["Subject"] = self.subject
        msg["From"] = sender or "costnotify@localhost"
        msg["To"] = ", ".join(self.to) or "(nobody)"
        msg["Date"] = formatdate(localtime=False)
        msg["X-Costnotify-Audience"] = self.audience
        msg.set_content(self.text)
        msg.add_alternative(self.html, subtype="html")
        return msg

    def preview(self, sender: str | None) -> str:
        """What ``--dry-run`` prints: the headers, ``Subject:`` first, then the text body."""
        to = ", ".join(self.to) if self.to else (self.topic or "(nobody)")
        return (f"Subject: {self.subject}\nFrom: {sender or '(no sender)'}\nTo: {to}\n"
                f"X-Costnotify-Audience: {self.audience}\n\n{self.text}")


@dataclass
class _Section:
    """A titled block of an email: prose lines, an optional table, rendered as text and HTML."""

    title: str = ""
    lines: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    mono: bool = False


def day_label(day: dt.date, year: bool = False) -> str:
    """``Tue 14 Feb`` (``Tue 14 Feb 2026`` with ``year``), whatever the locale."""
    text = f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]}"
    return f"{text} {day.year}" if year else text


def _date(day: dt.date) -> str:
    """``1 Feb 2026``, whatever the locale."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _usd(units: int | None, sign: bool = False) -> str:
    return "n/a" if units is None else money.usd(money.dollars(units), sign=sign)


def sparkline(values: list[int | None]) -> str:
    """One block per value, scaled from min(0, lowest) to the highest; ``·`` for no data.

    >>> sparkline([0, 5, 10, None])
    '▁▅█·'
    """
    known = [v for v in values if v is not None]
    if not known:
        return NO_DATA * len(values)
    lo, hi = min(0, *known), max(known)
    span = hi - lo
    out = []
    for v in values:
        if v is None:
            out.append(NO_DATA)
        else:
            out.append(SPARKS[round((v - lo) * (len(SPARKS) - 1) / span) if span else 0])
    return "".join(out)


def subject(digest: Digest) -> str:
    """``$123.45 on Tue 14 Feb - AWS ocean-lab (MTD $1,234.56)``."""
    return (f"{_usd(digest.total(digest.day))} on {day_label(digest.day)} - "
            f"AWS {_one_line(digest.config.label)} (MTD {_usd(digest.month_to_date)})")


def compose(digest: Digest) -> Email:
    """The account managers' email about the reported day."""
    c, day = digest.config, digest.day
    sections = [_headline(digest),
                _table_section(f"Spend per user ({' > '.join(c.tag)})", digest.users, day,
                               c.top, "users"),
                _table_section("Spend by service", digest.services, day, c.top, "services"),
                _spark_section("Last 28 days", digest, digest.total)]
    if digest.grants:
        sections.append(_grants_section(digest.grants))
    sections.append(_footer(digest))
    return Email(audience="account", kind="report", subject=subject(digest),
                 text=_text(sections), html=_html(sections, subject(digest)),
                 to=c.recipients, topic=c.sns_topic_arn)


def compose_grant(digest: Digest, status: GrantStatus) -> Email:
    """The grantee's own email: its grant alone, none of the account's other spend."""
    g, day = status.grant, digest.day
    daily = digest.grant_daily[g.name]
    on_day = daily.get(day, 0) if digest.has_data else None
    subj = (f"{_usd(on_day)} on {day_label(day)} - grant {_one_line(g.name)} on AWS "
            f"{_one_line(digest.config.label)} ({_usd(status.spent)} of "
            f"{money.usd(g.amount)} spent)")
    head = _Section(lines=[
        f"Grant {g.name} on AWS {digest.config.label}: {_usd(on_day)} on "
        f"{day_label(day, year=True)} ({digest.tz} day).",
        f"Spent {_usd(status.spent)} of {money.usd(g.amount)} since {_date(g.start)} "
        f"({100 * status.share_spent:.1f}%); {_usd(status.remaining)} left for "
        f"{status.days_left} days to {_date(g.end)}.",
        _pace_line(status), *_freshness(digest)])
    sections = [head]
    if tuple(g.tag or digest.config.tag) == tuple(digest.config.tag):
        mine = [u for u in digest.users.columns if u in g.values]
        table = _table_section(f"Spend per {' > '.join(digest.config.tag)}",
                               digest.users[mine], day, len(mine) or 1, "values")
        if g.custom_charge:
            table.notes.append("The grant's share of the reseller's custom charge, if any, is "
                               "in the grant's figures, not in this table.")
        sections.append(table)

    def per_day(d: dt.date) -> int | None:
        return daily.get(d, 0) if digest.total(d) is not None else None

    sections += [_spark_section("Last 28 days of the grant", digest, per_day),
                 _grants_section([status]), _footer(digest)]
    return Email(audience=f"grant:{g.name}", kind="report", subject=subj, text=_text(sections),
                 html=_html(sections, subj), to=g.recipients, topic=g.sns_topic_arn)


def compose_missing(digest: Digest) -> Email:
    """The short email saying the data for the reported day has not arrived."""
    c, day = digest.config, digest.day
    last = digest.last_data_day
    subj = f"No AWS billing data for {day_label(day)} - AWS {_one_line(c.label)}"
    month_file = bill_name(c.account, f"{day:%Y-%m}")
    lines = [f"costnotify has no billing data for {day_label(day, year=True)} ({c.tz} day) "
             f"for AWS {c.label} ({c.account})."]
    if last is None:
        lines.append("No billing file with data was found for the days it needs.")
    else:
        lines.append(f"The newest data is from {_local_time(digest.data_through, c.tz)}, "
                     f"{(day - last).days} days before the reported day.")
    if f"{day:%Y-%m}" in digest.missing:
        lines.append(f"The month's file {month_file} is not in {digest.source}.")
    elif digest.updated is not None:
        lines.append(f"The month's file was last updated {_local_time(digest.updated, c.tz)}.")
    lines.append("The daily email resumes when data arrives; nothing needs doing unless "
                 "this repeats.")
    sections = [_Section(lines=lines)]
    return Email(audience="account", kind="data missing", subject=subj, text=_text(sections),
                 html=_html(sections, subj), to=c.recipients, topic=c.sns_topic_arn)


def _headline(digest: Digest) -> _Section:
    c, day = digest.config, digest.day
    today, before = digest.total(day), digest.total(day - DAY)
    lines = [f"AWS {c.label} ({c.account}): {_usd(today)} on {day_label(day, year=True)} "
             f"({c.tz} day)."]
    if before is None or today is None:
        lines.append(f"No data for the day before ({day_label(day - DAY)}).")
    else:
        change = today - before
        pct = f" ({100 * change / before:+.1f}%)" if before else ""
        lines.append(f"Change from {day_label(day - DAY)} ({_usd(before)}): "
                     f"{_usd(change, sign=True)}{pct}.")
    mtd = digest.month_to_date
    days_in_month = calendar.monthrange(day.year, day.month)[1]
    span = f"1-{day.day} {_MONTHS[day.month - 1]}" if day.day > 1 else day_label(day)
    line = f"Month to date ({span}): {_usd(mtd)}"
    full_days, full = (day.day, mtd) if digest.complete else (day.day - 1, mtd - (today or 0))
    if full_days:
        line += (f"; at this pace {_MONTH_NAMES[day.month - 1]} ends near "
                 f"{_usd(full * days_in_month // full_days)} (linear, from {full_days} full "
                 f"day{'s' if full_days > 1 else ''})")
    lines.append(line + ".")
    return _Section(lines=lines + _freshness(digest))


def _freshness(digest: Digest) -> list[str]:
    tz = digest.tz
    lines = []
    through = f"Data through {_local_time(digest.data_through, tz)}"
    if digest.updated is not None:
        through += f"; file last updated {_local_time(digest.updated, tz)}"
    lines.append(through + ".")
    if not digest.complete:
        lines.append(f"Partial day: the data for {day_label(digest.day)} is not complete yet.")
    start = digest.provisional_from
    if start is not None and digest.day >= start:
        lines.append(f"Provisional: days from {day_label(start)} on are still being revised "
                     "by AWS; the figures may change.")
    return lines


def _table_section(title: str, table: pd.DataFrame, day: dt.date, top: int,
                   what: str) -> _Section:
    """Top ``top`` columns (by month to date), then other and untagged: day and MTD."""
    section = _Section(title=title, header=["", day_label(day), f"MTD (1-{day.day})"])
    if not len(table.columns):
        section.lines.append(f"No spend by {what} in this month yet.")
        return section
    named = sorted(table.columns, key=lambda c: (c == UNTAGGED, -int(table[c].sum()), str(c)))
    folded = fold_users(table[named], top)
    stamp = pd.Timestamp(day)
    on_day = (folded.loc[stamp] if stamp in folded.index
              else pd.Series(0, index=folded.columns, dtype="int64"))
    tagged = len([c for c in named if c != UNTAGGED])
    kept = min(top, tagged)
    for i, name in enumerate(folded.columns):
        if i < kept:
            label = str(name)
        elif i == kept and tagged > top:
            label = f"{OTHER} ({tagged - top} {what})"
        else:
            label = UNTAGGED_LABEL if what != "services" else "(no product name)"
        section.rows.append([label, _usd(int(on_day[name])), _usd(int(folded[name].sum()))])
    section.rows.append(["total", _usd(int(on_day.sum())), _usd(int(folded.to_numpy().sum()))])
    return section


def _spark_section(title: str, digest: Digest, value) -> _Section:
    days = [digest.day - k * DAY for k in range(SPARK_DAYS - 1, -1, -1)]
    values = [value(d) for d in days]
    known = [(v, d) for v, d in zip(values, days, strict=True) if v is not None]
    lines = [f"{sparkline(values)}  {day_label(days[0])} .. {day_label(days[-1])}"]
    if known:
        low, high = min(known), max(known)
        mean = sum(v for v, _ in known) // len(known)
        lines.append(f"low {_usd(low[0])} ({day_label(low[1])}), high {_usd(high[0])} "
                     f"({day_label(high[1])}), mean {_usd(mean)} a day over {len(known)} days")
    if len(known) < len(days):
        lines.append(f"{NO_DATA} = no data")
    start = digest.provisional_from
    if start is not None and start <= digest.day:
        lines.append(f"days from {day_label(start)} on are provisional")
    return _Section(title=title, lines=lines, mono=True)


def _pace_line(s: GrantStatus) -> str:
    allowed = ("" if s.allowed_per_day is None
               else f"; the grant allows {_usd(s.allowed_per_day)} a day from here")
    return (f"Pace: {s.status}. Recent burn {_usd(s.burn_per_day)} a day, projected "
            f"{_usd(s.projected)} by the end{allowed}.")


def _grants_section(statuses: list[GrantStatus]) -> _Section:
    section = _Section(title="Grants", header=[
        "grant", "amount", "spent", "remaining", "days left", "allowed/day", "burn/day",
        "status"])
    for s in statuses:
        section.rows.append([s.grant.name, money.usd(s.grant.amount), _usd(s.spent),
                             _usd(s.remaining), str(s.days_left),
                             "-" if s.allowed_per_day is None else _usd(s.allowed_per_day),
                             _usd(s.burn_per_day), s.status])
        if s.missing_months:
            section.notes.append(f"{s.grant.name}: no billing file for "
                                 f"{', '.join(s.missing_months)} (counted as $0.00)")
    section.notes.append("burn/day: mean of the last 28 days; status compares spent + burn x "
                         "days left with the amount (over 110%: over, over 100%: watch)")
    return section


def _footer(digest: Digest) -> _Section:
    lines = [f"Blended cost by UsageStartDate, in {digest.tz} days, from "
             f"{', '.join(os.path.basename(f) for f in digest.files) or 'no files'}."]
    if digest.undated:
        lines.append(f"Rows without dates in this month's file (credits, refunds): "
                     f"{_usd(digest.undated, sign=True)}, not in the daily figures.")
    lines.append("Sent by costnotify.")
    return _Section(lines=lines)


def _text(sections: list[_Section]) -> str:
    out: list[str] = []
    for s in sections:
        if s.title:
            out += [s.title, "-" * len(s.title)]
        out += s.lines
        if s.rows:
            table = ([s.header] if s.header else []) + s.rows
            widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
            for row in table:
                cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in
                                                     zip(row[1:], widths[1:], strict=True)]
                out.append("  " + "  ".join(cells).rstrip())
        out += s.notes
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _html(sections: list[_Section], title: str) -> str:
    e = html.escape
    out = ["<!DOCTYPE html>", "<html><head><meta charset=\"utf-8\">",
           f"<title>{e(title)}</title></head>",
           "<body style=\"font-family:Helvetica,Arial,sans-serif;font-size:14px;color:#222\">"]
    for s in sections:
        if s.title:
            out.append(f"<h3 style=\"margin:18px 0 6px\">{e(s.title)}</h3>")
        style = " style=\"font-family:monospace;font-size:16px;margin:2px 0\"" if s.mono else (
            " style=\"margin:2px 0\"")
        out += [f"<p{style}>{e(line)}</p>" for line in s.lines]
        if s.rows:
            out.append("<table style=\"border-collapse:collapse\">")
            if s.header:
                out.append(_html_row(s.header, "th"))
            out += [_html_row(row, "td", bold=row[0] == "total") for row in s.rows]
            out.append("</table>")
        out += [f"<p style=\"color:#666;font-size:12px;margin:2px 0\">{e(n)}</p>"
                for n in s.notes]
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _html_row(cells: list[str], tag: str, bold: bool = False) -> str:
    """One table row, every cell escaped; the first cell left-aligned, the numbers right."""
    weight = ";font-weight:bold" if bold else ""
    return "<tr>" + "".join(
        f"<{tag} style=\"text-align:{'left' if i == 0 else 'right'};padding:2px 10px{weight}\">"
        f"{html.escape(c)}</{tag}>" for i, c in enumerate(cells)) + "</tr>"


def _local_time(t, tz: str) -> str:
    if t is None:
        return "no data"
    stamp = pd.Timestamp(t)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    local = stamp.tz_convert(tz)
    return f"{day_label(local.date())} {local:%H:%M %Z}"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


# ------------------------------------------------------------------------ sending, once a day


class Markers:
    """What was sent, as one object per account, day and audience under the state prefix.

    A run checks the marker first; it claims it with a conditional put (``IfNoneMatch='*'``)
    before sending, so a retried or doubled invocation finds it and sends nothing; a refused
    send releases the claim.
    """

    def __init__(self, s3, bucket: str, prefix: str, account: str) -> None:
        self.s3, self.bucket, self.prefix, self.account = s3, bucket, prefix, account

    def key(self, day: dt.date, audience: str) -> str:
        """``costnotify/sent/<account>/<day>/<audience>.json``."""
        slug = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in audience)
        return f"{self.prefix}sent/{self.account}/{day.isoformat()}/{slug}.json"

    def exists(self, day: dt.date, audience: str) -> bool:
        """True when an email for ``day`` and ``audience`` was sent (or is being sent).

        A listing, not a HEAD: without ``s3:GetObject`` rights on a missing key S3 answers
        403 rather than 404, while a list of the state prefix is unambiguous.
        """
        from botocore.exceptions import BotoCoreError, ClientError

        key = self.key(day, audience)
        try:
            found = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1)
        except (BotoCoreError, ClientError) as err:
            code = _code(err) if isinstance(err, ClientError) else str(err)
            raise NotifyError(f"s3://{self.bucket}/{key}: cannot check the sent marker "
                              f"({code})") from None
        return any(obj["Key"] == key for obj in found.get("Contents", []))

    def claim(self, day: dt.date, audience: str, info: dict) -> bool:
        """Create the marker if no one has; ``False`` when it already exists."""
        from botocore.exceptions import ClientError

        body = json.dumps({**info, "status": "sending"}).encode()
        try:
            self.s3.put_object(Bucket=self.bucket, Key=self.key(day, audience), Body=body,
                               IfNoneMatch="*", ContentType="application/json")
            return True
        except ClientError as err:
            if _code(err) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
                return False
            raise NotifyError(f"s3://{self.bucket}/{self.key(day, audience)}: cannot write "
                              f"the sent marker ({_code(err)})") from None

    def done(self, day: dt.date, audience: str, info: dict) -> None:
        """Record the sent message over the claim."""
        self.s3.put_object(Bucket=self.bucket, Key=self.key(day, audience),
                           Body=json.dumps({**info, "status": "sent"}).encode(),
                           ContentType="application/json")

    def release(self, day: dt.date, audience: str) -> None:
        """Remove a claim whose email was refused, so that a later run may send it."""
        self.s3.delete_object(Bucket=self.bucket, Key=self.key(day, audience))


def send(email: Email, config: Config, *, ses=None, sns=None) -> str:
    """Send through SES v2 (raw MIME, text + HTML) or publish to SNS; return the message id."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        if config.transport == "sns":
            response = (sns or _client("sns")).publish(
                TopicArn=email.topic, Subject=_sns_subject(email.subject), Message=email.text)
        else:
            response = (ses or _client("sesv2")).send_email(
                FromEmailAddress=config.sender, Destination={"ToAddresses": list(email.to)},
                Content={"Raw": {"Data": email.message(config.sender).as_bytes()}})
    except ClientError as err:
        service = "SNS" if config.transport == "sns" else "SES"
        message = err.response.get("Error", {}).get("Message", "")
        raise NotifyError(f"{service} refused the email {email.subject!r} "
                          f"({_code(err)}: {message})") from None
    except BotoCoreError as err:
        raise NotifyError(f"cannot reach {config.transport.upper()} ({err})") from None
    return response["MessageId"]


def _sns_subject(text: str) -> str:
    """SNS subjects are ASCII, one line, under 100 characters."""
    return text.encode("ascii", "replace").decode()[:99]


def _code(err) -> str:
    return err.response.get("Error", {}).get("Code", "") or str(err)


def _client(service: str):
    import boto3

    return boto3.client(service)


# ------------------------------------------------------------------------------- the morning


@dataclass
class Outcome:
    """What one run did: ``status`` is ``sent``, ``already sent``, ``waiting for data``,
    ``data missing sent``, ``dry run`` or ``failed`` (``errors`` says why)."""

    day: dt.date
    status: str
    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    read: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The Lambda's return value."""
        return {"day": self.day.isoformat(), "status": self.status, "sent": self.sent,
                "already_sent": self.skipped, "read": self.read, "errors": self.errors,
                "subjects": self.subjects}


def report_day(config: Config, now: dt.datetime | None = None) -> dt.date:
    """Today in the configured zone, ``days_back`` days ago."""
    stamp = pd.Timestamp(now or dt.datetime.now(dt.UTC))
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    return stamp.tz_convert(zone(config.tz)).date() - dt.timedelta(days=config.days_back)


def run(config: Config, *, day: dt.date | str | None = None, now: dt.datetime | None = None,
        dry_run: bool = False, bill: str | os.PathLike | IO | Bill | None = None,
        out: IO[str] | None = None) -> Outcome:
    """The morning: pick the day, skip what was sent, read, compose, send (or print), record.

    With ``bill`` the data come from that file (no bucket, no markers, no cache) and the day
    defaults to the last full day in it; otherwise from the configured bucket, the day being
    ``days_back`` days before today in the configured zone.
    """
    out = out or sys.stdout
    now = now or dt.datetime.now(dt.UTC)
    source = LocalSource(bill) if bill is not None else BucketSource(
        config.bucket, config.account, config.prefix)
    if day is None:
        day = source.last_full_day(config.tz) if bill is not None else report_day(config, now)
    elif isinstance(day, str):
        day = _parse_day(day)
    audiences = _audiences(config, dry_run)
    outcome = Outcome(day=day, status="dry run" if dry_run else "sent")
    markers = None
    if bill is None and not dry_run:
        markers = Markers(source.s3, config.bucket, config.state_prefix, config.account)
        outcome.skipped = [a for a in audiences if markers.exists(day, a)]
        audiences = [a for a in audiences if a not in outcome.skipped]
        if not audiences:
            outcome.status = "already sent"
            log.info("%s: already sent for %s (markers in s3://%s/%s)", config.account, day,
                     config.bucket, markers.key(day, "account"))
            return outcome
    cache = None
    if bill is None:
        cache = SummaryCache(source.s3, config.bucket,
                             f"{config.state_prefix}cache/{config.account}.json",
                             fingerprint(config)).load()
    digest = gather(config, day, source, cache=cache, now=now)
    outcome.read = digest.read
    if digest.has_data:
        emails = [compose(digest) if a == "account" else compose_grant(
            digest, next(s for s in digest.grants if f"grant:{s.grant.name}" == a))
            for a in audiences]
    else:
        last = digest.last_data_day
        gap = (day - last).days if last is not None else None
        newest = _local_time(digest.data_through, config.tz)
        if gap is not None and gap < config.missing_after_days:
            log.warning("%s: no data for %s yet (newest data: %s); no email until it arrives "
                        "or it is %d days late", config.account, day, newest,
                        config.missing_after_days)
            outcome.status = "waiting for data"
            if dry_run:
                print(f"No email: no data for {day_label(day, True)} yet (newest data: "
                      f"{newest}).", file=out)
            return outcome
        log.warning("%s: no data for %s (newest data: %s): sending the data-missing email",
                    config.account, day, newest)
        emails = [compose_missing(digest)] if "account" in audiences else []
        outcome.status = "dry run" if dry_run else "data missing sent"
    for i, email in enumerate(emails):
        outcome.subjects.append(email.subject)
        if dry_run:
            print(("\n" + "=" * 72 + "\n\n" if i else "") + email.preview(config.sender),
                  end="", file=out)
            continue
        _deliver(email, config, day, markers, outcome)
    if outcome.errors:
        outcome.status = "failed"
    elif not dry_run and not outcome.sent:
        outcome.status = "already sent"  # every claim was lost to a concurrent run
    return outcome


def _audiences(config: Config, dry_run: bool) -> list[str]:
    sns = config.transport == "sns"
    audiences = ["account"] if (dry_run or (config.sns_topic_arn if sns else config.recipients)
                                ) else []
    return audiences + [f"grant:{g.name}" for g in config.grants
                        if (g.sns_topic_arn if sns else g.recipients)]


def _deliver(email: Email, config: Config, day: dt.date, markers: Markers | None,
             outcome: Outcome) -> None:
    info = {"account": config.account, "day": day.isoformat(), "audience": email.audience,
            "kind": email.kind, "subject": email.subject, "to": list(email.to),
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    if markers is not None and not markers.claim(day, email.audience, info):
        log.info("%s: %s email for %s already claimed by another run", config.account,
                 email.audience, day)
        outcome.skipped.append(email.audience)
        return
    try:
        message_id = send(email, config)
    except NotifyError as err:
        log.error("%s: %s email for %s not sent: %s", config.account, email.audience, day, err)
        outcome.errors.append(str(err))
        if markers is not None:
            _quietly(markers.release, day, email.audience)
        return
    if markers is not None:
        _quietly(markers.done, day, email.audience, {**info, "message_id": message_id})
    log.info("%s: sent %r to %s (%s)", config.account, email.subject,
             ", ".join(email.to) or email.topic, message_id)
    outcome.sent.append(email.audience)


def _quietly(update, *args) -> None:
    """Update a marker after the send; a refusal is logged (the claim already holds)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        update(*args)
    except (BotoCoreError, ClientError) as err:
        log.warning("sent marker not updated (%s): %s", update.__name__, err)


def _parse_day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        raise OptionError(f"not a day: {text!r} (use YYYY-MM-DD)") from None


def metric_line(name: str, value: float, account: str) -> str:
    """A CloudWatch embedded-metric log line (``costnotify/<name>``, by account): printed by
    the Lambda, turned into a metric by CloudWatch Logs with no API call."""
    return json.dumps({
        "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [{
            "Namespace": METRIC_NAMESPACE, "Dimensions": [["Account"]],
            "Metrics": [{"Name": name, "Unit": "Count"}]}]},
        "Account": account, name: value})


# -------------------------------------------------------------------------------- the command


def cli_main(args: argparse.Namespace) -> int:
    """``costlib notify``: with no ``--config`` the demo configuration, with no ``--bill`` and
    no ``--config`` the bundled sample; ``--dry-run`` prints instead of sending."""
    if args.config is None and not args.dry_run:
        raise ConfigError("costlib notify sends email only with --config FILE (or use "
                          "--dry-run to print it)")
    config = load_config(args.config) if args.config else demo_config()
    if not args.dry_run:
        config.check_sending(args.config)
    bill = read(args.bill) if args.bill else None
    if args.config is None:
        bill = bill or read(demo_bill())
        if bill.account and bill.account != config.account:  # not the sample: no demo grants
            config = replace(config, account=bill.account, name="", grants=())
    day = _parse_day(args.day) if args.day else None
    outcome = run(config, day=day, dry_run=args.dry_run, bill=bill)
    if not args.dry_run:
        for subject in outcome.subjects:
            print(f"{outcome.status}: {subject}")
        if outcome.status in ("already sent", "waiting for data"):
            print(f"{outcome.status}: {outcome.day}")
        for error in outcome.errors:
            print(f"costlib: error: {error}", file=sys.stderr)
    return 1 if outcome.errors else 0


__all__ = [
    "BucketSource", "Digest", "Email", "LocalSource", "Markers", "MonthFile", "NotifyError",
    "Outcome", "cli_main", "compose", "compose_grant", "compose_missing", "day_label",
    "demo_bill", "fingerprint", "gather", "metric_line", "report_day", "run", "send",
    "sparkline", "subject", "summarize",
]
