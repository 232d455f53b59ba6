# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 1. Open the zip: a month's bill, by hand and with costlib
#
# AWS writes each month's spend into one file, the *Detailed Billing Report* (DBR): a zip
# holding one CSV, one row per resource per hour. Everything in this course starts by opening
# that file correctly.
#
# ## Overview
#
# **Questions**
# - What does the name of a billing file tell us before we open it?
# - How do we read the CSV inside the zip without breaking rows apart?
# - Why must account ids stay text?
#
# **Objectives**
# - Read the account and the month from a file name with a regular expression.
# - Open the zip with `zipfile` and read its CSV with `csv`, finding columns by name.
# - Explain why `line.split(",")` gives wrong answers on this file.
# - Read the same file in one line with `costlib.read` and check that both agree.
#
# ## Prerequisites
#
# | Concept | Importance | Notes |
# | --- | --- | --- |
# | Python lists, dicts and loops | Necessary | [Software Carpentry: Programming with Python](https://swcarpentry.github.io/python-novice-inflammation/) |
# | Reading a CSV file | Helpful | the [`csv` module](https://docs.python.org/3/library/csv.html) |
#
# **Time:** 20 minutes teaching, 10 minutes exercises.
#
# All the bills in this course are synthetic: account `012345678901` ("ocean-lab"), made by
# `costlib sample`. The real bills stay out of the repository.

# %% [markdown]
# ## Imports

# %%
import csv
import io
import os
import re
import zipfile

import costlib
from costlib import sample

# %% [markdown]
# ## The file name says whose bill and which month (`re`)
#
# The files in the `copydbr` bucket are named
# `<12-digit account>-aws-billing-detailed-line-items-with-resources-and-tags-YYYY-MM.csv.zip`.
# costlib ships one such month, February 2026, as its bundled sample.

# %%
path = costlib.sample_path()
name = os.path.basename(path)
name

# %% [markdown]
# A regular expression picks the two facts out of the name: twelve digits at the start, and a
# year-month just before `.csv`.

# %%
match = re.match(r"(\d{12})-aws-billing-.*-(\d{4}-\d{2})\.csv(\.zip)?$", name)
account, month = match.group(1), match.group(2)
account, month

# %% [markdown]
# costlib does the same with `costlib.parse_name`; both must agree.

# %%
assert costlib.parse_name(name).account == account
assert costlib.parse_name(name).month == month
costlib.parse_name(name)

# %% [markdown]
# ## One CSV inside the zip (`zipfile`)
#
# A zip is an archive of *members*. The billing zip holds exactly one, named like the zip
# without `.zip`. We read its bytes and decode them as UTF-8 text.

# %%
archive = zipfile.ZipFile(path)
[(member.filename, member.file_size) for member in archive.infolist()]

# %%
(member,) = archive.namelist()
text = archive.read(member).decode("utf-8-sig")
n_lines = text.count("\n")
print(f"{len(text):,} characters in {n_lines:,} lines")

# %% [markdown]
# ## Split on commas? No: read with `csv`
#
# The header line looks like a plain comma-separated list, and splitting it works:

# %%
lines = text.splitlines()
header = lines[0].split(",")
len(header), header[:6]

# %% [markdown]
# Data lines are different: every field is quoted, and some fields hold commas, like the price
# of S3 requests. Splitting such a line on `,` cuts the description into pieces and shifts
# every column after it.

# %%
line = next(x for x in lines if "1,000 PUT" in x)
print(line[:200], "...")
print("fields by split:", len(line.split(",")), " columns:", len(header))

# %% [markdown]
# The `csv` module knows about quotes: a quoted field is one field, commas and all.

# %%
(fields,) = csv.reader([line])
print("fields by csv:", len(fields))
fields[header.index("ItemDescription")]

# %% [markdown]
# So we read the whole file with `csv.reader`. The first record is the header, the rest are
# the data.

# %%
records = list(csv.reader(io.StringIO(text, newline="")))
header, rows = records[0], records[1:]
print(f"{len(header)} columns, {len(rows):,} rows")

# %% [markdown]
# ## Find columns by name, never by position (`dict`)
#
# The columns after `ResourceId` are tags, and which tags a file has changes from month to
# month (the March file has five, February four). A column's *position* therefore changes;
# its *name* does not. A dict from name to position does the lookup:

# %%
col = {column: i for i, column in enumerate(header)}
tag_columns = [c for c in header if ":" in c]
print("BlendedCost is column", col["BlendedCost"])
print("tags:", tag_columns)

# %% [markdown]
# One row, read through the names:

# %%
first = dict(zip(header, rows[0], strict=True))
{k: first[k] for k in ("LinkedAccountId", "ProductName", "UsageStartDate", "BlendedCost",
                       "user:Owner")}

# %% [markdown]
# ## Ids are text, not numbers
#
# Account ids can start with a zero and a `RecordId` has 26 digits. Numbers lose both:

# %%
print(int(account))                            # the leading zero is gone
record_id = first["RecordId"]
print(record_id, f"{float(record_id):.0f}")    # a float keeps only ~16 digits

# %% [markdown]
# Keep ids as strings: compare `row[col["LinkedAccountId"]] == "012345678902"`.

# %% [markdown]
# ## A copy that went through a spreadsheet (`utf-8-sig`)
#
# Save the CSV from a spreadsheet and it comes back with a *byte-order mark* (three bytes
# before the first character), Windows line ends and a quoted header. Decoded as plain
# `utf-8`, the first column name is no longer `InvoiceID`:

