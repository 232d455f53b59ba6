"""costlib: read AWS detailed billing files, check them against the invoice, watch the spend.

    >>> import costlib
    >>> bill = costlib.read(costlib.sample_path())
    >>> costlib.check_invoice(bill).matches
    True
    >>> costlib.spend(bill).users_add_up
    True

Reading gives one tidy table of charge rows (``bill.items``) with the total rows kept apart
(``bill.controls``); every question below is answered from that table.
"""

from .errors import BillError, BillNotFoundError, CostlibError, OptionError
from .files import bill_name, parse_name
from .invoice import InvoiceCheck, check_invoice
from .read import Bill, read, sample_path
from .report import Report, report
from .spend import (
    DEFAULT_TAG,
    LAMBDA_TAGS,
    UNTAGGED,
    Spend,
    blended_total,
    daily_spend,
    spend,
    spend_per_user,
)
from .stream import CondensedBill, read_condensed
from .timezones import PACIFIC, UTC

__all__ = [
    "Bill", "BillError", "BillNotFoundError", "CondensedBill", "CostlibError", "DEFAULT_TAG",
    "InvoiceCheck", "LAMBDA_TAGS", "OptionError", "PACIFIC", "Report", "Spend", "UNTAGGED", "UTC",
    "bill_name", "blended_total", "check_invoice", "daily_spend", "parse_name", "read",
    "read_condensed", "report", "sample_path", "spend", "spend_per_user",
]
