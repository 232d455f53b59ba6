# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 4. Days with `numpy.datetime64`
#
# Each charge row covers one hour (or more) of one resource. Adding the hours of each day
# gives the daily spend, the series people actually watch.
#
# ## Overview
#
# **Questions**
# - How do we turn hourly rows into daily sums?
# - Which of the two dates of a row decides its day?
# - How do we plot the last 28 days per user?
#
# **Objectives**
# - Parse the dates of a billing file into `numpy.datetime64` and bin them into days.
# - Sum costs per day exactly, as whole numbers, with `numpy.add.at`.
# - Explain the `UsageEndDate` trap and show what it moves.
# - Build a zero-filled 28-day table of users by days, plot it, and check it against
#   `costlib.spend(...).daily` and `costlib.plot.plot_daily`.
#
# ## Prerequisites
#
# | Concept | Importance | Notes |
# | --- | --- | --- |
# | [Lesson 3: spend per user](03-spend-per-user.ipynb) | Necessary | users, untagged |
# | NumPy arrays | Necessary | [NumPy: datetimes and timedeltas](https://numpy.org/doc/stable/reference/arrays.datetime.html) |
# | Matplotlib | Helpful | `plt.subplots`, `ax.plot` |
#
# **Time:** 25 minutes teaching, 10 minutes exercises.

# %% [markdown]
# ## Imports

# %% tags=["nbval-ignore-output"]
# %matplotlib inline
import csv
import io
import zipfile
from decimal import Decimal

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import colors, dates

import costlib
import costlib.plot
from costlib.plot import DollarFormatter, line_style

# %% [markdown]
# ## The charge rows (from lessons 1 to 3)

# %%
def read_rows(path):
    """The header and the data rows of a .csv.zip billing file."""
    with zipfile.ZipFile(path) as archive:
        (member,) = archive.namelist()
        text = archive.read(member).decode("utf-8-sig")
    records = list(csv.reader(io.StringIO(text, newline="")))
    return records[0], records[1:]


TOTAL_ROWS = {"AccountTotal", "Rounding", "InvoiceTotal", "StatementTotal"}
UNTAGGED = "(untagged)"
path = costlib.sample_path()
header, rows = read_rows(path)
col = {name: i for i, name in enumerate(header)}
charges = [row for row in rows if row[col["RecordType"]] not in TOTAL_ROWS]
len(charges)

# %% [markdown]
# ## Dates as `datetime64`
#
# The dates are text, `YYYY-MM-DD HH:MM:SS`, always UTC. NumPy reads them into
# `datetime64[s]` (seconds); a blank date becomes `NaT`, "not a time", like the research
# credit's.

# %%
starts = np.array([row[col["UsageStartDate"]] or "NaT" for row in charges],
                  dtype="datetime64[s]")
ends = np.array([row[col["UsageEndDate"]] or "NaT" for row in charges], dtype="datetime64[s]")
dated = ~np.isnat(starts)
print(starts[:3])
print("undated rows:", (~dated).sum())
print("first and last hour:", starts[dated].min(), starts[dated].max())

# %% [markdown]
# The first hour is on 31 January: a February file can hold usage that starts in the last
# hour of the previous month. Rows come in no time order.
#
# Converting to `datetime64[D]` drops the time of day: that is the binning into days.
# Subtracting two dates gives a `timedelta64`.

# %%
days = starts.astype("datetime64[D]")
print(starts[0], "->", days[0])
print("one row lasts", (ends - starts)[0], "=", (ends - starts)[0].astype("timedelta64[h]"))

# %% [markdown]
# ## Exact sums with whole numbers (`numpy.add.at`)
#
# NumPy cannot add `Decimal`s quickly, but it adds integers exactly. Every cost is a whole
# number of 1e-10 dollars (8 decimals, 10 for the tiniest), so we convert once, through
# `Decimal`, and add `int64`s from then on:

# %%
UNIT = 10**10  # 1e-10 dollars
units = np.array([int(Decimal(row[col["BlendedCost"]]) * UNIT) for row in charges],
                 dtype=np.int64)
assert Decimal(int(units.sum())) / UNIT == sum(Decimal(row[col["BlendedCost"]])
                                               for row in charges)
units[:3]

# %% [markdown]
# ## The 28-day series, zero-filled
#
# The plot shows the 28 days that end with the last day holding data. A day without spend
# must still be there, as a zero: `np.arange` makes every day, and `np.add.at` adds each row
# into its day's slot.

# %%
last = days[dated].max()
window_days = np.arange(last - 27, last + 1)
slot = (days - window_days[0]).astype(np.int64)   # the day's position in the window
inside = dated & (slot >= 0) & (slot < len(window_days))
per_day = np.zeros(len(window_days), dtype=np.int64)
np.add.at(per_day, slot[inside], units[inside])
print(window_days[0], "..", window_days[-1], f"{len(window_days)} days")
print(np.round(per_day[:7] / UNIT, 2))

