"""costlib: read AWS detailed billing files, check them against the invoice, watch the spend.

    >>> import costlib
    >>> bill = costlib.read(costlib.sample_path())
    >>> costlib.check_invoice(bill).matches
    True
    >>> costlib.spend(bill).users_add_up
    True

Reading gives one tidy table of charge rows (``bill.items``) with the total rows kept apart
(``bill.controls``); every question below is answered from that table. ``read_condensed``
gives the same answers from a month of any size, in bounded memory.

pandas and matplotlib load where they are first used, not here, so that the ``costlib``
command and the Lambda start reading at once. The contest (``costlib.contest``) and the
morning email (``costlib.notify``) are subpackages of their own.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import BillError, BillNotFoundError, CostlibError, OptionError
from .files import bill_name, parse_name, sample_path
from .invoice import InvoiceCheck, check_invoice
from .layout import DEFAULT_TAG, Bill
from .reading import CondensedBill, read, read_condensed
from .reporting import Report, report
from .scanning import Scan, scan
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

if TYPE_CHECKING:
    import os

    import pandas as pd
    from matplotlib.axes import Axes

__version__ = "0.1.0"

__all__ = [
    # reading
    "Bill", "CondensedBill", "DEFAULT_TAG", "bill_name", "parse_name", "read", "read_condensed",
    "sample_path", "Scan", "scan",
    # questions
    "InvoiceCheck", "LAMBDA_TAGS", "PACIFIC", "Report", "Spend", "UNTAGGED", "UTC",
    "blended_total", "check_invoice", "daily_spend", "report", "spend", "spend_per_user",
    # plots
    "plot_daily", "save_plot",
    # errors
    "BillError", "BillNotFoundError", "CostlibError", "OptionError",
]


def plot_daily(data: Spend | pd.DataFrame, **options) -> Axes:
    """Daily spend per user, a line each: :func:`costlib.plot.plot_daily` (matplotlib loads
    on this first call)."""
    from .plot import plot_daily

    return plot_daily(data, **options)


def save_plot(data: Spend | pd.DataFrame, path: str | os.PathLike, **options) -> Path:
    """:func:`plot_daily` rendered to a PNG file: :func:`costlib.plot.save_plot`."""
    from .plot import save_plot

    return save_plot(data, path, **options)


def __getattr__(name: str):
    """``costlib.plot``, ``costlib.sample``, ...: a module of the package, imported on first
    use, as after ``import costlib.plot``."""
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'costlib' has no attribute {name!r}")
