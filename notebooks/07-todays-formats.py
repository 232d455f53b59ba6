# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 7. The same month in today's formats
#
# The Detailed Billing Report of lessons 1 to 6 is what the contest teaches, but AWS stopped
# offering it to new accounts in 2019. An account today writes a Cost and Usage Report (CUR:
# the legacy one as CSV or Parquet, or CUR 2.0 from Data Exports) or a FOCUS export, the
# FinOps Foundation's open format. The money is the same; the words change.
#
# ## Overview
#
# **Questions**
# - What changes between a detailed bill, a CUR and a FOCUS file of the same month?
# - Which cost does each sum by default, and where did the total rows go?
# - Do the same three questions (total, per user, per day) still get the same answers?
#
# **Objectives**
# - Read a CUR's header and find the columns lessons 1 to 6 used, under their new names.
# - Find a tag in four spellings: `user:Owner`, `resourceTags/user:Owner`,
#   `resource_tags_user_owner` and a key of FOCUS's JSON `Tags`.
# - Sum a CUR's unblended cost per user by hand, exactly, and get the same from costlib.
# - Name the cost basis of every total you report.
#
# ## Prerequisites
#
# | Concept | Importance | Notes |
# | --- | --- | --- |
# | [Lesson 3: spend per user](03-spend-per-user.ipynb) | Necessary | sums per tag value, `"(untagged)"` |
# | [Lesson 4: days](04-days-with-datetime64.ipynb) | Helpful | days from `UsageStartDate` |
# | JSON | Helpful | `json.loads` |
#
# **Time:** 20 minutes teaching, 15 minutes exercises.

# %% [markdown]
# ## Imports

# %%
import csv
import gzip
import json
import tempfile
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq

import costlib
from costlib.sample import FORMATS, write_formats

# %% [markdown]
# ## One month, four files
#
# `costlib.sample.write_formats` writes the bundled sample month (lessons 1 to 6) again in
# each of today's formats, from the very same rows. Nothing here comes from a real account.

# %%
folder = Path(tempfile.mkdtemp())
paths = {FORMATS[p.name]: p for p in write_formats(folder)}
for fmt, path in paths.items():
    print(f"{fmt:<12} {path.name:<45} {path.stat().st_size:>8,} bytes")

# %% [markdown]
# ## The header of a CUR
#
# A legacy CUR's columns are `category/Name`: `identity/...`, `bill/...`, `lineItem/...`,
# `product/...`, `resourceTags/...`. The file is gzipped CSV. Its columns that lessons 1 to 6
# used:

# %%
with gzip.open(paths["cur"], "rt", encoding="utf-8", newline="") as text:
    records = list(csv.reader(text))
cur_header, cur_rows = records[0], records[1:]
cur_col = {name: i for i, name in enumerate(cur_header)}
[name for name in cur_header if name.startswith(("bill/", "lineItem/", "resourceTags/"))]

# %% [markdown]
# Three things to notice:
#
# - **No total rows.** A CUR holds line items only: no `AccountTotal`, `Rounding` or
#   `InvoiceTotal`. Every row is a charge (or a credit, a tax, a fee), so summing every row is
#   right here, and checking against the invoice needs the invoice's amount from elsewhere.
# - **Line item types instead of record types.** `lineItem/LineItemType` says `Usage`,
#   `DiscountedUsage`, `Tax`, `Credit`, `RIFee`, `SavingsPlanCoveredUsage`...
# - **Unblended cost first.** The billing console of a single account shows unblended cost
#   (what each account's own rates give); blended cost averages a reserved instance's rate over
#   the accounts of a consolidated bill. A CUR has both, and most people sum
#   `lineItem/UnblendedCost`. The detailed bill of lessons 1 to 6 was summed by `BlendedCost`.
#   A third basis, *amortized* cost (`cost="amortized"`), spreads a reserved instance's or a
#   Savings Plan's upfront and monthly fees over the hours of usage they cover, row by row
#   from the `reservation/` and `savingsPlan/` columns, as AWS's Cost Explorer does.
#
# Dates carry their zone and milliseconds:

# %%
cur_rows[0][cur_col["lineItem/UsageStartDate"]], cur_rows[0][cur_col["lineItem/UnblendedCost"]]

