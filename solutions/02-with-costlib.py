# ---
# jupyter:
#   costlib:
#     track: with-costlib
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Contest notebook: with costlib
#
# The same tasks as [the by-hand notebook](01-by-hand.ipynb), answered with the library: a
# handful of calls. Use it to check your own answers, or to see what a task asks. Fill in
# every cell that says `raise NotImplementedError()`, run the notebook top to bottom, and
# hand it in: its hand-in cell records your answers with `costlib.contest.submit(...)`, and
# its last cell, `contest.check()`, compares them with the practice month's answers.
#
# Open the bill with `contest.bill_path()`: the grader runs this notebook on a month you have
# never seen. Money is compared to the cent. Skipping a bonus task? Leave its cell as it is:
# the grader runs every cell even after one fails (as nbgrader does) and scores the answers
# your variables hold, so an error costs only the tasks it leaves unanswered, and a failing
# check cell costs its own task.

# %% [markdown]
# ## The answers
#
# | task | answer | type | meaning |
# | --- | --- | --- | --- |
# | 1. Open the file (1 pt) | `account` | a string | the 12-digit payer account, as a string (leading zeros kept) |
# |  | `month` | a string | the month the bill is for, "YYYY-MM" |
# |  | `rows` | a whole number | data records in the CSV after the header, total rows included |
# |  | `tag_columns` | a list of strings | the tag columns ("user:..." and "aws:..."), in file order |
# | 2. The month's blended cost against the invoice (2 pt) | `blended_total` | dollars, a number (compared to the cent) | BlendedCost (Cost in a single-account file) summed over the charge rows: total and rounding rows left out |
# |  | `invoice_total` | dollars, or None when there is no invoice | the invoice's total: the file's InvoiceTotal row, the amount typed in COSTLIB_INVOICE, or the InvoiceTotal of AWS's invoice report; None while the month is open or when there is no invoice |
# |  | `invoice_matches` | True, False, or None when there is no invoice | charges + the bill's rounding rows equal the invoice to the cent; against AWS's invoice report: charges + the report's rounding rows less the reseller's custom charge (the report leaves it out); a typed amount includes the custom charge, so nothing is taken off; None without an invoice |
# | 3. Spend per user, and do the users add up? (2 pt) | `users` | {user: dollars}, untagged spend under "(untagged)" | blended cost per user:Owner value over the whole file, rows without dates included; no user:Owner value: "(untagged)" |
# |  | `users_equal_total` | True or False | the users' spend adds up exactly to blended_total |
# | bonus A. 28 days per user (the plot) (1 pt) | `daily` | {"YYYY-MM-DD": {user: dollars}} | spend per UTC day (of UsageStartDate) and user over the 28 days ending with the last day that has data |
# | bonus B. A time window with two parameters (1 pt) | `window_total` | dollars, a number (compared to the cent) | blended cost of the rows whose UsageStartDate is in [start, end) of contest.window(), times in UTC |
# |  | `window_users` | {user: dollars}, untagged spend under "(untagged)" | the same, per user |
# | bonus C. UTC compensation: Pacific days (1 pt) | `pacific_daily` | {"YYYY-MM-DD": dollars} | spend per America/Los_Angeles day (PST -8, PDT -7) from the first to the last day with dated rows |
#
# The invoice, three ways (`contest.invoice()` returns text: an amount as typed, or a path;
# `None` when none is given). See [the contest README](../contest/README.md#the-invoice-three-ways)
# for each worked on a sample month:
# 1. **the file's own total rows** (`INVOICE` is `None`): `invoice_total` is the
#    `InvoiceTotal` row; it matches when charges + the bill's rounding rows equal it;
# 2. **an amount typed in** (`"2685.84"`): `invoice_total` is that amount; it is what the
#    reseller billed, custom charge included, so it is compared with charges + the bill's
#    rounding rows as they are;
# 3. **AWS's invoice report** (a path): `invoice_total` is its `InvoiceTotal` row
#    (`TotalCost`); compared with charges + the report's rounding rows less the reseller's
#    custom charge, which AWS's invoice never holds.

# %% [markdown]
# ## Setup

# %% tags=["nbval-ignore-output"]
# %matplotlib inline
import os

import matplotlib.pyplot as plt
import pandas as pd

import costlib
import costlib.plot
from costlib import contest

# %%
BILL = contest.bill_path()         # the month to answer on
START, END = contest.window()      # bonus B: the window [START, END), UTC
INVOICE = contest.invoice()        # None, an amount, or the path of AWS's invoice report
print(os.path.basename(BILL))
print("window:", START, "to", END, "| invoice:", INVOICE)

# %% [markdown]
# ## Task 1: open the file
#
# `account` (12 digits, a string), `month` (`"YYYY-MM"`), `rows` (data records after the
# header, total rows included) and `tag_columns` (in file order).

# %% nbgrader={"grade": false, "grade_id": "open", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
bill = costlib.read(BILL)
account, month = bill.account, bill.month
rows = len(bill.items) + len(bill.controls)
tag_columns = bill.tags
### END SOLUTION
print(f"account {account}, month {month}, {rows:,} rows, tags {tag_columns}")

# %% nbgrader={"grade": true, "grade_id": "open-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
contest.check_answers(account=account, month=month, rows=rows, tag_columns=tag_columns)
### BEGIN HIDDEN TESTS
from costlib.contest.answers import differences, expected

