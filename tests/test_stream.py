"""Condensed bills (``costlib.read_condensed``) answer exactly as the bills read whole, chunk after
chunk: both take their rows from the one parser."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from decimal import Decimal

import boto3
import numpy as np
import pandas as pd
import pytest

import costlib
from conftest import s3_bucket, sample
from costlib import files, money, parsing
from costlib.cli import main
from costlib.reading import CondensedBill, read_condensed
from costlib.reporting import report

SMALL = 30_000  # bytes a chunk: some 60 rows, so that a sample makes 50 to 150 chunks
PACIFIC = "America/Los_Angeles"
#: (report options) asked of every file: windows, zones, spreading, tag chains
QUESTIONS = [
    {},
    {"tz": PACIFIC, "spread": True},
    {"tag": list(costlib.LAMBDA_TAGS), "tz": PACIFIC, "start": "2026-03-08",
     "end": "2026-03-09 12:00"},
    {"tag": "user:Project", "start": "2026-02-10 06:00", "spread": True},
]
SAMPLES = ["tags-2026-02", "tags-2026-03", "tags-2026-11", "line-items-2026-01",
           "billing-csv-2026-03", "spreadsheet-copy"]


def same_answers(path, chunk_bytes: int = SMALL, invoice=None) -> CondensedBill:
    """Assert that every question gets the same answer, to the unit, streamed or read whole."""
    whole = costlib.read(path)
    streamed = read_condensed(path, chunk_bytes=chunk_bytes)
    assert isinstance(streamed, CondensedBill)
    for attribute in ("name", "account", "month", "kind", "invoice_id", "cost_column", "tags",
                      "closed"):
        assert getattr(streamed, attribute) == getattr(whole, attribute), attribute
    assert streamed.line_items == len(whole.items)
    pd.testing.assert_frame_equal(streamed.controls, whole.controls)
    for question in QUESTIONS:
        options = {**question, "invoice": invoice}
        if "tag" in question and not {*np.atleast_1d(question["tag"])} & set(whole.tags):
            options["tag"] = None
        assert report(streamed, **options).as_dict() == report(whole, **options).as_dict(), \
            question
        kept = {k: v for k, v in options.items() if k not in ("invoice",)}
        a, b = costlib.spend(streamed, **kept), costlib.spend(whole, **kept)
        assert np.array_equal(a.table, b.table) and a.users == b.users
        assert a.total_units == b.total_units
    return streamed


@pytest.mark.parametrize("part", SAMPLES)
def test_every_sample_streams_to_the_same_answers(samples, part):
    invoice = sample(samples, "billing-csv-2026-03") if part == "tags-2026-03" else None
    streamed = same_answers(sample(samples, part), invoice=invoice)
    if part.startswith("tags-"):
        assert len(streamed.items) < streamed.line_items  # condensed: fewer rows than the file


def test_conformance_file_streams_to_the_same_answers(scopely):
    same_answers(scopely, chunk_bytes=200)


def test_one_chunk_or_many_give_the_same_bill(samples):
    path = sample(samples, "tags-2026-03")
    one = read_condensed(path, tag="user:Owner")
    many = read_condensed(path, tag="user:Owner", chunk_bytes=20_000)
    assert report(one, tz=PACIFIC).as_dict() == report(many, tz=PACIFIC).as_dict()
    assert list(one.items.columns) == ["InvoiceID", "PayerAccountId", "LinkedAccountId",
                                       "RecordType", "ProductName", "UsageStartDate",
                                       "UsageEndDate", "BlendedCost", "user:Owner"]


def test_only_the_tags_asked_for_are_kept_but_all_are_known(samples):
    path = sample(samples, "tags-2026-02")
    bill = read_condensed(path, tag=["user:Owner"])
    assert [c for c in bill.items.columns if ":" in c] == ["user:Owner"]
    assert bill.tags == costlib.read(path).tags
    with pytest.raises(costlib.OptionError, match=r"no tag column user:Ownr \(tags in this "
                       r"file: aws:createdBy, user:Name, user:Owner, user:Project\)"):
        costlib.spend(bill, "user:Ownr")


def test_types_are_the_tidy_tables(samples):
    bill = read_condensed(sample(samples, "tags-2026-02"))
    items = bill.items
    assert str(items["UsageStartDate"].dtype) == "datetime64[ns, UTC]"
    assert items["BlendedCost"].dtype == np.float64
    assert items["PayerAccountId"].iloc[0] == "012345678901"
    assert bill.rows.sum() == bill.line_items and (bill.rows >= 0).all()
    assert "condensed" not in repr(bill) and "sums" in repr(bill)


# --- exact sums ------------------------------------------------------------------------------

def test_large_sums_stay_exact_to_the_unit(tmp_path):
    """Sums of over $112,590 (2**50 units) do not survive float dollars exactly: the exact
    units travel beside them."""
    rows = [("2026-03-02 10:00:00", "2026-03-02 11:00:00", f"{cost}", "alice")
            for cost in ("90071.99254741", "90071.99254747", "0.00000001", "-0.33333333",
                         "123456.78901234")] * 7
    path = write_csv(tmp_path / "big.csv", rows)
    same_answers(path, chunk_bytes=400)
    bill = read_condensed(path)
    exact = sum(Decimal(cost) for _, _, cost, _ in rows)
    assert money.exact(money.total(bill.units)) == exact
    assert len(bill.items) == 2  # charges and the credit, kept apart by their sign


def test_rows_lasting_hours_are_spread_as_the_whole_file_spreads_them(tmp_path):
    rows = [("2026-03-01 00:00:00", "2026-03-01 07:00:00", "0.00000101", "bob"),
            ("2026-03-01 00:00:00", "2026-03-01 07:00:00", "0.00000102", "bob"),
            ("2026-03-01 00:00:00", "2026-03-16 19:58:36", "12.34567891", "bob"),
            ("", "", "-5.00000000", "bob")] * 5
    same_answers(write_csv(tmp_path / "spread.csv", rows), chunk_bytes=300)


# --- bad input --------------------------------------------------------------------------------

HEADER = ("InvoiceID,PayerAccountId,LinkedAccountId,RecordType,RecordId,ProductName,"
          "UsageStartDate,UsageEndDate,BlendedCost,user:Owner")


def write_csv(path, rows, header=HEADER):
    lines = [header]
    for i, (start, end, cost, owner) in enumerate(rows):
        lines.append(f'"Estimated","012345678901","012345678901","LineItem","{10**25 + i}",'
                     f'"Amazon S3","{start}","{end}","{cost}","{owner}"')
    path.write_text("\n".join(lines) + "\n")
    return path


def good_rows(n: int):
    return [("2026-03-01 00:00:00", "2026-03-01 01:00:00", "0.50000000", "alice")] * n


BAD = {
    "cost": (("2026-03-01 00:00:00", "2026-03-01 01:00:00", "abc", "alice"),
             "row 1802: BlendedCost is not a number ('abc')"),
    "blank cost": (("2026-03-01 00:00:00", "2026-03-01 01:00:00", "", "alice"),
                   "row 1802: BlendedCost is blank"),
    "infinite cost": (("2026-03-01 00:00:00", "2026-03-01 01:00:00", "inf", "alice"),
                      "row 1802: BlendedCost is not a number ('inf')"),
    "date": (("2026-02-30 00:00:00", "2026-03-01 01:00:00", "0.5", "alice"),
             "row 1802: UsageStartDate is not a date ('2026-02-30 00:00:00', "
             "expected YYYY-MM-DD HH:MM:SS)"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_value_in_a_late_chunk_is_named_by_its_row_in_the_file(tmp_path, case):
    row, words = BAD[case]
    path = write_csv(tmp_path / "late.csv", good_rows(1800) + [row] + good_rows(50))
    with pytest.raises(costlib.BillError) as whole:
        costlib.read(path)
    with pytest.raises(costlib.BillError) as streamed:
        read_condensed(path, chunk_bytes=10_000)
    assert str(streamed.value) == str(whole.value) == f"{path}: {words}"


def test_a_row_with_too_many_fields_is_named_by_its_row(tmp_path):
    path = write_csv(tmp_path / "wide.csv", good_rows(1500))
    lines = path.read_text().splitlines()
    lines[1234] += ',"extra"'
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(costlib.BillError) as whole:
        costlib.read(path)
    with pytest.raises(costlib.BillError) as streamed:
        read_condensed(path, chunk_bytes=10_000)
    assert str(streamed.value) == str(whole.value)
    assert "row 1235: not a well-formed CSV line (expected 10 fields, found 11)" in str(
        streamed.value)


def test_values_holding_line_ends_survive_chunk_cuts(tmp_path):
    rows = good_rows(400)
    path = write_csv(tmp_path / "multiline.csv", rows)
    text = path.read_text().replace('"Amazon S3"', '"Amazon\nS3, with a line end"')
    path.write_text(text)
    same_answers(path, chunk_bytes=1000)


def test_blank_lines_are_skipped_as_the_whole_file_skips_them(tmp_path):
    with zipfile.ZipFile(costlib.sample_path()) as archive:
        lines = archive.read(archive.infolist()[0]).decode().splitlines()
    text = "\n".join(line + ("\n\n\n" if i % 50 == 1 else "") for i, line in enumerate(lines))
    path = tmp_path / "blank-lines.csv"
    path.write_text(text + "\n")
    for chunk_bytes in (200, 5000):
        streamed = same_answers(path, chunk_bytes=chunk_bytes)
        assert len(streamed.controls) == 5  # the total rows, found whole


@pytest.mark.parametrize("where", ["tag", "record id"])
def test_bad_utf8_in_a_late_chunk_is_refused_as_the_whole_file_is(tmp_path, where):
    path = write_csv(tmp_path / "latin1.csv", good_rows(1800) + [
        ("2026-03-01 00:00:00", "2026-03-01 01:00:00", "0.5", "M\u00fcller")])
    good = "M\u00fcller" if where == "tag" else f"{10**25 + 1800}"
    bad = good.encode("latin-1") if where == "tag" else good.encode()[:-1] + b"\xe9"
    path.write_bytes(path.read_bytes().replace(good.encode(), bad))
    with pytest.raises(costlib.BillError) as whole:
        costlib.read(path)
    with pytest.raises(costlib.BillError) as streamed:
        read_condensed(path, chunk_bytes=4096)
    assert str(streamed.value) == str(whole.value)
    assert "not UTF-8" in str(streamed.value)


def test_reading_and_the_answers_do_not_need_pandas(samples):
    """The condensed bill and the report's answers are numpy all the way (pyarrow's numpy and
    scalar bridges would import pandas on first use: the reader goes round them), so
    ``costlib report`` never loads pandas; the DataFrame is made when ``items`` is asked for."""
    script = f"""
