# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 5. Time windows and time zones
#
# The billing files speak UTC. The people who read the numbers live in Seattle, where a day
# begins at 08:00 UTC in winter and 07:00 UTC in summer.
#
# ## Overview
#
# **Questions**
# - How do we sum the spend between two times, without counting an hour twice?
# - What is a "day" in Seattle, in UTC?
# - Why are some days 23 or 25 hours long?
#
# **Objectives**
# - Select rows in a half-open window `[start, end)` given by two time parameters.
# - Convert UTC instants to Pacific time with a NumPy rule (PST -8, PDT -7) and check the
#   rule against `zoneinfo`, hour by hour.
# - Find the 23- and 25-hour days and sum spend per Pacific day across a DST switch.
# - Get the same from `costlib.spend(bill, start=..., end=..., tz=...)`.
#
# ## Prerequisites
#
# | Concept | Importance | Notes |
# | --- | --- | --- |
# | [Lesson 4: days with datetime64](04-days-with-datetime64.ipynb) | Necessary | binning, `np.add.at`, int units |
# | Time zones | Helpful | [`zoneinfo`](https://docs.python.org/3/library/zoneinfo.html) |
#
# **Time:** 25 minutes teaching, 15 minutes exercises.

# %% [markdown]
# ## Imports

# %%
import csv
import datetime as dt
import io
import tempfile
import zipfile
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np

import costlib
from costlib import sample

# %% [markdown]
# ## The rows as arrays (from lesson 4)
#
# One function gives the start times, the costs in exact units and the users of a file's
# charge rows.

# %%
UNIT = 10**10
UNTAGGED = "(untagged)"
TOTAL_ROWS = {"AccountTotal", "Rounding", "InvoiceTotal", "StatementTotal"}


def charge_arrays(path):
    """Start times (UTC datetime64[s]), costs (int64 units of 1e-10 $) and users of the
    charge rows of a .csv.zip billing file."""
    with zipfile.ZipFile(path) as archive:
        (member,) = archive.namelist()
        text = archive.read(member).decode("utf-8-sig")
    header, *rows = csv.reader(io.StringIO(text, newline=""))
    col = {name: i for i, name in enumerate(header)}
    rows = [r for r in rows if r[col["RecordType"]] not in TOTAL_ROWS]
    starts = np.array([r[col["UsageStartDate"]] or "NaT" for r in rows], dtype="datetime64[s]")
    units = np.array([int(Decimal(r[col["BlendedCost"]]) * UNIT) for r in rows], dtype=np.int64)
    owner = col.get("user:Owner")
    users = np.array([(r[owner] if owner is not None else "") or UNTAGGED for r in rows])
    return starts, units, users


path = costlib.sample_path()
starts, units, users = charge_arrays(path)
bill = costlib.read(path)
len(starts)

# %% [markdown]
# ## A window is two times, `[start, end)`
#
# A window has two parameters, a start and an end. The start is *in* and the end is *out*:
# a row counts when `start <= UsageStartDate < end`. Half-open windows tile: two windows
# that touch add up to the window that spans both, with no hour counted twice.

# %%
def in_window(start, end):
    start, end = np.datetime64(start, "s"), np.datetime64(end, "s")
    return (starts >= start) & (starts < end)   # NaT compares False: undated rows stay out


a, b, c = "2026-02-08 06:00", "2026-02-12 00:00", "2026-02-15 18:00"
first, second, both = (units[in_window(x, y)].sum() for x, y in ((a, b), (b, c), (a, c)))
print(f"[a, b) {first / UNIT:.2f} + [b, c) {second / UNIT:.2f} = [a, c) {both / UNIT:.2f}")
assert first + second == both

# %% [markdown]
# With an inclusive end (`<=`), the hour starting exactly at `b` is in both windows:

# %%
closed = (units[(starts >= np.datetime64(a)) & (starts <= np.datetime64(b))].sum()
          + units[(starts >= np.datetime64(b)) & (starts <= np.datetime64(c))].sum())
print(f"counted twice: {(closed - both) / UNIT:.2f} dollars")

