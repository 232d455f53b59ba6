# ---
# jupyter:
#   costlib:
#     track: by-hand
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Contest notebook: by hand, with `zipfile`, `csv`, `decimal` and `numpy`
#
# One notebook, all the tasks of [the contest](../contest/README.md). Fill in every cell that
# says `raise NotImplementedError()`, run the notebook top to bottom, and hand it in: its
# last cell records your answers with `costlib.contest.submit(...)`.
#
# - Work **by hand**: the standard library and numpy. `costlib` is here only to name the
#   bill, the window and the invoice (`costlib.contest`), and to record your answers.
# - Open the bill with `contest.bill_path()`, never a file name of your own: the grader runs
#   this notebook on a month you have never seen.
# - Money is compared to the cent. Skipping a bonus task? Leave its cell as it is: the
#   grader runs every cell even after one fails (as nbgrader does) and scores the answers
#   your variables hold (`account`, `rows`, ...), so an error costs only the tasks it leaves
#   unanswered, and a failing check cell costs its own task.

# %% [markdown]
# ## Setup

# %% tags=["nbval-ignore-output"]
# %matplotlib inline
import csv
import io
import os
import re
import zipfile
from collections import Counter
from decimal import Decimal

import matplotlib.pyplot as plt
import numpy as np

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
# Read the bill (a `.csv.zip` holding one CSV, or a `.csv`) and answer:
# - `account`: the 12-digit payer account, a string;
# - `month`: `"YYYY-MM"`;
# - `rows`: the number of data records after the header (total rows included);
# - `tag_columns`: the tag columns (`user:...`, `aws:...`), in file order.