import sys
import costlib
import costlib.reading as reading
seen = []
take = reading._Condenser.take
def watched(self, chunk):
    seen.append("pandas" in sys.modules)
    take(self, chunk)
reading._Condenser.take = watched
bill = reading.read_condensed({str(sample(samples, "spreadsheet-copy"))!r}, chunk_bytes=20_000)
assert len(seen) > 5 and not any(seen), seen
report = costlib.report(bill, tz="America/Los_Angeles", spread=True)
text, answers = str(report), report.as_dict()
assert "pandas" not in sys.modules
assert len(bill.items) == len(bill.cost_units) and "pandas" in sys.modules
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "COSTLIB_COMPILED": "0"})  # (the pyarrow path)
    assert done.stdout.strip() == "ok", done.stderr


def test_chunk_buffers_are_refilled_only_once_nothing_looks_at_them():
    text = b"".join(b"%06d,%s\n" % (i, b"x" * (i % 50)) for i in range(20_000))
    opened = files.Opened("lines.csv", io.BytesIO(text), len(text))
    chunks = parsing._Pieces(opened, 8192, None, parsing.MAX_LINE_BYTES)
    kept, seen, buffers = [], [], set()
    try:
        for n, piece in enumerate(chunks):
            assert bytes(piece).endswith(b"\n")
            seen.append(bytes(piece))
            buffers.add(id(piece.obj))
            if n % 10 == 0:
                kept.append((piece, bytes(piece)))  # still looked at: must not be refilled
            else:
                chunks.release(piece)
    finally:
        chunks.close()
    assert b"".join(seen) == text
    assert all(bytes(view) == copy for view, copy in kept)
    assert len(buffers) < len(seen) / 2  # the released ones were filled again


