"""Files and options written to break us get a bounded, clear refusal, on every path alike.

Each file here goes to :func:`costlib.read` (the whole table), to :func:`costlib.read_condensed`
(what ``costlib report`` and the Lambda use) and to the ``costlib`` command: the same words,
exit code 2, one line, memory bounded, and never a silently wrong number.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

import costlib
from conftest import ROOT, run_cli, sample
from costlib import money
from costlib.cli import main

HEADER = ("InvoiceID,PayerAccountId,LinkedAccountId,RecordType,RecordId,ProductName,"
          "UsageStartDate,UsageEndDate,UsageQuantity,BlendedCost,user:Owner")
NAME = "012345678901-aws-billing-detailed-line-items-with-resources-and-tags-2026-03.csv"


def row(start="2026-03-02 10:00:00", end="2026-03-02 11:00:00", cost="0.50000000",
        owner="alice", quantity="1.00000000", record_type="LineItem", record_id="1") -> str:
    return (f'"Estimated","012345678901","012345678901","{record_type}","{record_id}",'
            f'"Amazon S3","{start}","{end}","{quantity}","{cost}","{owner}"')


def noise(size: int, seed: int = 1) -> str:
    """``size`` letters that do not compress much (a long line that is no zip bomb)."""
    letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", np.uint8)
    return np.random.default_rng(seed).choice(letters, size).tobytes().decode()


def write(folder: Path, rows: list[str], name: str = NAME, header: str = HEADER) -> Path:
    path = folder / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def refusals(path) -> tuple[str, str]:
    """The words of both readers' refusals (which must be the same)."""
    with pytest.raises(costlib.BillError) as whole:
        costlib.read(path)
    with pytest.raises(costlib.BillError) as streamed:
        costlib.read_condensed(path, tag="user:Owner", chunk_bytes=4096)
    return str(whole.value), str(streamed.value)


def cli_refuses(path, *args: str) -> str:
    """Run the command in a process of its own: exit 2, one line, no traceback."""
    done = run_cli("report", str(path), *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("costlib: error: "), done.stderr
    return lines[0]


# --- bounded memory ---------------------------------------------------------------------------

def bomb(inflated: int, declared: int | None = None, crc: int = 0) -> bytes:
    """A zip of one ``bill.csv`` of ``inflated`` NUL bytes, made without inflating it: a deflate
    block of 1 MiB of zeros, flushed to a byte boundary, repeated. The header may lie about the
    size (``declared``); the CRC is not checked before the end, which no reader reaches."""
    block = 1 << 20
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
    one = squeeze.compress(bytes(block)) + squeeze.flush(zlib.Z_FULL_FLUSH)
    data = one * (inflated // block) + zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    size = inflated if declared is None else declared
    name = b"bill.csv"
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(data), size,
                        len(name), 0) + name
    central = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(data),
                          size, len(name), 0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central),
                      len(local) + len(data), 0)
    return local + data + central + end


@pytest.mark.parametrize("declared", [None, 1 << 20], ids=["honest header", "lying header"])
def test_a_zip_bomb_is_refused_before_it_inflates(tmp_path, declared):
    path = tmp_path / "bomb.csv.zip"
    path.write_bytes(bomb(2 << 30, declared))  # 2 GiB of NULs in about 2 MB
    whole, streamed = refusals(path)
    assert whole == streamed
    assert str(path) in whole
    if declared is None:
        assert "inflates past 200 times its size" in whole and "zip bomb" in whole
    else:
        assert "inflates past the 1,048,576 bytes the zip says" in whole
    assert "error" in cli_refuses(path)


@pytest.mark.parametrize("where", ["zip", "csv"])
def test_a_line_longer_than_the_limit_is_refused_with_its_row(tmp_path, where):
    path = write(tmp_path, [row(), row(owner=noise(3 << 20)), row()])
    if where == "zip":
        zipped = tmp_path / (NAME + ".zip")
        with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(path, NAME)
        path = zipped
    whole, streamed = refusals(path)
    assert whole == streamed == (f"{path}: row 3: a line longer than 1 MB (not a billing "
                                 "file's; set COSTLIB_MAX_LINE_MB to read longer lines)")


