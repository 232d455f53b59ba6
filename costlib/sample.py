"""Deterministic synthetic AWS billing files, so no real bill ever has to enter the repo.

The bills belong to a fictional payer ``012345678901`` (``ocean-lab``) with one more linked
account ``012345678902`` (``ocean-lab-dev``). They reproduce the traps listed in
``billing-files.md``: ids with a leading zero, fields with commas, quotes, accents and angle
brackets, tiny costs in scientific notation, rows in no time order, usage that starts on the last
day of the previous month, untagged and project-only resources, a credit with blank dates, total
rows that count the bill twice, and CloudCheckr copies with ``Tax`` rows and a reseller charge.

Each owner has a usage pattern of their own, so a daily plot shows who spent what and when.
The default bill has one resource per template (``resources=16``) with the dates below; more
resources repeat the templates, their start and stop days moved by up to six days:

- ``alice``: an m5.2xlarge notebook server that a scheduler runs from Monday 07:00 to Friday
  19:00, Seattle time (weekends cost only its 500 GB volume).
- ``bob``: an on-demand m5.xlarge worker around the clock (tiny data-transfer rows beside it,
  and an 800 GB gp2 volume) and a batch job: five c5.4xlarge workers from the 16th, 14:00 UTC,
  to the 19th, 02:00, started three hours apart, the later ones stopping a little early: a
  spike over two to three days.
- ``o'brien "ob"``: a reserved m5.xlarge around the clock, sharing one blended rate with bob's
  (so their m5.xlarge hours cost the same), and an r5.8xlarge ensemble run started on the 9th
  (17:00 UTC) and stopped on the 20th (21:00 UTC).
- ``chen.wei``: two g4dn.xlarge GPUs in Seattle office hours (Monday to Friday, 08:00-19:00,
  so they move by an hour in UTC when daylight saving time starts), an S3 archive that grows
  through the month, and downloads from it (data transfer out, fewer at weekends and uneven
  from day to day); the research credit is chen.wei's too.
- ``Zoë, Müller``: S3 PUT requests from a microscope, fewer at weekends, uneven from day to day:
  a few dollars a month.
- ``dev<ops>``: CloudWatch custom metrics, 40 of them and 96 from the 12th.
- No owner: daily snapshots nobody tagged (growing), and the seagrass project's t3.medium and
  volume, tagged with ``user:Project`` only.

February 2026 (the bundled sample) comes to about $2,100, from about $3 (Zoë) to about $740
(chen.wei) per owner; no two owners spend the same (``tests/test_sample.py`` checks both).

The same arguments always give the same bytes (zip included): every random draw comes from
``numpy.random.default_rng(seed)``; nothing depends on the clock or on Python's hash seed.
Zips are deflated at level 6 with a fixed member date (same zlib, same bytes).

Format decisions (the real files leave some of this open):

- Money is kept as integers of 1e-10 dollars and written exactly: costs with 8 decimals, rates
  with 10, quantities with 8. Data-transfer rows cost less than a microdollar and are written in
  scientific notation in three spellings (``1.92e-08``, ``1.92E-08``, ``1.92E-8``); their last
  row per resource type is nudged by less than 1e-8 so that every per-account and per-usage-type
  sum is a whole number of 1e-8 dollars again.
- Native DBR (``kind="dbr"``) ends with one ``AccountTotal`` per linked account (its exact
  line-item sum of BlendedCost, UnBlendedCost likewise), ``Rounding``, ``InvoiceTotal`` and
  ``StatementTotal``. InvoiceTotal is the line-item BlendedCost sum rounded to the cent
  (ROUND_HALF_UP); Rounding is InvoiceTotal minus that sum (8 decimals, may be negative), so line
  items + Rounding == InvoiceTotal == StatementTotal exactly. Blending only moves cost between
  accounts (an on-demand and a reserved m5.xlarge share one blended rate), so the blended and
  unblended grand totals are equal and the control rows carry the same amount in both columns.
- An open month (``closed=False``) has ``InvoiceID`` ``Estimated`` on every row and keeps all the
  control rows; its InvoiceTotal reads ``Total amount for invoice Estimated`` and holds the
  estimate rounded to the cent. It covers the first ``days`` days (20 by default) and, as the
  CloudCheckr lag makes real files do, the last two covered days are incomplete (about 70 % and
  35 % of their rows).
- CloudCheckr copies (``kind="cloudcheckr"``) have a blank InvoiceID, RecordId ``AWS``, record
  types ``Usage``/``DiscountedUsage``/``Tax`` and no control rows. Tax is a made-up 8 % of each
  account's and product's blended cost, rounded to the cent, in two rows per account and product
  (month start to 19:58:36 on day ``days // 2 + 1``, e.g. 2026-03-16, then to the end of the
  covered days). The reseller's
  ``Custom Charge`` is 10 % of every other row's BlendedCost, rounded to 8 decimals ROUND_HALF_UP.
- The monthly invoice report (``kind="invoice-report"``) sums the CloudCheckr copy made with the
  same arguments, without the custom charge (AWS does not bill the reseller's fee). Every field is
  quoted; all money, totals included, has 8 decimals (real reports show 6; 8 keeps the sums
  exact). LinkedLineItem rows are one per linked account and usage line, tax in lines of their
  own; AccountTotal, StatementTotal and EstimatedDisclaimer rows have a blank InvoiceID, as in
  real reports; the InvoiceTotal's RecordID is ``InvoiceTotal:<invoice id>``.
- ``kind="single-account"`` is a non-consolidated account's file: no LinkedAccountId, ``Rate, Cost``
  instead of the four blended/unblended columns, and no AccountTotal rows.
- Native and single-account files hold one research credit: a ``LineItem`` of product
  ``AWS Research Credits`` with blank dates, owned by ``chen.wei``, of minus 15 % of its
  account's spend rounded to the cent. It counts in its account's total and in the invoice.
- The ``Rounding`` rows' ItemDescription and the credit's wording are invented.

Speed: rows are built as byte matrices with numpy in blocks of up to 4096 rows of one resource
type; the blocks, each in random hour order, are written in random order. A February of 3000
resources (1.7 million rows, 750 MB) takes 2 to 3 seconds on an idle core.
"""

from __future__ import annotations

import calendar
import csv
import hashlib
import io
import math
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np

from .errors import OptionError
from .layout import DETAILED_KINDS as KINDS  # the kinds a sample can be: one spelling

SAMPLE_ACCOUNT = "012345678901"
ACCOUNT_NAME = "ocean-lab"
DEV_ACCOUNT = "012345678902"
LINKED_ACCOUNTS = {SAMPLE_ACCOUNT: ACCOUNT_NAME, DEV_ACCOUNT: "ocean-lab-dev"}
OWNERS = ("alice", "bob", "chen.wei", "Zoë, Müller", 'o\'brien "ob"', "dev<ops>")
DEFAULT_TAGS = ("aws:createdBy", "user:Name", "user:Owner", "user:Project")
MARCH_TAGS = ("user:Name", "user:Owner", "user:Project", "user:ProjectName", "user:name")
TAX_RATE = Decimal("0.08")
CUSTOM_CHARGE_RATE = Decimal("0.1")
CUSTOM_CHARGE_DESCRIPTION = "AWS/DLT Business Support, 10.0000% from $0.00 to $10,000.00"
CREDIT_PRODUCT = "AWS Research Credits"
ZIP_DATE_TIME = (2026, 1, 1, 0, 0, 0)

_TAGGED = "aws-billing-detailed-line-items-with-resources-and-tags"
DEFAULT_SAMPLE = f"{SAMPLE_ACCOUNT}-{_TAGGED}-2026-02.csv.zip"

DBR_COLUMNS = (
    "InvoiceID", "PayerAccountId", "LinkedAccountId", "RecordType", "RecordId", "ProductName",
    "RateId", "SubscriptionId", "PricingPlanId", "UsageType", "Operation", "AvailabilityZone",
    "ReservedInstance", "ItemDescription", "UsageStartDate", "UsageEndDate", "UsageQuantity",
    "BlendedRate", "BlendedCost", "UnBlendedRate", "UnBlendedCost", "ResourceId",
)  # fmt: skip
INVOICE_COLUMNS = (
    "InvoiceID", "PayerAccountId", "LinkedAccountId", "RecordType", "RecordID",
    "BillingPeriodStartDate", "BillingPeriodEndDate", "InvoiceDate", "PayerAccountName",
    "LinkedAccountName", "TaxationAddress", "PayerPONumber", "ProductCode", "ProductName",
    "SellerOfRecord", "UsageType", "Operation", "RateId", "ItemDescription", "UsageStartDate",
    "UsageEndDate", "UsageQuantity", "BlendedRate", "CurrencyCode", "CostBeforeTax", "Credits",
    "TaxAmount", "TaxType", "TotalCost",
)  # fmt: skip

