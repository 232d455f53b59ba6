# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2. Check the month against the invoice
#
# Before we ask who spent what, we make sure the file holds the whole bill and nothing
# twice: the month's charges must add up to what AWS invoiced, to the cent.
#
# ## Overview
#
# **Questions**
# - Which rows of a billing file cost money, and which only state totals?
# - Does the month's blended cost reproduce the invoice to the cent?
# - Why sum money with `decimal` rather than `float`?
# - *(optional part)* What changes with a reseller's copy of the file, or a month that is
#   still open?
#
# **Objectives**
# - Separate charge rows from total rows by `RecordType`.
# - Sum costs exactly with `decimal.Decimal` and show how `float` sums drift.
# - Reproduce the `InvoiceTotal` row from the charges and the `Rounding` row.
# - *(optional part)* Explain blended rates (reservations), check a CloudCheckr copy against
#   AWS's invoice report, accounting for the reseller's custom charge, and recognise an open
#   month.
#
# ## Prerequisites
#
# | Concept | Importance | Notes |
# | --- | --- | --- |
# | [Lesson 1: open the zip](01-open-the-zip.ipynb) | Necessary | `zipfile`, `csv`, columns by name |
# | Floating-point numbers | Helpful | [Python tutorial: floating point](https://docs.python.org/3/tutorial/floatingpoint.html) |
#
# **Time:** 20 minutes teaching, 15 minutes exercises; the optional part, 20 minutes more.
#
# The lesson has a core, up to "Check your understanding", and an optional part after it.
# Lessons 3 to 6 need the core only.

# %% [markdown]
# ## Imports

# %%
import csv
import io
import tempfile
import zipfile
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import costlib
from costlib import sample

# %% [markdown]
# ## Read the rows (`zipfile` + `csv`, from lesson 1)
#
# The reading code of lesson 1, as a function that takes a `.csv.zip` or a `.csv`:

