# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 8. Many months at once
#
# A grant runs for years, and a reseller's bucket holds a file per account per month. The
# questions of lessons 1 to 7 stay the same, but now there are many files. Reading them all into
# one table would need more memory than a laptop has. The way out is to answer each file on its
# own and then add up the answers.
#
# ## Overview
#
# **Questions**
# - How do we answer over many billing files without holding every row in memory?
# - Why is a sum of sums exact here, and what must never be added twice?
#
# **Objectives**
# - Condense each month with `costlib.read_condensed` and add the months' sums exactly.
# - Get the same answer from `costlib.scan` in one call, and read each file's own answer.
# - Name three files a folder of bills may hold that must not be added.
#
# ## Prerequisites
#
# | Concept | Importance | Notes |
# | --- | --- | --- |
# | [Lesson 3: spend per user](03-spend-per-user.ipynb) | Necessary | sums per tag value |
# | [Lesson 2: the invoice](02-check-the-invoice.ipynb) | Helpful | each month has its own invoice |
# | [Lesson 7: today's formats](07-todays-formats.ipynb) | Helpful | a month in many parts |
#
# **Time:** 20 minutes teaching, 15 minutes exercises.

# %% [markdown]
# ## Imports

# %%
import tempfile
import zipfile
from pathlib import Path

import costlib
from costlib.sample import SAMPLE_ACCOUNT, make_bill

# %% [markdown]
# ## Three months in a folder
#
# `costlib.sample.make_bill` writes a synthetic month. Each `seed` gives other resources and
# other people. Here we write January, February and March 2026 into a fresh folder, each zipped
# and named the way AWS names them.

# %%
folder = Path(tempfile.mkdtemp())
for seed, month in enumerate(["2026-01", "2026-02", "2026-03"]):
    name = costlib.bill_name(SAMPLE_ACCOUNT, month)
    with zipfile.ZipFile(folder / name, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name.removesuffix(".zip"), make_bill(month, seed=seed))
sorted(path.name for path in folder.iterdir())

# %% [markdown]
# ## By hand: one month at a time, then add
#
# `costlib.read_condensed` reads a month in pieces and keeps only the sums per key (day, user,
# product, account...), not the rows. A month of millions of rows becomes a few thousand sums.
# Its spend is exact, in whole units of 1e-10 dollars (`total_units`), and whole numbers add up
# without rounding. Adding the three months' units gives the exact total, with no
# floating-point drift however many files there are.

# %%
total_units = 0
user_units: dict[str, int] = {}
for path in sorted(folder.glob("*.csv.zip")):
    bill = costlib.read_condensed(path, "user:Owner")
    month = costlib.spend(bill, "user:Owner")
    total_units += month.total_units
    for user, units in zip(month.users, month.table.sum(axis=0), strict=True):
        user_units[user] = user_units.get(user, 0) + int(units)
    print(f"{bill.month}: {bill.line_items:>6,} charge rows in {len(bill.items):>5,} sums, "
          f"{costlib.money.usd(month.total):>10}")
print(f"three months: {costlib.money.usd(costlib.money.dollars(total_units))}")

# %% [markdown]
# ## With costlib: `costlib.scan`
#
# `costlib.scan` does the same in one call. It takes files, folders, globs or an
# `s3://bucket/prefix/` and returns one bill of every file's sums added together. Every
# question of the earlier lessons (`costlib.spend`, windows, zones, plots) takes that bill as it
# takes one month. `jobs=1` reads the files one after the other in this process; by default it
# uses a pool of processes.

# %%
bills = costlib.scan(folder, "user:Owner", jobs=1)
together = costlib.spend(bills, "user:Owner")
assert together.total_units == total_units
assert {u: int(v) for u, v in zip(together.users, together.table.sum(axis=0),
                                 strict=True)} == user_units
bills

# %% [markdown]
# The two totals agree to the unit. `bills.files` keeps each file's own answer. Each file is
# also checked against its own invoice, since a month's total rows belong to that month alone:

# %%
for file in bills.files:
    print(f"{file.month}  {costlib.money.usd(costlib.money.dollars(file.charges_units)):>10}  "
          f"invoice: {file.invoice.status}")

# %% [markdown]
# ## What must never be added
#
# A sum of sums is right only if every month is counted once. A bucket of bills holds files
# that look like months but would count one twice:
#
# - the **monthly invoice report** (`...-aws-billing-csv-2026-03.csv`), which restates the
#   month's totals;
# - the **twin without resources and tags** (`...-detailed-line-items-2026-03.csv.zip`), which
#   AWS writes beside the file with tags: the same charges again;
# - an **older assembly** of a Cost and Usage Report month, next to the latest one (lesson 7).
#
# `costlib.scan` leaves all three out when it searches a folder or a prefix. The untagged twin
# is dropped because the file with tags wins. Let us check that with March's twin:

