"""The benchmark's job done five ways, each run alone in a fresh process by ``bench/run.py``.

    python bench/jobs.py APPROACH BILL

The job: a month's blended total over the charge rows (total rows left out), the total per user
(``user:Owner``, untagged spend under ``(untagged)``) and per UTC day and user (``UsageStartDate``).
Each approach prints one JSON object: ``total``, ``users`` (dollars) and ``days`` (how many
days have spend), so that ``run.py`` can check that they agree. Only what an approach needs is
imported, inside its function: import time is part of what is measured.
"""

from __future__ import annotations

import json
import sys

TOTAL_ROWS = ("AccountTotal", "Rounding", "InvoiceTotal", "StatementTotal", "CBRounding",
              "EstimatedDisclaimer")
UNTAGGED = "(untagged)"


def floor(path: str) -> dict:
    """Only inflate the CSV member with the standard library's zlib, and throw it away.

    Reads the raw deflate stream in 64 KiB blocks (the fastest block size here) and checks
    nothing: the least any reader of the zip must do.
    """
    import struct
    import zipfile
    import zlib

    with open(path, "rb") as file:
        info = zipfile.ZipFile(file).infolist()[0]
        file.seek(info.header_offset)
        header = file.read(zipfile.sizeFileHeader)
        skip = sum(struct.unpack("<HH", header[26:30]))
        file.seek(info.header_offset + zipfile.sizeFileHeader + skip)
        inflate = zlib.decompressobj(-15)
        left, size = info.compress_size, 0
        while left:
            block = file.read(min(left, 1 << 16))
            left -= len(block)
            size += len(inflate.decompress(block))
        size += len(inflate.flush())
    return {"bytes": size}


def csv_module(path: str) -> dict:
    """The contest's by-hand way (``solutions/01-by-hand``): ``zipfile``, ``csv`` and exact
    ``Decimal`` sums, but over a stream of records rather than a list of all of them (the list
    would need gigabytes), which only makes it faster and smaller."""
    import csv
    import io
    import zipfile
    from decimal import Decimal

    with zipfile.ZipFile(path) as archive:
        (member,) = [n for n in archive.namelist() if n.lower().endswith(".csv")]
        with archive.open(member) as raw:
            reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
            col = {name: i for i, name in enumerate(next(reader))}
            kind, cost = col["RecordType"], col["BlendedCost"]
            owner, start = col.get("user:Owner"), col["UsageStartDate"]
            total, users, daily = Decimal(0), {}, {}
            for r in reader:
                if r[kind] in TOTAL_ROWS:
                    continue
                amount = Decimal(r[cost])
                total += amount
                user = (r[owner] if owner is not None else "") or UNTAGGED
                users[user] = users.get(user, Decimal(0)) + amount
                day = r[start][:10]
                if day:
                    daily[day, user] = daily.get((day, user), Decimal(0)) + amount
    return {"total": float(total), "users": {u: float(v) for u, v in users.items()},
            "days": len({day for day, _ in daily})}


def pandas_default(path: str) -> dict:
    """``pandas.read_csv`` on the zip with default options, then three group-bys."""
    import pandas as pd

    table = pd.read_csv(path)
    charges = table[~table["RecordType"].isin(TOTAL_ROWS)]
    cost = charges["BlendedCost"]
    user = (charges["user:Owner"].fillna(UNTAGGED) if "user:Owner" in charges.columns
            else pd.Series(UNTAGGED, index=charges.index))
    users = cost.groupby(user).sum()
    day = pd.to_datetime(charges["UsageStartDate"]).dt.floor("D")
    daily = cost.groupby([day, user]).sum()
    return {"total": float(cost.sum()), "users": {str(u): float(v) for u, v in users.items()},
            "days": int(daily.index.get_level_values(0).nunique())}


def duckdb_sql(path: str) -> dict:
    """DuckDB (every core) on the CSV extracted from the zip; the extraction is counted."""
    import os
    import shutil
    import tempfile
    import zipfile

    import duckdb

    with tempfile.TemporaryDirectory(prefix="costlib-bench-") as folder:
        extracted = os.path.join(folder, "bill.csv")
        with zipfile.ZipFile(path) as archive, open(extracted, "wb") as out:
            (member,) = [n for n in archive.namelist() if n.lower().endswith(".csv")]
            with archive.open(member) as raw:
                shutil.copyfileobj(raw, out, 1 << 20)
        skip = ", ".join(f"'{t}'" for t in TOTAL_ROWS)
        groups = duckdb.sql(f"""
            SELECT substr(UsageStartDate, 1, 10) AS day,
                   coalesce(nullif("user:Owner", ''), '{UNTAGGED}') AS user,
                   sum(CAST(BlendedCost AS DOUBLE)) AS cost
            FROM read_csv('{extracted}', header = true, all_varchar = true)
            WHERE RecordType NOT IN ({skip})
            GROUP BY ALL""").fetchall()
    users: dict[str, float] = {}
    for _, user, cost in groups:
        users[user] = users.get(user, 0.0) + cost
    return {"total": sum(cost for *_, cost in groups), "users": users,
            "days": len({day for day, _, _ in groups if day})}


APPROACHES = {"floor": floor, "csv": csv_module, "pandas": pandas_default, "duckdb": duckdb_sql}

if __name__ == "__main__":
    approach, bill = sys.argv[1:3]
    print(json.dumps(APPROACHES[approach](bill)))
