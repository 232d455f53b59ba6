"""Exact money: amounts are whole numbers of 1e-10 dollars, summed without drift or overflow.

Costs in the files carry 8 decimals and tiny ones such as ``1.92e-08`` carry 10, so an integer
count of 1e-10 dollars ("units") holds every one of them exactly. Arrays of units are ``int64``
while every amount fits one (up to $922 million a row), else ``object`` arrays of Python ints;
sums go through :func:`total` and :func:`sum_by`, which never wrap: they add in ``int64`` when
the amounts cannot overflow it and in Python ints when they could.

    >>> total(units([0.1, 0.2]))            # 0.1 + 0.2 is 0.3 here, not 0.30000000000000004
    3000000000
    >>> dollars(total(np.array([9 * 10**18, 9 * 10**18])))   # past int64: still exact
    1800000000.0
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

import numpy as np

from .errors import OptionError

UNIT = 10**10  #: units per dollar
#: Below this many dollars a float read from a decimal text converts to units exactly
#: (``rint(x * 1e10)`` is then within a quarter unit of the decimal's exact units).
EXACT_FLOAT_DOLLARS = 1e5
#: A sum of int64 amounts whose absolute values add up to less than this cannot overflow.
_SAFE = 2.0**62


def units(amounts) -> np.ndarray:
    """Dollar amounts (floats, ints or Decimals) as units of 1e-10 dollars, rounded to the unit.

    Floats under :data:`EXACT_FLOAT_DOLLARS` come from decimal text with at most 10 decimals
    and convert exactly; larger ones are taken for the decimal they print as. Decimals and ints
    convert exactly at any size (an ``object`` array once past ``int64``).
    """
    values = np.asarray(amounts)
    if values.dtype.kind in "iu" and (not values.size or np.abs(values).max() < 9 * 10**8):
        return values.astype(np.int64) * UNIT
    if values.dtype.kind == "f" and (not values.size or np.nanmax(np.abs(values))
                                     < EXACT_FLOAT_DOLLARS):
        return np.rint(values * UNIT).astype(np.int64)
    return exact_units([of_decimal(Decimal(repr(float(v))) if isinstance(v, float | np.floating)
                                   else Decimal(v)) for v in values.ravel()])


def of_decimal(amount: Decimal | str) -> int:
    """One amount of dollars, written as decimal text or a ``Decimal``, in units, exactly
    (beyond 10 decimals rounded half to even); :class:`~costlib.OptionError` when it is not a
    finite number."""
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        raise OptionError(f"not a number: {amount!r}") from None
    if not value.is_finite():
        raise OptionError(f"not a finite number: {amount!r}")
    return int(value.scaleb(10).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def exact_units(values) -> np.ndarray:
    """Python ints as an ``int64`` array when all fit, else an ``object`` array."""
    values = list(values)
    if all(-(2**63) < v < 2**63 for v in values):
        return np.array(values, dtype=np.int64)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def total(amounts: np.ndarray) -> int:
    """The exact sum of an array of units, as a Python int."""
    amounts = np.asarray(amounts)
    if amounts.dtype == object:
        return int(sum(int(v) for v in amounts.ravel()))
    if not amounts.size:
        return 0
    if float(np.abs(amounts.astype(np.float64)).sum()) < _SAFE:
        return int(amounts.sum())
    high, low = np.divmod(amounts.astype(np.int64), 2**32)  # each sum fits (< 2**31 rows)
    return (int(high.sum()) << 32) + int(low.sum())


def sum_by(index, amounts: np.ndarray, shape) -> np.ndarray:
    """``out[index[i]] += amounts[i]`` for an array of ``shape``, exactly: ``int64`` when no
    sum can overflow it, else ``object`` (Python ints). ``index`` is what ``np.add.at`` takes."""
    amounts = np.asarray(amounts)
    if amounts.dtype != object and (not amounts.size or float(
            np.abs(amounts.astype(np.float64)).sum()) < _SAFE):
        out = np.zeros(shape, np.int64)
        np.add.at(out, index, amounts)
        return out
    out = np.zeros(shape, dtype=object)
    out[...] = 0
    np.add.at(out, index, amounts.astype(object))
    return fit(out)


def fit(amounts: np.ndarray) -> np.ndarray:
    """Units as ``int64`` when every value fits, else left as Python ints."""
    if amounts.dtype != object:
        return amounts
    flat = amounts.ravel()
    if all(-(2**63) < int(v) < 2**63 for v in flat):
        return np.array([int(v) for v in flat], dtype=np.int64).reshape(amounts.shape)
    return amounts


def concat(arrays: list[np.ndarray]) -> np.ndarray:
    """Arrays of units one after the other: ``int64``, or Python ints if any array holds
    them (and some do not fit ``int64``)."""
    if not arrays:
        return np.zeros(0, np.int64)
    if any(np.asarray(a).dtype == object for a in arrays):
        return fit(np.concatenate([np.asarray(a, dtype=object) for a in arrays]))
    return np.concatenate([np.asarray(a, np.int64) for a in arrays])


def dollars(amount_units: int) -> float:
    """Units back to dollars: the float nearest the exact sum."""
    return int(amount_units) / UNIT


def to_dollars(amounts: np.ndarray) -> np.ndarray:
    """An array of units as float dollars (each the float nearest its exact value)."""
    amounts = np.asarray(amounts)
    if amounts.dtype == object or (amounts.size and np.abs(amounts).max() >= 2**53):
        flat = [int(v) / UNIT for v in amounts.ravel()]
        return np.array(flat, dtype=np.float64).reshape(amounts.shape)
    return amounts / UNIT


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