def test_the_cli_reports_from_the_stream_with_the_same_json(samples, capsys):
    path = sample(samples, "tags-2026-11")
    assert main(["report", str(path), "--json", "--quiet", "--tz", PACIFIC]) == 0
    printed = json.loads(capsys.readouterr().out)
    expected = json.loads(json.dumps(report(costlib.read(path), tz=PACIFIC).as_dict()))
    assert printed == expected


def test_no_progress_bar_when_the_output_is_not_a_terminal(samples, capsys):
    read_condensed(sample(samples, "tags-2026-02"))
    read_condensed(sample(samples, "tags-2026-02"), progress=False)
    assert capsys.readouterr().err == ""


def test_a_dataframe_is_refused_with_a_friendly_type_error(samples):
    with pytest.raises(TypeError, match="not a DataFrame"):
        read_condensed(costlib.read(sample(samples, "tags-2026-02")).items)


# --- S3: ranged reads -------------------------------------------------------------------------

BUCKET = "copydbr"


@pytest.fixture
def bucket(aws_env):
    with s3_bucket(BUCKET) as s3:
        yield s3


@pytest.fixture
def gets(monkeypatch):
    """Every GetObject the readers send, with its Range; small read-ahead, so many ranges."""
    seen = []
    client = boto3.client("s3")
    client.meta.events.register(
        "before-call.s3.GetObject",
        lambda params, **_: seen.append(params.get("headers", {}).get("Range")))
    monkeypatch.setattr(files, "s3_client", lambda: client)
    monkeypatch.setattr(files, "READ_AHEAD", 1 << 15)
    return seen