# The files write_samples() makes, and the make_bill() arguments of each.
SAMPLES: dict[str, dict] = {
    DEFAULT_SAMPLE: dict(month="2026-02", kind="dbr", seed=0),
    f"{SAMPLE_ACCOUNT}-{_TAGGED}-2026-03.csv.zip": dict(
        month="2026-03", kind="cloudcheckr", seed=1, tags=MARCH_TAGS
    ),
    f"{SAMPLE_ACCOUNT}-aws-billing-csv-2026-03.csv": dict(
        month="2026-03", kind="invoice-report", seed=1
    ),
    f"{SAMPLE_ACCOUNT}-{_TAGGED}-2026-11.csv.zip": dict(
        month="2026-11", kind="dbr", closed=False, days=20, seed=2
    ),
    f"{SAMPLE_ACCOUNT}-aws-billing-detailed-line-items-2026-01.csv": dict(
        month="2026-01", kind="single-account", resources=2, seed=3, tags=(), resource_ids=False
    ),
    "spreadsheet-copy-2026-02.csv": dict(month="2026-02", kind="dbr", seed=0, spreadsheet=True),
}

_EC2 = "Amazon Elastic Compute Cloud"
_S3 = "Amazon Simple Storage Service"
_CW = "Amazon CloudWatch"
_PRODUCT_CODES = {_EC2: "AmazonEC2", _S3: "AmazonS3", _CW: "AmazonCloudWatch"}
_UNIT = 10**10  # money is held in 1e-10 dollars
_ALICE = "IAMUser:AIDAEXAMPLEALICE00001:alice"
_BOB = "IAMUser:AIDAEXAMPLEBOB0000001:bob"
_CHEN = "IAMUser:AIDAEXAMPLECHENWEI001:chen.wei"


@dataclass(frozen=True)
class _Template:
    """One kind of hourly resource; resource ``r`` of a bill uses template ``r % _T``."""

    account: str
    product: str
    usage_type: str
    operation: str
    az: str
    description: str
    rate: str  # unblended, dollars per unit, at most 8 decimals
    quantity: str  # "hour", "share" (size per month), "growing", "requests", "gb", "tiny"
    size: float = 1.0
    schedule: str = "always"  # "always", "workday", "weekdays", "window", "sparse"
    sparse: float = 1.0  # share of hours with usage, for "sparse"
    window: tuple[tuple[int, int], tuple[int, int]] = ((1, 0), (1, 0))  # UTC (day, hour) on, off
    fleet: int = 1  # instances per resource (a batch job's workers), each with its own id
    noise: float = 0.0  # day-to-day spread (lognormal sigma) of "requests", "gb" and "tiny"
    weekend: float = 1.0  # "requests"/"gb": rate on Seattle weekends, relative to weekdays
    growth: float = 0.4  # "growing": how much the size grows over the month
    step: tuple[int, float] = (0, 1.0)  # "share": from this day of the month, size times this
    prev_hour: bool = False  # also bills the last hour of the previous month
    reserved: bool = False
    blend_with: int | None = None  # template whose hours share one blended rate with these
    resource: str = "i"  # "i", "vol", "bucket", "snap", "none", or "from:<template>"
    tags: tuple[tuple[str, str], ...] = ()


_ARGO = (
    ("user:Owner", "chen.wei"),
    ("user:Project", "argo-floats"),
    ("user:ProjectName", "Argo Floats, Pacific"),
    ("user:name", "argo-raw"),
)
_TIDES = (("user:Project", "tides"), ("user:ProjectName", "Tide Model"))
_OB = (("aws:createdBy", "AssumedRole:AROAEXAMPLEOBRIEN001:ob"),)
_TEMPLATES: tuple[_Template, ...] = (
    # alice: a root volume, always there (so that every bill has rows), and its notebook
    # server, which a scheduler stops from Friday 19:00 to Monday 07:00 (Seattle).
    _Template(
        SAMPLE_ACCOUNT, _EC2, "USW2-EBS:VolumeUsage.gp3", "CreateVolume-Gp3", "us-west-2a",
        "$0.08 per GB-month of General Purpose (gp3) provisioned storage - US West (Oregon)",
        "0.08", "share", size=500, prev_hour=True, resource="vol",
        tags=(("aws:createdBy", _ALICE), ("user:Name", "alice-jupyter-root"),
              ("user:Owner", "alice"), ("user:Project", "coral-reef"),
              ("user:ProjectName", "Coral Reef Survey")),
    ),
    _Template(
        SAMPLE_ACCOUNT, _EC2, "USW2-BoxUsage:m5.2xlarge", "RunInstances", "us-west-2a",
        "$0.384 per On Demand Linux m5.2xlarge Instance Hour", "0.384", "hour",
        schedule="weekdays", prev_hour=True,
        tags=(("aws:createdBy", _ALICE), ("user:Name", "alice-jupyter"), ("user:Owner", "alice"),
              ("user:Project", "coral-reef"), ("user:ProjectName", "Coral Reef Survey")),
    ),
    # bob: a tide-model worker around the clock, its (tiny) data transfer, a batch job (below,
    # template 12) and the worker's data volume (template 15).
    _Template(
        DEV_ACCOUNT, _EC2, "USW2-BoxUsage:m5.xlarge", "RunInstances", "us-west-2b",
        "$0.192 per On Demand Linux m5.xlarge Instance Hour", "0.192", "hour", prev_hour=True,
        blend_with=6,
        tags=(("aws:createdBy", _BOB), ("user:Name", "tides-worker"), ("user:Owner", "bob"),
              *_TIDES),
    ),
    _Template(
        DEV_ACCOUNT, _EC2, "USW2-DataTransfer-Out-Bytes", "RunInstances", "",
        "$0.09 per GB - first 10 TB / month data transfer out beyond the global free tier",
        "0.09", "tiny", schedule="sparse", sparse=0.6, noise=0.3, resource="from:2",
        tags=(("aws:createdBy", _BOB), ("user:Name", "tides-worker"), ("user:Owner", "bob"),
              *_TIDES),
    ),
    # chen.wei: a growing archive of float profiles, downloaded by others (below, template
    # 14), and GPUs in Seattle office hours (template 8).
    _Template(
        SAMPLE_ACCOUNT, _S3, "USW2-TimedStorage-ByteHrs", "StandardStorage", "",
        "$0.023 per GB - first 50 TB / month of storage used", "0.023", "growing", size=18000,
        growth=0.3, resource="bucket:ocean-lab-argo-floats", tags=_ARGO,
    ),
    # Zoë, Müller: image uploads from the microscope, more on weekdays, uneven from day to day.
    _Template(
        SAMPLE_ACCOUNT, _S3, "USW2-Requests-Tier1", "PutObject", "",
        "$0.005 per 1,000 PUT, COPY, POST, or LIST requests", "0.000005", "requests", size=1600,
        schedule="sparse", sparse=0.7, noise=0.5, weekend=0.3,
        resource="bucket:ocean-lab-plankton-images",
        tags=(("user:Owner", "Zoë, Müller"), ("user:Project", "plankton"),
              ("user:name", "plankton-imgs")),
    ),
    # o'brien "ob": a reserved m5.xlarge around the clock, and a big instance from the 9th to
    # the 20th (below, template 13).
    _Template(
        SAMPLE_ACCOUNT, _EC2, "USW2-BoxUsage:m5.xlarge", "RunInstances", "us-west-2b",
        "USD 0.121 hourly fee per Linux/UNIX (Amazon VPC), m5.xlarge instance", "0.121", "hour",
        prev_hour=True, reserved=True, blend_with=2,
        tags=(*_OB, ("user:Name", "ob-model-run"), ("user:Owner", 'o\'brien "ob"'), *_TIDES),
    ),
    # dev<ops>: custom metrics, 40 of them, then 96 from the 12th.
    _Template(
        DEV_ACCOUNT, _CW, "USW2-CW:MetricMonitorUsage", "MetricStorage", "",
        "$0.30 per metric-month - first 10,000 metrics - US West (Oregon)", "0.30", "share",
        size=40, step=(12, 2.4), resource="none",
        tags=(("user:Name", "<script>alert(1)</script>"), ("user:Owner", "dev<ops>"),
              ("user:Project", "ops")),
    ),
    _Template(
        DEV_ACCOUNT, _EC2, "USW2-BoxUsage:g4dn.xlarge", "RunInstances", "us-west-2c",
        "$0.526 per On Demand Linux g4dn.xlarge Instance Hour", "0.526", "hour",
        schedule="workday", fleet=2,
        tags=(("aws:createdBy", _CHEN), ("user:Name", "argo-gpu"), ("user:Owner", "chen.wei"),
              ("user:Project", "argo-floats"), ("user:ProjectName", "Argo Floats, Pacific"),
              ("user:name", "argo-gpu-old")),
    ),
    # Nobody's: daily snapshots, growing.
    _Template(
        SAMPLE_ACCOUNT, _EC2, "USW2-EBS:SnapshotUsage", "CreateSnapshot", "",
        "$0.05 per GB-Month of snapshot data stored - US West (Oregon)", "0.05", "growing",
        size=1200, growth=0.6, resource="snap",
    ),
    # The seagrass project's small instance and volume: a project tag and no owner.
    _Template(
        DEV_ACCOUNT, _EC2, "USW2-BoxUsage:t3.medium", "RunInstances", "us-west-2a",
        "$0.0416 per On Demand Linux t3.medium Instance Hour", "0.0416", "hour",
        tags=(("user:Project", "seagrass"),),
    ),
    _Template(
        DEV_ACCOUNT, _EC2, "USW2-EBS:VolumeUsage.gp3", "CreateVolume-Gp3", "us-west-2a",
        "$0.08 per GB-month of General Purpose (gp3) provisioned storage - US West (Oregon)",
        "0.08", "share", size=30, resource="vol", tags=(("user:Project", "seagrass"),),
    ),
    # bob's batch job: five workers for two to three days, started one after the other.
    _Template(
        DEV_ACCOUNT, _EC2, "USW2-BoxUsage:c5.4xlarge", "RunInstances", "us-west-2b",
        "$0.68 per On Demand Linux c5.4xlarge Instance Hour", "0.68", "hour",
        schedule="window", window=((16, 14), (19, 2)), fleet=5,
        tags=(("aws:createdBy", _BOB), ("user:Name", "tides-batch"), ("user:Owner", "bob"),
              *_TIDES),
    ),
    # o'brien's ensemble run: started on the 9th, stopped on the 20th.
    _Template(
        SAMPLE_ACCOUNT, _EC2, "USW2-BoxUsage:r5.8xlarge", "RunInstances", "us-west-2b",
        "$2.016 per On Demand Linux r5.8xlarge Instance Hour", "2.016", "hour",
        schedule="window", window=((9, 17), (20, 21)),
        tags=(*_OB, ("user:Name", "ob-ensemble"), ("user:Owner", 'o\'brien "ob"'), *_TIDES),
    ),
    # chen.wei's archive, downloaded: a few GB an hour, fewer at weekends, uneven by day.
    _Template(
        SAMPLE_ACCOUNT, _S3, "USW2-DataTransfer-Out-Bytes", "GetObject", "",
        "$0.09 per GB - first 10 TB / month data transfer out beyond the global free tier",
        "0.09", "gb", size=2.5, noise=0.35, weekend=0.5,
        resource="bucket:ocean-lab-argo-floats", tags=_ARGO,
    ),
    # bob's worker keeps its data on an older gp2 volume.
    _Template(
        DEV_ACCOUNT, _EC2, "USW2-EBS:VolumeUsage.gp2", "CreateVolume-Gp2", "us-west-2b",
        "$0.10 per GB-month of General Purpose SSD (gp2) provisioned storage - US West (Oregon)",
        "0.10", "share", size=800, prev_hour=True, resource="vol",
        tags=(("aws:createdBy", _BOB), ("user:Name", "tides-worker-data"), ("user:Owner", "bob"),
              *_TIDES),
    ),
)  # fmt: skip
_T = len(_TEMPLATES)


