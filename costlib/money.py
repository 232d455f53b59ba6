"""Exact money: amounts are summed as whole numbers of 1e-10 dollars, never as drifting floats.

Costs in the files carry 8 decimals and tiny ones such as ``1.92e-08`` carry 10, so an integer
count of 1e-10 dollars holds every one of them exactly; a month of a $900 million account still
fits in an ``int64``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np

UNIT = 10**10  #: units per dollar


def units(amounts) -> np.ndarray:
    """Dollar amounts (floats as read from the file) as exact ``int64`` units of 1e-10 dollars."""
    return np.rint(np.asarray(amounts, dtype="float64") * UNIT).astype(np.int64)


def dollars(amount_units: int) -> float:
    """Units back to dollars: the float nearest the exact sum."""
    return int(amount_units) / UNIT


def exact(amount_units: int) -> Decimal:
    """Units as an exact ``Decimal`` of dollars."""
    return Decimal(int(amount_units)).scaleb(-10)


def cents(amount_units: int) -> int:
    """Units rounded to whole cents, halves away from zero (as invoices round)."""
    return int(exact(amount_units).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).scaleb(2))


def usd(amount: float, *, sign: bool = False) -> str:
    """``1234.5`` -> ``'$1,234.50'`` (``'-$3.00'`` for negatives; ``'+$3.00'`` with ``sign``)."""
    text = f"${abs(amount):,.2f}"
    if round(amount, 2) < 0:
        return "-" + text
    return ("+" + text) if sign else text