# %% [markdown]
# ## Spend per user from a CUR, by hand
#
# Exactly as in lesson 3, with the new names: the tag column is `resourceTags/user:Owner`,
# the cost `lineItem/UnblendedCost`.

# %%
UNTAGGED = "(untagged)"
by_hand = {}
for row in cur_rows:
    user = row[cur_col["resourceTags/user:Owner"]] or UNTAGGED
    by_hand[user] = by_hand.get(user, Decimal(0)) + Decimal(row[cur_col["lineItem/UnblendedCost"]])
cur_total = sum(by_hand.values())
cur_total, sorted(by_hand.items(), key=lambda kv: -kv[1])[:3]

# %% [markdown]
# The detailed bill's own `UnBlendedCost` column gives the same amounts: same month, same
# rows, same money.

# %%
native = costlib.read(costlib.sample_path(), cost="unblended")
native_spend = costlib.spend(native)
assert native_spend.total == float(cur_total)
assert all(abs(native_spend.per_user[u] - float(v)) < 1e-9 for u, v in by_hand.items())
native_spend.per_user.round(2)

# %% [markdown]
# ## Parquet: the same columns, snake-cased
#
# A CUR delivered as Parquet (and CUR 2.0) writes the names in snake case:
# `lineItem/UnblendedCost` becomes `line_item_unblended_cost`, the tag `user:Owner` becomes
# `resource_tags_user_owner`. CUR 2.0 keeps every tag in one map column, `resource_tags`,
# with keys such as `user_owner`. Parquet columns come typed: costs are numbers, dates are
# timestamps.

# %%
legacy = pq.read_schema(paths["cur-parquet"])
cur2 = pq.read_schema(paths["cur2"])
print([n for n in legacy.names if n.startswith("resource_tags")])
print(cur2.field("resource_tags").type, cur2.field("line_item_unblended_cost").type)

# %% [markdown]
# ## FOCUS: the FinOps Foundation's words
#
# FOCUS names columns for any cloud: `BilledCost` (what the invoice charges: AWS's unblended
# cost), `EffectiveCost` (with commitments such as reservations spread over their use),
# `ChargePeriodStart`, `SubAccountId`, `ServiceName`, `ProviderName`, and one `Tags` column
# holding every tag as JSON. A missing value is often the literal text `NULL`.

# %%
with open(paths["focus"], encoding="utf-8", newline="") as text:
    focus = list(csv.DictReader(text))
print({k: focus[0][k] for k in ("ChargePeriodStart", "BilledCost", "ServiceName", "Tags")})
focus_by_user = {}
for row in focus:
    tags = {} if row["Tags"] == "NULL" else json.loads(row["Tags"])
    user = tags.get("user:Owner") or UNTAGGED
    focus_by_user[user] = focus_by_user.get(user, Decimal(0)) + Decimal(row["BilledCost"])
assert focus_by_user == by_hand
sum(focus_by_user.values())

# %% [markdown]
# ## The same questions with costlib
#
# `costlib.read` tells the format by the header and maps it onto the words of lessons 1 to
# 6: `UsageStartDate`, `LinkedAccountId`, the cost column of the basis. `--tag user:Owner`
# (here the `tag` argument) finds the tag in each spelling. Each bill says which cost it
# sums (`cost_basis`): unblended for a CUR, billed for FOCUS.

# %%
answers = {}
for fmt, path in paths.items():
    bill = costlib.read(path)
    s = costlib.spend(bill, "user:Owner", tz=costlib.PACIFIC)
    answers[fmt] = s
    print(f"{fmt:<12} {bill.kind:<6} {bill.cost_basis:<10} {costlib.money.usd(s.total):>10}  "
          f"users add up: {s.users_add_up}")
reference = costlib.spend(native, "user:Owner", tz=costlib.PACIFIC)
assert all((s.table == reference.table).all() and s.users == reference.users
           for s in answers.values())

# %% [markdown]
# Every format gives the same table of (Pacific day, user) sums to the unit of 1e-10
# dollars. `costlib tags` (or `costlib.reporting.tag_coverage`) lists a file's tag keys with
# the share of spend each covers, the first thing to ask of a new bill:

# %%
costlib.reporting.tag_coverage(costlib.read(paths["cur2"]))["tags"]