def spans(gets: list[str]) -> list[tuple[int, int]]:
    """The byte ranges asked for, as (first, last)."""
    return [tuple(map(int, r.removeprefix("bytes=").split("-"))) for r in gets]


@pytest.mark.parametrize("part", ["tags-2026-02", "line-items-2026-01"])
def test_s3_objects_are_read_in_ranges_and_read_the_same(samples, bucket, gets, part):
    path = sample(samples, part)
    key = path.name
    data = path.read_bytes()
    bucket.put_object(Bucket=BUCKET, Key=key, Body=data)
    url = f"s3://{BUCKET}/{key}"
    streamed = read_condensed(url, chunk_bytes=20_000)
    local = costlib.read(path)
    assert report(streamed).as_dict() == {**report(local).as_dict(), "file": key}
    assert len(gets) > 3 and all(gets), gets
    assert all(end - start + 1 < len(data) for start, end in spans(gets))  # never whole
    gets.clear()
    whole = costlib.read(url)  # the in-memory reader goes through the same ranged file
    pd.testing.assert_frame_equal(whole.items, local.items)
    assert len(gets) >= 2 and all(gets)


def test_a_zip_member_on_s3_is_not_downloaded_before_it_is_inflated(tmp_path, bucket, gets):
    from costlib.sample import write_bill

    path = write_bill(tmp_path / costlib.bill_name("012345678901", "2026-03"), month="2026-03",
                      resources=40, seed=3)
    bucket.put_object(Bucket=BUCKET, Key=path.name, Body=path.read_bytes())
    opened = files.open_source(f"s3://{BUCKET}/{path.name}")
    with opened.stream as stream:
        stream.read(10)
        asked = sum(end - start + 1 for start, end in spans(gets))
    assert asked < path.stat().st_size / 2  # the first range, the central directory, a block