# %% nbgrader={"grade": false, "grade_id": "open", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
def read_records(path):
    """The header and the data records of a billing file (.csv.zip or .csv)."""
    path = str(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            (member,) = [n for n in archive.namelist() if n.lower().endswith(".csv")]
            text = archive.read(member).decode("utf-8-sig")
    else:
        with open(path, encoding="utf-8-sig", newline="") as f:
            text = f.read()
    records = list(csv.reader(io.StringIO(text, newline="")))
    return records[0], records[1:]


header, records = read_records(BILL)
col = {name: i for i, name in enumerate(header)}
named = re.search(r"(\d{12})-aws-billing-.*-(\d{4}-\d{2})\.csv(\.zip)?$", os.path.basename(BILL))
if named:
    account, month = named.group(1), named.group(2)
else:  # a renamed file: ask its rows
    account = next(r[col["PayerAccountId"]] for r in records if r[col["PayerAccountId"]])
    month = Counter(r[col["UsageStartDate"]][:7] for r in records
                    if r[col["UsageStartDate"]]).most_common(1)[0][0]
rows = len(records)
tag_columns = [name for name in header if ":" in name]
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
# - `blended_total`: the sum of `BlendedCost` over the charge rows (`Cost` in a
#   single-account file), total and rounding rows left out; exact, not a float sum;
# - `invoice_total`: the invoice's amount: the file's `InvoiceTotal` row, or `INVOICE`
#   (an amount, or AWS's invoice report whose `InvoiceTotal` is in `TotalCost`); `None` while
#   the month is open (`InvoiceID` `Estimated`) or when there is no invoice at all (a
#   CloudCheckr copy and no `INVOICE`);
# - `invoice_matches`: whether charges + rounding rows (minus the reseller's custom charge,
#   which AWS's invoice report leaves out) equal the invoice to the cent; `None` without one.

# %% nbgrader={"grade": false, "grade_id": "invoice", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
TOTAL_ROWS = {"AccountTotal", "Rounding", "InvoiceTotal", "StatementTotal", "CBRounding",
              "EstimatedDisclaimer"}
COPY_TYPES = {"Usage", "DiscountedUsage", "Tax"}
HALF_CENT = Decimal("0.005")
cost = "BlendedCost" if "BlendedCost" in col else "Cost"
charges = [r for r in records if r[col["RecordType"]] not in TOTAL_ROWS]
exact_total = sum((Decimal(r[col[cost]]) for r in charges), Decimal(0))
blended_total = float(exact_total)


def total_of(rows_, col_, cost_, *kinds):
    """The sum of the rows of these record types, or None when there are none."""
    found = [Decimal(r[col_[cost_]] or "0") for r in rows_ if r[col_["RecordType"]] in kinds]
    return sum(found, Decimal(0)) if found else None


def is_closed(rows_, col_):
    ids = [r[col_["InvoiceID"]] for r in rows_ if r[col_["InvoiceID"]]]
    return bool(ids) and ids[0] != "Estimated"


custom = sum((Decimal(r[col[cost]]) for r in charges
              if "ProductName" in col and r[col["ProductName"]] == "Custom Charge"), Decimal(0))
own_rounding = total_of(records, col, cost, "Rounding", "CBRounding") or Decimal(0)
copy = any(r[col["RecordType"]] in COPY_TYPES for r in records) or (
    "RecordId" in col and any(r[col["RecordId"]] == "AWS" for r in records))
amount = re.sub(r"[\s$,]", "", INVOICE or "")
invoice, expected_sum = None, None
if INVOICE is None:
    if not copy and is_closed(records, col):
        invoice = total_of(records, col, cost, "InvoiceTotal")
        if invoice is None:
            invoice = total_of(records, col, cost, "StatementTotal")
        expected_sum = exact_total + own_rounding
elif re.fullmatch(r"-?\d+(\.\d+)?", amount):
    invoice, expected_sum = Decimal(amount), exact_total + own_rounding
else:  # AWS's monthly invoice report: TotalCost, CBRounding, no custom charge
    r_header, r_records = read_records(INVOICE)
    r_col = {name: i for i, name in enumerate(r_header)}
    if is_closed(r_records, r_col):
        invoice = total_of(r_records, r_col, "TotalCost", "InvoiceTotal")
        if invoice is None:
            invoice = total_of(r_records, r_col, "TotalCost", "StatementTotal")
        rounding = total_of(r_records, r_col, "TotalCost", "Rounding", "CBRounding") or 0
        expected_sum = exact_total + rounding - custom
invoice_total = None if invoice is None else float(invoice)
invoice_matches = None if invoice is None else abs(invoice - expected_sum) <= HALF_CENT
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
# - `users`: `{user: dollars}`, the user being the row's `user:Owner` value, untagged spend
#   (no value, or no such column) under `"(untagged)"`; every charge row, dated or not;
# - `users_equal_total`: do the users add up exactly to `blended_total`?

# %% nbgrader={"grade": false, "grade_id": "users", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
UNTAGGED = "(untagged)"
owner = col.get("user:Owner")
per_user = {}
for r in charges:
    user = (r[owner] if owner is not None else "") or UNTAGGED
    per_user[user] = per_user.get(user, Decimal(0)) + Decimal(r[col[cost]])
users = {user: float(value) for user, value in per_user.items()}
users_equal_total = sum(per_user.values(), Decimal(0)) == exact_total
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
# latest `UsageStartDate`; each row counts on the UTC day of its `UsageStartDate`; rows
# without dates are left out; days without spend are there (zero-filled). Then plot it.

# %% nbgrader={"grade": false, "grade_id": "daily", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
UNIT = 10**10  # whole numbers of 1e-10 dollars add up exactly
starts = np.array([r[col["UsageStartDate"]] or "NaT" for r in charges], dtype="datetime64[s]")
units = np.array([int(Decimal(r[col[cost]]) * UNIT) for r in charges], dtype=np.int64)
owners = np.array([(r[owner] if owner is not None else "") or UNTAGGED for r in charges])
dated = ~np.isnat(starts)
last = starts[dated].max().astype("datetime64[D]")
days = np.arange(last - 27, last + 1)
slot = (starts.astype("datetime64[D]") - days[0]).astype(np.int64)
inside = dated & (slot >= 0) & (slot < len(days))
names, which = np.unique(owners, return_inverse=True)
table = np.zeros((len(days), len(names)), dtype=np.int64)
np.add.at(table, (slot[inside], which[inside]), units[inside])
daily = {str(d): {str(u): int(v) / UNIT for u, v in zip(names, table[i], strict=True) if v}
         for i, d in enumerate(days)}

fig, ax = plt.subplots(figsize=(10, 4.5), layout="constrained")
for j, user in enumerate(names):
    ax.plot(days, table[:, j] / UNIT, marker="o", markersize=3, label=user)
ax.set_title(f"Daily spend per user, {days[0]} .. {days[-1]} (UTC)", loc="left")
ax.set_ylabel("USD per day")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
### END SOLUTION
plt.show()

# %% nbgrader={"grade": true, "grade_id": "daily-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
assert isinstance(daily, dict) and len(daily) == 28
### BEGIN HIDDEN TESTS
check("daily", daily=daily)
### END HIDDEN TESTS

# %% [markdown]
# ## Bonus B: a time window with two parameters
#
# `window_total` and `window_users` (`{user: dollars}`): the spend of the rows whose
# `UsageStartDate` is in `[START, END)`, both UTC.

# %% nbgrader={"grade": false, "grade_id": "window", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
lo, hi = np.datetime64(START, "s"), np.datetime64(END, "s")
in_window = (starts >= lo) & (starts < hi)  # NaT compares False: undated rows stay out
window_total = int(units[in_window].sum()) / UNIT
sums = np.zeros(len(names), dtype=np.int64)
np.add.at(sums, which[in_window], units[in_window])
window_users = {str(u): int(v) / UNIT for u, v in zip(names, sums, strict=True) if v}
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
# `pacific_daily`: `{"YYYY-MM-DD": dollars}` per day in Seattle (`America/Los_Angeles`: PST,
# UTC-8, and from the second Sunday of March to the first Sunday of November PDT, UTC-7),
# from the first to the last Pacific day with dated rows, zero-filled.

# %% nbgrader={"grade": false, "grade_id": "pacific", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
def pacific_offset(t):
    """Hours from UTC to Seattle time (-7 or -8) for UTC instants ``t``."""
    month0 = t.astype("datetime64[Y]").astype("datetime64[M]")
    begins = np.busday_offset((month0 + 2).astype("datetime64[D]") + 7, 0, roll="forward",
                              weekmask="Sun") + np.timedelta64(10, "h")
    ends = np.busday_offset((month0 + 10).astype("datetime64[D]"), 0, roll="forward",
                            weekmask="Sun") + np.timedelta64(9, "h")
    return np.where((t >= begins) & (t < ends), -7, -8)


utc = starts[dated]
local_days = (utc + pacific_offset(utc).astype("timedelta64[h]")).astype("datetime64[D]")
p_days = np.arange(local_days.min(), local_days.max() + 1)
p_sums = np.zeros(len(p_days), dtype=np.int64)
np.add.at(p_sums, (local_days - p_days[0]).astype(np.int64), units[dated])
pacific_daily = {str(d): int(v) / UNIT for d, v in zip(p_days, p_sums, strict=True)}
### END SOLUTION
print(f"{len(pacific_daily)} Pacific days, {min(pacific_daily)} .. {max(pacific_daily)}")

# %% nbgrader={"grade": true, "grade_id": "pacific-tests", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
assert isinstance(pacific_daily, dict)
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
