"""Instants and days: the files speak UTC, people speak local days (23 or 25 hours at DST)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from .errors import OptionError
from .layout import END_YEAR, FIRST_YEAR

if TYPE_CHECKING:
    import pandas as pd

UTC = "UTC"
PACIFIC = "America/Los_Angeles"

When = str | dt.date | dt.datetime | np.datetime64  #: (a pandas Timestamp is a datetime)


def zone(name: str) -> ZoneInfo:
    """The named IANA zone, or one clear error for a name that is not one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, IsADirectoryError):
        # (IsADirectoryError: a region such as "Pacific" with some tzdata package versions)
        raise OptionError(f"unknown time zone {name!r} (use an IANA name such as "
                          f"{PACIFIC!r} or 'UTC')") from None


def instant(when: When, tz: str = UTC) -> np.datetime64:
    """An instant as UTC ``datetime64[ns]``; a date or naive time is read in ``tz``.

    >>> instant("2026-03-08", "America/Los_Angeles")
    np.datetime64('2026-03-08T08:00:00.000000000')
    >>> instant("2026-03-09", "America/Los_Angeles")   # PDT from 02:00 on the 8th
    np.datetime64('2026-03-09T07:00:00.000000000')
    """
    import pandas as pd

    here = zone(tz)  # (the zone itself, not its name: pandas 2.2 would read a name with pytz)
    try:
        stamp = pd.Timestamp(when)
    except (ValueError, TypeError):
        raise OptionError(f"not a date or time: {when!r} (use YYYY-MM-DD or "
                          "YYYY-MM-DD HH:MM)") from None
    if stamp is pd.NaT:
        raise OptionError(f"not a date or time: {when!r}")
    if not FIRST_YEAR <= stamp.year < END_YEAR:
        raise OptionError(f"{when!r} is out of range (dates from {FIRST_YEAR} to "
                          f"{END_YEAR - 1})")
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(here, ambiguous=True, nonexistent="shift_forward")
    return stamp.tz_convert(UTC).tz_localize(None).to_datetime64().astype("datetime64[ns]")


def local_time(t: When, tz: str) -> pd.Timestamp:
    """The instant ``t`` (a naive time is UTC, as in the files) on the clock of ``tz``.

    >>> local_time("2026-03-08 10:00", "America/Los_Angeles")
    Timestamp('2026-03-08 03:00:00-0700', tz='America/Los_Angeles')
    """
    import pandas as pd

    return pd.Timestamp(instant(t)).tz_localize(UTC).tz_convert(zone(tz))


def window(start: When | None, end: When | None, tz: str = UTC
           ) -> tuple[np.datetime64 | None, np.datetime64 | None]:
    """The half-open window ``[start, end)`` as UTC instants; ``None`` leaves a side open."""
    lo = None if start is None else instant(start, tz)
    hi = None if end is None else instant(end, tz)
    if lo is not None and hi is not None and hi <= lo:
        raise OptionError(f"the window ends ({end}) before it starts ({start})"
                          if hi < lo else f"the window is empty: start and end are both {start}")
    return lo, hi


def local_days(first: np.datetime64, last: np.datetime64, tz: str = UTC) -> np.ndarray:
    """The calendar days in ``tz`` from the one holding instant ``first`` to the one holding
    ``last``, as ``datetime64[D]``."""
    here = zone(tz)
    lo, hi = (_utc(t).astimezone(here).date() for t in (first, last))
    return np.arange(np.datetime64(lo, "D"), np.datetime64(hi, "D") + 1)


def day_starts(days: np.ndarray, tz: str = UTC) -> np.ndarray:
    """The UTC instant at which each local day begins, plus the end of the last one.

    In ``America/Los_Angeles`` consecutive starts are 24 hours apart except across the switch
    Sundays: 23 hours on the second Sunday of March, 25 on the first Sunday of November. A
    midnight that happens twice is the first; one that never happens (a switch at midnight)
    is the moment the day begins, just after the switch.
    """
    here = zone(tz)
    edges = np.append(days, days[-1] + 1) if len(days) else np.asarray(days, "datetime64[D]")
    # (a midnight skipped by a switch at midnight, with fold 0, reads with the offset from
    # before it: its UTC instant is the switch itself)
    starts = [dt.datetime.combine(day, dt.time(), here).astimezone(dt.UTC).replace(tzinfo=None)
              for day in edges.astype("datetime64[D]").tolist()]
    return np.array(starts, "datetime64[ns]")


def _utc(t: np.datetime64) -> dt.datetime:
    """An instant (``datetime64``, UTC) as an aware ``datetime``, to the second."""
    seconds = int(np.datetime64(t, "s").astype(np.int64))
    return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)


def day_index(times: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """For each UTC instant, the index of the local day holding it (``-1`` before the first,
    ``len(starts) - 1`` and beyond after the last)."""
    return np.searchsorted(starts, times, side="right") - 1