def test_a_long_line_reads_exactly_when_the_limit_is_raised(tmp_path, monkeypatch):
    long = noise(3 << 20)
    path = write(tmp_path, [row(), row(owner=long, cost="1.25000000"), row()])
    monkeypatch.setenv("COSTLIB_MAX_LINE_MB", "8")
    bill = costlib.read_condensed(path, tag="user:Owner", chunk_bytes=4096)
    assert costlib.spend(bill).per_user[long] == 1.25
    assert costlib.read(path).items["user:Owner"].str.len().max() == 3 << 20


def test_a_quote_that_never_closes_is_bounded(tmp_path):
    path = tmp_path / NAME
    opened = row().removesuffix('"alice"') + '"never closed'  # the quote opens, never closes
    text = HEADER + "\n" + row() + "\n" + opened + "\n"
    path.write_text(text + (row() + "\n") * 40_000)  # 5 MB more, all inside the open quote
    with pytest.raises(costlib.BillError) as whole:
        costlib.read(path)
    assert str(whole.value).startswith(f"{path}: row 3: not a well-formed CSV line")
    assert cli_refuses(path) == f"costlib: error: {whole.value}"
    with pytest.raises(costlib.BillError, match=r"row 3: not a well-formed CSV line"):
        costlib.read_condensed(path, chunk_bytes=4096)  # (the fields it counts may differ)


def test_a_stray_date_cannot_stretch_the_month_over_years(tmp_path):
    users = [row(owner=f"user{i}", record_id=str(i)) for i in range(3000)]
    users.insert(1500, row(start="1970-01-01 00:00:00", end="1970-01-01 01:00:00"))
    path = write(tmp_path, users)
    whole, streamed = refusals(path)
    assert whole == streamed == (
        f"{path}: row 1502: UsageStartDate '1970-01-01 00:00:00' is far outside the bill's "
        "month 2026-03 (more than 31 days away); is the row from another file?")


def test_usage_from_the_day_before_the_month_is_fine(tmp_path):
    path = write(tmp_path, [row(start="2026-02-28 23:00:00", end="2026-03-01 00:00:00"),
                            row(start="2026-03-31 23:00:00", end="2026-04-01 00:00:00")])
    assert len(costlib.read(path).items) == 2


# --- dates ------------------------------------------------------------------------------------

@pytest.mark.parametrize("date", ["9999-12-31 00:00:00", "1600-01-01 00:00:00"])
def test_a_date_outside_1970_to_2199_is_a_bad_date_with_its_row(tmp_path, date):
    path = write(tmp_path, [row(), row(), row(start=date)])
    whole, streamed = refusals(path)
    assert whole == streamed == (f"{path}: row 4: UsageStartDate is out of range "
                                 f"('{date}': dates are read from 1970 to 2199)")
    assert cli_refuses(path).endswith("dates are read from 1970 to 2199)")


@pytest.mark.parametrize("option", ["--start", "--end"])
def test_a_window_outside_the_years_read_is_refused(tmp_path, option):
    path = write(tmp_path, [row()])
    assert cli_refuses(path, option, "1600-01-01") == (
        "costlib: error: '1600-01-01' is out of range (dates from 1970 to 2199)")


def test_an_invoice_report_with_a_date_out_of_range_is_one_line(tmp_path, samples):
    path = write(tmp_path, [row()])
    report = tmp_path / "012345678901-aws-billing-csv-2026-03.csv"
    text = sample(samples, "billing-csv-2026-03").read_text()
    report.write_text(text.replace('"2026/03/01 00:00:00"', '"9999/03/01 00:00:00"', 1))
    line = cli_refuses(path, "--invoice", str(report))
    assert line == (f"costlib: error: {report}: row 2: BillingPeriodStartDate is out of range "
                    "('9999/03/01 00:00:00': dates are read from 1970 to 2199)")


# --- money ------------------------------------------------------------------------------------