# %% [markdown]
# costlib takes the same two parameters; dates or date-times, UTC unless you say otherwise:

# %%
s = costlib.spend(bill, start=a, end=c)
assert s.total_units == both
s.total, s.label

# %% [markdown]
# ## Seattle time: PST is UTC-8, PDT is UTC-7
#
# Seattle keeps standard time (PST, UTC-8) in winter and daylight time (PDT, UTC-7) from
# 02:00 on the **second Sunday of March** to 02:00 on the **first Sunday of November**. In
# UTC the switches happen at 10:00 and 09:00. NumPy can find those Sundays:
# `np.busday_offset(day, 0, roll="forward", weekmask="Sun")` is the first Sunday on or
# after `day`.

# %%
def pacific_offset(t):
    """Hours from UTC to Seattle time (-7 or -8) for UTC instants ``t`` (datetime64)."""
    t = np.asarray(t, dtype="datetime64[s]")
    month = t.astype("datetime64[Y]").astype("datetime64[M]")
    march8 = (month + 2).astype("datetime64[D]") + 7
    november1 = (month + 10).astype("datetime64[D]")
    begins = np.busday_offset(march8, 0, roll="forward", weekmask="Sun") + np.timedelta64(10, "h")
    ends = np.busday_offset(november1, 0, roll="forward", weekmask="Sun") + np.timedelta64(9, "h")
    return np.where((t >= begins) & (t < ends), -7, -8)


pacific_offset(np.array(["2026-03-08T09:00", "2026-03-08T10:00", "2026-11-01T08:00",
                         "2026-11-01T09:00"], dtype="datetime64[s]"))

# %% [markdown]
# ### Check the rule against `zoneinfo`
#
# `zoneinfo` carries the official time zone database. Our rule must agree with it for every
# hour: we check eleven years, about 96,000 hours.

