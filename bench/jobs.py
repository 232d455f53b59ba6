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


def _member(path: str):
    """The zip's CSV member: (open file positioned at its deflate stream, its ZipInfo)."""
    import struct
    import zipfile

    file = open(path, "rb")  # noqa: SIM115 - handed to the caller
    info = zipfile.ZipFile(file).infolist()[0]
    file.seek(info.header_offset)
    header = file.read(zipfile.sizeFileHeader)
    skip = sum(struct.unpack("<HH", header[26:30]))
    file.seek(info.header_offset + zipfile.sizeFileHeader + skip)
    return file, info


def _isal_pieces(path: str, size: int = 1 << 18):
    """The CSV member inflated with ISA-L, CRC-checked, in pieces of up to ``size`` bytes, each
    a view of the same reused buffer (valid until the next piece)."""
    from isal import isal_zlib

    file, info = _member(path)
    buffer = bytearray(size)
    view = memoryview(buffer)
    with file:
        inflate = isal_zlib.decompressobj(-15)
        left, crc, tail = info.compress_size, 0, b""
        while True:
            if not tail and left:
                tail = file.read(min(left, 1 << 16))
                left -= len(tail)
            out = inflate.decompress(tail, size)
            tail = inflate.unconsumed_tail
            if out:
                view[: len(out)] = out
                crc = isal_zlib.crc32(view[: len(out)], crc)
                yield view[: len(out)]
            elif inflate.eof or (not tail and not left):
                break
    if crc != info.CRC:
        raise SystemExit("bad CRC")


def isal_floor(path: str) -> dict:
    """Inflate the CSV member with ISA-L and check its CRC, into one reused 256 KiB buffer, and
    nothing else: the least a reader using ISA-L must do."""
    return {"bytes": sum(len(piece) for piece in _isal_pieces(path))}


def _polars_answer(frame) -> dict:
    import polars as pl

    charges = frame.filter(~pl.col("RecordType").is_in(list(TOTAL_ROWS)))
    user = pl.col("user:Owner").fill_null("").replace("", UNTAGGED).alias("user")
    day = pl.col("UsageStartDate").str.slice(0, 10).alias("day")
    return charges.group_by(day, user).agg(pl.col("BlendedCost").sum())


def _sums(groups) -> dict:
    """The job's answer from (day, user, cost) groups."""
    groups = list(groups)
    users: dict[str, float] = {}
    for _, user, cost in groups:
        users[user] = users.get(user, 0.0) + cost
    return {"total": sum(cost for *_, cost in groups), "users": users,
            "days": len({day for day, _, _ in groups if day})}


POLARS_COLUMNS = ["RecordType", "UsageStartDate", "BlendedCost", "user:Owner"]


def polars_chunks(path: str) -> dict:
    """polars ``read_csv`` on 16 MB chunks of the CSV streamed from the zip (inflated by
    ``zipfile``, cut at line ends), the four columns the job needs, the per-chunk sums added."""
    import io
    import zipfile

    import polars as pl

    schema = {"RecordType": pl.String, "UsageStartDate": pl.String, "BlendedCost": pl.Float64,
              "user:Owner": pl.String}
    parts = []
    with zipfile.ZipFile(path) as archive:
        (member,) = [n for n in archive.namelist() if n.lower().endswith(".csv")]
        with archive.open(member) as raw:
            header = raw.readline()
            carry = b""
            while True:
                block = raw.read(16 << 20)
                data = carry + block
                cut = data.rfind(b"\n") + 1 if block else len(data)
                if not cut:
                    break
                chunk, carry = data[:cut], data[cut:]
                frame = pl.read_csv(io.BytesIO(header + chunk), columns=POLARS_COLUMNS,
                                    schema_overrides=schema)
                parts.append(_polars_answer(frame))
                if not block:
                    break
    groups = pl.concat(parts).group_by("day", "user").agg(pl.col("BlendedCost").sum())
    return _sums(groups.iter_rows())


def polars_scan(path: str) -> dict:
    """polars ``scan_csv`` (streaming engine) on the CSV already extracted (``path``: a .csv;
    the extraction is not counted)."""
    import polars as pl

    frame = pl.scan_csv(path, schema_overrides={"BlendedCost": pl.Float64}, infer_schema=False
                        ).select(POLARS_COLUMNS)
    groups = _polars_answer(frame).collect(engine="streaming")
    return _sums(groups.iter_rows())


def duckdb_isal(path: str) -> dict:
    """DuckDB (every core) on the CSV extracted with ISA-L (counted), the job's columns typed."""
    import os
    import tempfile

    import duckdb

    with tempfile.TemporaryDirectory(prefix="costlib-bench-") as folder:
        extracted = os.path.join(folder, "bill.csv")
        with open(extracted, "wb") as out:
            for piece in _isal_pieces(path, 1 << 20):
                out.write(piece)
        skip = ", ".join(f"'{t}'" for t in TOTAL_ROWS)
        groups = duckdb.sql(f"""
            SELECT substr(UsageStartDate, 1, 10) AS day,
                   coalesce(nullif("user:Owner", ''), '{UNTAGGED}') AS user,
                   sum(BlendedCost) AS cost
            FROM read_csv('{extracted}', header = true, all_varchar = true,
                          types = {{'BlendedCost': 'DOUBLE'}})
            WHERE RecordType NOT IN ({skip})
            GROUP BY ALL""").fetchall()
    return _sums(groups)


APPROACHES = {"floor": floor, "csv": csv_module, "pandas": pandas_default, "duckdb": duckdb_sql,
              "isal-floor": isal_floor, "polars-chunks": polars_chunks,
              "polars-scan": polars_scan, "duckdb-isal": duckdb_isal}

if __name__ == "__main__":
    approach, bill = sys.argv[1:3]
    print(json.dumps(APPROACHES[approach](bill)))