class _Slot:
    """A field whose text changes from row to row; the rest of a row is fixed per template."""

    def __init__(self, name: str) -> None:
        self.name = name


_RID, _START, _END, _QTY, _BCOST, _UCOST, _RES = (
    _Slot(n) for n in ("rid", "start", "end", "qty", "bcost", "ucost", "res")
)
_DIGITS4 = np.frombuffer(
    "".join(f"{i:04d}" for i in range(10000)).encode("ascii"), dtype=np.uint8
).reshape(10000, 4)


@dataclass(frozen=True)
class _Period:
    """The month a bill is for and the days it covers."""

    month: str
    start: datetime
    month_days: int
    days: int
    closed: bool

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=self.month_days)

    @property
    def covered_end(self) -> datetime:
        return self.start + timedelta(days=self.days)

    @property
    def month_hours(self) -> int:
        return self.month_days * 24

    @property
    def invoice_id(self) -> str:
        return (
            f"8675{self.start.year % 100:02d}{self.start.month:02d}" if self.closed else "Estimated"
        )


@dataclass
class _Bill:
    """The money of one bill before it is written: one entry per hourly line item."""

    period: _Period
    names: list[str]  # resource ids
    template: np.ndarray  # per row
    resource: np.ndarray  # index into names
    hour: np.ndarray  # -1 is the last hour of the previous month
    q8: np.ndarray  # quantity, 1e-8 units
    b10: np.ndarray  # blended cost, 1e-10 dollars
    u10: np.ndarray  # unblended cost
    rid: np.ndarray  # low 16 digits of the RecordId
    blend: tuple[bool, ...]  # per template: uses the shared blended rate
    rows_of: tuple[slice, ...]  # per template: its rows (they come template by template)

    def total(self, values: np.ndarray, templates: Sequence[int] | None = None) -> int:
        """Exact integer sum of ``values`` over the rows of ``templates`` (default: all)."""
        chosen = range(_T) if templates is None else templates
        return sum(int(values[self.rows_of[t]].sum()) for t in chosen)


# ----------------------------------------------------------------------------------- numbers


def _r10(rate: str) -> int:
    return int(Decimal(rate) * _UNIT)


def _blended_rate10(t: int) -> int:
    tpl = _TEMPLATES[t]
    return (_r10(tpl.rate) + _r10(_TEMPLATES[tpl.blend_with].rate)) // 2


def _fmt_money(u10: int) -> str:
    """Exact text with 8 decimals of an amount in 1e-10 dollars (a whole number of 1e-8)."""
    q, rest = divmod(u10, 100)
    if rest:
        raise OptionError(f"{u10}e-10 has more than 8 decimals")
    sign, q = ("-", -q) if q < 0 else ("", q)
    return f"{sign}{q // 10**8}.{q % 10**8:08d}"


def _fmt_qty(q8: int) -> str:
    return f"{q8 // 10**8}.{q8 % 10**8:08d}"


def _fmt_rate(r10: int) -> str:
    return f"{r10 // _UNIT}.{r10 % _UNIT:010d}"


def _fmt_sci(u10: int, style: int) -> str:
    """``1.92e-08``, ``1.92E-08`` or ``1.92E-8``: exact scientific text of a tiny amount."""
    text = str(u10)
    exponent = len(text) - 11
    digits = text.rstrip("0")
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    if style == 0:
        return f"{mantissa}e{exponent:+03d}"
    if style == 1:
        return f"{mantissa}E{exponent:+03d}"
    return f"{mantissa}E{exponent}"


def _cents(u10: int) -> int:
    """Round an amount in 1e-10 dollars to the cent, half up (away from zero)."""
    amount = (Decimal(u10) / _UNIT).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return int(amount * _UNIT)


def _ndigits(v: np.ndarray) -> np.ndarray:
    n = np.ones(v.shape, dtype=np.int64)
    top = int(v.max()) if v.size else 0
    p = 10
    while p <= top:
        n += v >= p
        p *= 10
    return n


