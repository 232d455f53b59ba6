# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 6. From notebook to morning email
#
# costnotify sends one email each morning: what the account burned yesterday, who burned
# it, the month so far, and how each grant is pacing. Everything in it is a question from
# lessons 3 to 5, asked of the current, still open, month.
#
# ## Overview
#
# **Questions**
# - What was "yesterday" for someone in Seattle, and what did it cost?
# - How far behind is the billing data, and what does that do to yesterday's number?
# - Is a grant's spend on pace to last until the grant ends?
#
# **Objectives**
# - Sum yesterday's spend per user over a Pacific day, by hand and with `costlib.spend`.
# - Find, from the data, where the newest hours start to thin out, and mark the days from
#   there on as provisional.
# - Track a grant from explicit configuration: spent, burn rate, projection.
# - Write the email's text, and name the command and the Lambda that send it every morning.
#
# ## Prerequisites
#
# | Concept | Importance | Notes |
# | --- | --- | --- |
# | [Lesson 5: windows and time zones](05-windows-and-time-zones.ipynb) | Necessary | `[start, end)`, Pacific days |
# | [Lesson 2: an open month](02-check-the-invoice.ipynb#An-open-month) | Helpful | `InvoiceID` `Estimated` |
#
# **Time:** 20 minutes teaching, 10 minutes exercises.

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
from costlib import money, sample
from costlib.notify.config import Config

# %% [markdown]
# ## The open month (from lessons 2 and 5)
#
# The November 2026 sample is an open month: AWS has written its first 20 days so far, and
# (as with the real copies) the newest hours are not all in yet.

# %%
UNIT = 10**10
UNTAGGED = "(untagged)"
TOTAL_ROWS = {"AccountTotal", "Rounding", "InvoiceTotal", "StatementTotal"}
LA = ZoneInfo(costlib.PACIFIC)


def charge_arrays(path):
    """Start times (UTC datetime64[s]), costs (int64 units of 1e-10 $), users and resource
    ids of the charge rows of a .csv.zip billing file."""
    with zipfile.ZipFile(path) as archive:
        (member,) = archive.namelist()
        text = archive.read(member).decode("utf-8-sig")
    header, *rows = csv.reader(io.StringIO(text, newline=""))
    col = {name: i for i, name in enumerate(header)}
    rows = [r for r in rows if r[col["RecordType"]] not in TOTAL_ROWS]
    starts = np.array([r[col["UsageStartDate"]] or "NaT" for r in rows], dtype="datetime64[s]")
    units = np.array([int(Decimal(r[col["BlendedCost"]]) * UNIT) for r in rows], dtype=np.int64)
    users = np.array([r[col["user:Owner"]] or UNTAGGED for r in rows])
    resources = np.array([r[col["ResourceId"]] for r in rows])
    return starts, units, users, resources


def show(t):
    """A datetime64 as people write it: ``2026-11-20 08:00``."""
    return str(np.datetime64(t, "m")).replace("T", " ")


scratch = tempfile.TemporaryDirectory()  # removed when the kernel stops
(path,) = [p for p in sample.write_samples(scratch.name) if "tags-2026-11" in p.name]
starts, units, users, resources = charge_arrays(path)
bill = costlib.read(path)
bill

# %% [markdown]
# ## Yesterday in Seattle (`zoneinfo`)
#
# The email goes out at 07:00 in Seattle. We fix "now" so that this notebook shows the same
# numbers every time; the real job uses `dt.datetime.now(LA)`.

# %%
now = dt.datetime(2026, 11, 21, 7, 0, tzinfo=LA)
today = now.date()
yesterday = today - dt.timedelta(days=1)


