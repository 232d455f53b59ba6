"""From a billing file to one tidy table of line items, with the control rows kept apart."""

from __future__ import annotations

import csv
import os
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO

import numpy as np
import pandas as pd

from .errors import BillError
from .files import open_bill, parse_name

#: Rows that state totals instead of charging anything; summing them counts the bill twice.
CONTROL_RECORD_TYPES = frozenset(
    {"AccountTotal", "Rounding", "InvoiceTotal", "StatementTotal", "CBRounding",
     "EstimatedDisclaimer"}
)
#: Record types that only a CloudCheckr-style copy of the detailed bill uses.
CLOUDCHECKR_RECORD_TYPES = frozenset({"Usage", "DiscountedUsage", "Tax"})

NUMERIC_COLUMNS = (
    "UsageQuantity", "BlendedRate", "BlendedCost", "UnBlendedRate", "UnBlendedCost", "Rate",
    "Cost", "CostBeforeTax", "Credits", "TaxAmount", "TotalCost",
)
DATE_COLUMNS = ("UsageStartDate", "UsageEndDate", "BillingPeriodStartDate",
                "BillingPeriodEndDate", "InvoiceDate")

KINDS = {
    "dbr": "native AWS detailed billing report",
    "cloudcheckr": "CloudCheckr-style copy of the detailed billing report",
    "single-account": "single-account detailed billing report (Rate/Cost)",
    "invoice-report": "monthly invoice report (aws-billing-csv)",
}


@dataclass(frozen=True, eq=False)
class Bill:
    """A month's billing file: the charge rows, the control rows, and what the file says of itself.

    ``items`` holds every charge row (the ones that cost money), ``controls`` the total and
    rounding rows. Ids are strings, costs floats, dates UTC ``datetime64`` (``NaT`` when blank),
    tag values strings (``""`` when the resource has no such tag).
    """

    items: pd.DataFrame
    controls: pd.DataFrame
    name: str
    account: str | None
    month: str | None
    kind: str
    invoice_id: str | None
    cost_column: str

    @property
    def tags(self) -> list[str]:
        """The tag columns of this file (``user:...`` and ``aws:...``), in file order."""
        return [c for c in self.items.columns if ":" in c]

    @property
    def closed(self) -> bool:
        """True once AWS has issued the invoice (the month's ``InvoiceID`` is a number)."""
        return bool(self.invoice_id) and self.invoice_id != "Estimated"

    def __repr__(self) -> str:
        invoice = self.invoice_id or "no invoice id"
        return (f"<Bill {os.path.basename(self.name)}: {self.kind}, {self.month}, "
                f"{len(self.items):,} charge rows, {len(self.controls)} control rows, "
                f"invoice {invoice}>")


def read(source: str | os.PathLike | IO) -> Bill:
    """Read a month's billing file: a ``.csv.zip``, a ``.csv``, an open file or ``s3://b/k``.

    >>> bill = read(sample_path())
    >>> bill.account, bill.month, bill.kind
    ('012345678901', '2026-02', 'dbr')
    """
    if isinstance(source, (pd.DataFrame, pd.Series)):
        raise TypeError("costlib.read() takes a path, an s3:// URL or an open file, "
                        "not a DataFrame; the DataFrame is already read")
    name, stream = open_bill(source)
    with stream:
        table = _parse_csv(name, stream)
    return _tidy(name, table)


def sample_path() -> str:
    """The path of the small sample bill that ships inside the package."""
    from .sample import DEFAULT_SAMPLE

    return os.path.join(os.path.dirname(__file__), "data", DEFAULT_SAMPLE)


def _parse_csv(name: str, stream: IO[bytes]) -> pd.DataFrame:
    try:
        return pd.read_csv(stream, dtype=str, keep_default_na=False, na_filter=False,
                           encoding="utf-8-sig", skipinitialspace=False)
    except pd.errors.EmptyDataError:
        raise BillError(f"{name}: the file is empty") from None
    except pd.errors.ParserError as err:
        raise BillError(f"{name}: not a well-formed CSV file ({_first_line(err)})") from None
    except UnicodeDecodeError:
        raise BillError(f"{name}: not a billing file (not UTF-8 text)") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
        raise BillError(f"{name}: the zip is corrupt or truncated ({_first_line(err)})") from None
    except csv.Error as err:
        raise BillError(f"{name}: not a well-formed CSV file ({_first_line(err)})") from None


def _first_line(err: BaseException) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def _kind(name: str, table: pd.DataFrame) -> tuple[str, str]:
    kind, cost_column = _header_kind(name, list(table.columns))
    if kind is None:
        kind = _dbr_or_copy(set(table["RecordType"].unique()),
                            lambda: "RecordId" in table.columns
                            and bool((table["RecordId"] == "AWS").any()))
    return kind, cost_column


