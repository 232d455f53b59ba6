"""What is unusual, not only what changed: a user's or a service's spend on the reported day
far above its own trailing baseline.

The rule, for each user (and each service) on the reported day ``d``:

* the baseline is its spend on each of the 28 days before ``d`` that the data cover ($0 on a
  covered day it spent nothing); with fewer than 7 such days there is no baseline and no flag;
* the day is unusual when its spend exceeds the baseline's median by more than
  ``max(4 x 1.4826 x MAD, floor)``: the MAD (median absolute deviation, scaled to a standard
  deviation for normal data) makes the margin robust to the spikes it looks for; the dollar
  ``floor`` (``unusual_floor`` in the configuration, $20 by default) keeps cents-a-day users
  quiet when they triple.

    >>> from costlib import money
    >>> base = [10 * money.UNIT] * 27 + [12 * money.UNIT]
    >>> is_unusual(150 * money.UNIT, base, 20 * money.UNIT)
    True
    >>> is_unusual(25 * money.UNIT, base, 20 * money.UNIT)
    False
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: Days of the baseline before the reported day, the fewest it needs, the margin in MADs.
BASELINE_DAYS = 28
MIN_BASELINE_DAYS = 7
MARGIN_MADS = 4.0
MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class Unusual:
    """One flagged spend: ``kind`` is ``user`` or ``service``; amounts in units."""

    kind: str
    name: str
    amount: int
    median: int
    days: int

    @property
    def excess(self) -> int:
        """Units above the baseline's median."""
        return self.amount - self.median


def margin(baseline: Sequence[int], floor: int) -> int:
    """Units above the median a day needs to be unusual: 4 robust SDs, at least ``floor``."""
    values = np.asarray(baseline, dtype=np.float64)
    mad = float(np.median(np.abs(values - np.median(values))))
    return max(int(MARGIN_MADS * MAD_TO_SD * mad), floor)


def is_unusual(amount: int, baseline: Sequence[int], floor: int) -> bool:
    """True when ``amount`` is above the median of ``baseline`` by more than :func:`margin`
    (never with fewer than 7 baseline days)."""
    if len(baseline) < MIN_BASELINE_DAYS:
        return False
    return amount - int(np.median(baseline)) > margin(baseline, floor)


def find_unusual(day: dt.date, covered: Sequence[dt.date],
                 by_kind: Mapping[str, Mapping[str, Mapping[dt.date, int]]],
                 floor: int) -> list[Unusual]:
    """Every user and service unusual on ``day``, largest excess first. ``covered`` are the
    days the data cover; ``by_kind`` maps ``user``/``service`` to name -> units per day."""
    first = day - dt.timedelta(days=BASELINE_DAYS)
    window = [d for d in covered if first <= d < day]
    found = []
    for kind, names in by_kind.items():
        for name, daily in names.items():
            amount = daily.get(day, 0)
            baseline = [daily.get(d, 0) for d in window]
            if amount > 0 and is_unusual(amount, baseline, floor):
                found.append(Unusual(kind, name, amount, int(np.median(baseline)),
                                     len(baseline)))
    return sorted(found, key=lambda u: (-u.excess, u.kind, u.name))


__all__ = ["Unusual", "find_unusual", "is_unusual", "margin"]