# %%
LA = ZoneInfo("America/Los_Angeles")
hours = np.arange("2020-01-01T00", "2031-01-01T00", dtype="datetime64[h]")
ours = pacific_offset(hours)
theirs = np.array([dt.datetime.fromisoformat(f"{h}:00").replace(tzinfo=dt.UTC)
                   .astimezone(LA).utcoffset() // dt.timedelta(hours=1) for h in hours])
assert (ours == theirs).all()
print(f"{len(hours):,} hours agree")

# %% [markdown]
# ## Days of 23 and 25 hours
#
# Shift each UTC hour by its offset and bin into days, as in lesson 4: most Pacific days
# hold 24 UTC hours, the spring-forward Sunday 23, the fall-back Sunday 25.

# %%
year = np.arange("2026-01-01T08", "2027-01-01T08", dtype="datetime64[h]")
local_days = (year + pacific_offset(year).astype("timedelta64[h]")).astype("datetime64[D]")
day, count = np.unique(local_days, return_counts=True)
for d, n in zip(day[count != 24], count[count != 24], strict=True):
    print(d, n, "hours")

# %% [markdown]
# ## Spend per Pacific day, across a switch
#
# The March 2026 sample (a CloudCheckr copy) crosses the 8 March switch. We bin each row by
# the Pacific day of its start, with our rule.

# %%
scratch = tempfile.TemporaryDirectory()  # removed when the kernel stops
(march,) = [p for p in sample.write_samples(scratch.name) if "tags-2026-03" in p.name]
m_starts, m_units, m_users = charge_arrays(march)
m_dated = ~np.isnat(m_starts)
offset = pacific_offset(m_starts[m_dated]).astype("timedelta64[h]")
m_days = (m_starts[m_dated] + offset).astype("datetime64[D]")
p_days = np.arange(m_days.min(), m_days.max() + 1)
pacific = np.zeros(len(p_days), dtype=np.int64)
np.add.at(pacific, (m_days - p_days[0]).astype(np.int64), m_units[m_dated])
print(p_days[0], "..", p_days[-1])
for i in (0, 1, 7, 8, 9):
    print(p_days[i], f"{pacific[i] / UNIT:9.2f}")

# %% [markdown]
# The first Pacific day is 28 February: the month's first UTC hours are still the evening
# before in Seattle, and the custom charge and taxes, dated 1 March 00:00 UTC, land there.
# The switch day, 8 March, holds 23 hours of spend.
#
# A fixed UTC-8, right in winter, moves one hour into the wrong day every day after the switch:

# %%
fixed = (m_starts[m_dated] - np.timedelta64(8, "h")).astype("datetime64[D]")
wrong = np.zeros(len(p_days), dtype=np.int64)
np.add.at(wrong, (fixed - p_days[0]).astype(np.int64), m_units[m_dated])
moved = p_days[wrong != pacific]
print("days with a wrong total under a fixed UTC-8:", len(moved), "from", moved[0])

# %% [markdown]
# ## The same with costlib: `tz=`
#
# `tz` sets the zone of the days (and of `start`/`end`); costlib uses `zoneinfo`.

# %%
m_bill = costlib.read(march)
local = costlib.spend(m_bill, tz=costlib.PACIFIC)
assert (local.days == p_days).all()
assert (local.table[:-1].sum(axis=1) == pacific).all()
print("by hand and costlib agree on every Pacific day")
local.daily.sum(axis=1).round(2).loc["2026-03-06":"2026-03-10"]

# %% [markdown]
# A window in Pacific time: the whole of 8 March in Seattle is 23 hours long in UTC.

# %%
sunday = costlib.spend(m_bill, start="2026-03-08", end="2026-03-09", tz=costlib.PACIFIC)
start_utc = dt.datetime(2026, 3, 8, tzinfo=LA).astimezone(dt.UTC)
end_utc = dt.datetime(2026, 3, 9, tzinfo=LA).astimezone(dt.UTC)
print(start_utc, "->", end_utc, "=", end_utc - start_utc)
by_hand = m_units[(m_starts >= np.datetime64(start_utc.replace(tzinfo=None)))
                  & (m_starts < np.datetime64(end_utc.replace(tzinfo=None)))].sum()
assert sunday.total_units == by_hand
sunday.total

# %% [markdown]
# ## Exercise
#
# The November 2026 sample is an open month that crosses the end of daylight time on
# 1 November. Sum its spend per Pacific day with `pacific_offset`, check it against
# `costlib.spend(..., tz=costlib.PACIFIC)`, and find the 25-hour day.
#
# <details><summary>Solution</summary>
#
# ```python
# (nov,) = [p for p in sample.write_samples(scratch.name) if "tags-2026-11" in p.name]
# n_starts, n_units, _ = charge_arrays(nov)
# ok = ~np.isnat(n_starts)
# shift = pacific_offset(n_starts[ok]).astype("timedelta64[h]")
# n_days = (n_starts[ok] + shift).astype("datetime64[D]")
# first_day = n_days.min()
# per_day = np.zeros(int((n_days.max() - first_day).astype(int)) + 1, dtype=np.int64)
# np.add.at(per_day, (n_days - first_day).astype(np.int64), n_units[ok])
# s = costlib.spend(costlib.read(nov), tz=costlib.PACIFIC)
# assert (s.table[:-1].sum(axis=1) == per_day).all()
# ```
# The 25-hour day is Sunday 1 November.
# </details>

# %% [markdown]
# ## Key points
#
# - A window is two parameters, `[start, end)`: start in, end out; windows that touch add up.
# - Seattle is UTC-8 (PST) in winter and UTC-7 (PDT) from the second Sunday of March to the
#   first Sunday of November; check any hand-made rule against `zoneinfo`.
# - Pacific days have 23 or 25 hours on the switch Sundays; a fixed offset is wrong for
#   half the year.
# - `costlib.spend(bill, start=..., end=..., tz=costlib.PACIFIC)` does windows and days in
#   any zone.

# %% [markdown]
# ## Check your understanding

# %%
assert first + second == both and closed > both
assert sorted(count[count != 24].tolist()) == [23, 25]
assert local.total_units == m_units.sum()
print("all checks pass")

# %% [markdown]
# ## What's next
#
# [Lesson 6](06-notebook-to-morning-email.ipynb): yesterday in Seattle, every morning, in an
# email.
