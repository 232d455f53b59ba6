# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 3. Spend per user
#
# The invoice says how much; the tags say whose. Each resource can carry cost-allocation
# tags, and `user:Owner` names the person who runs it.
#
# ## Overview
#
# **Questions**
# - How much did each person spend this month?
# - What becomes of spend on resources nobody tagged?
# - Do the users' amounts add up to the month's total?
#
# **Objectives**
# - Sum blended cost per `user:Owner` value with a `dict` and `Decimal`.
# - Keep untagged spend under `"(untagged)"` instead of dropping it.
# - Name a row's user with a chain of fallback tags, as the original costnotify Lambda did.
# - Check that the users add up exactly to the total, and get the same from `costlib.spend`.
#
# ## Prerequisites
#
# | Concept | Importance | Notes |
# | --- | --- | --- |
# | [Lesson 2: check the invoice](02-check-the-invoice.ipynb) | Necessary | charge rows, `Decimal` sums |
# | Python dicts | Necessary | `d.get(key, default)` |
#
# **Time:** 15 minutes teaching, 10 minutes exercises.

# %% [markdown]
# ## Imports

# %%
import csv
import io
import zipfile
from collections import Counter
from decimal import Decimal

import costlib

# %% [markdown]
# ## The charge rows (from lessons 1 and 2)

# %%
def read_rows(path):
    """The header and the data rows of a .csv.zip billing file."""
    with zipfile.ZipFile(path) as archive:
        (member,) = archive.namelist()
        text = archive.read(member).decode("utf-8-sig")
    records = list(csv.reader(io.StringIO(text, newline="")))
    return records[0], records[1:]


TOTAL_ROWS = {"AccountTotal", "Rounding", "InvoiceTotal", "StatementTotal"}
path = costlib.sample_path()
header, rows = read_rows(path)
col = {name: i for i, name in enumerate(header)}
charges = [row for row in rows if row[col["RecordType"]] not in TOTAL_ROWS]
total = sum(Decimal(row[col["BlendedCost"]]) for row in charges)
total

# %% [markdown]
# ## Who owns what (`user:Owner`)
#
# A tag column holds the tag's value for the row's resource, or nothing when the resource
# has no such tag. Counting the rows per value:

# %%
Counter(row[col["user:Owner"]] for row in charges).most_common()

# %% [markdown]
# Owners are written as people typed them: a comma, accents, quotes, angle brackets. They
# are just strings, and the `csv` module kept each one whole.
#
# ## Spend per user, by hand (`dict` + `Decimal`)
#
# One pass over the rows, adding each cost to its owner's sum. Rows without an owner go to
# `"(untagged)"`: that money was spent too.

# %%
UNTAGGED = "(untagged)"
per_user = {}
for row in charges:
    user = row[col["user:Owner"]] or UNTAGGED
    per_user[user] = per_user.get(user, Decimal(0)) + Decimal(row[col["BlendedCost"]])

ranked = sorted(per_user.items(), key=lambda item: (item[0] == UNTAGGED, -item[1]))
for user, cost in ranked:
    print(f"{user:15} {cost:>14.8f}")

# %% [markdown]
# ## Do the users add up?
#
# Every charge row went to exactly one user, so the users must add up to the total, exactly.
# This check catches rows lost on the way, such as skipped untagged spend:

# %%
print("users add up:", sum(per_user.values()) == total)
tagged_only = sum(cost for user, cost in per_user.items() if user != UNTAGGED)
print("without the untagged spend:", tagged_only, "of", total)

# %% [markdown]
# ## What is untagged?
#
# Untagged spend is worth a look: here a snapshot nobody tagged, and a project whose
# resources carry only a `user:Project` tag.

# %%
untagged = Counter()
for row in charges:
    if not row[col["user:Owner"]]:
        key = (row[col["UsageType"]], row[col["user:Project"]] or "-")
        untagged[key] += Decimal(row[col["BlendedCost"]])
for (usage_type, project), cost in sorted(untagged.items()):
    print(f"{usage_type:28} project {project:10} {cost:>12.8f}")

# %% [markdown]
# ## Fallback tags
#
# The original costnotify Lambda named a row's user by the first tag that has a value, in
# the order `user:Owner`, `user:Project`, `user:ProjectName`, `user:Name`. Tags missing from
# a file are skipped. The seagrass project then gets a line of its own, while the snapshot
# stays untagged:

# %%
chain = [tag for tag in costlib.LAMBDA_TAGS if tag in col]
print("chain in this file:", chain)
per_name = {}
for row in charges:
    user = next((row[col[tag]] for tag in chain if row[col[tag]]), UNTAGGED)
    per_name[user] = per_name.get(user, Decimal(0)) + Decimal(row[col["BlendedCost"]])