# %% [markdown]
# ## The `UsageEndDate` trap
#
# An hour runs from its start to its end, `[start, end)`: the 23:00 hour ends at 00:00 on
# the *next* day. Binned by `UsageEndDate` (what the original Lambda did), each day loses its
# last hour to the next day, the month's first day gains the 31 January hour, and the
# month's last hour falls off the end:

# %%
end_days = ends.astype("datetime64[D]")
end_slot = (end_days - window_days[0]).astype(np.int64)
end_inside = dated & (end_slot >= 0) & (end_slot < len(window_days))
by_end = np.zeros(len(window_days), dtype=np.int64)
np.add.at(by_end, end_slot[end_inside], units[end_inside])
for i in (0, 1, 26, 27):
    print(window_days[i], f"by start {per_day[i] / UNIT:8.2f}   by end {by_end[i] / UNIT:8.2f}")

# %% [markdown]
# Attribute cost by `UsageStartDate`.
#
# ## Users by days
#
# The same binning, in two dimensions: one row per day, one column per user.

# %%
owners = np.array([row[col["user:Owner"]] or UNTAGGED for row in charges])
users, user_slot = np.unique(owners, return_inverse=True)
table = np.zeros((len(window_days), len(users)), dtype=np.int64)
np.add.at(table, (slot[inside], user_slot[inside]), units[inside])
assert (table.sum(axis=1) == per_day).all()
print(users.tolist())
print(np.round(table[:3] / UNIT, 2))

# %% [markdown]
# ## Plot the 28 days per user (`matplotlib`)
#
# One line per user, days on the x axis, drawn the way costlib's `plot_daily` draws them, so
# that the two plots of this lesson look the same:
#
# - **order**: the biggest spender first, untagged spend last (as `"untagged"`);
# - **colours**: a user's colour comes from its name, not its rank, so bob has the same colour
#   in every plot, whoever else is in it; `costlib.plot.line_style(names)` gives each line's
#   colour, line style and marker (untagged spend is a grey dotted line);
# - **labels**: each user's window total in the legend, dollars on the y axis, the zone in
#   the x label, and the x axis ending half a day after the last day.

# %%
totals = table.sum(axis=0)
order = sorted(range(len(users)), key=lambda j: (users[j] == UNTAGGED, -totals[j]))
names = ["untagged" if users[j] == UNTAGGED else str(users[j]) for j in order]
[(name, style["color"]) for name, style in zip(names, line_style(names), strict=True)]

# %% [markdown]
# The cell that draws ends with `plt.show()`.

# %%
fig, hand = plt.subplots(figsize=(10, 5), layout="constrained")
for j, name, style in zip(order, names, line_style(names), strict=True):
    hand.plot(window_days, table[:, j] / UNIT, label=name, markersize=4, linewidth=1.6, **style)
hand.legend([f"{name}  {DollarFormatter.text(totals[j] / UNIT, 2)}"
             for j, name in zip(order, names, strict=True)],
            title="user: window total", loc="upper left", bbox_to_anchor=(1.01, 1),
            frameon=False, fontsize=9, title_fontsize=9, alignment="left")
hand.set_xticks(window_days[::3])
hand.xaxis.set_major_formatter(dates.DateFormatter("%b %d"))
half = np.timedelta64(12, "h")
hand.set_xlim(window_days[0] - half, window_days[-1] + half)
hand.yaxis.set_major_formatter(DollarFormatter())
hand.set_ylim(bottom=0)
hand.set_xlabel("day (UTC)")
hand.set_ylabel("spend per day (USD)")
hand.grid(True, axis="y", alpha=0.3)
hand.grid(True, axis="x", alpha=0.15)
hand.set_title(f"Daily spend per user, {window_days[0]} .. {window_days[-1]} (UTC)",
               fontsize=11, loc="left")
plt.show()

# %% [markdown]
# bob's batch job shows as a two-day spike around the 17th, and o'brien's ensemble run as a
# plateau from the 9th to the 20th: the plot answers "whose spend jumped on which day".
#
# ## The same with costlib: `spend(...).daily` and `plot_daily`
#
# `costlib.spend` takes the window as two times, `start` and `end` (end excluded: lesson 5);
# `.daily` is a pandas table of days by users, zero-filled, and `.table` holds the same in
# exact `int64` units, with one more row for undated spend.

# %%
bill = costlib.read(path)
s = costlib.spend(bill, start=str(window_days[0]), end=str(window_days[-1] + 1))
s.daily.round(2).head(3)

# %%
assert (s.days == window_days).all()
for j, user in enumerate(users):
    assert (s.table[:-1, s.users.index(user)] == table[:, j]).all(), user