def pacific_day(day):
    """The UTC instants [start, end) of a Pacific calendar day, as datetime64."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=LA).astimezone(dt.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=LA).astimezone(dt.UTC)
    return (np.datetime64(start.replace(tzinfo=None), "s"),
            np.datetime64(end.replace(tzinfo=None), "s"))


def pacific_day_of(t):
    """The Pacific calendar day of a UTC instant (datetime64)."""
    return np.datetime64(t, "s").astype(dt.datetime).replace(tzinfo=dt.UTC).astimezone(LA).date()


lo, hi = pacific_day(yesterday)
print("yesterday:", yesterday, "=", show(lo), "to", show(hi), "UTC")

# %% [markdown]
# Yesterday's burn per user, by hand: the rows that start in the window, summed per user.

# %%
inside = (starts >= lo) & (starts < hi)
burn = {}
for user, value in zip(users[inside], units[inside], strict=True):
    burn[str(user)] = burn.get(str(user), 0) + int(value)
{user: round(value / UNIT, 2) for user, value in sorted(burn.items(), key=lambda x: -x[1])}

# %% [markdown]
# The same with costlib: a window of one Pacific day.

# %%
day = costlib.spend(bill, start=str(yesterday), end=str(today), tz=costlib.PACIFIC)
assert day.total_units == units[inside].sum()
assert all(float(Decimal(v) / UNIT) == day.per_user[u] for u, v in burn.items())
day.per_user.round(2)

# %% [markdown]
# ## The lag of the data
#
# Yesterday's total looks low. Count the rows per Pacific day: a complete day has a few
# hundred (one per running resource per hour); the newest days are short, because the copies of the
# file lag behind AWS by a day or more.

# %%
local = costlib.spend(bill, tz=costlib.PACIFIC)
rows_per_day = {}
for d in local.days[-8:]:
    a, b = pacific_day(d.astype(dt.date))
    rows_per_day[str(d)] = int(((starts >= a) & (starts < b)).sum())
rows_per_day

# %% [markdown]
# Row counts vary anyway (weekends are quieter, batch jobs come and go), so a low count alone
# does not say "incomplete". A sharper sign: some resources run every hour (a database, a
# storage volume). Find those that have a row in every hour of the month's first week; in a
# complete hour each of them has a row again. The first hour where one is missing is where
# the data starts to thin out.

# %%
hour = starts.astype("datetime64[h]")
dated = ~np.isnat(hour)
hours = np.arange(hour[dated].min(), hour[dated].max() + 1)
seen = set(zip(resources[dated].tolist(), hour[dated].tolist(), strict=True))
first_week = hours[:7 * 24].tolist()
steady = [r for r in np.unique(resources[dated]).tolist()
          if r and all((r, h) in seen for h in first_week)]
present = np.array([sum((r, h) in seen for r in steady) for h in hours.tolist()])
thin_from = hours[present < len(steady)].min()
print(f"{len(steady)} resources run every hour of the first week")
print("the first hour one of them is missing:", show(thin_from), "UTC")

# %% [markdown]
# Every Pacific day from the one holding that hour onwards is still filling in: the email
# reports those days, but marks them *provisional*.

# %%
newest = starts[dated].max()
thin_day = np.datetime64(pacific_day_of(thin_from), "D")
provisional = [str(d) for d in local.days if d >= thin_day]
print("data through", show(newest), "UTC; provisional:", ", ".join(provisional))
print(f"yesterday so far: ${day.total:,.2f} (provisional)" if str(yesterday) in provisional
      else f"yesterday: ${day.total:,.2f}")

# %% [markdown]
# `costlib notify` does not look for missing hours every morning: it marks a set number of
# days before the newest data as provisional (the `provisional_days` setting, 3 by default).
# On this file the rule from the data and the setting agree:

# %%
assert len(provisional) == Config.provisional_days
assert provisional == [str(d) for d in local.days[-Config.provisional_days:]]
print(f"provisional_days = {Config.provisional_days}: {provisional[0]} .. {provisional[-1]}")

# %% [markdown]
# ## The month so far and the last 28 days
#
# Month to date is one more window, from the 1st (Pacific) to today. A line of bars gives
# the shape of the last 28 days in plain text, which every mail client shows.

# %%
mtd = costlib.spend(bill, start=f"{today:%Y-%m}-01", end=str(today), tz=costlib.PACIFIC)
first, _ = pacific_day(dt.date(today.year, today.month, 1))
_, last = pacific_day(yesterday)
assert mtd.total_units == units[(starts >= first) & (starts < last)].sum()

last28 = costlib.spend(bill, start=str(today - dt.timedelta(days=28)), end=str(today),
                       tz=costlib.PACIFIC)
per_day = last28.table[:-1].sum(axis=1)
BARS = "▁▂▃▄▅▆▇█"
spark = "".join(BARS[min(7, int(8 * v / per_day.max()))] for v in per_day)
print(f"month to date: ${mtd.total:,.2f}")
print(f"last 28 days:  {spark}  ({last28.days[0]} .. {last28.days[-1]})")

# %% [markdown]
# The first days of the 28 fall in October, which is in October's file: a morning run reads
# every month file that overlaps the days it shows. Here we have November only.
#
# ## Tracking a grant
#
# A grant pays for some users' spend between two dates, up to an amount. None of that is in
# the billing file, so it is configuration, written down explicitly:

# %%
grant = {
    "name": "OCE-2601 floats (synthetic)",
    "amount": Decimal("5000.00"),
    "start": dt.date(2026, 9, 1),
    "end": dt.date(2027, 2, 28),
    "users": ("chen.wei",),
    "spent_before_november": Decimal("1550.00"),   # from the closed months' files
}

# %% [markdown]
# Spent so far, the recent burn rate (the mean of the last seven complete days), and where
# that rate ends up on the grant's last day:

# %%
mine = np.isin(users, grant["users"])
spent_nov = Decimal(int(units[mine & (starts < last)].sum())) / UNIT
spent = grant["spent_before_november"] + spent_nov
complete = [d for d in local.days if str(d) not in provisional][-7:]
week_lo, _ = pacific_day(complete[0].astype(dt.date))
_, week_hi = pacific_day(complete[-1].astype(dt.date))
rate = Decimal(int(units[mine & (starts >= week_lo) & (starts < week_hi)].sum())) / UNIT / 7
days_left = (grant["end"] - yesterday).days
projected = spent + rate * days_left
status = "on track" if projected <= grant["amount"] else "over"
print(f"{grant['name']}: spent ${spent:,.2f} of ${grant['amount']:,.2f}; "
      f"burn ${rate:,.2f}/day; projected ${projected:,.2f} by {grant['end']}: {status}")

# %% [markdown]
# The projection needs every month since the grant began: costnotify keeps each closed
# month's per-day sums in a small cache, so a morning reads only the open month.
#
# ## The email
#
# The numbers above, as the text of the email:

# %%
subject = (f"AWS {bill.account}: ${day.total:,.2f} on {yesterday:%a %d %b} (Pacific)"
           + (", provisional" if str(yesterday) in provisional else ""))
lines = [subject, "", f"Yesterday, {yesterday:%A %d %B %Y} in Seattle:"]
for user, cost in day.per_user.items():
    if round(cost, 2):
        lines.append(f"  {user:15} {money.usd(cost):>10}")
lines += ["", f"Month to date: ${mtd.total:,.2f}", f"Last 28 days:  {spark}", "",
          f"Grant {grant['name']}: ${spent:,.2f} of ${grant['amount']:,.2f}, {status}", "",
          f"Data through {show(newest)} UTC; {', '.join(provisional)} still filling in."]
print("\n".join(lines))

# %% [markdown]
# ## From notebook to Lambda: `costlib notify`
#
# The project's `costlib notify` command builds this email with the same library calls:
# yesterday's burn per user and per service in the configured zone, the 28-day bars, month
# to date, grant pacing, and the provisional days. On a laptop it prints the email for the
# bundled sample:
#
# ```
# costlib notify --dry-run
# costlib notify --config notify.yml --dry-run     # your account, bucket, grants, recipients
# ```
#
# In production the same function runs in an AWS Lambda on a morning schedule: it reads the
# month's file from the `copydbr` bucket with the Lambda's role (no keys anywhere), and sends
# the email through SES. The code lives in the `costlib.notify` package (`costlib.notify.run`,
# the handler `costlib.notify.lambda_handler.handler`), a thin shell around the core; everything
# it reports is what these lessons computed. Like this lesson, it never reports a day the data
# do not cover as final: the schedule waits for a whole day, and a day asked for early says
# `partial, data to HH:MM` in its subject, the complete figure following once the file
# catches up.

# %% [markdown]
# ## Exercises
#
# ### Exercise 1: the latest complete day
#
# Report the latest *complete* day instead of yesterday: which day is it, what did each
# user spend, and how does its total compare with yesterday's provisional one?
#
# <details><summary>Solution</summary>
#
# ```python
# settled = complete[-1].astype(dt.date)
# s = costlib.spend(bill, start=str(settled), end=str(settled + dt.timedelta(days=1)),
#                   tz=costlib.PACIFIC)
# print(settled, f"${s.total:,.2f}", "vs", f"${day.total:,.2f}")
# s.per_user.round(2)
# ```
# </details>
#
# ### Exercise 2: predict, then break the provisional rule
#
# A shorter rule would be "a day is provisional when it has fewer rows than the day before".
# **Predict** which of the month's days that rule marks (look at the row counts above: are
# there quiet days that are complete?), then compute them from `local.days` and the rows per
# day, and compare with `provisional`.
#
# <details><summary>Solution</summary>
#
# ```python
# counts = {}
# for d in local.days:
#     a, b = pacific_day(d.astype(dt.date))
#     counts[str(d)] = int(((starts >= a) & (starts < b)).sum())
# names = list(counts)
# fewer = [d for d, before in zip(names[1:], names, strict=False) if counts[d] < counts[before]]
# print(fewer)
# print(sorted(set(fewer) - set(provisional)))   # complete days the short rule gets wrong
# ```
# It marks the three provisional days, and six complete ones as well (4, 6, 7, 11, 13 and
# 14 November: Fridays and Saturdays, as the quiet weekend begins, and two Wednesdays after
# a busy day). Row counts go down for reasons other than lag; a resource that runs every
# hour goes missing only when the data has not arrived.
# </details>

# %% [markdown]
# ## Key points
#
# - "Yesterday" is a Pacific day: a window `[midnight, midnight)` in Seattle, 23 to 25
#   hours of UTC rows.
# - The data lags: mark the newest days provisional rather than report them as final.
# - Grants are configuration (amount, dates, users); spent + burn rate x days left = projection.
# - The morning email is these library calls; `costlib notify` and the Lambda run them.

# %% [markdown]
# ## Check your understanding
#
# How much did `chen.wei` spend (in dollars) on the latest *complete* Pacific day, the last
# day of `local.days` that is not provisional? Work by hand from `starts`, `units`, `users`,
# `pacific_day` and `provisional`; replace `...` and run both cells.
#
# <details><summary>Solution</summary>
#
# ```python
# settled = [d for d in local.days if str(d) not in provisional][-1]
# a, b = pacific_day(settled.astype(dt.date))
# mine = (users == "chen.wei") & (starts >= a) & (starts < b)
# chen_on_settled_day = units[mine].sum() / UNIT
# ```
# </details>

# %%
chen_on_settled_day = ...   # dollars

# %%
settled_day = [d for d in local.days if str(d) not in provisional][-1]
expected = local.daily.loc[str(settled_day), "chen.wei"]   # costlib's answer
if chen_on_settled_day is ...:
    print("not answered yet: replace ... above with your code, then run both cells")
else:
    assert abs(float(chen_on_settled_day) - expected) < 0.005, (
        f"chen_on_settled_day is {chen_on_settled_day}: sum chen.wei's units over the Pacific "
        f"day {settled_day} (pacific_day gives its UTC window), then divide by UNIT")
    print(f"right: ${float(chen_on_settled_day):,.2f} on {settled_day}")

# %% [markdown]
# ## What's next
#
# The contest: [`contest/README.md`](../contest/README.md). Open the bill, check it against
# the invoice, split it by user, and (bonus) plot it, window it and move it to Pacific time:
# by hand, and checked against costlib.
#
# Or first [lesson 7](07-todays-formats.ipynb): the same month in the files accounts write
# today (Cost and Usage Reports, FOCUS), and the same answers from them.