EXPECTED = expected(BILL, (START, END), INVOICE)


def check(task, **answers):
    problems = differences(contest.validate(answers), EXPECTED)[task]
    assert not problems, problems


check("open", account=account, month=month, rows=rows, tag_columns=tag_columns)
### END HIDDEN TESTS

# %% [markdown]
# ## Task 2: the month's blended cost against the invoice
#
# `blended_total`, `invoice_total` (`None` without an invoice) and `invoice_matches`
# (`None` without an invoice).

# %% nbgrader={"grade": false, "grade_id": "invoice", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
verdict = costlib.check_invoice(bill, INVOICE)
blended_total = costlib.blended_total(bill)
invoice_total, invoice_matches = verdict.total, verdict.matches
### END SOLUTION
print(f"blended total {blended_total:,.2f}, invoice {invoice_total}, matches: {invoice_matches}")

# %% nbgrader={"grade": true, "grade_id": "invoice-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
contest.check_answers(blended_total=blended_total, invoice_total=invoice_total,
                      invoice_matches=invoice_matches)
### BEGIN HIDDEN TESTS
check("invoice", blended_total=blended_total, invoice_total=invoice_total,
      invoice_matches=invoice_matches)
### END HIDDEN TESTS

# %% [markdown]
# ## Task 3: spend per user, and do the users add up?
#
# `users` (`{user: dollars}` by `user:Owner`, untagged spend under `"(untagged)"`) and
# `users_equal_total`.

# %% nbgrader={"grade": false, "grade_id": "users", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
whole = costlib.spend(bill)
users = whole.per_user.to_dict()
users_equal_total = whole.users_add_up
### END SOLUTION
for user, value in sorted(users.items(), key=lambda x: -x[1]):
    print(f"{user:20} {value:12,.2f}")
print("users add up to the total:", users_equal_total)

# %% nbgrader={"grade": true, "grade_id": "users-tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
contest.check_answers(users=users, users_equal_total=users_equal_total)
### BEGIN HIDDEN TESTS
check("users", users=users, users_equal_total=users_equal_total)
### END HIDDEN TESTS

# %% [markdown]
# ## Bonus A: 28 days per user, and the plot
#
# `daily`: `{"YYYY-MM-DD": {user: dollars}}` for the 28 UTC days ending with the day of the
# latest `UsageStartDate` (a pandas table of days by users will do).

# %% nbgrader={"grade": false, "grade_id": "daily", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
last = bill.items["UsageStartDate"].max().floor("D").tz_localize(None)
first = last - pd.Timedelta(days=27)
plotted = costlib.spend(bill, start=first, end=last + pd.Timedelta(days=1))
daily = plotted.daily
costlib.plot.plot_daily(plotted)
### END SOLUTION
plt.show()

# %% nbgrader={"grade": true, "grade_id": "daily-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
contest.check_answers(daily=daily)
### BEGIN HIDDEN TESTS
check("daily", daily=daily)
### END HIDDEN TESTS

# %% [markdown]
# ## Bonus B: a time window with two parameters
#
# `window_total` and `window_users` for `[START, END)`, UTC.

# %% nbgrader={"grade": false, "grade_id": "window", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
inside = costlib.spend(bill, start=START, end=END)
window_total, window_users = inside.total, inside.per_user.to_dict()
### END SOLUTION
print(f"[{START}, {END}): {window_total:,.2f}")

# %% nbgrader={"grade": true, "grade_id": "window-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
contest.check_answers(window_total=window_total, window_users=window_users)
### BEGIN HIDDEN TESTS
check("window", window_total=window_total, window_users=window_users)
### END HIDDEN TESTS

# %% [markdown]
# ## Bonus C: UTC compensation
#
# `pacific_daily`: `{"YYYY-MM-DD": dollars}` per Seattle day, from the first to the last
# Pacific day with dated rows.

# %% nbgrader={"grade": false, "grade_id": "pacific", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
pacific_daily = costlib.spend(bill, tz=costlib.PACIFIC).daily.sum(axis=1)
### END SOLUTION
print(f"{len(pacific_daily)} Pacific days, {min(pacific_daily.index):%Y-%m-%d} .. "
      f"{max(pacific_daily.index):%Y-%m-%d}")

# %% nbgrader={"grade": true, "grade_id": "pacific-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
contest.check_answers(pacific_daily=pacific_daily)
### BEGIN HIDDEN TESTS
check("pacific", pacific_daily=pacific_daily)
### END HIDDEN TESTS

# %% [markdown]
# ## Hand in
#
# One call records every answer (it checks their names and shapes). Skipping a bonus?
# Delete its lines here.

# %%
answers_file = contest.submit(
    account=account, month=month, rows=rows, tag_columns=tag_columns,
    blended_total=blended_total, invoice_total=invoice_total, invoice_matches=invoice_matches,
    users=users, users_equal_total=users_equal_total,
    daily=daily,                                        # bonus A
    window_total=window_total, window_users=window_users,  # bonus B
    pacific_daily=pacific_daily,                        # bonus C
)

# %% [markdown]
# ## Check yourself
#
# On the practice month this compares your answers with the month's expected answers (shipped
# beside the practice bill) and says, task by task, which differ and by how much. On any
# other month there is nothing to compare with: the grader will tell.

# %%
contest.check()