def _put_digits(out: np.ndarray, col: int, v: np.ndarray, width: int) -> None:
    """Write the last ``width`` decimal digits of ``v`` (zero-padded) at column ``col``."""
    chunks = -(-width // 4)
    pad = chunks * 4 - width
    for j in range(chunks):
        block = _DIGITS4[(v // 10 ** (4 * (chunks - 1 - j))) % 10000]
        lo = 4 * j - pad
        if lo < 0:
            out[:, col : col + 4 + lo] = block[:, -lo:]
        else:
            out[:, col + lo : col + lo + 4] = block


# ------------------------------------------------------------------------------------ period


def _period(month: str, closed: bool, days: int | None) -> _Period:
    try:
        start = datetime.strptime(month, "%Y-%m")
    except (TypeError, ValueError):
        raise OptionError(f"month must look like 2026-02, not {month!r}") from None
    month_days = calendar.monthrange(start.year, start.month)[1]
    if days is None:
        days = month_days if closed else min(20, month_days)
    if not 1 <= days <= month_days:
        raise OptionError(f"days must be between 1 and {month_days} for {month}, not {days}")
    return _Period(month, start, month_days, days, closed)


def _pacific_offset(utc: datetime) -> int:
    """Hours from UTC to Seattle time, by the US rule (DST from the 2nd Sunday of March)."""
    march = 1 + (6 - datetime(utc.year, 3, 1).weekday()) % 7 + 7
    november = 1 + (6 - datetime(utc.year, 11, 1).weekday()) % 7
    summer = datetime(utc.year, 3, march, 10) <= utc < datetime(utc.year, 11, november, 9)
    return -7 if summer else -8


def _hour_texts(period: _Period, fmt: str) -> list[str]:
    """Text of each hour start from the last hour of the previous month to the covered end."""
    first = period.start - timedelta(hours=1)
    return [(first + timedelta(hours=i)).strftime(fmt) for i in range(period.days * 24 + 2)]


# -------------------------------------------------------------------------------- line items


def _resource_id(t: int, k: int, j: int = 0) -> str:
    """The id of instance ``j`` of a fleet of resource ``k * len(_TEMPLATES) + t``."""
    style = _TEMPLATES[t].resource
    if style.startswith("from:"):
        return _resource_id(int(style[5:]), k, j)
    if style.startswith("bucket:"):
        return style[7:] + (f"-{k:04d}" if k else "")
    if style == "none":
        return ""
    digest = hashlib.sha256(f"ocean-lab/{t}/{k}{f'/{j}' if j else ''}".encode()).hexdigest()
    if style == "i":
        return f"i-0{digest[:16]}"
    if style == "vol":
        return f"vol-0{digest[:16]}"
    return f"arn:aws:ec2:us-west-2:{_TEMPLATES[t].account}:snapshot/snap-0{digest[:16]}"


def _calendar(period: _Period) -> dict[str, np.ndarray]:
    """Per hour, from the previous month's last one: day slot (0 for that hour, then the day
    of the month) and Seattle's office hours, scheduler week and weekend."""
    hours = period.days * 24
    utc = [period.start + timedelta(hours=h) for h in range(-1, hours)]
    local = [u + timedelta(hours=_pacific_offset(u)) for u in utc]
    return {
        "day": np.arange(-1, hours) // 24 + 1,
        "office": np.array([x.weekday() < 5 and 8 <= x.hour < 19 for x in local]),
        # a scheduler starts the instance on Monday at 07:00 and stops it on Friday at 19:00
        "week": np.array([0 <= x.weekday() * 24 + x.hour - 7 < 4 * 24 + 12 for x in local]),
        "weekend": np.array([x.weekday() >= 5 for x in local]),
    }


def _build(period: _Period, resources: int, seed: int) -> _Bill:
    """Draw every hourly line item of a bill; the same arguments give the same rows."""
    rng = np.random.default_rng(seed)
    hours = period.days * 24
    cycles = -(-resources // _T)
    counts = [len(range(t, resources, _T)) for t in range(_T)]
    blend = tuple(
        tpl.blend_with is not None and counts[t] > 0 and counts[t] == counts[tpl.blend_with]
        for t, tpl in enumerate(_TEMPLATES)
    )
    # Rows of the last two covered days that have not arrived yet (open months only); drawn
    # per (cycle, hour), so paired resources lose the same hours and blending still nets out.
    keep_p = np.ones(hours + 1)
    if not period.closed:
        keep_p[max(1, hours - 47) : hours - 23] = 0.7
        keep_p[max(1, hours - 23) :] = 0.35
    arrived = rng.random((cycles, hours + 1)) < keep_p
    cal = _calendar(period)
    day = cal["day"]
    hour_of = np.arange(-1, hours)
    fleet = max(tpl.fleet for tpl in _TEMPLATES)
    names = [""] * (fleet * cycles * _T)  # resource ids; instance j of resource r at j*cycles*T+r

    parts: dict[str, list[np.ndarray]] = {n: [] for n in ("t", "r", "h", "q8", "b10", "u10")}
    for t, tpl in enumerate(_TEMPLATES):
        ks = np.arange(counts[t])
        if not len(ks):
            continue
        kr = np.repeat(ks, tpl.fleet)  # per instance: its resource's cycle
        jr = np.tile(np.arange(tpl.fleet), len(ks))  # and its place in the fleet
        index = (jr * cycles + kr) * _T + t
        for i, k, j in zip(index.tolist(), kr.tolist(), jr.tolist(), strict=True):
            names[i] = _resource_id(t, k, j)
        m = len(kr)
        if tpl.schedule == "window":
            # The first resource keeps the template's dates, the others move by up to 6 days;
            # a fleet's instances start 3 hours apart and the later ones stop a little early.
            (d0, h0), (d1, h1) = tpl.window
            shift = rng.integers(-6, 7, len(ks)) * 24
            shift[0] = 0
            early = rng.integers(0, 7, m) * (jr > 0)
            on = (d0 - 1) * 24 + h0 + shift[kr] + 3 * jr
            off = (d1 - 1) * 24 + h1 + shift[kr] - early
            mask = (hour_of >= on[:, None]) & (hour_of < off[:, None])
        else:
            mask = np.ones((m, hours + 1), dtype=bool)
            if tpl.schedule == "workday":
                mask &= cal["office"]
            elif tpl.schedule == "weekdays":
                mask &= cal["week"]
            elif tpl.schedule == "sparse":
                mask &= rng.random(mask.shape) < tpl.sparse
        if not tpl.prev_hour:
            mask[:, 0] = False
        if not period.closed:
            mask &= arrived[kr]
        ii, hh = np.nonzero(mask)
        n = len(ii)
        factor = np.ones(n)
        if tpl.noise:  # one draw per instance and day: some days are busier than others
            factor = np.exp(rng.normal(0, tpl.noise, (m, period.days + 1)))[ii, day[hh]]
        if tpl.weekend != 1:
            factor = np.where(cal["weekend"][hh], tpl.weekend * factor, factor)
        rate10 = _r10(tpl.rate)
        if tpl.quantity == "hour":
            q8 = np.full(n, 10**8, dtype=np.int64)
        elif tpl.quantity == "share":
            size = np.where(day[hh] >= max(tpl.step[0], 1), tpl.size * tpl.step[1], tpl.size)
            q8 = np.rint(size * 10**8 / period.month_hours).astype(np.int64)
        elif tpl.quantity == "growing":
            gb = tpl.size * (1 + tpl.growth * hh / period.month_hours) + rng.normal(0, 2, n)
            q8 = np.rint(gb * 10**8 / period.month_hours).astype(np.int64)
        elif tpl.quantity == "requests":
            q8 = (rng.poisson(tpl.size * factor) + 1).astype(np.int64) * 10**8
        elif tpl.quantity == "gb":  # data transfer: gigabytes, uneven from hour to hour
            gb = tpl.size * factor * rng.gamma(4.0, 0.25, n)
            q8 = np.rint(gb * 10**8).astype(np.int64)
        else:  # "tiny": a data transfer of a few bytes to a few kilobytes
            tiny = np.exp(rng.uniform(math.log(5), math.log(5000), n)) * factor
            u10 = np.clip(np.rint(tiny), 1, 9900).astype(np.int64)
            if n and u10.sum() % 100:
                u10[-1] += 100 - u10.sum() % 100
            q8 = np.rint(u10 * 10**8 / rate10).astype(np.int64)
        if tpl.quantity != "tiny":
            u10 = (q8 * rate10 + _UNIT // 2) // _UNIT * 100
        b10 = u10
        if blend[t]:
            b10 = (q8 * _blended_rate10(t) + _UNIT // 2) // _UNIT * 100
        parts["t"].append(np.full(n, t, dtype=np.int64))
        parts["r"].append(index[ii])
        parts["h"].append(hh - 1)
        parts["q8"].append(q8)
        parts["b10"].append(b10)
        parts["u10"].append(u10)
    cols = {name: np.concatenate(arrays) for name, arrays in parts.items()}
    n = len(cols["t"])
    rid = rng.integers(10**14, 2 * 10**14) + np.cumsum(rng.integers(1, 90, n))
    edges = np.searchsorted(cols["t"], np.arange(_T + 1)).tolist()
    rows_of = tuple(slice(edges[t], edges[t + 1]) for t in range(_T))
    return _Bill(
        period, names, cols["t"], cols["r"], cols["h"], cols["q8"], cols["b10"],
        cols["u10"], rid, blend, rows_of,
    )  # fmt: skip


def _taxes(bill: _Bill) -> list[tuple[str, str, datetime, datetime, int]]:
    """``(account, product, start, end, tax)`` rows of a CloudCheckr copy, tax in 1e-10 $."""
    p = bill.period
    cut = p.start + timedelta(days=p.days // 2, hours=19, minutes=58, seconds=36)
    cut_hour = (cut - p.start) // timedelta(hours=1)  # hours starting before the cut
    rows = []
    for account in LINKED_ACCOUNTS:
        for product in _PRODUCT_CODES:
            mine = [
                t
                for t, tpl in enumerate(_TEMPLATES)
                if tpl.account == account and tpl.product == product
            ]
            early = sum(
                int(bill.b10[bill.rows_of[t]][bill.hour[bill.rows_of[t]] <= cut_hour].sum())
                for t in mine
            )
            late = bill.total(bill.b10, mine) - early
            for lo, hi, cost in ((p.start, cut, early), (cut, p.covered_end, late)):
                tax = _cents(int(Decimal(cost) * TAX_RATE))  # exact: costs are whole 1e-8 $
                if tax:
                    rows.append((account, product, lo, hi, tax))
    return rows


# ------------------------------------------------------------------------------------ layout


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"' if text else ""


def _line(values: Sequence[str]) -> str:
    return ",".join(_quote(v) for v in values) + "\n"


def _columns(kind: str, tags: Sequence[str], resource_ids: bool) -> list[str]:
    cols = list(DBR_COLUMNS)
    if kind == "single-account":
        cols.remove("LinkedAccountId")
        at = cols.index("BlendedRate")
        cols[at : at + 4] = ["Rate", "Cost"]
    if not resource_ids:
        cols.remove("ResourceId")
    return cols + sorted(set(tags))


def _template_fields(kind: str, t: int, bill: _Bill) -> dict[str, str | _Slot]:
    """Column -> text of a template's rows, or the slot a row's own value goes into."""
    period = bill.period
    tpl = _TEMPLATES[t]
    rate = _r10(tpl.rate)
    brate = _blended_rate10(t) if bill.blend[t] else rate
    if kind == "cloudcheckr":
        record_type = "DiscountedUsage" if tpl.reserved else "Usage"
    else:
        record_type = "LineItem"
    digest = hashlib.sha256(f"{tpl.account}/{tpl.product}/{tpl.usage_type}".encode()).hexdigest()
    return {
        "InvoiceID": "" if kind == "cloudcheckr" else period.invoice_id,
        "PayerAccountId": SAMPLE_ACCOUNT,
        "LinkedAccountId": tpl.account,
        "RecordType": record_type,
        "RecordId": "AWS" if kind == "cloudcheckr" else _RID,
        "ProductName": tpl.product,
        "RateId": str(int(digest[:8], 16) % 90000000 + 10000000),
        "SubscriptionId": _subscription(tpl.account, tpl.product),
        "PricingPlanId": str(int(digest[8:14], 16) % 900000 + 100000),
        "UsageType": tpl.usage_type,
        "Operation": tpl.operation,
        "AvailabilityZone": tpl.az,
        "ReservedInstance": "Y" if tpl.reserved else "N",
        "ItemDescription": tpl.description,
        "UsageStartDate": _START,
        "UsageEndDate": _END,
        "UsageQuantity": _QTY,
        "BlendedRate": _fmt_rate(brate),
        "BlendedCost": _BCOST,
        "UnBlendedRate": _fmt_rate(rate),
        "UnBlendedCost": _UCOST,
        "Rate": _fmt_rate(rate),
        "Cost": _UCOST,
        "ResourceId": _RES,
        **dict(tpl.tags),
    }


def _subscription(account: str, product: str) -> str:
    return str(int(hashlib.sha256(f"{account}/{product}".encode()).hexdigest()[:10], 16))[-10:]


@dataclass
class _Plan:
    """A template's row as fixed byte pieces between the slots that change per row."""

    pieces: list[np.ndarray | _Slot]
    texts: list[str | _Slot]
    fixed: int  # bytes outside the slots


def _plan(fields: dict[str, str | _Slot], columns: Sequence[str], prefix: str) -> _Plan:
    texts: list[str | _Slot] = []
    buf: list[str] = []
    for i, col in enumerate(columns):
        value = fields.get(col, "")
        if i:
            buf.append(",")
        if isinstance(value, str):
            buf.append(_quote(value))
        elif value is _RES:  # rendered with its own quotes: it may be empty
            texts += ["".join(buf), value]
            buf = []
        else:
            buf.append('"' + (prefix if value is _RID else ""))
            texts += ["".join(buf), value]
            buf = ['"']
    texts.append("".join(buf) + "\n")
    pieces: list[np.ndarray | _Slot] = []
    fixed = 0
    for text in texts:
        if isinstance(text, _Slot):
            pieces.append(text)
        else:
            data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
            fixed += len(data)
            pieces.append(data)
    return _Plan(pieces, texts, fixed)


def _sci_suffix(ndig: int, style: int) -> str:
    exponent = ndig - 11
    if style == 0:
        return f"e{exponent:+03d}"
    if style == 1:
        return f"E{exponent:+03d}"
    return f"E{exponent}"


def _spec_width(spec: tuple) -> int:
    if spec[0] == "fix":
        return spec[1] + 9
    if spec[0] == "sci":
        _, ndig, k, style = spec
        return k + (k > 1) + len(_sci_suffix(ndig, style))
    return spec[1]


def _put_number(out: np.ndarray, col: int, spec: tuple, value: np.ndarray) -> None:
    """Write ``value`` as ``123.45678901`` (1e-8 units) or ``1.92E-08`` (1e-10 units)."""
    if spec[0] == "fix":
        w = spec[1]
        _put_digits(out, col, value // 10**8, w)
        out[:, col + w] = ord(".")
        _put_digits(out, col + w + 1, value, 8)
        return
    _, ndig, k, style = spec
    mantissa = value // 10 ** (ndig - k)
    out[:, col] = mantissa // 10 ** (k - 1) + ord("0")
    if k > 1:
        out[:, col + 1] = ord(".")
        _put_digits(out, col + 2, mantissa, k - 1)
    suffix = np.frombuffer(_sci_suffix(ndig, style).encode("ascii"), np.uint8)
    end = col + k + (k > 1)
    out[:, end : end + len(suffix)] = suffix


def _render_block(
    scratch: np.ndarray, plan: _Plan, specs: dict[_Slot, tuple], rows: np.ndarray, ctx: dict
) -> np.ndarray:
    """The bytes of ``rows``: all of one template, with the same field widths."""
    n = len(rows)
    widths = {slot: _spec_width(spec) for slot, spec in specs.items()}
    width = plan.fixed + sum(widths[p] for p in plan.pieces if isinstance(p, _Slot))
    out = scratch[: n * width].reshape(n, width)
    bill: _Bill = ctx["bill"]
    col = 0
    for piece in plan.pieces:
        if isinstance(piece, np.ndarray):
            out[:, col : col + len(piece)] = piece
            col += len(piece)
            continue
        w = widths[piece]
        if piece is _RID:
            _put_digits(out, col, bill.rid[rows], 16)
        elif piece is _START:
            out[:, col : col + w] = ctx["hours"][bill.hour[rows] + 1]
        elif piece is _END:
            out[:, col : col + w] = ctx["hours"][bill.hour[rows] + 2]
        elif piece is _RES:
            if w:
                ids, inverse = np.unique(bill.resource[rows], return_inverse=True)
                table = b"".join(ctx["res"][i] for i in ids.tolist())
                out[:, col : col + w] = np.frombuffer(table, np.uint8).reshape(-1, w)[inverse]
        elif piece is _QTY:
            _put_number(out, col, specs[piece], bill.q8[rows])
        else:
            value = (bill.b10 if piece is _BCOST else bill.u10)[rows]
            if specs[piece][0] == "fix":
                value //= 100
            _put_number(out, col, specs[piece], value)
        col += w
    return out.reshape(-1)


def _dbr_bytes(kind: str, bill: _Bill, columns: list[str], seed: int, spreadsheet: bool) -> bytes:
    """Write a native DBR, single-account or CloudCheckr file from the drawn line items."""
    period = bill.period
    rng = np.random.default_rng((seed, 7))
    hour_texts = _hour_texts(period, "%Y-%m-%d %H:%M:%S")
    ctx = {
        "bill": bill,
        "hours": np.frombuffer("".join(hour_texts).encode("ascii"), np.uint8).reshape(-1, 19),
        "res": [_quote(name).encode("utf-8") for name in bill.names],
    }
    prefix = f"31{period.start:%Y%m}00"
    plans = [_plan(_template_fields(kind, t, bill), columns, prefix) for t in range(_T)]
    special = _special_rows(kind, bill)
    n = len(bill.template)
    block = int(min(4096, max(16, n // 256)))

    # Rows of one template whose fields have the same widths form a fixed-width group. Tiny
    # costs are written in scientific notation: their digits and spelling join the group key.
    res_len = np.array([len(x) for x in ctx["res"]], dtype=np.int64)
    digits = [_ndigits(bill.q8 // 10**8), _ndigits(bill.b10 // _UNIT), _ndigits(bill.u10 // _UNIT)]
    sci = np.zeros(n, dtype=np.int64)
    for t, tpl in enumerate(_TEMPLATES):
        sel = bill.rows_of[t]
        if tpl.quantity != "tiny" or sel.stop == sel.start:
            continue
        value = bill.u10[sel]
        ndig = _ndigits(value)
        k = ndig.copy()
        for _ in range(int(ndig.max())):
            zero = (value % 10 == 0) & (k > 1)
            k -= zero
            value = np.where(zero, value // 10, value)
        style = rng.integers(0, 3, len(value))
        sci[sel] = 1 + style * 100 + ndig * 10 + k
    key = bill.template.copy()
    for part in digits:
        key = key * 32 + part
    key = (key * 4096 + res_len[bill.resource]) * 1024 + sci
    order = rng.permutation(n)
    order = order[np.argsort(key[order], kind="stable")]
    blocks: list[tuple[str, object]] = []
    if n:
        for group in np.split(order, np.flatnonzero(np.diff(key[order])) + 1):
            for lo in range(0, len(group), block):
                blocks.append(("rows", group[lo : lo + block]))
    for row in special["inline"]:
        blocks.append(("text", _line([row.get(c, "") for c in columns]).encode("utf-8")))

    widest = max(plan.fixed for plan in plans) + 16 + 38 + 3 * 28 + int(res_len.max(initial=0))
    scratch = np.empty(block * widest, dtype=np.uint8)
    out = io.BytesIO()
    if spreadsheet:
        out.write(b"\xef\xbb\xbf" + ",".join(_quote(c) for c in columns).encode() + b"\r\n")
    else:
        out.write((",".join(columns) + "\n").encode("utf-8"))
    for i in rng.permutation(len(blocks)).tolist():
        what, data = blocks[i]
        if what == "text":
            out.write(data.replace(b"\n", b"\r\n") if spreadsheet else data)
            continue
        first = int(data[0])
        specs: dict[_Slot, tuple] = {
            _RID: ("raw", 16),
            _START: ("raw", 19),
            _END: ("raw", 19),
            _RES: ("raw", int(res_len[bill.resource[first]])),
            _QTY: ("fix", int(digits[0][first])),
            _BCOST: ("fix", int(digits[1][first])),
            _UCOST: ("fix", int(digits[2][first])),
        }
        code = int(sci[first])
        if code:
            spec = ("sci", (code - 1) % 100 // 10, (code - 1) % 10, (code - 1) // 100)
            specs[_BCOST] = specs[_UCOST] = spec
        rows = _render_block(scratch, plans[int(bill.template[first])], specs, data, ctx)
        out.write(rows.tobytes().replace(b"\n", b"\r\n") if spreadsheet else rows)
    for row in special["trailer"]:
        text = _line([row.get(c, "") for c in columns]).encode("utf-8")
        out.write(text.replace(b"\n", b"\r\n") if spreadsheet else text)
    return out.getvalue()


def _special_rows(kind: str, bill: _Bill) -> dict[str, list[dict[str, str]]]:
    """Rows that are not hourly usage: credit, taxes, custom charge, and the control rows."""
    period = bill.period
    stamp = "%Y-%m-%d %H:%M:%S"
    owner = [SAMPLE_ACCOUNT if kind == "single-account" else tpl.account for tpl in _TEMPLATES]
    present = {owner[t] for t in range(_T) if bill.rows_of[t].stop > bill.rows_of[t].start}
    inline: list[dict[str, str]] = []
    trailer: list[dict[str, str]] = []
    if kind == "cloudcheckr":
        other = bill.total(bill.b10)
        for account, product, lo, hi, tax in _taxes(bill):
            other += tax
            inline.append({
                "PayerAccountId": SAMPLE_ACCOUNT, "LinkedAccountId": account, "RecordType": "Tax",
                "RecordId": "AWS", "ProductName": product,
                "SubscriptionId": _subscription(account, product), "ReservedInstance": "N",
                "ItemDescription": f"Tax for product code {_PRODUCT_CODES[product]}",
                "UsageStartDate": f"{lo:{stamp}}", "UsageEndDate": f"{hi:{stamp}}",
                "BlendedCost": _fmt_money(tax), "UnBlendedCost": _fmt_money(tax),
            })  # fmt: skip
        charge = (Decimal(other) / _UNIT * CUSTOM_CHARGE_RATE).quantize(
            Decimal("0.00000001"), rounding=ROUND_HALF_UP
        )
        charge_text = _fmt_money(int(charge * _UNIT))
        inline.append({
            "PayerAccountId": SAMPLE_ACCOUNT, "LinkedAccountId": SAMPLE_ACCOUNT,
            "RecordType": "LineItem", "ProductName": "Custom Charge",
            "ItemDescription": CUSTOM_CHARGE_DESCRIPTION,
            "UsageStartDate": f"{period.start:{stamp}}",
            "UsageEndDate": f"{period.start + timedelta(minutes=59, seconds=59):{stamp}}",
            "BlendedCost": charge_text, "UnBlendedCost": charge_text,
        })  # fmt: skip
        return {"inline": inline, "trailer": trailer}

    # Native DBR: a research credit with blank dates, then the control rows.
    mine = {a: [t for t in range(_T) if owner[t] == a] for a in LINKED_ACCOUNTS}
    b_sums = {a: bill.total(bill.b10, mine[a]) for a in LINKED_ACCOUNTS}
    u_sums = {a: bill.total(bill.u10, mine[a]) for a in LINKED_ACCOUNTS}
    credited = DEV_ACCOUNT if DEV_ACCOUNT in present else SAMPLE_ACCOUNT
    credit = -max(_cents(b_sums[credited] * 15 // 100), 10**8)
    b_sums[credited] += credit
    u_sums[credited] += credit
    invoice = period.invoice_id
    rid = f"31{period.start:%Y%m}00{int(bill.rid[-1]) + 97:016d}" if len(bill.rid) else ""
    inline.append({
        "InvoiceID": invoice, "PayerAccountId": SAMPLE_ACCOUNT, "LinkedAccountId": credited,
        "RecordType": "LineItem", "RecordId": rid, "ProductName": CREDIT_PRODUCT,
        "ItemDescription": "AWS Research Credits: grant OL-2026-017 (synthetic)",
        "BlendedCost": _fmt_money(credit), "UnBlendedCost": _fmt_money(credit),
        "Cost": _fmt_money(credit), "user:Owner": "chen.wei", "user:Project": "argo-floats",
    })  # fmt: skip
    total_b = sum(b_sums.values())
    total_u = sum(u_sums.values())
    rounded = _cents(total_b)

    def control(record_type: str, description: str, b: int, u: int, linked: str = "") -> None:
        trailer.append({
            "InvoiceID": invoice, "PayerAccountId": SAMPLE_ACCOUNT, "LinkedAccountId": linked,
            "RecordType": record_type, "ItemDescription": description,
            "BlendedCost": _fmt_money(b), "UnBlendedCost": _fmt_money(u), "Cost": _fmt_money(b),
        })  # fmt: skip

    if kind == "dbr":
        for account, name in LINKED_ACCOUNTS.items():
            if account in present or account == credited:
                control(
                    "AccountTotal", f"Total for linked account# {account} ({name})",
                    b_sums[account], u_sums[account], account,
                )  # fmt: skip
    rounding = ("Rounding of charges" if kind == "single-account"
                else "Rounding of consolidated charges")
    control("Rounding", rounding, rounded - total_b, rounded - total_u)
    control("InvoiceTotal", f"Total amount for invoice {invoice}", rounded, rounded)
    statement = f"{period.start:{stamp}} - {period.end:{stamp}}"
    control("StatementTotal", f"Total statement amount for period {statement}", rounded, rounded)
    return {"inline": inline, "trailer": trailer}


def _invoice_report(bill: _Bill, spreadsheet: bool) -> bytes:
    """The monthly ``aws-billing-csv`` report of the CloudCheckr copy drawn for ``bill``."""
    period = bill.period
    stamp = "%Y/%m/%d %H:%M:%S"
    start = f"{period.start:{stamp}}"
    end = f"{period.end - timedelta(seconds=1):{stamp}}"
    invoice_date = period.end + timedelta(days=1) if period.closed else period.covered_end
    invoice = period.invoice_id
    zero = _fmt_money(0)
    common = {
        "PayerAccountId": SAMPLE_ACCOUNT, "BillingPeriodStartDate": start,
        "BillingPeriodEndDate": end, "PayerAccountName": ACCOUNT_NAME, "CurrencyCode": "USD",
    }  # fmt: skip
    lines: list[tuple[tuple, dict[str, str]]] = []
    cost: dict[str, int] = dict.fromkeys(LINKED_ACCOUNTS, 0)
    taxed: dict[str, int] = dict.fromkeys(LINKED_ACCOUNTS, 0)
    for t, tpl in enumerate(_TEMPLATES):
        sel = bill.rows_of[t]
        if sel.stop == sel.start:
            continue
        b10 = bill.total(bill.b10, [t])
        cost[tpl.account] += b10
        brate = _blended_rate10(t) if bill.blend[t] else _r10(tpl.rate)
        code = _PRODUCT_CODES[tpl.product]
        lines.append(((tpl.account, code, tpl.usage_type, tpl.description), {
            "LinkedAccountId": tpl.account, "ProductCode": code, "ProductName": tpl.product,
            "UsageType": tpl.usage_type, "Operation": tpl.operation,
            "RateId": _template_fields("dbr", t, bill)["RateId"],
            "ItemDescription": tpl.description,
            "UsageQuantity": _fmt_qty(int(bill.q8[sel].sum())), "BlendedRate": _fmt_rate(brate),
            "CostBeforeTax": _fmt_money(b10), "TaxAmount": zero, "TaxType": "None",
            "TotalCost": _fmt_money(b10),
        }))  # fmt: skip
    tax_sums: dict[tuple[str, str], int] = {}
    for account, product, _lo, _hi, tax in _taxes(bill):
        tax_sums[account, product] = tax_sums.get((account, product), 0) + tax
    for (account, product), tax in tax_sums.items():
        taxed[account] += tax
        code = _PRODUCT_CODES[product]
        lines.append(((account, code, "", "~tax"), {
            "LinkedAccountId": account, "ProductCode": code, "ProductName": product,
            "ItemDescription": f"Tax for product code {code}", "CostBeforeTax": zero,
            "TaxAmount": _fmt_money(tax), "TaxType": "SalesTax", "TotalCost": _fmt_money(tax),
        }))  # fmt: skip
    lines.sort(key=lambda item: item[0])
    rows = []
    for i, (_key, line) in enumerate(lines):
        rows.append({
            **common, **line, "InvoiceID": invoice, "RecordType": "LinkedLineItem",
            "RecordID": str(3600000000614116491 + 7919 * i),
            "InvoiceDate": f"{invoice_date:{stamp}}",
            "LinkedAccountName": LINKED_ACCOUNTS[line["LinkedAccountId"]],
            "TaxationAddress": "100 Example Pier, Seattle, WA, 98101, US",
            "SellerOfRecord": "Amazon Web Services, Inc.", "UsageStartDate": start,
            "UsageEndDate": end, "Credits": zero,
        })  # fmt: skip
    total = sum(cost.values()) + sum(taxed.values())
    rounded = _cents(total)
    for account, name in LINKED_ACCOUNTS.items():
        if cost[account] or taxed[account]:
            rows.append({
                **common, "LinkedAccountId": account, "RecordType": "AccountTotal",
                "RecordID": f"AccountTotal:{account}", "LinkedAccountName": name,
                "ItemDescription": f"Total for linked account# {account} ({name})",
                "CostBeforeTax": _fmt_money(cost[account]), "Credits": zero,
                "TaxAmount": _fmt_money(taxed[account]),
                "TotalCost": _fmt_money(cost[account] + taxed[account]),
            })  # fmt: skip
    rows.append({
        **common, "InvoiceID": invoice, "RecordType": "CBRounding", "RecordID": "CBRounding",
        "ItemDescription": "Consolidated billing rounding",
        "TotalCost": _fmt_money(rounded - total),
    })  # fmt: skip
    rows.append({
        **common, "InvoiceID": invoice, "RecordType": "InvoiceTotal",
        "RecordID": f"InvoiceTotal:{invoice}", "InvoiceDate": f"{invoice_date:{stamp}}",
        "ItemDescription": f"Total amount for invoice {invoice}", "TotalCost": _fmt_money(rounded),
    })  # fmt: skip
    rows.append({
        **common, "RecordType": "StatementTotal", "RecordID": "StatementTotal",
        "ItemDescription": f"Total statement amount for period {start} - {end}",
        "TotalCost": _fmt_money(rounded),
    })  # fmt: skip
    through = f"{period.covered_end - timedelta(seconds=1):{stamp}}"
    rows.append({
        **common, "RecordType": "EstimatedDisclaimer", "RecordID": "EstimatedDisclaimer",
        "ItemDescription": (
            f"This report reflects your estimated monthly bill for activity through approximately "
            f"{through}. Charges are estimates until the invoice is issued."
        ),
    })  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n" if spreadsheet else "\n")
    writer.writerow(INVOICE_COLUMNS)
    for row in rows:
        writer.writerow([row.get(c, "") for c in INVOICE_COLUMNS])
    data = out.getvalue().encode("utf-8")
    return b"\xef\xbb\xbf" + data if spreadsheet else data


# -------------------------------------------------------------------------------- public API


def make_bill(
    month: str = "2026-02",
    *,
    kind: str = "dbr",
    closed: bool = True,
    days: int | None = None,
    resources: int = len(_TEMPLATES),
    seed: int = 0,
    tags: Sequence[str] = DEFAULT_TAGS,
    spreadsheet: bool = False,
    resource_ids: bool = True,
) -> bytes:
    """The CSV bytes of one synthetic month; same arguments, same bytes.

    ``kind`` is ``"dbr"`` (native consolidated DBR with control rows), ``"cloudcheckr"``,
    ``"invoice-report"`` (the monthly ``aws-billing-csv`` report matching the CloudCheckr copy of
    the same arguments) or ``"single-account"`` (a non-consolidated account). ``resources`` hourly
    resources (by default each template once) make up to about ``resources * 24 * days`` rows,
    about 0.84 of that over a whole month, as some run only part of the time. ``tags`` are the
    tag columns (written in ASCII order); ``resource_ids=False`` also drops ResourceId, as in
    the files without resources and tags. ``spreadsheet`` writes what a spreadsheet save
    gives: a byte-order mark, CRLF line ends and a quoted header.
    """
    if kind not in KINDS:
        raise OptionError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if isinstance(resources, bool) or not isinstance(resources, int) or resources < 1:
        raise OptionError(f"resources must be a whole number of at least 1, not {resources!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise OptionError(f"seed must be a whole number of at least 0, not {seed!r}")
    if isinstance(tags, str):
        raise OptionError("tags must be a list of column names, not one string")
    period = _period(month, closed, days)
    bill = _build(period, resources, seed)
    if kind == "invoice-report":
        return _invoice_report(bill, spreadsheet)
    columns = _columns(kind, tags, resource_ids)
    return _dbr_bytes(kind, bill, columns, seed, spreadsheet)


def write_bill(path: str | os.PathLike, **make_bill_kwargs) -> Path:
    """Write ``make_bill(**make_bill_kwargs)`` as ``.csv``, or zipped if the path ends in ``.zip``.

    The zip holds one member named like the path without ``.zip``, with a fixed date, so the
    archive's bytes are as reproducible as the CSV's.
    """
    target = Path(path)
    data = make_bill(**make_bill_kwargs)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.name.endswith(".zip"):
        info = zipfile.ZipInfo(target.name[: -len(".zip")], date_time=ZIP_DATE_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 3
        info.external_attr = 0o644 << 16
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            archive.writestr(info, data)
    else:
        target.write_bytes(data)
    return target


def write_samples(directory: str | os.PathLike) -> list[Path]:
    """Write the six sample files of ``SAMPLES`` into ``directory`` and return their paths."""
    folder = Path(directory)
    return [write_bill(folder / name, **kwargs) for name, kwargs in SAMPLES.items()]


#: The month of the bundled sample in today's formats: (file name, format), written by
#: :func:`write_formats` from the very rows of the detailed bill (so every answer agrees).
FORMATS = {
    f"{SAMPLE_ACCOUNT}-cur-2026-02.csv.gz": "cur",
    f"{SAMPLE_ACCOUNT}-cur-2026-02.snappy.parquet": "cur-parquet",
    f"{SAMPLE_ACCOUNT}-cur2-2026-02.parquet": "cur2",
    f"{SAMPLE_ACCOUNT}-focus-2026-02.csv": "focus",
}
#: A detailed bill's record types as a CUR's line item types and FOCUS's charge categories.
_LINE_ITEM_TYPES = {"LineItem": "Usage", "Usage": "Usage", "DiscountedUsage": "DiscountedUsage",
                    "Tax": "Tax"}
_CHARGE_CATEGORIES = {"Usage": "Usage", "DiscountedUsage": "Usage", "Tax": "Tax",
                      "Credit": "Credit"}


def write_formats(directory: str | os.PathLike, month: str = "2026-02", seed: int = 0,
                  **bill: object) -> list[Path]:
    """Write the native sample month (``make_bill(month, seed=seed, **bill)``) as a legacy CUR
    (CSV.gz and Parquet), a CUR 2.0 Parquet and a FOCUS 1.0 CSV, and return their paths (named
    as :data:`FORMATS`, with ``month`` for 2026-02).

    The charge rows are the detailed bill's, renamed: unblended cost is the CUR's default and
    FOCUS's billed cost, tags become ``resourceTags/user:Owner``, ``resource_tags_user_owner``,
    CUR 2.0's ``resource_tags`` map and FOCUS's JSON ``Tags``; total rows have no place there.
    A credit (``AWS Research Credits``) is a ``Credit`` line item.
    """
    import gzip
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = list(csv.DictReader(io.StringIO(make_bill(month, seed=seed, **bill).decode("utf-8"))))
    rows = [r for r in rows if r["RecordType"] not in ("AccountTotal", "Rounding",
                                                         "InvoiceTotal", "StatementTotal")]
    tags = [c for c in rows[0] if ":" in c]

    def kind(row: dict) -> str:
        return "Credit" if row["ProductName"] == CREDIT_PRODUCT else _LINE_ITEM_TYPES.get(
            row["RecordType"], "Usage")

    def iso(text: str) -> str:
        return f"{text.replace(' ', 'T')}.000Z" if text else ""

    start = f"{month}-01T00:00:00.000Z"
    cur = [{"identity/LineItemId": r["RecordId"], "bill/InvoiceId": r["InvoiceID"],
            "bill/PayerAccountId": r["PayerAccountId"], "bill/BillingPeriodStartDate": start,
            "lineItem/UsageAccountId": r["LinkedAccountId"], "lineItem/LineItemType": kind(r),
            "lineItem/UsageStartDate": iso(r["UsageStartDate"]),
            "lineItem/UsageEndDate": iso(r["UsageEndDate"]),
            "lineItem/ProductCode": _PRODUCT_CODES.get(r["ProductName"], ""),
            "lineItem/UsageType": r["UsageType"], "lineItem/UsageAmount": r["UsageQuantity"],
            "lineItem/UnblendedCost": r["UnBlendedCost"], "lineItem/BlendedCost": r["BlendedCost"],
            "lineItem/LineItemDescription": r["ItemDescription"],
            "lineItem/ResourceId": r["ResourceId"], "product/ProductName": r["ProductName"],
            **{f"resourceTags/{t}": r[t] for t in tags}} for r in rows]
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {fmt: folder / name.replace("2026-02", month) for name, fmt in FORMATS.items()}

    text = io.StringIO()
    writer = csv.DictWriter(text, list(cur[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(cur)
    paths["cur"].write_bytes(gzip.compress(text.getvalue().encode(), mtime=0))

    def column(name: str, values: list[str]) -> pa.Array:
        if name.endswith(("_date",)):
            stamps = [None if not v else v.removesuffix("Z") for v in values]
            return pa.array(np.array(stamps, dtype="datetime64[ms]"), pa.timestamp("ms")
                            ).cast(pa.timestamp("ms", tz="UTC"))
        if name.endswith(("_cost", "_amount")):
            return pa.array([float(v) if v else None for v in values], pa.float64())
        return pa.array(values, pa.string())

    native = {snake(c): [r[c] for r in cur] for c in cur[0] if not c.startswith("resourceTags/")}
    legacy = {**native, **{f"resource_tags_{snake(t)}": [r[t] for r in rows] for t in tags}}
    pq.write_table(pa.table({c: column(c, v) for c, v in legacy.items()}),
                   paths["cur-parquet"], compression="snappy")
    maps = pa.array([[(snake(t), r[t]) for t in tags if r[t]] for r in rows],
                    pa.map_(pa.string(), pa.string()))
    cur2 = {c: column(c, v) for c, v in native.items()}
    cur2.update({"resource_tags": maps, "billing_period": pa.array([month] * len(rows))})
    pq.write_table(pa.table(cur2), paths["cur2"], compression="snappy")

    focus = [{"BillingAccountId": r["PayerAccountId"], "SubAccountId": r["LinkedAccountId"],
              "ChargeCategory": _CHARGE_CATEGORIES[kind(r)], "ProviderName": "AWS",
              "ServiceName": r["ProductName"], "ChargePeriodStart": r["UsageStartDate"] or "NULL",
              "ChargePeriodEnd": r["UsageEndDate"] or "NULL", "BilledCost": r["UnBlendedCost"],
              "EffectiveCost": r["UnBlendedCost"], "ListCost": r["UnBlendedCost"],
              "ConsumedQuantity": r["UsageQuantity"] or "NULL", "ResourceId": r["ResourceId"],
              "Tags": json.dumps({t: r[t] for t in tags if r[t]}, ensure_ascii=False)
              if any(r[t] for t in tags) else "NULL"} for r in rows]
    text = io.StringIO()
    writer = csv.DictWriter(text, list(focus[0]), lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writeheader()
    writer.writerows(focus)
    paths["focus"].write_text(text.getvalue(), encoding="utf-8")
    return list(paths.values())


def snake(name: str) -> str:
    """``lineItem/UsageStartDate`` -> ``line_item_usage_start_date`` (as
    :func:`costlib.layout.snake`)."""
    from .layout import snake as layout_snake

    return layout_snake(name)