def test_sums_past_922_million_dollars_are_exact(tmp_path, capsys):
    costs = ["920000000.12345678", "10000000.00000001", "0.00000001"]
    path = write(tmp_path, [row(cost=c, owner=o) for c, o in zip(costs, "abb", strict=True)])
    exact = sum(Decimal(c) for c in costs)
    for bill in (costlib.read(path), costlib.read_condensed(path, tag="user:Owner")):
        s = costlib.spend(bill)
        assert money.exact(s.total_units) == exact and s.users_add_up
        assert money.exact(s.table[:, s.users.index("b")].sum()) == Decimal("10000000.00000002")
    assert main(["report", str(path)]) == 0
    assert "$930,000,000.12" in capsys.readouterr().out
    assert main(["report", str(path), "--json"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert data["blended_total"] == float(exact) and data["users_add_up"] is True


def test_an_invoice_amount_past_int64_units_is_exact(tmp_path, capsys):
    path = write(tmp_path, [row(cost="999999999.99000000")])
    assert main(["report", str(path), "--invoice", "1000000000", "--json"]) == 0
    import json

    invoice = json.loads(capsys.readouterr().out)["invoice"]
    assert invoice["total"] == 1e9 and invoice["difference"] == pytest.approx(0.01, abs=1e-9)
    assert invoice["matches"] is False


def test_an_invoice_amount_in_scientific_notation_is_an_amount(tmp_path, capsys):
    path = write(tmp_path, [row(cost="1000.00000000")])
    assert main(["report", str(path), "--invoice", "1e3", "--json"]) == 0
    assert '"matches": true' in capsys.readouterr().out


# --- the same refusals everywhere -------------------------------------------------------------

BAD_FILES = {
    "quantity not a number": ([row(), row(quantity="lots")], "row 3: UsageQuantity is not a "
                              "number ('lots')"),
    "header only": ([], "no rows after the header"),
    "cost too large to be a number": ([row(cost="1e400")],
                                      "row 2: BlendedCost is not a number ('1e400')"),
    "bad UTF-8 late": ([row()] * 300 + ["\udcff"], "row 302: not UTF-8 text"),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_both_readers_and_the_command_refuse_alike(tmp_path, case):
    rows, words = BAD_FILES[case]
    path = tmp_path / NAME
    text = "\n".join([HEADER, *rows]) + "\n"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    whole, streamed = refusals(path)
    assert whole == streamed
    assert whole.startswith(f"{path}: {words}"), whole
    assert cli_refuses(path) == f"costlib: error: {whole}"


def test_carriage_return_line_ends_read_like_newlines(tmp_path):
    rows = [row(owner=f"u{i % 7}", cost=f"{i}.25000000", record_id=str(i)) for i in range(500)]
    unix = write(tmp_path, rows)
    mac = tmp_path / ("mac-" + NAME)
    mac.write_bytes(unix.read_bytes().replace(b"\n", b"\r"))
    expected = costlib.report(costlib.read(unix)).as_dict()
    for bill in (costlib.read(mac), costlib.read_condensed(mac, chunk_bytes=2000)):
        assert {**costlib.report(bill).as_dict(), "file": None} == {**expected, "file": None}


@pytest.mark.parametrize("chunk_bytes", range(300, 384))
def test_a_line_end_inside_the_last_column_survives_every_cut(tmp_path, chunk_bytes):
    rows = [row(owner=f"team {i % 3}\nfloor {i % 2}", cost=f"0.{i:08d}", record_id=str(i))
            for i in range(12)]
    path = write(tmp_path, rows)
    whole = costlib.read(path)
    streamed = costlib.read_condensed(path, chunk_bytes=chunk_bytes)
    assert costlib.report(streamed).as_dict() == costlib.report(whole).as_dict()
    assert set(whole.items["user:Owner"]) == {f"team {i % 3}\nfloor {i % 2}" for i in range(12)}


# --- files that are not files ----------------------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_is_read_as_the_text_it_carries(tmp_path):
    path = write(tmp_path, [row(), row(cost="2.00000000")])
    fifo = tmp_path / "bill.pipe"
    os.mkfifo(fifo)
    feeder = subprocess.Popen(["sh", "-c", f"cat '{path}' > '{fifo}'"])
    try:
        done = run_cli("report", str(fifo), "--json")
    finally:
        feeder.wait(timeout=60)
    assert done.returncode == 0, done.stderr
    assert '"blended_total": 2.5' in done.stdout


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_file_is_one_line(tmp_path):
    path = write(tmp_path, [row()])
    path.chmod(0)
    assert cli_refuses(path) == f"costlib: error: {path}: permission denied"


def test_a_folder_is_one_line(tmp_path):
    with pytest.raises(costlib.CostlibError, match="is a folder"):
        costlib.read(tmp_path)


# --- output -----------------------------------------------------------------------------------

def test_tag_values_cannot_forge_report_lines(tmp_path, capsys):
    path = write(tmp_path, [row(owner="bob\ntotal                $0.00\x1b[2J")])
    assert main(["report", str(path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "  bob\\ntotal                $0.00\\x1b[2J" in out
    assert not any(line.startswith("total ") for line in out.splitlines())


def test_a_plot_that_cannot_be_written_leaves_the_old_one(tmp_path):
    path = write(tmp_path, [row()])
    png = tmp_path / "plot.png"
    png.write_bytes(b"the old picture")
    limit = 20_000  # bytes: less than any plot
    script = (f"import resource, costlib.cli; resource.setrlimit(resource.RLIMIT_FSIZE, "
              f"({limit}, {limit})); costlib.cli.run()")
    done = subprocess.run([sys.executable, "-c", script, "report", str(path), "--plot",
                           str(png)], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "MPLBACKEND": "Agg"})  # (Python ignores SIGXFSZ)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert png.read_bytes() == b"the old picture"
    assert [p.name for p in tmp_path.iterdir() if "plot" in p.name] == ["plot.png"]


def test_numbers_stay_exact_for_any_amount_and_ten_decimals():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    amounts = st.decimals(min_value=Decimal("-1e15"), max_value=Decimal("1e15"), places=10,
                          allow_nan=False, allow_infinity=False)

    @settings(max_examples=200, deadline=None)
    @given(st.lists(amounts, min_size=1, max_size=30))
    def check(values):
        text = io.BytesIO(("\n".join([HEADER, *(row(cost=f"{v:f}", owner=f"u{i % 3}")
                                               for i, v in enumerate(values))]) + "\n").encode())
        text.name = NAME
        data = text.getvalue()
        for bill in (costlib.read(io.BytesIO(data)),
                     costlib.read_condensed(io.BytesIO(data), chunk_bytes=512)):
            s = costlib.spend(bill)
            assert money.exact(s.total_units) == sum(values)
            assert s.users_add_up
            assert money.exact(money.total(np.asarray(bill.cost_units))) == sum(values)

    check()


def test_a_header_of_thousands_of_columns_costs_work_linear_in_them():
    """Every column of a file asked whether it is a number or a date column, and each asking
    looked through the whole header: 8,300 columns took 18 s to read three rows, and a header
    of 500,000 one-letter columns (a line under the limit) would take hours. The header's
    answers are worked out once."""
    from costlib.fastpath import make_reducer
    from costlib.parsing import Header
    from costlib.reading import typed

    class Counted(tuple):
        looks = 0

        def __contains__(self, item):
            Counted.looks += 1
            return tuple.__contains__(self, item)

        def __iter__(self):
            Counted.looks += 1
            return tuple.__iter__(self)

    names = (*HEADER.split(","), *(f"x{k}" for k in range(3000)))
    header = Header(name=NAME, columns=Counted(names), kind=None, cost="BlendedCost",
                    file_columns=names)
    make_reducer(header, ["user:Owner"], 1 << 20)
    typed(header, {c: np.zeros(0, np.int64) for c in names})
    assert (header.numbers, header.dates) == (["UsageQuantity", "BlendedCost"],
                                              ["UsageStartDate", "UsageEndDate"])
    assert header.checked == ["UsageStartDate", "UsageEndDate", "UsageQuantity", "BlendedCost"]
    assert Counted.looks < 20, f"{Counted.looks} looks through a header of {len(names)} columns"