print("by hand and costlib agree, to 1e-10 dollars, every day and user")

# %% [markdown]
# `costlib.plot.plot_daily` draws the same lines (the top users, the rest folded into
# "other", untagged spend dotted) and returns the `Axes`, so you can add to it:

# %%
ax = costlib.plot.plot_daily(s, top=6)
plt.show()

# %% [markdown]
# Same lines, same order, same colours, same legend and axis labels: the check.

# %%
def drawn(axes):
    """Each line's label, colour, style and marker, in the order drawn."""
    return [(line.get_label(), colors.to_hex(line.get_color()), line.get_linestyle(),
             line.get_marker()) for line in axes.get_lines()]


assert drawn(hand) == drawn(ax)
for mine, theirs in zip(hand.get_lines(), ax.get_lines(), strict=True):
    assert np.allclose(mine.get_ydata(), theirs.get_ydata(), rtol=0, atol=1e-9)
legend_texts = [[t.get_text() for t in a.get_legend().get_texts()] for a in (hand, ax)]
assert legend_texts[0] == legend_texts[1]
assert (hand.get_xlabel(), hand.get_ylabel()) == (ax.get_xlabel(), ax.get_ylabel())
assert hand.get_xlim() == ax.get_xlim()
print("the hand plot and plot_daily agree:", ", ".join(names))

# %% [markdown]
# ## Exercises
#
# ### Exercise 1: the whole file
#
# Plot the whole file by day instead: all the days from the first to the last hour. How many
# days is that, and why one more than February has?
#
# <details><summary>Solution</summary>
#
# ```python
# whole = costlib.spend(bill)          # no window: every dated row
# print(len(whole.days), whole.days[0], whole.days[-1])   # 29 days: 31 January is one
# costlib.plot.plot_daily(whole)
# plt.show()
# ```
# </details>
#
# ### Exercise 2: predict, then break `np.add.at`
#
# Why `np.add.at(per_day, slot[inside], units[inside])` and not the shorter
# `per_day[slot[inside]] += units[inside]`? **Predict** what the shorter line gives for the
# month's total (the same? a bit less? much less?), then run it on a fresh array of zeros and
# compare with `per_day.sum()`.
#
# <details><summary>Solution</summary>
#
# ```python
# short = np.zeros(len(window_days), dtype=np.int64)
# short[slot[inside]] += units[inside]
# print(short.sum() / UNIT, "instead of", per_day.sum() / UNIT)
# ```
# Much less. `a[idx] += v` reads `a[idx]` once, adds `v` and writes back: when a day appears
# many times in `idx`, each write replaces the one before, so each day keeps one row's cost.
# `np.add.at` adds every row ("unbuffered"), however often its day repeats.
# </details>

# %% [markdown]
# ## Key points
#
# - Parse dates into `datetime64`; `.astype("datetime64[D]")` bins them into days.
# - Add money as `int64` units with `np.add.at`: exact, any order.
# - A row belongs to the day of its `UsageStartDate`; binning by `UsageEndDate` moves every
#   23:00 hour to the next day.
# - Make every day with `np.arange` so days without spend show as zeros.
# - Draw as `plot_daily` does: biggest spender first, untagged last, a colour per user *name*
#   (`costlib.plot.line_style`), so a user looks the same in every plot.
# - `costlib.spend(bill, start=..., end=...).daily` and `costlib.plot.plot_daily` do the same.

# %% [markdown]
# ## Check your understanding
#
# Which day of the 28 had the highest total spend (all users together), and how much was
# it? Compute both by hand from `window_days` and `per_day`; replace the two `...` below and
# run both cells. The second one says whether your answer is right.
#
# <details><summary>Solution</summary>
#
# ```python
# busiest_day = window_days[per_day.argmax()]
# busiest_cost = per_day.max() / UNIT
# ```
# </details>

# %%
busiest_day = ...    # a datetime64 day, or its text "YYYY-MM-DD"
busiest_cost = ...   # dollars

# %%
by_day = s.daily.sum(axis=1)   # costlib's answer
if busiest_day is ... or busiest_cost is ...:
    print("not answered yet: replace the two ... above with your code, then run both cells")
else:
    assert str(busiest_day)[:10] == f"{by_day.idxmax():%Y-%m-%d}", (
        f"busiest_day is {busiest_day}: look for the day of the largest per_day")
    assert abs(float(busiest_cost) - by_day.max()) < 0.005, (
        f"busiest_cost is {busiest_cost}: per_day holds 1e-10 dollars, divide by UNIT")
    print("right:", busiest_day, f"${float(busiest_cost):,.2f}")

# %% [markdown]
# ## What's next
#
# [Lesson 5](05-windows-and-time-zones.ipynb): windows given by two times, and days that
# begin at midnight in Seattle rather than in UTC.