def test_the_next_range_is_fetched_while_this_one_is_read(tmp_path, bucket, gets):
    """Two GETs in flight: once a zip member is being read in order, the range after the one
    being inflated is already on its way (from S3 a GET waits tens of milliseconds before its
    first byte). The ranges asked for tile the member without a gap or a repeat, and none goes
    past the member's end (the central directory after it was read first, on its own)."""
    import time

    from costlib.sample import write_bill

    path = write_bill(tmp_path / costlib.bill_name("012345678901", "2026-03"), month="2026-03",
                      resources=40, seed=3)
    bucket.put_object(Bucket=BUCKET, Key=path.name, Body=path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.infolist()[0]
        start = info.header_offset + zipfile.sizeFileHeader + len(info.filename.encode()) + len(
            info.extra)
        end = start + info.compress_size
    opened = files.open_source(f"s3://{BUCKET}/{path.name}")
    raw = opened.stream._file  # (the S3 object under the inflater)
    with opened.stream as stream:
        stream.read(files.FIRST_RANGE * 4)  # past the first range: the member's first GETs
        waited = 0.0
        while not any(raw.tell() < lo < end for lo, _ in spans(gets)):  # not read yet
            assert waited < 60, f"no GET ahead of the reader at {raw.tell()}: {gets}"
            time.sleep(0.05)
            waited += 0.05
        while stream.read(1 << 20):
            pass
    member = sorted(span for span in spans(gets) if span[0] < end and span[1] >= files.FIRST_RANGE)
    assert [lo for lo, _ in member[1:]] == [hi + 1 for _, hi in member[:-1]], member
    assert member[-1][1] == end - 1 and len(set(member)) == len(member), (member, end)


def test_an_object_rewritten_while_it_is_read_is_refused(bucket, monkeypatch):
    monkeypatch.setattr(files, "FIRST_RANGE", 1 << 10)
    body = b"x" * 100_000
    bucket.put_object(Bucket=BUCKET, Key="bill.csv", Body=body)
    raw = files.S3Object(f"s3://{BUCKET}/bill.csv")
    assert raw.size == len(body)
    bucket.put_object(Bucket=BUCKET, Key="bill.csv", Body=b"y" * 100_000)
    raw.seek(50_000)
    with pytest.raises(costlib.BillNotFoundError, match="changed while it was read"):
        raw.read(10)


def test_an_empty_s3_object_is_an_empty_file(bucket):
    bucket.put_object(Bucket=BUCKET, Key="empty.csv", Body=b"")
    with pytest.raises(costlib.BillError, match="empty.csv: the file is empty"):
        read_condensed(f"s3://{BUCKET}/empty.csv")


def test_a_stored_zip_member_reads_too(tmp_path, samples):
    source = sample(samples, "tags-2026-02")
    with zipfile.ZipFile(source) as archive:
        name, text = archive.namelist()[0], archive.read(archive.namelist()[0])
    stored = tmp_path / source.name
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(name, text)
    stored.write_bytes(buffer.getvalue())
    assert report(read_condensed(stored)).as_dict() == report(costlib.read(source)).as_dict()


@pytest.mark.parametrize("extra", [["--json"], [], ["--tz", "America/Los_Angeles", "--spread"]])
def test_costlib_report_does_not_load_pandas(extra):
    """The morning's one command pays for no DataFrame: the answers are numpy (a window given
    as text is read by pandas, which then loads while the file is read)."""
    script = f"""
import sys
from costlib.cli import main
code = main(["report", *{extra!r}])
print(code, "pandas" in sys.modules, file=sys.stderr)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stderr.strip().splitlines()[-1] == "0 False", done.stderr
    assert "Spend per user" in done.stdout or '"users"' in done.stdout


def test_a_condensed_bill_answers_from_its_columns_or_from_a_table_put_in_their_place():
    """The answers read a condensed bill's numpy columns; the DataFrame made from them when
    ``items`` is first asked for changes nothing, and a table a user puts in its place
    (``dataclasses.replace``) is what the answers then read."""
    import dataclasses

    bill = read_condensed(costlib.sample_path())
    before = report(bill).as_dict()
    assert len(bill.items) == len(bill.cost_units)  # the DataFrame, made now
    assert report(bill).as_dict() == before
    one = bill.only("LinkedAccountId", "012345678902")
    assert one.line_items == len(costlib.read(costlib.sample_path()).only(
        "LinkedAccountId", "012345678902").items)
    assert set(one.column("LinkedAccountId")) == {"012345678902"}
    mine = dataclasses.replace(bill, items=bill.items.iloc[:10].reset_index(drop=True))
    assert len(mine.column("BlendedCost")) == 10
    assert costlib.spend(mine).total == pytest.approx(bill.items["BlendedCost"][:10].sum())


def test_a_read_after_a_failed_get_never_gives_the_previous_range_s_bytes(bucket, monkeypatch):
    """A GET that fails (here: the object rewritten) leaves the object where it was: reading
    there again asks again (and fails again), rather than handing out the bytes of the range
    read before as if they were the ones asked for."""
    import random

    monkeypatch.setattr(files, "FIRST_RANGE", 1 << 10)
    body = random.Random(2).randbytes(100_000)
    bucket.put_object(Bucket=BUCKET, Key="bill.csv", Body=body)
    raw = files.S3Object(f"s3://{BUCKET}/bill.csv")
    assert raw.read(1 << 10) == body[: 1 << 10]
    bucket.put_object(Bucket=BUCKET, Key="bill.csv", Body=b"y" * len(body))
    for _ in range(2):
        with pytest.raises(costlib.BillNotFoundError, match="changed while it was read"):
            raw.read(10)
    assert raw.tell() == 1 << 10
    bucket.put_object(Bucket=BUCKET, Key="bill.csv", Body=body)  # (the same ETag again)
    assert raw.read(10) == body[1 << 10 : (1 << 10) + 10]