assert sum(per_name.values()) == total
per_name["seagrass"], per_name[UNTAGGED]

# %% [markdown]
# A chain mixes people and projects in one list; that is a choice to make knowingly.
#
# ## The same in one line: `costlib.spend`
#
# `costlib.spend(bill)` sums per user (by default `user:Owner`, untagged spend under
# `"(untagged)"`); `.per_user` is a pandas Series, largest first, and `.users_add_up`
# is the check above.

# %%
bill = costlib.read(path)
s = costlib.spend(bill)
s.per_user

# %% [markdown]
# costlib sums whole numbers of 1e-10 dollars, so it is exact like `Decimal`; converted to
# floats, the two give the very same numbers:

# %%
assert s.users_add_up
assert set(s.per_user.index) == set(per_user)
for user, cost in per_user.items():
    assert float(cost) == s.per_user[user], user
assert float(total) == s.total
lambda_way = costlib.spend(bill, costlib.LAMBDA_TAGS).per_user
assert all(float(cost) == lambda_way[user] for user, cost in per_name.items())
print("by hand and costlib agree")

# %% [markdown]
# The research credit (a negative row with no dates) is tagged `chen.wei`: it is part of the
# month, so it is in chen.wei's sum. `s.undated` shows it apart; lesson 4 explains why days
# cannot hold it.

# %%
s.undated[s.undated != 0]

# %% [markdown]
# ## Exercises
#
# ### Exercise 1: per project
#
# Sum the spend per `user:Project` instead, by hand and with
# `costlib.spend(bill, "user:Project")`. Which project spent most, and how much is left
# without a project?
#
# <details><summary>Solution</summary>
#
# ```python
# per_project = {}
# for row in charges:
#     project = row[col["user:Project"]] or UNTAGGED
#     per_project[project] = per_project.get(project, Decimal(0)) + Decimal(row[col["BlendedCost"]])
# max(per_project, key=per_project.get), per_project[UNTAGGED]
# costlib.spend(bill, "user:Project").per_user
# ```
# </details>
#
# ### Exercise 2: predict, then break the sum per user
#
# Change the loop of "Spend per user, by hand" to skip rows without an owner
# (`if not row[col["user:Owner"]]: continue`) instead of giving them to `"(untagged)"`.
# **Predict** what "users add up" prints then, and by how much the users fall short of the
# total. Run it and compare with `per_user[UNTAGGED]`.
#
# <details><summary>Solution</summary>
#
# ```python
# skipped = {}
# for row in charges:
#     if not row[col["user:Owner"]]:
#         continue
#     user = row[col["user:Owner"]]
#     skipped[user] = skipped.get(user, Decimal(0)) + Decimal(row[col["BlendedCost"]])
# print("users add up:", sum(skipped.values()) == total)           # False
# print("short by", total - sum(skipped.values()), "=", per_user[UNTAGGED])
# ```
# The users fall short by exactly the untagged spend. Nothing crashes and every number
# printed for a user is right; only the check against the total shows that money is missing.
# </details>

# %% [markdown]
# ## Key points
#
# - The user of a row is the value of a tag column, `user:Owner` by default; an empty value
#   means untagged.
# - Keep untagged spend as `"(untagged)"`: then the users add up to the total, exactly.
# - A fallback chain (`costlib.LAMBDA_TAGS`) names more rows but mixes people and projects.
# - `costlib.spend(bill, tag).per_user` and `.users_add_up` give the same, exactly.

# %% [markdown]
# ## Check your understanding
#
# What share of the month's spend is untagged, in percent, rounded to one decimal? Work
# from `per_user` and `total` (by hand, exactly); replace `...` and run both cells.
#
# <details><summary>Solution</summary>
#
# ```python
# untagged_percent = round(float(100 * per_user[UNTAGGED] / total), 1)
# ```
# </details>

# %%
untagged_percent = ...   # e.g. 12.3

# %%
expected = round(100 * s.per_user[UNTAGGED] / s.total, 1)   # costlib's answer
if untagged_percent is ...:
    print("not answered yet: replace ... above with your code, then run both cells")
else:
    assert abs(float(untagged_percent) - expected) < 0.051, (
        f"untagged_percent is {untagged_percent}: divide the untagged spend by the total "
        "and multiply by 100")
    print(f"right: {untagged_percent}% of the month is untagged")

# %% [markdown]
# ## What's next
#
# [Lesson 4](04-days-with-datetime64.ipynb): the same spend, day by day, with
# `numpy.datetime64`, and a plot of the last 28 days per user.