def _header_kind(name: str, columns: list[str]) -> tuple[str | None, str]:
    """The cost column, and the kind of file when the header alone tells it (``None`` for a
    detailed bill with ``BlendedCost``: its rows tell a native file from a CloudCheckr copy).
    A header that is no billing file's is refused here."""
    found = ", ".join(columns[:8]) + (", ..." if len(columns) > 8 else "")
    billing = {"RecordType", "UsageStartDate", "BlendedCost", "UnBlendedCost", "Cost",
               "TotalCost", "InvoiceID", "PayerAccountId", "LinkedAccountId"}
    if len(billing & set(columns)) < 2:
        raise BillError(f"{name}: not a billing file: no RecordType, UsageStartDate or "
                        f"BlendedCost columns (found: {found})")
    for needed in ("RecordType", "UsageStartDate"):
        if needed not in columns:
            raise BillError(f"{name}: {needed} column missing (found: {found})")
    if "TotalCost" in columns and "RecordID" in columns:
        return "invoice-report", "TotalCost"
    if "BlendedCost" in columns:
        return None, "BlendedCost"
    if "Cost" in columns:
        return "single-account", "Cost"
    raise BillError(f"{name}: BlendedCost column missing (found: {found}); "
                    "a detailed bill has BlendedCost, or Cost in a single-account file")


def _dbr_or_copy(record_types: set[str], record_id_aws) -> str:
    """``"cloudcheckr"`` when the rows are a CloudCheckr copy's (its record types, or the
    literal ``AWS`` as ``RecordId``: ``record_id_aws()`` says), else ``"dbr"``."""
    copy = bool(record_types & CLOUDCHECKR_RECORD_TYPES) or record_id_aws()
    return "cloudcheckr" if copy else "dbr"


def _tidy(name: str, table: pd.DataFrame) -> Bill:
    kind, cost_column = _kind(name, table)
    control = table["RecordType"].isin(CONTROL_RECORD_TYPES).to_numpy()
    rows = np.arange(len(table)) + 2  # file row numbers, the header being row 1
    for column in NUMERIC_COLUMNS:
        if column in table.columns:
            table[column] = _numbers(name, table[column], rows,
                                     required=~control if column == cost_column else None)
    for column in DATE_COLUMNS:
        if column in table.columns:
            table[column] = _dates(name, table[column], rows)
    items = table[~control].reset_index(drop=True)
    controls = table[control].reset_index(drop=True)
    from_name = parse_name(name)
    return Bill(
        items=items,
        controls=controls,
        name=name,
        account=from_name.account or _first_value(table, "PayerAccountId"),
        month=from_name.month or _month_of(items),
        kind=kind,
        invoice_id=_first_value(table, "InvoiceID"),
        cost_column=cost_column,
    )


def _numbers(name: str, text: pd.Series, rows: np.ndarray,
             required: np.ndarray | None) -> pd.Series:
    column = text.name
    values = pd.to_numeric(text, errors="coerce").astype("float64")
    blank = (text == "").to_numpy()
    bad = (values.isna().to_numpy() & ~blank) | ~np.isfinite(values.fillna(0).to_numpy())
    if required is not None:
        bad |= blank & required
    if bad.any():
        at = int(np.flatnonzero(bad)[0])
        shown = text.iloc[at] or "blank"
        raise BillError(f"{name}: row {rows[at]}: {column} is not a number ({shown!r})"
                        if text.iloc[at] else f"{name}: row {rows[at]}: {column} is blank")
    return values


def _dates(name: str, text: pd.Series, rows: np.ndarray, fmt: str | None = None) -> pd.Series:
    column = text.name
    if fmt is None:
        nonblank = text[text != ""]
        fmt = _date_format(nonblank.iloc[0] if not nonblank.empty else "")
    values = pd.to_datetime(text.where(text != ""), format=fmt, errors="coerce", utc=True)
    bad = (values.isna() & (text != "")).to_numpy()
    if bad.any():
        at = int(np.flatnonzero(bad)[0])
        raise BillError(_bad_date(name, rows[at], column, text.iloc[at]))
    return values.astype("datetime64[ns, UTC]")


def _date_format(first: str) -> str:
    """How a column's dates are written, told by its first non-blank value."""
    return "%Y/%m/%d %H:%M:%S" if "/" in first else "ISO8601"


def _bad_date(name: str, row: int, column: str, value: str) -> str:
    return (f"{name}: row {row}: {column} is not a date "
            f"({value!r}, expected YYYY-MM-DD HH:MM:SS)")


def _first_value(table: pd.DataFrame, column: str) -> str | None:
    if column not in table.columns:
        return None
    values = table[column][table[column] != ""]
    return str(values.iloc[0]) if len(values) else None


def _month_of(items: pd.DataFrame) -> str | None:
    if "UsageStartDate" not in items.columns:
        return None
    starts = items["UsageStartDate"].dropna()
    if starts.empty:
        return None
    return str(starts.dt.strftime("%Y-%m").mode().iloc[0])