# %%
def read_rows(path):
    """The header and the data rows of a billing file (.csv.zip or .csv)."""
    path = str(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            (member,) = archive.namelist()
            text = archive.read(member).decode("utf-8-sig")
    else:
        text = Path(path).read_text(encoding="utf-8-sig")
    records = list(csv.reader(io.StringIO(text, newline="")))
    return records[0], records[1:]


path = costlib.sample_path()
header, rows = read_rows(path)
col = {name: i for i, name in enumerate(header)}
len(rows)

# %% [markdown]
# ## Charges and totals (`RecordType`)
#
# Every row has a `RecordType`. In a file written by AWS, the charges are `LineItem` rows and
# the file ends with rows that only *state* totals: one `AccountTotal` per linked account, a
# `Rounding` row, the `InvoiceTotal` and the `StatementTotal`.

# %%
Counter(row[col["RecordType"]] for row in rows).most_common()

# %%
for row in rows[-5:]:
    print(f'{row[col["RecordType"]]:15} {row[col["BlendedCost"]]:>14}  '
          f'{row[col["ItemDescription"]]}')

# %% [markdown]
# Summing every row would count the bill (about) twice: once in the line items, once more in
# the account totals, and then again in the invoice and statement totals. We keep the
# charge rows only.

# %%
TOTAL_ROWS = {"AccountTotal", "Rounding", "InvoiceTotal", "StatementTotal"}
charges = [row for row in rows if row[col["RecordType"]] not in TOTAL_ROWS]
totals = {row[col["RecordType"]]: Decimal(row[col["BlendedCost"]]) for row in rows
          if row[col["RecordType"]] in ("Rounding", "InvoiceTotal", "StatementTotal")}
len(charges), totals

# %% [markdown]
# ## Money without losing cents (`decimal`)
#
# Costs are written with 8 decimals (`"0.04400000"`), tiny ones in scientific notation
# (`"2.6E-8"`). A `float` cannot hold most decimal fractions exactly, so each addition rounds
# a little, and the result even depends on the order of the rows:

# %%
costs = [row[col["BlendedCost"]] for row in charges]
as_floats = [float(c) for c in costs]
print(repr(sum(as_floats)))
print(repr(sum(sorted(as_floats))))
print(0.1 + 0.2 == 0.3)

# %% [markdown]
# `decimal.Decimal` reads the text as written and adds exactly, in any order:

# %%
exact = sum(Decimal(c) for c in costs)
assert exact == sum(sorted(Decimal(c) for c in costs))
exact

# %% [markdown]
# Over one month the float error is far below a cent, but the check below compares to the
# cent sums of thousands of rows, and with exact sums "equal" can mean equal.

# %% [markdown]
# ## Charges + rounding = invoice, to the cent
#
# The invoice is in whole cents; the charges are not. AWS writes the difference into the
# `Rounding` row, so that **charges + Rounding = InvoiceTotal**, exactly:

# %%
print("charges        ", exact)
print("+ Rounding     ", totals["Rounding"])
print("= InvoiceTotal ", totals["InvoiceTotal"])
assert exact + totals["Rounding"] == totals["InvoiceTotal"] == totals["StatementTotal"]

# %% [markdown]
# ## The same in one line: `costlib.check_invoice`
#
# `costlib.check_invoice(bill)` sums the charge rows exactly and compares them, with the
# rounding rows, to the invoice total; printing it explains the difference.

# %%
bill = costlib.read(path)
check = costlib.check_invoice(bill)
print(check)

# %%
assert check.matches
assert Decimal(str(check.total)) == totals["InvoiceTotal"]
assert abs(Decimal(str(check.charges)) - exact) < Decimal("1e-8")
assert costlib.blended_total(bill) == check.charges

# %% [markdown]
# ## Exercises
#
# ### Exercise 1: predict, then break the sum
#
# **Predict**: if you summed `BlendedCost` over *every* row, total rows included, about how
# many times the invoice would you get? Count the kinds of total rows above, then compute it
# and divide by `totals["InvoiceTotal"]`.
#
# <details><summary>Solution</summary>
#
# ```python
# everything = sum(Decimal(row[col["BlendedCost"]]) for row in rows)
# everything / totals["InvoiceTotal"]
# ```
# About 4: the line items; the `AccountTotal` rows (the same money again, account by
# account); `InvoiceTotal` and `StatementTotal` (each the whole bill); plus the `Rounding`
# row. A check that compares this sum with the invoice fails loudly; a report that shows it
# per user quietly counts some users four times.
# </details>
#
# ### Exercise 2: a single-account file
#
# The January file of a single (not consolidated) account,
# `012345678901-aws-billing-detailed-line-items-2026-01.csv`, has no blended columns. Which
# column holds its costs? Check its charges against its invoice by hand, then with costlib.
# `costlib sample` writes it (and more months) into a folder:
# `paths = sample.write_samples(tempfile.mkdtemp())`.
#
# <details><summary>Solution</summary>
#
# ```python
# paths = sample.write_samples(tempfile.mkdtemp())
# (january,) = [p for p in paths if "line-items-2026-01" in p.name]
# j_header, j_rows = read_rows(january)
# j = {name: i for i, name in enumerate(j_header)}            # "Cost", not "BlendedCost"
# j_charges = sum(Decimal(r[j["Cost"]]) for r in j_rows if r[j["RecordType"]] not in TOTAL_ROWS)
# j_totals = {r[j["RecordType"]]: Decimal(r[j["Cost"]]) for r in j_rows
#             if r[j["RecordType"]] in TOTAL_ROWS}
# assert j_charges + j_totals["Rounding"] == j_totals["InvoiceTotal"]
# costlib.check_invoice(costlib.read(january))
# ```
# </details>

# %% [markdown]
# ## Check your understanding
#
# How much did Amazon S3 (`ProductName` `Amazon Simple Storage Service`) cost this month,
# exactly? Sum its charge rows by hand, as a `Decimal`; replace `...` and run both cells.
#
# <details><summary>Solution</summary>
#
# ```python
# s3_cost = sum(Decimal(row[col["BlendedCost"]]) for row in charges
#               if row[col["ProductName"]] == "Amazon Simple Storage Service")
# ```
# </details>

# %%
s3_cost = ...   # a Decimal

# %%
items = bill.items
expected = items.loc[items["ProductName"] == "Amazon Simple Storage Service", "BlendedCost"].sum()
if s3_cost is ...:
    print("not answered yet: replace ... above with your code, then run both cells")
else:
    assert isinstance(s3_cost, Decimal), (
        f"s3_cost is a {type(s3_cost).__name__}: sum Decimal(...) of each cost, not float")
    assert abs(float(s3_cost) - expected) < 1e-6, (
        f"s3_cost is {s3_cost}: keep the charge rows of Amazon Simple Storage Service only")
    print("right:", s3_cost)

# %% [markdown]
# ## Optional: resellers, reservations and open months
#
# Skip this part on a first reading; come back when your files come from a reseller (the
# `copydbr` bucket's do) or when you look at the current month. It adds four ideas, one
# section each.
#
# ### Who is who: AWS, DLT and CloudCheckr
#
# The ocean-lab account does not pay AWS directly. It buys AWS through a **reseller**, DLT
# (DLT Solutions, which sells AWS to public-sector and research customers): AWS bills DLT,
# and DLT bills the lab, adding its own fee. DLT watches its customers' spend with
# **CloudCheckr**, a cost-management service, and it is CloudCheckr that wrote the copies of
# the billing files into the `copydbr` bucket. So three parties write amounts: AWS (the
# DBR, and AWS's invoice to DLT), CloudCheckr (the copies) and DLT (its invoice to the lab).
#
# ### Reservations, and blended or unblended cost
#
# A **reservation** (a Reserved Instance) is a promise to pay for one kind of machine, say
# an `m5.xlarge` in Oregon, for one or three years, in exchange for a lower hourly rate.
# With consolidated billing, all linked accounts of the payer share the reservations: in
# each hour the discount goes to whichever account runs a matching machine. To share it
# out, consolidated billing *blends* the rates: in `BlendedCost` every account running that
# kind of machine pays one rate, between the reserved and the on-demand one, while
# `UnBlendedCost` keeps each account's own rate. So one account's hours can cost more in
# `BlendedCost` and another's less than in `UnBlendedCost`.
# Per account the two differ; over the whole bill they are the same money. The invoice and
# the billing console use blended cost.

# %%
per_account = {}
for row in charges:
    blended, unblended = per_account.get(row[col["LinkedAccountId"]], (Decimal(0), Decimal(0)))
    per_account[row[col["LinkedAccountId"]]] = (blended + Decimal(row[col["BlendedCost"]]),
                                                unblended + Decimal(row[col["UnBlendedCost"]]))
for account, (blended, unblended) in sorted(per_account.items()):
    print(f"{account}  blended {blended:>14.8f}  unblended {unblended:>14.8f}")
print("blended total == unblended total:",
      sum(b for b, _ in per_account.values()) == sum(u for _, u in per_account.values()))

# %% [markdown]
# Each `AccountTotal` row states exactly its account's blended line items:

# %%
for row in rows:
    if row[col["RecordType"]] == "AccountTotal":
        account = row[col["LinkedAccountId"]]
        assert Decimal(row[col["BlendedCost"]]) == per_account[account][0], account
print("account totals agree")

# %% [markdown]
# ### The CloudCheckr copy and its custom charge
#
# The `copydbr` bucket holds CloudCheckr's copies, made for DLT. They look like the DBR but
# differ in ways that matter:
# `RecordType` is `Usage`, `DiscountedUsage` or `Tax`; there are **no total rows**; and the
# reseller adds one `LineItem`, the *custom charge*, 10% of all other spend.
#
# `costlib sample` writes such a copy for March 2026, with AWS's invoice report for the same
# month, and a few other months we use below.

# %%
scratch = tempfile.TemporaryDirectory()  # removed when the kernel stops
samples = {p.name: p for p in sample.write_samples(scratch.name)}


def pick(part):
    """The sample file whose name contains ``part``."""
    (found,) = [p for name, p in samples.items() if part in name]
    return found


sorted(samples)

# %%
march = pick("tags-2026-03")
m_header, m_rows = read_rows(march)
m_col = {name: i for i, name in enumerate(m_header)}
Counter(row[m_col["RecordType"]] for row in m_rows).most_common()

# %%
(custom,) = [row for row in m_rows if row[m_col["ProductName"]] == "Custom Charge"]
{k: custom[m_col[k]] for k in ("RecordType", "RecordId", "ItemDescription", "BlendedCost")}

# %% [markdown]
# Its `RecordId` is empty, like a total row's: a filter on an empty `RecordId` would drop a
# real charge. It is 10% of everything else, rounded to 8 decimals:

# %%
m_charges = sum(Decimal(row[m_col["BlendedCost"]]) for row in m_rows)
custom_cost = Decimal(custom[m_col["BlendedCost"]])
others = m_charges - custom_cost
assert custom_cost == (others / 10).quantize(Decimal("1e-8"), rounding=ROUND_HALF_UP)
m_charges, custom_cost

# %% [markdown]
# With no `InvoiceTotal` in the copy, the invoice comes from elsewhere: AWS's monthly invoice
# report (`...-aws-billing-csv-2026-03.csv`: a plain CSV, costs in `TotalCost`, rounding in a
# `CBRounding` row) or the amount on the reseller's invoice. AWS's invoice does not hold the
# reseller's charge; the reseller's invoice does.

# %%
report = pick("billing-csv-2026-03")
r_header, r_rows = read_rows(report)
r_col = {name: i for i, name in enumerate(r_header)}
r_totals = {row[r_col["RecordType"]]: Decimal(row[r_col["TotalCost"]]) for row in r_rows
            if row[r_col["RecordType"]] in ("CBRounding", "InvoiceTotal")}
r_totals

# %%
assert m_charges - custom_cost + r_totals["CBRounding"] == r_totals["InvoiceTotal"]
print("copy - custom charge + rounding == AWS's invoice, exactly")

# %% [markdown]
# costlib does the same with the report's path, or with the amount typed in from the
# reseller's invoice:

# %%
m_bill = costlib.read(march)
print(costlib.check_invoice(m_bill))
print()
print(costlib.check_invoice(m_bill, report))

# %%
resellers_invoice = m_charges.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
assert costlib.check_invoice(m_bill, report).matches
assert costlib.check_invoice(m_bill, resellers_invoice).matches
resellers_invoice

# %% [markdown]
# ### An open month
#
# The file for the current month is rewritten several times a day until AWS closes it.
# Until then `InvoiceID` reads `Estimated` and there is no invoice to check against: the
# honest answer is "no invoice yet", not a mismatch.

# %%
november = costlib.read(pick("tags-2026-11"))
print(november.invoice_id, november.closed)
print(costlib.check_invoice(november))

# %% [markdown]
# ## Key points
#
# - Charge rows cost money; `AccountTotal`, `Rounding`, `InvoiceTotal` and `StatementTotal`
#   rows only state totals. Summing every row counts the bill about four times.
# - Sum money with `Decimal` (or whole numbers of a small unit): exact, in any order.
# - The invoice uses blended cost; charges + `Rounding` = `InvoiceTotal`, to the cent.
# - `costlib.check_invoice(bill, invoice=None)` does all of it and explains the difference.
# - *(optional part)* Reservations are why rates are blended; blended and unblended totals
#   are the same money. A CloudCheckr copy (made for the reseller, DLT) has no total rows
#   and carries DLT's custom charge, which AWS's invoice report leaves out. An open month
#   (`InvoiceID` `Estimated`) has no invoice yet.

# %% [markdown]
# ## What's next
#
# [Lesson 3](03-spend-per-user.ipynb): the same charges, split by who spent them.
