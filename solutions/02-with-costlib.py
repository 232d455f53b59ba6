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
# hand it in: its last cell records your answers with `costlib.contest.submit(...)`.
#
# Open the bill with `contest.bill_path()`: the grader runs this notebook on a month you have
# never seen. Money is compared to the cent. Skipping a bonus task? Leave its cell as it is:
# the grader runs every cell even after one fails (as nbgrader does) and scores the answers
# your variables hold, so an error costs only the tasks it leaves unanswered, and a failing
# check cell costs its own task.

# %% [markdown]
# ## Setup

# %% tags=["nbval-ignore-output"]
# %matplotlib inline
import os
import re

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
assert isinstance(account, str) and re.fullmatch(r"\d{12}", account), "12 digits, as text"
assert re.fullmatch(r"\d{4}-\d{2}", month), "YYYY-MM"
assert isinstance(rows, int) and all(isinstance(t, str) for t in tag_columns)
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
assert isinstance(blended_total, float)
assert invoice_matches in (True, False, None)
assert (invoice_total is None) == (invoice_matches is None), "None for both, or for neither"
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
assert isinstance(users, dict) and all(isinstance(u, str) for u in users)
assert users_equal_total in (True, False)
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
assert len(daily) == 28
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
assert isinstance(window_total, float) and isinstance(window_users, dict)
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
assert len(pacific_daily) > 0
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