# %%
twin = costlib.bill_name(SAMPLE_ACCOUNT, "2026-03", tags=False)
with zipfile.ZipFile(folder / twin, "w", zipfile.ZIP_DEFLATED) as archive:
    archive.writestr(twin.removesuffix(".zip"), make_bill("2026-03", seed=2))
again = costlib.scan(folder, "user:Owner", jobs=1)
print(f"{len(again.files)} files read; the same total: "
      f"{costlib.spend(again, 'user:Owner').total_units == total_units}")

# %% [markdown]
# ## On a cluster
#
# When one machine is not enough (many accounts, years of months), the same call runs on a
# Dask cluster, the kind a JupyterHub already offers. Each worker reads its own files, from
# S3 by ranged reads, and sends back only the sums (about 1 MB a month):
#
# ```python
# from dask.distributed import Client
# client = Client("tcp://scheduler:8786")        # or Client() for a local cluster
# bills = costlib.scan("s3://copydbr/dbr/", "user:Owner", client=client)
# ```
#
# From a terminal, the same thing is `costlib report s3://copydbr/dbr/ --dask local:4`. The
# answer is the same to the unit, whether one process or fifty workers read the files,
# because whole numbers add up the same in any order.

# %% [markdown]
# ## Exercises
#
# ### Exercise 1: each user's most expensive month
#
# With `costlib.read_condensed` on each file, find, for each user, the month in which they
# spent the most.
#
# <details><summary>Solution</summary>
#
# ```python
# best = {}
# for path in sorted(folder.glob("*tags*.csv.zip")):
#     bill = costlib.read_condensed(path, "user:Owner")
#     for user, dollars in costlib.spend(bill, "user:Owner").per_user.items():
#         if dollars > best.get(user, ("", -1))[1]:
#             best[user] = (bill.month, dollars)
# best
# ```
# The glob leaves out March's untagged twin. Without that care, March is read twice.
# </details>
#
# ### Exercise 2: predict, then break: a copy of a month
#
# **Predict** what `costlib.scan` gives when a month is in the folder twice under different
# names: once as the unzipped `.csv` of February's tagged file, and once as its `.csv.zip`.
# Write the `.csv` (`zipfile.ZipFile(...).extractall(folder)`) and scan.
#
# <details><summary>Solution</summary>
#
# ```python
# name = costlib.bill_name(SAMPLE_ACCOUNT, "2026-02")
# zipfile.ZipFile(folder / name).extractall(folder)
# print(len(costlib.scan(folder, jobs=1).files))   # still 3: one file per account and month
# ```
# Both files name the same account and month, so `costlib.scan` reads only one of them, the
# zip (the name AWS gives). `costlib.scan([path_a, path_b])` with the two files named one by
# one reads both: naming a file means "read this one". Adding those two would count
# February twice, and the total would be wrong by a whole month.
# </details>

# %% [markdown]
# ## Key points
#
# - Answer each file on its own (`read_condensed`), then add up the answers: memory follows
#   the distinct keys, not the rows.
# - Sums kept in whole units add up exactly, in any order and on any number of workers.
# - Every month is counted once. Leave out invoice reports, untagged twins and old
#   assemblies, and check each month against its own invoice.

# %% [markdown]
# ## Check your understanding
#
# How much did `chen.wei` spend over the three months? Work it out from the month-by-month
# loop above (the `user_units` it filled), in dollars. Replace `...` and run both cells.
#
# <details><summary>Solution</summary>
#
# ```python
# chen_three_months = costlib.money.dollars(user_units["chen.wei"])
# ```
# </details>

# %%
chen_three_months = ...   # e.g. 2000.0

# %%
expected = together.per_user["chen.wei"]   # costlib's answer over the scan
if chen_three_months is ...:
    print("not answered yet: replace ... above with your code, then run both cells")
else:
    assert abs(chen_three_months - expected) < 1e-9, (
        f"chen_three_months is {chen_three_months}: add chen.wei's units of the three months")
    print(f"right: chen.wei spent {costlib.money.usd(chen_three_months)} in three months")

# %% [markdown]
# ## What's next
#
# [The contest](../contest/README.md): the same questions by hand, on the detailed bill,
# graded on a month you have never seen.
