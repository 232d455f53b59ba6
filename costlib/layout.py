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

#: The days a "last 28 days" view covers: the per-user plot, the email's chart, grant pace.
PLOT_DAYS = 28

#: Dates are read from 1970 up to, not including, 2200: a date outside is a bad date.
FIRST_YEAR, END_YEAR = 1970, 2200

NUMERIC_COLUMNS = (
    "UsageQuantity", "BlendedRate", "BlendedCost", "UnBlendedRate", "UnBlendedCost", "Rate",
    "Cost", "CostBeforeTax", "Credits", "TaxAmount", "TotalCost", "NetUnblendedCost",
    "ListCost", "BilledCost", "EffectiveCost",
    # a CUR's reservation and Savings Plan columns (the amortized cost is made of them)
    "SavingsPlanEffectiveCost", "TotalCommitmentToDate", "UsedCommitment",
    "ReservationEffectiveCost", "UnusedAmortizedUpfrontFee", "UnusedRecurringFee",
)
DATE_COLUMNS = ("UsageStartDate", "UsageEndDate", "BillingPeriodStartDate",
                "BillingPeriodEndDate", "InvoiceDate")

KINDS = {
    "dbr": "native AWS detailed billing report",
    "cloudcheckr": "CloudCheckr-style copy of the detailed billing report",
    "single-account": "single-account detailed billing report (Rate/Cost)",
    "invoice-report": "monthly invoice report (aws-billing-csv)",
    "cur": "Cost and Usage Report (legacy CUR)",
    "cur2": "Cost and Usage Report 2.0 (Data Exports)",
    "focus": "FOCUS export",
}

#: The kinds of the detailed bill's family (what costlib.sample.make_bill writes).
DETAILED_KINDS = ("dbr", "cloudcheckr", "single-account", "invoice-report")

#: Each cost basis ``--cost`` names, and the column of the tidy table that holds it.
COST_COLUMNS = {
    "blended": "BlendedCost",
    "unblended": "UnBlendedCost",
    "net": "NetUnblendedCost",
    "list": "ListCost",
    "billed": "BilledCost",
    "effective": "EffectiveCost",
    "amortized": "AmortizedCost",
}

#: The amortized cost of a CUR row, by its line item type, as AWS documents it (Cost Explorer's
#: "amortized costs"; the CUR query library): the columns added up, ``-`` one taken away; no
#: columns is zero. Any other type costs its unblended cost, but for an RI's upfront ``Fee``
#: (a reservation ARN on it), which is zero: it is spread over the month's RI rows instead.
AMORTIZED_COST = {
    "SavingsPlanCoveredUsage": ("SavingsPlanEffectiveCost",),
    "SavingsPlanRecurringFee": ("TotalCommitmentToDate", "-UsedCommitment"),
    "SavingsPlanNegation": (),
    "SavingsPlanUpfrontFee": (),
    "DiscountedUsage": ("ReservationEffectiveCost",),
    "RIFee": ("UnusedAmortizedUpfrontFee", "UnusedRecurringFee"),
}
#: Where the amortized cost starts from, for the rows :data:`AMORTIZED_COST` leaves as they are.
AMORTIZED_BASE = "UnBlendedCost"


@dataclass(frozen=True)
class Format:
    """How one family of billing files names things, mapped onto the detailed bill's words.

    ``columns`` maps the tidy table's column (the DBR's name) to the file's own, in order of
    preference; ``costs`` the cost bases the family has (default first); tags are columns
    ``tag_prefix + key`` (snake-cased keys where ``snake``), or ``tag_text``, one column of
    every tag at once (FOCUS's JSON ``Tags``, CUR 2.0's ``resource_tags`` map).
    """

    kind: str
    columns: dict[str, tuple[str, ...]]
    costs: tuple[str, ...]
    tag_prefix: str = ""
    snake: bool = False
    tag_text: str | None = None
    zoned: bool = False  #: dates written with their zone (``2023-11-01T00:00:00.000Z``)
    nulls: tuple[str, ...] = ()  #: texts that mean "no value"

    def native(self, present: set[str]) -> dict[str, str]:
        """The tidy table's column -> the file's column, for the columns this file has."""
        found = {}
        for column, names in self.columns.items():
            name = next((n for n in names if n in present), None)
            if name is not None:
                found[column] = name
        return found

    def tag_of(self, column: str) -> str | None:
        """The tag a column of the file holds (``None``: not a tag column)."""
        if self.tag_prefix and column.startswith(self.tag_prefix):
            return column[len(self.tag_prefix):]
        return None