# %% [markdown]
# ## Manifests and many parts
#
# AWS writes a big CUR month in several parts (`...-00001.csv.gz`, `...-00002.csv.gz`) and a
# manifest (`...-Manifest.json`) listing them under `reportKeys`; each rewrite of the month
# is a new *assembly* with a new list. Sum the parts of the latest assembly only: adding two
# assemblies counts the month twice, just as summing a detailed bill's total rows did.
#
# `costlib report` does this for you: give it the manifest, or the report's folder or
# `s3://` prefix (`costlib report s3://copydbr/cur/ocean/`), and it reads each month by its
# manifest, leaving the older assemblies where they lie. A Data Export (CUR 2.0, FOCUS) writes
# its months under `data/BILLING_PERIOD=YYYY-MM/` instead, and costlib reads those folders the
# same way. The morning email reads a bucket laid out either way (its `prefix` setting).

# %% [markdown]
# ## Exercises
#
# ### Exercise 1: blended or unblended
#
# Sum the detailed bill's `BlendedCost` and `UnBlendedCost` per user with
# `costlib.spend(costlib.read(costlib.sample_path(), cost=...))`. The month's totals are
# equal; which users differ, and why?
#
# <details><summary>Solution</summary>
#
# ```python
# blended = costlib.spend(costlib.read(costlib.sample_path())).per_user
# unblended = costlib.spend(costlib.read(costlib.sample_path(), cost="unblended")).per_user
# (blended - unblended).round(2)
# ```
# bob and o'brien "ob" differ and nobody else does: bob's on-demand m5.xlarge and o'brien's
# reserved one share one blended rate, so blending moves cost from one to the other; the
# month's total does not change.
# </details>
#
# ### Exercise 2: predict, then break the tag's name
#
# **Predict** what `costlib.spend(costlib.read(paths["cur-parquet"]), "user:owner")` (a small
# `o`) gives, then what the by-hand loop above gives with the column
# `"resourceTags/user:owner"`. Run both.
#
# <details><summary>Solution</summary>
#
# ```python
# costlib.spend(costlib.read(paths["cur-parquet"]), "user:owner").per_user   # found
# cur_col.get("resourceTags/user:owner")                                    # None: KeyError
# ```
# Parquet names are snake-cased, so `user:owner` and `user:Owner` are one column there,
# and costlib finds it. The CSV keeps the case: the by-hand loop fails with a `KeyError`
# (and costlib says which tags the file has). A CUR in CSV can hold both `user:Name` and
# `user:name`; its Parquet twin cannot tell them apart.
# </details>

# %% [markdown]
# ## Key points
#
# - A CUR, a CUR 2.0 and a FOCUS file hold the same money as a detailed bill, under other
#   names and without total rows: every row is a charge.
# - Name the cost basis of each total: blended for the detailed bill, unblended for a CUR,
#   billed for FOCUS; `costlib.read(path, cost=...)` chooses another.
# - A tag has four spellings; `costlib` finds `user:Owner` in each.
# - Sum only the latest assembly's parts of a multi-part month.

# %% [markdown]
# ## Check your understanding
#
# How much did `chen.wei` spend in the month, by FOCUS's billed cost? Work from the `focus`
# rows by hand (exactly, with `Decimal`); replace `...` and run both cells.
#
# <details><summary>Solution</summary>
#
# ```python
# chen_billed = sum(Decimal(r["BilledCost"]) for r in focus
#                   if r["Tags"] != "NULL" and json.loads(r["Tags"]).get("user:Owner") == "chen.wei")
# ```
# </details>

# %%
chen_billed = ...   # e.g. Decimal("123.45")

# %%
expected = answers["focus"].per_user["chen.wei"]   # costlib's answer
if chen_billed is ...:
    print("not answered yet: replace ... above with your code, then run both cells")
else:
    assert abs(float(chen_billed) - expected) < 1e-9, (
        f"chen_billed is {chen_billed}: sum BilledCost over the rows whose Tags name chen.wei")
    print(f"right: chen.wei was billed {costlib.money.usd(float(chen_billed))}")

# %% [markdown]
# ## What's next
#
# [Lesson 8: many months at once](08-many-months.ipynb): the same questions over a folder of
# bills, a grant's years or a reseller's bucket.
