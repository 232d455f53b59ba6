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
# - Build, step by step, a NumPy rule for Pacific time (PST -8, PDT -7: from 2 a.m. on the
#   second Sunday of March to 2 a.m. on the first Sunday of November) and check it against
#   `zoneinfo`, hour by hour.
# - Find the 23- and 25-hour days and sum spend per Pacific day across a DST switch.
# - Get the same from `costlib.spend(bill, start=..., end=..., tz=...)`, and plot any 28-day
#   window per user in UTC days and in Pacific days, side by side.
#
# ## Prerequisites
#
# | Concept | Importance | Notes |
# | --- | --- | --- |
# | [Lesson 4: days with datetime64](04-days-with-datetime64.ipynb) | Necessary | binning, `np.add.at`, int units |
# | Time zones | Helpful | [`zoneinfo`](https://docs.python.org/3/library/zoneinfo.html) |
#
# **Time:** 30 minutes teaching, 15 minutes exercises.

# %% [markdown]
# ## Imports

# %% tags=["nbval-ignore-output"]
# %matplotlib inline
import csv
import datetime as dt
import io
import tempfile
import zipfile
from decimal import Decimal
from zoneinfo import ZoneInfo

import matplotlib.pyplot as plt
import numpy as np

import costlib
import costlib.plot
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
# **2 a.m. local on the second Sunday of March** to **2 a.m. local on the first Sunday of
# November**. We build that rule in four steps, for many years at once, and check each
# step on three years we can look up in a calendar.
#
# ### Step 1: the second Sunday of March
#
# The first Sunday of a month falls on one of its days 1 to 7, so the second Sunday is the
# first Sunday **on or after 8 March**. NumPy moves a day forward to the next Sunday (and
# leaves a Sunday where it is) with `np.busday_offset(day, 0, roll="forward",
# weekmask="Sun")`: "business days" that are Sundays only. Years become months
# (`datetime64[M]`, January), March is two months later, and its 8th is seven days after its
# 1st:

# %%
years = np.array(["2025", "2026", "2027"], dtype="datetime64[Y]")
january = years.astype("datetime64[M]")
march8 = (january + 2).astype("datetime64[D]") + 7
spring = np.busday_offset(march8, 0, roll="forward", weekmask="Sun")
for day in spring:
    assert day.astype(dt.date).weekday() == 6 and 8 <= day.astype(dt.date).day <= 14
spring

# %% [markdown]
# ### Step 2: the first Sunday of November
#
# The same move, from 1 November:

# %%
november1 = (january + 10).astype("datetime64[D]")
autumn = np.busday_offset(november1, 0, roll="forward", weekmask="Sun")
for day in autumn:
    assert day.astype(dt.date).weekday() == 6 and day.astype(dt.date).day <= 7
autumn

# %% [markdown]
# ### Step 3: 2 a.m. local, in UTC
#
# Our times are UTC, so the switches must be too. In March the clocks jump at 2 a.m.
# *standard* time, UTC-8: 2 + 8 = **10:00 UTC**. In November they fall back at 2 a.m.
# *daylight* time, UTC-7: 2 + 7 = **09:00 UTC**.

# %%
begins = spring + np.timedelta64(10, "h")
ends = autumn + np.timedelta64(9, "h")
for instant in (*begins, *ends):
    utc = instant.astype(dt.datetime).replace(tzinfo=dt.UTC)
    before = (utc - dt.timedelta(seconds=1)).astimezone(ZoneInfo(costlib.PACIFIC))
    assert before.utcoffset() != utc.astimezone(ZoneInfo(costlib.PACIFIC)).utcoffset()
begins, ends

# %% [markdown]
# The assert asks `zoneinfo` whether the offset really changes at each of these instants.
#
# ### Step 4: the rule, for any instant
#
# An instant is in daylight time when it falls between its own year's two switches,
# `begins <= t < ends` (half-open, like every window in this course). The function repeats
# steps 1 to 3 for each instant's year:

# %%
def pacific_offset(t):
    """Hours from UTC to Seattle time (-7 or -8) for UTC instants ``t`` (datetime64)."""
    t = np.asarray(t, dtype="datetime64[s]")
    january = t.astype("datetime64[Y]").astype("datetime64[M]")
    march8 = (january + 2).astype("datetime64[D]") + 7          # step 1
    november1 = (january + 10).astype("datetime64[D]")          # step 2
    begins = (np.busday_offset(march8, 0, roll="forward", weekmask="Sun")
              + np.timedelta64(10, "h"))                        # step 3: 2 a.m. PST
    ends = (np.busday_offset(november1, 0, roll="forward", weekmask="Sun")
            + np.timedelta64(9, "h"))                           # step 3: 2 a.m. PDT
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
# ## A 28-day plot for any window, in UTC and in Pacific days
#
# The contest's bonus asks for lesson 4's plot over a time window. Two parameters give the
# window, `[WINDOW_START, WINDOW_END)`; change them and rerun the cells below. Here: the 28
# days from 1 March, across the spring switch. The left plot bins the rows by UTC day, the
# right one by Seattle day (the window's two dates are then Seattle midnights).
#
# By hand first: one function bins rows into a (day, user) table for a window of days, given
# each row's day in the zone we want.

# %%
WINDOW_START = "2026-03-01"   # the first day shown
WINDOW_END = "2026-03-29"     # the day after the last one (end excluded): 28 days