_CUR_COLUMNS = {
    "InvoiceID": "bill/InvoiceId", "PayerAccountId": "bill/PayerAccountId",
    "LinkedAccountId": "lineItem/UsageAccountId", "RecordType": "lineItem/LineItemType",
    "ProductName": ("product/ProductName", "lineItem/ProductCode"),
    "UsageStartDate": "lineItem/UsageStartDate", "UsageEndDate": "lineItem/UsageEndDate",
    "UsageQuantity": "lineItem/UsageAmount", "UsageType": "lineItem/UsageType",
    "ItemDescription": "lineItem/LineItemDescription", "ResourceId": "lineItem/ResourceId",
    "BlendedCost": "lineItem/BlendedCost", "UnBlendedCost": "lineItem/UnblendedCost",
    "NetUnblendedCost": "lineItem/NetUnblendedCost", "ListCost": "pricing/publicOnDemandCost",
    "BillingPeriodStartDate": "bill/BillingPeriodStartDate",
    "BillingPeriodEndDate": "bill/BillingPeriodEndDate",
    "SavingsPlanEffectiveCost": "savingsPlan/SavingsPlanEffectiveCost",
    "TotalCommitmentToDate": "savingsPlan/TotalCommitmentToDate",
    "UsedCommitment": "savingsPlan/UsedCommitment",
    "ReservationEffectiveCost": "reservation/EffectiveCost",
    "UnusedAmortizedUpfrontFee": "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
    "UnusedRecurringFee": "reservation/UnusedRecurringFee",
    "ReservationARN": "reservation/ReservationARN",
}


def tag_matches(column: str, tag: str) -> bool:
    """Whether a file's tag ``column`` holds the ``tag`` asked for: the same name, or the same
    once snake-cased (``user:Owner`` and ``user_owner``; a FOCUS key ``" org"`` and ``org``)."""
    return column == tag or snake(column) == snake(tag) != ""


def snake(name: str) -> str:
    """A CUR column or tag name as Athena and Parquet spell it: ``lineItem/UsageStartDate`` ->
    ``line_item_usage_start_date``, ``user:Cost Center`` -> ``user_cost_center``."""
    import re

    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def athena(name: str) -> str:
    """A CUR column as AWS's Parquet months and CUR 2.0 spell it: like :func:`snake`, but every
    capital starts a word (``reservation/ReservationARN`` -> ``reservation_reservation_a_r_n``)."""
    import re

    return re.sub(r"[^a-z0-9]+", "_", re.sub(r"([A-Z])", r"_\1", name).lower()).strip("_")


def _one(columns: dict) -> dict[str, tuple[str, ...]]:
    return {k: (v,) if isinstance(v, str) else tuple(v) for k, v in columns.items()}


_CUR_COSTS = ("unblended", "blended", "net", "amortized", "list")
CUR = Format("cur", _one(_CUR_COLUMNS), _CUR_COSTS, tag_prefix="resourceTags/", zoned=True)
CUR_SNAKE = Format(
    "cur", {k: tuple(dict.fromkeys(f(n) for n in v for f in (snake, athena)))
            for k, v in _one(_CUR_COLUMNS).items()},
    _CUR_COSTS, tag_prefix="resource_tags_", snake=True)
CUR2 = Format(
    "cur2", {**CUR_SNAKE.columns, "BillingPeriod": ("billing_period",)},
    _CUR_COSTS, tag_text="resource_tags", snake=True)
FOCUS = Format("focus", _one({
    "InvoiceID": "InvoiceId", "PayerAccountId": "BillingAccountId",
    "LinkedAccountId": "SubAccountId", "RecordType": "ChargeCategory",
    "ProductName": "ServiceName", "UsageStartDate": "ChargePeriodStart",
    "UsageEndDate": "ChargePeriodEnd", "UsageQuantity": "ConsumedQuantity",
    "Provider": ("ServiceProviderName", "ProviderName"), "BilledCost": "BilledCost",
    "EffectiveCost": "EffectiveCost", "ListCost": "ListCost",
    "BillingPeriodStartDate": "BillingPeriodStart", "BillingPeriodEndDate": "BillingPeriodEnd",
}), ("billed", "effective", "list"), tag_text="Tags", nulls=("NULL",))


