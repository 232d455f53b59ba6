"""costlib: read AWS detailed billing files, check them against the invoice, watch the spend.

    >>> import costlib
    >>> bill = costlib.read(costlib.sample_path())
    >>> costlib.check_invoice(bill).matches
    True
    >>> costlib.spend(bill).users_add_up
    True

Reading gives one tidy table of charge rows (``bill.items``) with the total rows kept apart
(``bill.controls``); every question below is answered from that table.

The names below are loaded on first use, so that ``import costlib`` (and the ``costlib``
command) does not wait for pandas before it has something to do.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING

#: Where each public name lives.
_HOMES = {
    "errors": ("BillError", "BillNotFoundError", "CostlibError", "OptionError"),
    "files": ("bill_name", "parse_name", "sample_path"),
    "layout": ("Bill", "DEFAULT_TAG"),
    "invoice": ("InvoiceCheck", "check_invoice"),
    "reading": ("CondensedBill", "read", "read_condensed"),
    "reporting": ("Report", "report"),
    "spending": ("LAMBDA_TAGS", "UNTAGGED", "Spend", "blended_total", "daily_spend", "spend",
                 "spend_per_user"),
    "timezones": ("PACIFIC", "UTC"),
}
_HOME = {name: module for module, names in _HOMES.items() for name in names}

__all__ = sorted(_HOME)


def __getattr__(name: str):
    module = _HOME.get(name)
    if module is None:  # a module of the package (costlib.money) loads on first use too
        if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}"):
            return importlib.import_module(f".{name}", __name__)
        raise AttributeError(f"module 'costlib' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what editors and type checkers see
    from .errors import BillError, BillNotFoundError, CostlibError, OptionError
    from .files import bill_name, parse_name, sample_path
    from .invoice import InvoiceCheck, check_invoice
    from .layout import DEFAULT_TAG, Bill
    from .reading import CondensedBill, read, read_condensed
    from .reporting import Report, report
    from .spending import (
        LAMBDA_TAGS,
        UNTAGGED,
        Spend,
        blended_total,
        daily_spend,
        spend,
        spend_per_user,
    )
    from .timezones import PACIFIC, UTC