def daily_by_user(row_days, start, end):
    """(days, users, table): int64 units per day of [start, end) and per user."""
    days = np.arange(np.datetime64(start, "D"), np.datetime64(end, "D"))
    names = np.unique(m_users)
    ok = ~np.isnat(row_days)
    slot = np.full(len(row_days), -1, dtype=np.int64)
    slot[ok] = (row_days[ok] - days[0]).astype(np.int64)
    inside = ok & (slot >= 0) & (slot < len(days))
    table = np.zeros((len(days), len(names)), dtype=np.int64)
    np.add.at(table, (slot[inside], np.searchsorted(names, m_users[inside])), m_units[inside])
    return days, names, table


utc_days_of_rows = m_starts.astype("datetime64[D]")
pacific_days_of_rows = (m_starts + pacific_offset(m_starts).astype("timedelta64[h]")
                        ).astype("datetime64[D]")
by_utc = daily_by_user(utc_days_of_rows, WINDOW_START, WINDOW_END)
by_pacific = daily_by_user(pacific_days_of_rows, WINDOW_START, WINDOW_END)
print(len(by_utc[0]), "days,", len(by_utc[1]), "users")

# %% [markdown]
# costlib takes the same two parameters, and `tz=` for Seattle days. Both tables must agree
# with ours, day by day and user by user:

# %%
in_utc = costlib.spend(m_bill, start=WINDOW_START, end=WINDOW_END)
in_pacific = costlib.spend(m_bill, start=WINDOW_START, end=WINDOW_END, tz=costlib.PACIFIC)
for (days, names, table), s in ((by_utc, in_utc), (by_pacific, in_pacific)):
    assert (s.days == days).all()
    for j, name in enumerate(names):
        assert (s.table[:-1, s.users.index(name)] == table[:, j]).all(), name
print("by hand and costlib agree, in UTC and in Pacific days")
print(f"window total: UTC days ${in_utc.total:,.2f}, Pacific days ${in_pacific.total:,.2f}")

# %% [markdown]
# The two totals differ: the Seattle window starts and ends eight or seven hours later than
# the UTC one. The month's first UTC hour also holds the reseller's custom charge and the
# taxes (dated 1 March 00:00 UTC): in UTC days they make a spike on the first day, in Seattle
# days they fall on 28 February, before this window. `plot_daily` draws each table on its own
# axes of one figure (each with its own y scale; a user has the same colour in both):

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(16, 5), layout="constrained")
costlib.plot.plot_daily(in_utc, ax=left, title=f"UTC days, {in_utc.label}")
costlib.plot.plot_daily(in_pacific, ax=right, title=f"Seattle days, {in_pacific.label}")
plt.show()

# %% [markdown]
# ## Exercises
#
# ### Exercise 1: November in Seattle
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
#
# ### Exercise 2: predict, then break step 3
#
# Suppose step 3 forgot the conversion and switched at 02:00 **UTC** (`np.timedelta64(2,
# "h")` in both places). **Predict** how many of the eleven years' hours the `zoneinfo`
# check would find wrong, then copy `pacific_offset` with that change and count.
#
# <details><summary>Solution</summary>
#
# ```python
# def wrong_offset(t):
#     t = np.asarray(t, dtype="datetime64[s]")
#     january = t.astype("datetime64[Y]").astype("datetime64[M]")
#     march8 = (january + 2).astype("datetime64[D]") + 7
#     november1 = (january + 10).astype("datetime64[D]")
#     begins = np.busday_offset(march8, 0, roll="forward", weekmask="Sun") + np.timedelta64(2, "h")
#     ends = np.busday_offset(november1, 0, roll="forward", weekmask="Sun") + np.timedelta64(2, "h")
#     return np.where((t >= begins) & (t < ends), -7, -8)
#
# (wrong_offset(hours) != theirs).sum()
# ```
# 165: each year the spring switch comes 8 hours early (02:00 instead of 10:00 UTC) and the
# autumn one 7 hours early (02:00 instead of 09:00), 15 hours a year over 11 years. The
# wrong hours are all on the switch Sundays, which is why a check of a few random dates would
# miss them and the hour-by-hour check does not.
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
#   any zone; `plot_daily(..., ax=...)` draws two of them side by side.

# %% [markdown]
# ## Check your understanding
#
# How many hours long is Sunday 1 November 2026 in Seattle? Count, with `pacific_offset`,
# the UTC hours whose Seattle day is that Sunday (hint: lesson 4's `astype("datetime64[D]")`
# and the `year` array above). Replace `...` and run both cells.
#
# <details><summary>Solution</summary>
#
# ```python
# seattle_days = (year + pacific_offset(year).astype("timedelta64[h]")).astype("datetime64[D]")
# hours_on_sunday = int((seattle_days == np.datetime64("2026-11-01")).sum())
# ```
# </details>

# %%
hours_on_sunday = ...   # a whole number of hours

# %%
sunday_utc = [dt.datetime(2026, 11, d, tzinfo=LA).astimezone(dt.UTC) for d in (1, 2)]
expected = (sunday_utc[1] - sunday_utc[0]) // dt.timedelta(hours=1)   # zoneinfo's answer
if hours_on_sunday is ...:
    print("not answered yet: replace ... above with your code, then run both cells")
else:
    assert hours_on_sunday == expected, (
        f"hours_on_sunday is {hours_on_sunday}: count the hours of `year` whose Seattle day "
        "(UTC hour + pacific_offset) is 2026-11-01")
    print("right:", hours_on_sunday, "hours: the clocks go back one hour that night")

# %% [markdown]
# ## What's next
#
# [Lesson 6](06-notebook-to-morning-email.ipynb): yesterday in Seattle, every morning, in an
# email.
