"""What a billing file looks like: its record types, columns and kinds, told from the header
and the rows, how its dates are written, and the :class:`Bill` that reading it gives. No
pandas here, so that reading can start before pandas is imported."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .errors import BillError

if TYPE_CHECKING:
    import pandas as pd

#: The tag naming who spent: AWS writes the ``Owner`` cost-allocation tag as ``user:Owner``.
DEFAULT_TAG = "user:Owner"

#: Rows that state totals instead of charging anything; summing them counts the bill twice.
CONTROL_RECORD_TYPES = frozenset(
    {"AccountTotal", "Rounding", "InvoiceTotal", "StatementTotal", "CBRounding",
     "EstimatedDisclaimer"}
)
#: Record types that only a CloudCheckr-style copy of the detailed bill uses.
CLOUDCHECKR_RECORD_TYPES = frozenset({"Usage", "DiscountedUsage", "Tax"})

#: Dates are read from 1970 up to, not including, 2200: a date outside is a bad date.
FIRST_YEAR, END_YEAR = 1970, 2200

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


def header_kind(name: str, columns: list[str]) -> tuple[str | None, str]:
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


def printable(text: str) -> str:
    r"""``text`` safe to print on a line of its own: control characters (line ends, ESC, ...)
    written as escapes, so that a tag value cannot forge lines or colour a terminal.

    >>> print(printable("bob\n\x1b[31mtotal"))
    bob\n\x1b[31mtotal
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def first_line(err: BaseException) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


@dataclass(frozen=True, eq=False)
class Bill:
    """A month's billing file: the charge rows, the control rows, and what the file says of itself.

    ``items`` holds every charge row (the ones that cost money), ``controls`` the total and
    rounding rows. Ids are strings, costs floats, dates UTC ``datetime64`` (``NaT`` when blank),
    tag values strings (``""`` when the resource has no such tag). ``units`` and
    ``control_units`` hold the cost column of each in exact units of 1e-10 dollars
    (:mod:`costlib.money`), which every sum is made from.
    """

    items: pd.DataFrame
    controls: pd.DataFrame
    name: str
    account: str | None
    month: str | None
    kind: str
    invoice_id: str | None
    cost_column: str
    units: np.ndarray | None = None
    control_units: np.ndarray | None = None

    @property
    def cost_units(self) -> np.ndarray:
        """The charge rows' cost in exact units: ``units``, while they still agree with the
        cost column (a table filtered or reordered since reading falls back to its floats)."""
        return _exact(self.units, self.items[self.cost_column].to_numpy("float64"))

    @property
    def control_cost_units(self) -> np.ndarray:
        """The total rows' cost in exact units (blank: 0)."""
        return _exact(self.control_units, self.controls[self.cost_column].to_numpy("float64"))

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


def _exact(units: np.ndarray | None, floats: np.ndarray) -> np.ndarray:
    from . import money

    floats = np.nan_to_num(floats, nan=0.0)
    if units is not None and len(units) == len(floats) and np.allclose(
            money.to_dollars(units), floats, rtol=1e-12, atol=1e-11):
        return units
    return money.units(floats)