def file_format(columns: list[str]) -> Format | None:
    """The newer format a header is written in; ``None`` for the detailed bill's family."""
    present = set(columns)
    if {"lineItem/UsageStartDate", "lineItem/UnblendedCost"} <= present:
        return CUR
    if {"line_item_usage_start_date", "line_item_unblended_cost"} <= present:
        return CUR2 if "resource_tags" in present else CUR_SNAKE
    if {"ChargePeriodStart", "BilledCost"} <= present:
        return FOCUS
    return None


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
    cost_basis: str = "blended"
    tag_columns: tuple[str, ...] | None = None

    @property
    def cost_units(self) -> np.ndarray:
        """The charge rows' cost in exact units: ``units``, while they still agree with the
        cost column (a table filtered or reordered since reading falls back to its floats)."""
        return _exact(self.units, self.column(self.cost_column))

    @property
    def control_cost_units(self) -> np.ndarray:
        """The total rows' cost in exact units (blank: 0)."""
        return _exact(self.control_units, self.control_column(self.cost_column))

    @property
    def columns(self) -> list[str]:
        """The names of the charge rows' columns (``items.columns``)."""
        return list(self.items.columns)

    def column(self, name: str) -> np.ndarray:
        """One column of the charge rows as numpy, what the answers compute on: text as
        ``object`` (``""`` when blank), numbers as ``float64``, dates as UTC
        ``datetime64[ns]`` (``NaT`` when blank)."""
        return numpy_column(self.items[name])

    def control_column(self, name: str) -> np.ndarray:
        """One column of the total rows, as :meth:`column` gives it."""
        return numpy_column(self.controls[name])

    @property
    def tags(self) -> list[str]:
        """The tag columns of this file (``user:...`` and ``aws:...``; a CUR Parquet's snake
        ``user_owner``; a FOCUS export's keys), in file order."""
        if self.tag_columns is not None:
            return list(self.tag_columns)
        return [c for c in self.columns if ":" in c]

    def tag_column(self, tag: str) -> str | None:
        """The column of this file that holds ``tag`` as a person writes it: ``user:Owner``
        finds ``user:Owner``, a CUR Parquet's ``user_owner``, a FOCUS key ``Owner``."""
        tags = self.tags
        if tag in tags:
            return tag
        found = [t for t in tags if tag_matches(t, tag)]
        if len(found) > 1:
            from .errors import OptionError

            raise OptionError(f"{self.name}: the tag {tag!r} matches {len(found)} tag columns "
                              f"({', '.join(found)}); name one exactly")
        return found[0] if found else None

    def only(self, column: str, value: str) -> Bill:
        """The bill with only the charge rows whose ``column`` is ``value`` (a FOCUS file's
        ``Provider``, an account), their exact units kept with them.

        >>> import costlib
        >>> bill = costlib.read(costlib.sample_path())
        >>> len(bill.only("LinkedAccountId", "012345678902").items)
        4471
        """
        from .errors import OptionError

        if column not in self.columns:
            raise OptionError(f"{self.name}: no {column} column to choose by")
        values = self.column(column)
        keep = values == value
        if not keep.any():
            found = ", ".join(sorted(set(values.tolist()) - {""})[:8]) or "none"
            raise OptionError(f"{self.name}: no charge rows with {column} {value!r} "
                              f"(found: {found})")
        return self._rows(keep)

    def _rows(self, keep: np.ndarray) -> Bill:
        """The bill with only the charge rows ``keep`` (a mask), their exact units kept."""
        import dataclasses

        return dataclasses.replace(self, items=self.items[keep].reset_index(drop=True),
                                   units=self.cost_units[keep])

    @property
    def closed(self) -> bool:
        """True once AWS has issued the invoice (the month's ``InvoiceID`` is a number)."""
        return bool(self.invoice_id) and self.invoice_id != "Estimated"

    def __repr__(self) -> str:
        invoice = self.invoice_id or "no invoice id"
        return (f"<Bill {os.path.basename(self.name)}: {self.kind}, {self.month}, "
                f"{len(self.items):,} charge rows, {len(self.controls)} control rows, "
                f"invoice {invoice}>")


def numpy_column(series: pd.Series) -> np.ndarray:
    """A pandas column as :meth:`Bill.column` gives it."""
    kind = series.dtype.kind
    if kind == "M":
        return series.to_numpy("datetime64[ns]")
    if kind in "fiub":
        return series.to_numpy("float64")
    return series.to_numpy(object)


def _exact(units: np.ndarray | None, floats: np.ndarray) -> np.ndarray:
    from . import money

    floats = np.nan_to_num(floats, nan=0.0)
    if units is not None and len(units) == len(floats) and np.allclose(
            money.to_dollars(units), floats, rtol=1e-12, atol=1e-11):
        return units
    return money.units(floats)
