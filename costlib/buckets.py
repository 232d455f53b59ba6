"""Where a month's billing files are in a bucket (or a folder): the three ways AWS lays them out.

- the detailed bill: one file a month, ``<prefix><account>-aws-billing-detailed-line-items-
  with-resources-and-tags-YYYY-MM.csv.zip`` (the ``copydbr`` bucket);
- a legacy Cost and Usage Report: ``<prefix>/<report>/YYYYMMDD-YYYYMMDD/<report>-Manifest.json``
  naming the parts of the month's latest assembly (older assemblies linger beside it);
- Data Exports (CUR 2.0, FOCUS): ``<prefix>/<export>/data/BILLING_PERIOD=YYYY-MM/...`` parts,
  with ``<export>-Manifest.json`` under ``metadata/BILLING_PERIOD=YYYY-MM/`` when AWS wrote one.

:func:`months` takes a listing (S3's ``list_objects_v2`` or a folder's files) and gives each
month once, with the files to read for it: a month is never two assemblies added together.

    >>> listing = [Listed("cur/ocean/20260201-20260301/ocean-Manifest.json", "e1"),
    ...            Listed("cur/ocean/20260201-20260301/a1/ocean-00001.csv.gz", "e2")]
    >>> months(listing, "s3://copydbr/")["2026-02"].url
    's3://copydbr/cur/ocean/20260201-20260301/ocean-Manifest.json'
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .errors import BillError
from .files import bill_name, is_manifest, parse_name
from .layout import END_YEAR, FIRST_YEAR

#: A legacy CUR month's folder and manifest: ``.../20260201-20260301/<report>-Manifest.json``.
CUR_MANIFEST = re.compile(r"(?:^|/)(?P<start>\d{4})(?P<month>\d{2})01-\d{8}/[^/]+-Manifest\.json$",
                          re.IGNORECASE)
#: A Data Exports month: ``.../data/BILLING_PERIOD=2026-02/...`` (its manifest under
#: ``.../metadata/BILLING_PERIOD=2026-02/``).
EXPORT_PERIOD = re.compile(r"(?:^|/)(?P<area>data|metadata)/BILLING_PERIOD=(?P<month>\d{4}-\d{2})/",
                           re.IGNORECASE)
#: The data files of a month in parts (what a folder of parts is searched for).
PART_ENDINGS = (".csv", ".csv.gz", ".csv.zip", ".parquet", ".zip", ".gz")


@dataclass(frozen=True)
class Listed:
    """One object of a listing: its key (or path below the folder), ETag and time written."""

    key: str
    etag: str = ""
    last_modified: dt.datetime | None = None


@dataclass(frozen=True)
class Month:
    """A month's billing data: ``url``, what to read (one bill, or a manifest that stands for its
    parts), ``parts`` (the data files, when no one file or manifest stands for them), ``etag``
    (changes whenever what is read changes) and when it was last written."""

    month: str
    url: str
    etag: str
    last_modified: dt.datetime | None = None
    parts: tuple[str, ...] = ()

    @property
    def paths(self) -> list[str]:
        """What :func:`costlib.scan` (or :func:`costlib.read_condensed`, for one) reads."""
        return list(self.parts) or [self.url]


def months(listing: Iterable[Listed], root: str, account: str | None = None) -> dict[str, Month]:
    """One account's months in ``listing`` (keys below ``root``, an ``s3://bucket/`` or a
    folder with its separator): its detailed bills (of ``account`` when given), else a
    report's months (:func:`report_months`)."""
    listing = list(listing)
    found = {m.month: m for m in bills(listing, root, account).values()}
    return dict(sorted({**report_months(listing, root), **found}.items()))


def bills(listing: Iterable[Listed], root: str, account: str | None = None
          ) -> dict[tuple[str, str], Month]:
    """The detailed bills of ``listing`` by (account, month), one each: AWS writes a month
    twice, with resources and tags and without, and the file with tags wins (adding both
    would count the month twice). Invoice reports are left out."""
    found: dict[tuple[str, str], Month] = {}
    for item in listing:
        name = parse_name(item.key)
        if name.month is None or name.invoice_report or not _calendar(name.month) or (
                account is not None and name.account != account):
            continue
        tagged = item.key.endswith(bill_name(name.account, name.month))
        if (name.account, name.month) not in found or tagged:
            found[name.account, name.month] = _month(name.month, root, item)
    return found