# %%
copy = sample.make_bill("2026-02", spreadsheet=True)
print(copy[:20])
plain = next(csv.reader(io.StringIO(copy.decode("utf-8"))))
print(repr(plain[0]), plain[0] == "InvoiceID")

# %% [markdown]
# Decoding with `utf-8-sig` drops the mark when there is one and changes nothing otherwise;
# `csv` handles the `\r\n` line ends.

# %%
fixed = next(csv.reader(io.StringIO(copy.decode("utf-8-sig"), newline="")))
assert fixed == header
fixed[0]

# %% [markdown]
# ## The same in one line: `costlib.read`
#
# `costlib.read` opens a `.csv.zip`, a `.csv`, an open file or an `s3://` URL, finds the
# columns by name, keeps ids as text, turns costs into numbers and dates into UTC
# `datetime64`, and keeps the total rows (next lesson) apart from the charge rows.

# %%
bill = costlib.read(path)
bill

# %% [markdown]
# Everything we found by hand, costlib found too:

# %%
assert bill.account == account and bill.month == month
assert len(bill.items) + len(bill.controls) == len(rows)
assert bill.tags == tag_columns
assert bill.items["LinkedAccountId"].map(type).eq(str).all()
bill.items[["LinkedAccountId", "ProductName", "UsageStartDate", "BlendedCost",
            "user:Owner"]].head(3)

# %% [markdown]
# ## Reading from the bucket (`boto3`)
#
# The real files live in an S3 bucket (`copydbr`). With AWS credentials in the environment or
# an instance role (never in a file in this repository), the read is the same call with an
# `s3://` URL; by hand it is `boto3` plus the same `zipfile` code:
#
# ```python
# import boto3
# body = boto3.client("s3").get_object(Bucket="copydbr", Key=name)["Body"].read()
# archive = zipfile.ZipFile(io.BytesIO(body))
# ```
#
# Here there are no credentials, so the cell below reads from S3 only when you name a bill
# in the `COSTLIB_S3_BILL` environment variable and your credentials are set; otherwise it
# says it skipped.

# %%
url = os.environ.get("COSTLIB_S3_BILL")  # e.g. s3://copydbr/<the file name above>
if url:
    import boto3

    if boto3.Session().get_credentials() is None:
        print("no AWS credentials found: the S3 read is skipped")
    else:
        remote = costlib.read(url)
        print(remote.month, f"{len(remote.items):,} charge rows")
else:
    print("COSTLIB_S3_BILL is not set: the S3 read is skipped (it needs AWS credentials)")

# %% [markdown]
# ## Exercises
#
# ### Exercise 1: untagged rows
#
# How many rows have no `user:Owner` tag (an empty string)? Use `rows` and `col`.
#
# <details><summary>Solution</summary>
#
# ```python
# sum(1 for r in rows if r[col["user:Owner"]] == "")
# ```
# That counts the total rows at the end of the file too: they have no tags at all. Lesson 2
# tells them apart.
# </details>
#
# ### Exercise 2: predict, then break the header
#
# Read the spreadsheet copy (`copy`) with plain `utf-8` instead of `utf-8-sig`, build `col`
# from its header as above, and look up `col["InvoiceID"]`. **Predict** what happens before
# you run it. Which other columns still work?
#
# <details><summary>Solution</summary>
#
# ```python
# bad = next(csv.reader(io.StringIO(copy.decode("utf-8"), newline="")))
# bad_col = {column: i for i, column in enumerate(bad)}
# bad_col["InvoiceID"]       # KeyError: the key is '\ufeffInvoiceID'
# bad_col["BlendedCost"]     # works: only the first column name carries the mark
# ```
# A `KeyError` on a column you can *see* in the file is the mark's signature: the first
# name starts with the invisible character `\ufeff`. Every other column reads fine, which is
# why the bug hides until someone needs the first column.
# </details>

# %% [markdown]
# ## Key points
#
# - The file name gives the account and the month: `<account>-aws-billing-...-YYYY-MM.csv.zip`.
# - One CSV inside the zip: `zipfile` to open it, `csv` to read it; never split on commas.
# - Find columns by name; the set of tag columns changes from file to file.
# - Ids are strings; decode with `utf-8-sig` so spreadsheet copies read the same.
# - `costlib.read(path)` does all of this, for local files and `s3://` URLs.

# %% [markdown]
# ## Check your understanding
#
# How many rows of the file belong to the second linked account, `012345678902`? Count
# them by hand from `rows` and `col` (compare the id as text); replace `...` and run both
# cells. The second one says whether you got it.
#
# <details><summary>Solution</summary>
#
# ```python
# rows_of_02 = sum(1 for r in rows if r[col["LinkedAccountId"]] == "012345678902")
# ```
# </details>

# %%
rows_of_02 = ...   # a whole number

# %%
expected = sum(int((table["LinkedAccountId"] == "012345678902").sum())
               for table in (bill.items, bill.controls))   # costlib's count
if rows_of_02 is ...:
    print("not answered yet: replace ... above with your code, then run both cells")
else:
    assert rows_of_02 == expected, (
        f"rows_of_02 is {rows_of_02}: count the rows whose LinkedAccountId is the text "
        '"012345678902" (an int would lose the leading zero)')
    print("right:", rows_of_02, "rows")

# %% [markdown]
# ## What's next
#
# [Lesson 2](02-check-the-invoice.ipynb): which of these rows cost money and which only
# state totals, and whether the month adds up to the invoice, to the cent.
