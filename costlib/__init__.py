"""costlib: read AWS billing files, check them against the invoice, watch the spend.

    >>> import costlib
    >>> bill = costlib.read(costlib.sample_path())
    >>> costlib.check_invoice(bill).matches
    True
    >>> costlib.spend(bill).users_add_up
    True

Reading gives one tidy table of charge rows (``bill.items``) with the total rows kept apart
(``bill.controls``); every question below is answered from that table. ``read_condensed``
gives the same answers from a month of any size, in bounded memory.

Every public name is listed once, below, with the module it lives in; it loads on first use.
So ``import costlib`` costs nothing: the ``costlib`` command starts reading before pandas
loads, matplotlib loads with the first plot, and ``from costlib import contest`` (the hand-in
module, all that a by-hand contestant's sandbox holds) needs no other module. The contest
(``costlib.contest``) and the morning email (``costlib.notify``) are subpackages.
"""

from __future__ import annotations

import importlib
import importlib.util

__version__ = "0.1.0"

#: The public API: each name and the module of the package that holds it.
_API = {
    # reading
    "read": "reading", "read_condensed": "reading", "Bill": "layout",
    "CondensedBill": "reading", "DEFAULT_TAG": "layout", "sample_path": "files",
    "bill_name": "files", "parse_name": "files", "scan": "scanning", "Scan": "scanning",
    # questions
    "check_invoice": "invoice", "InvoiceCheck": "invoice", "spend": "spending",
    "Spend": "spending", "blended_total": "spending", "spend_per_user": "spending",
    "daily_spend": "spending", "LAMBDA_TAGS": "spending", "UNTAGGED": "spending",
    "report": "reporting", "Report": "reporting", "PACIFIC": "timezones", "UTC": "timezones",
    # plots
    "plot_daily": "plot", "save_plot": "plot",
    # errors
    "CostlibError": "errors", "BillError": "errors", "BillNotFoundError": "errors",
    "OptionError": "errors",
}

__all__ = sorted(_API)


def __getattr__(name: str):
    """A public name (loading its module), or a module of the package (``costlib.money``)."""
    module = _API.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f".{module}", __name__), name)
        globals()[name] = value
        return value
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'costlib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