def report_months(listing: Iterable[Listed], root: str) -> dict[str, Month]:
    """The months of a Cost and Usage Report (by their manifests) or a Data Export (by their
    ``BILLING_PERIOD=`` folders) in ``listing``; two reports of one month are refused."""
    reports: dict[str, Month] = {}
    periods: dict[str, list[Listed]] = {}
    manifests: dict[str, Listed] = {}
    sources: dict[str, str] = {}
    for item in listing:
        if parse_name(item.key).month is not None:
            continue
        report = CUR_MANIFEST.search(item.key)
        if report is not None and _calendar(f"{report['start']}-{report['month']}"):
            month = f"{report['start']}-{report['month']}"
            _one_report(sources, month, item.key[:report.start()], root)
            reports[month] = _month(month, root, item)
            continue
        period = EXPORT_PERIOD.search(item.key)
        if period is not None and _calendar(period["month"]):
            month = period["month"]
            _one_report(sources, month, item.key[:period.start()], root)
            if period["area"].lower() == "metadata":
                if is_manifest(item.key):
                    manifests[month] = item
            elif item.key.lower().endswith(PART_ENDINGS):
                periods.setdefault(month, []).append(item)
    return {**_exports(periods, manifests, root), **reports}


def parts_of(listing: Iterable[Listed], root: str) -> list[str]:
    """Every data file of a listing that holds no month by any layout (a folder of parts)."""
    return [root + item.key for item in listing if item.key.lower().endswith(PART_ENDINGS)
            and not is_manifest(item.key)]


def folder_listing(folder: str | os.PathLike) -> list[Listed]:
    """A folder's files as a listing (paths below it, ``/``-separated)."""
    from pathlib import Path

    top = Path(folder)
    return [Listed(p.relative_to(top).as_posix(), f"{p.stat().st_size}:{p.stat().st_mtime_ns}",
                   dt.datetime.fromtimestamp(p.stat().st_mtime, dt.UTC))
            for p in sorted(top.rglob("*")) if p.is_file()]


def s3_listing(s3, bucket: str, prefix: str = "") -> Iterator[Listed]:
    """The objects under ``prefix`` of ``bucket``, by ``s3`` (a boto3 client), 1,000 a call."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            yield Listed(obj["Key"], obj.get("ETag", ""), obj.get("LastModified"))


def _exports(periods: dict[str, list[Listed]], manifests: dict[str, Listed], root: str
             ) -> dict[str, Month]:
    found = {}
    for month, items in periods.items():
        if month in manifests:
            found[month] = _month(month, root, manifests[month])
            continue
        folders = sorted({os.path.dirname(i.key) for i in items})
        if len(folders) > 1:
            raise BillError(f"{root}{folders[0]}: {month} is written {len(folders)} times "
                            f"(in {', '.join(f.rsplit('/', 1)[-1] for f in folders)}) and no "
                            "manifest says which is the latest: give the folder of one")
        tag = hashlib.sha256("\n".join(sorted(f"{i.key} {i.etag}" for i in items)).encode())
        newest = max((i.last_modified for i in items if i.last_modified), default=None)
        found[month] = Month(month, root + os.path.dirname(items[0].key) + "/",
                             f"parts:{tag.hexdigest()[:32]}", newest,
                             tuple(root + i.key for i in sorted(items, key=lambda i: i.key)))
    for month, item in manifests.items():
        found.setdefault(month, _month(month, root, item))
    return found


def _calendar(month: str) -> bool:
    """Whether ``YYYY-MM`` is a month costlib reads (January 1970 to December 2199)."""
    year, number = int(month[:4]), int(month[5:])
    return FIRST_YEAR <= year < END_YEAR and 1 <= number <= 12


def _month(month: str, root: str, item: Listed) -> Month:
    return Month(month, root + item.key, item.etag.strip('"'), item.last_modified)


def _one_report(sources: dict[str, str], month: str, report: str, root: str) -> None:
    """Refuse two reports (or exports) of one month under one prefix: adding them would count
    the month twice, and choosing one would be a guess."""
    seen = sources.setdefault(month, report)
    if seen != report:
        first, second = sorted((seen, report))
        raise BillError(f"{root}: two reports hold {month} ({root}{first or '.'} and "
                        f"{root}{second or '.'}): give the prefix of one of them")
