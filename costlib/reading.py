"""From a billing file to one tidy table of line items, with the control rows kept apart."""

from __future__ import annotations

import csv
import os
import zipfile
import zlib
from typing import IO

import numpy as np
import pandas as pd

from .errors import BillError
from .files import open_bill, parse_name, sample_path  # noqa: F401 - also costlib.reading.sample_path
from .layout import (
    CONTROL_RECORD_TYPES,
    DATE_COLUMNS,
    NUMERIC_COLUMNS,
    Bill,
    bad_date,
    date_format,
    dbr_or_copy,
    first_line,
    header_kind,
)


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


def _parse_csv(name: str, stream: IO[bytes]) -> pd.DataFrame:
    try:
        return pd.read_csv(stream, dtype=str, keep_default_na=False, na_filter=False,
                           encoding="utf-8-sig", skipinitialspace=False)
    except pd.errors.EmptyDataError:
        raise BillError(f"{name}: the file is empty") from None
    except pd.errors.ParserError as err:
        raise BillError(f"{name}: not a well-formed CSV file ({first_line(err)})") from None
    except UnicodeDecodeError:
        raise BillError(f"{name}: not a billing file (not UTF-8 text)") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as err:
        raise BillError(f"{name}: the zip is corrupt or truncated ({first_line(err)})") from None
    except csv.Error as err:
        raise BillError(f"{name}: not a well-formed CSV file ({first_line(err)})") from None


def _kind(name: str, table: pd.DataFrame) -> tuple[str, str]:
    kind, cost_column = header_kind(name, list(table.columns))
    if kind is None:
        kind = dbr_or_copy(set(table["RecordType"].unique()),
                           lambda: "RecordId" in table.columns
                           and bool((table["RecordId"] == "AWS").any()))
    return kind, cost_column


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
        fmt = date_format(nonblank.iloc[0] if not nonblank.empty else "")
    values = pd.to_datetime(text.where(text != ""), format=fmt, errors="coerce", utc=True)
    bad = (values.isna() & (text != "")).to_numpy()
    if bad.any():
        at = int(np.flatnonzero(bad)[0])
        raise BillError(bad_date(name, rows[at], column, text.iloc[at]))
    return values.astype("datetime64[ns, UTC]")


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
