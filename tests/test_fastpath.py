"""The compiled path and the one parser give the same bills to the unit and the same refusals
word for word (``COSTLIB_COMPILED`` on and off), on every bill and bad input the suite knows,
on hostile files written for the compiled reader, and on bills hypothesis makes up."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import costlib
from conftest import CONFORMANCE, ROOT, conformance, run_cli, sample
from costlib import fastpath
from costlib.cli import main
from costlib.reading import read_condensed

pytest.importorskip("costlib._reduce", reason="the compiled reducer (costlib._reduce) is not "
                    "built here: pip install -e . with a C compiler builds it")

NAME = "012345678901-aws-billing-detailed-line-items-with-resources-and-tags-2026-03.csv"
HEADER = ["InvoiceID", "PayerAccountId", "LinkedAccountId", "RecordType", "RecordId",
          "ProductName", "UsageStartDate", "UsageEndDate", "UsageQuantity", "BlendedRate",
          "BlendedCost", "UnBlendedCost", "user:Owner", "user:Project"]


def row(cost="0.50000000", start="2026-03-02 10:00:00", end="2026-03-02 11:00:00",
        owner="alice", record_type="LineItem", record_id="1", quantity="1.00000000",
        product="Amazon S3", project="") -> list[str]:
    return ["Estimated", "012345678901", "012345678901", record_type, record_id, product,
            start, end, quantity, "0.5000000000", cost, cost, owner, project]


def text(rows: list[list[str]], header: list[str] = HEADER) -> str:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    out.write(",".join(header) + "\n")
    writer.writerows(rows)
    return out.getvalue()


@pytest.fixture(params=[1, 2], ids=["one thread", "two threads"])
def threads(request, monkeypatch) -> int:
    """The compiled path reading on one thread, or on two, each into a table of its own."""
    monkeypatch.setattr(fastpath, "THREADS", request.param)
    return request.param


def read_both(path, monkeypatch, **options) -> tuple[object, object, str]:
    """``read_condensed`` with the compiled path on and off: each a bill or the error's
    words, and how the compiled path went (``fastpath.last``)."""
    out = []
    for on in ("1", "0"):
        monkeypatch.setenv(fastpath.ENV, on)
        fastpath.last = ""
        try:
            out.append(read_condensed(path, **options))
        except costlib.CostlibError as err:
            out.append(f"{type(err).__name__}: {err}")
        if on == "1":
            how = fastpath.last
    return out[0], out[1], how


def assert_same(compiled, general) -> None:
    """The same bill to the unit (or the same refusal, word for word)."""
    if isinstance(general, str) or isinstance(compiled, str):
        assert compiled == general
        return
    pd.testing.assert_frame_equal(compiled.items, general.items)
    pd.testing.assert_frame_equal(compiled.controls, general.controls)
    for field in ("units", "control_units", "rows"):
        one, other = np.asarray(getattr(compiled, field)), np.asarray(getattr(general, field))
        assert one.dtype == other.dtype and one.tolist() == other.tolist(), field
    for field in ("name", "account", "month", "kind", "invoice_id", "cost_column",
                  "cost_basis", "file_tags"):
        assert getattr(compiled, field) == getattr(general, field), field
    assert costlib.report(compiled).as_dict() == costlib.report(general).as_dict()


def check(path, monkeypatch, **options) -> str:
    compiled, general, how = read_both(path, monkeypatch, **options)
    assert_same(compiled, general)
    return how


# --- the bills the suite knows ---------------------------------------------------------------

@pytest.mark.parametrize("tag", [None, "user:Owner", ("user:Owner", "user:Project")])
def test_every_sample_bill_reads_the_same_both_ways(samples, tag, monkeypatch, threads):
    ways = {}
    for name, path in samples.items():
        if tag is None or name.endswith((".csv", ".csv.zip", ".csv.gz")):
            try:
                ways[name] = check(path, monkeypatch, tag=tag)
            except AssertionError as err:
                raise AssertionError(f"{name}: {err}") from None
    compiled = [n for n, how in ways.items() if how == "compiled"]
    assert compiled, ways  # (the detailed bills, native and CloudCheckr copies, go compiled)
    assert all(how != "compiled" for n, how in ways.items() if "aws-billing-csv" in n)


def test_the_bundled_sample_goes_the_compiled_way(monkeypatch):
    assert check(costlib.sample_path(), monkeypatch, tag="user:Owner") == "compiled"


@pytest.mark.parametrize("chunk_bytes", [300, 1000, 4096, 1 << 16])
def test_small_pieces_read_the_same(tmp_path, monkeypatch, chunk_bytes, threads):
    rows = [row(cost=f"{i % 13}.{i:08d}", owner=f"u{i % 7}", record_id=str(i),
                start=f"2026-03-{1 + i % 28:02d} {i % 24:02d}:00:00",
                end=f"2026-03-{1 + i % 28:02d} {i % 24:02d}:59:59") for i in range(400)]
    path = tmp_path / NAME
    path.write_text(text(rows))
    assert check(path, monkeypatch, tag="user:Owner", chunk_bytes=chunk_bytes) == "compiled"


@pytest.mark.parametrize("name", ["scopely-details-detailed_with_tags.csv",
                                  "focus-converters-aws-cur-2023-11.csv",
                                  "aws-workshop-cur-2018-10.snappy.parquet"])
def test_conformance_files_read_the_same_both_ways(name, monkeypatch):
    how = check(conformance(CONFORMANCE / name), monkeypatch)
    assert (how == "compiled") == name.startswith("scopely"), how


def known_bad_files():
    from test_bad_input import CASES
    from test_hostile_input import BAD_FILES
    from test_hostile_input import HEADER as HOSTILE_HEADER

    for case, (name, content, extra, _) in CASES.items():
        if content is not None and not extra:
            yield f"bad input: {case}", name, content
    for case, (rows, _) in BAD_FILES.items():
        yield (f"hostile: {case}", NAME, ("\n".join([HOSTILE_HEADER, *rows]) + "\n").encode(
            "utf-8", "surrogateescape"))


KNOWN_BAD = list(known_bad_files())


@pytest.mark.parametrize("case", KNOWN_BAD, ids=[c[0] for c in KNOWN_BAD])
def test_every_known_bad_file_is_refused_in_the_same_words(tmp_path, monkeypatch, case):
    _, name, content = case
    path = tmp_path / name
    path.write_bytes(content)
    compiled, general, _ = read_both(path, monkeypatch, tag="user:Owner")
    assert isinstance(general, str)
    assert compiled == general


# --- hostile to the compiled reader ------------------------------------------------------------

def hostile(tmp_path: Path, rows, *, name: str = NAME, header=HEADER, raw: bytes | None = None,
            zipped: bool = False) -> Path:
    data = raw if raw is not None else text(rows, header).encode("utf-8", "surrogateescape")
    path = tmp_path / (name + (".zip" if zipped else ""))
    if zipped:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(name, data)
    else:
        path.write_bytes(data)
    return path


GOOD = [row(cost=f"{i}.25000000", owner=f"u{i % 3}", record_id=str(i)) for i in range(50)]
PLAIN = text(GOOD).encode()


def last_row(raw: bytes, old: bytes, new: bytes) -> bytes:
    """``raw`` with ``old`` made ``new`` in its last row only."""
    before, _, last = raw.rstrip(b"\n").rpartition(b"\n")
    return before + b"\n" + last.replace(old, new) + b"\n"

HOSTILE = {
    "a quote inside a cost": PLAIN.replace(b'"7.25000000"', b'"7.2""5"'),
    "a quote inside an unquoted cost": PLAIN.replace(b'"7.25000000"', b'7.2"5'),
    "a 2 MB line": PLAIN.replace(b'"u1"', b'"' + b"x" * (2 << 20) + b'"', 1),
    "a NUL byte": PLAIN.replace(b'"u2"', b'"u\x002"', 1),
    "a NUL byte in a cost": PLAIN.replace(b'"7.25000000"', b'"7.25\x00"'),
    "cost 1e12": PLAIN.replace(b'"7.25000000"', b'"1e12"'),
    "cost 1e12 written out": PLAIN.replace(b'"7.25000000"', b'"1000000000000.00000000"'),
    "cost 1e400": PLAIN.replace(b'"7.25000000"', b'"1e400"'),
    "cost nan": PLAIN.replace(b'"7.25000000"', b'"nan"'),
    "cost with 12 decimals": PLAIN.replace(b'"7.25000000"', b'"7.250000000001"'),
    "cost with a plus": PLAIN.replace(b'"7.25000000"', b'"+7.25"'),
    "cost with spaces": PLAIN.replace(b'"7.25000000"', b'" 7.25"'),
    "cost with leading zeros": PLAIN.replace(b'"7.25000000"', b'"007.25"'),
    "cost .5": PLAIN.replace(b'"7.25000000"', b'".5"'),
    "cost 5.": PLAIN.replace(b'"7.25000000"', b'"5."'),
    "cost in scientific notation": PLAIN.replace(b'"7.25000000"', b'"1.92e-08"'),
    "cost 4E-8 and 1.0E+7": PLAIN.replace(b'"7.25000000"', b'"4E-8"').replace(
        b'"8.25000000"', b'"1.0E+7"'),
    "sums past int64": text([row(cost="900000000.00000000")] * 20).encode(),
    "credits past int64": text([row(cost="-900000000.5")] * 20).encode(),
    "two rows past int64 together": text([row(cost="900000000.00000000")] * 2).encode(),
    "a row past int64 units": PLAIN.replace(b'"7.25000000"', b'"922337203.6854775808"'),
    "a row just inside int64 units": PLAIN.replace(b'"7.25000000"', b'"922337203.6854775807"'),
    "a blank cost": PLAIN.replace(b'"7.25000000"', b'""'),
    "a quantity that is a word": PLAIN.replace(b'"1.00000000"', b'"lots"', 1),
    "a quantity of 400 digits": PLAIN.replace(b'"1.00000000"', b'"' + b"9" * 400 + b'"', 1),
    "a quantity of 90 digits": PLAIN.replace(b'"1.00000000"', b'"' + b"9" * 90 + b'.5"', 1),
    "a quantity 1e300": PLAIN.replace(b'"1.00000000"', b'"1e300"', 1),
    "year 9999": PLAIN.replace(b'"2026-03-02 10:00:00"', b'"9999-12-31 00:00:00"', 1),
    "year 1969": PLAIN.replace(b'"2026-03-02 10:00:00"', b'"1969-12-31 23:00:00"', 1),
    "a date far from the month": PLAIN.replace(b'"2026-03-02 11:00:00"',
                                               b'"2026-06-02 11:00:00"', 1),
    "an end date far from the month": PLAIN.replace(b'"2026-03-02 11:00:00"',
                                                    b'"2027-03-02 11:00:00"', 2),
    "February 30th": PLAIN.replace(b'"2026-03-02 10:00:00"', b'"2026-02-30 10:00:00"', 1),
    "an ISO date": PLAIN.replace(b'"2026-03-02 10:00:00"', b'"2026-03-02T10:00:00Z"', 1),
    "a slashed date": PLAIN.replace(b'"2026-03-02 10:00:00"', b'"2026/03/02 10:00:00"', 1),
    "a date with a second 60": PLAIN.replace(b'"2026-03-02 10:00:00"',
                                             b'"2026-03-02 10:00:60"', 1),
    "a date without seconds": PLAIN.replace(b'"2026-03-02 10:00:00"', b'"2026-03-02 10:00"',
                                            1),
    "a bad byte": PLAIN.replace(b'"u2"', b'"u\xff2"', 1),
    "latin-1 text": PLAIN.replace(b'"u2"', "\"Zoë\"".encode("latin-1"), 1),
    "an unknown record type": PLAIN.replace(b'"LineItem"', b'"Mystery"', 1),
    "a blank record type": PLAIN.replace(b'"LineItem"', b'""', 1),
    "too few fields": PLAIN.replace(b',"u2",', b',', 1),
    "too many fields": PLAIN.replace(b',"u2",', b',"u2","x",', 1),
    "too few fields in the last row": last_row(PLAIN, b',"u1",', b','),
    "too many fields in the last row": last_row(PLAIN, b',"u1",', b',"u1","x",'),
    "a row of quoted quotes among plain ones": PLAIN.replace(b'"u2"', b'"o""b"', 1),
    "text after a closing quote": PLAIN.replace(b'"u2"', b'"u"2', 1),
    "a line end in a quoted tag": PLAIN.replace(b'"u2"', b'"u\n2"', 1),
    "a quote that never closes": PLAIN.replace(b'"u2"', b'"u2', 1),
    "an empty line": PLAIN.replace(b'\n', b'\n\n', 3),
    "CRLF line ends": PLAIN.replace(b"\n", b"\r\n"),
    "CR line ends": PLAIN.replace(b"\n", b"\r"),
    "a byte-order mark and a quoted header": b"\xef\xbb\xbf" + b",".join(
        b'"' + c.encode() + b'"' for c in HEADER) + PLAIN[PLAIN.index(b"\n"):],
    "no line end at the end": PLAIN.rstrip(b"\n"),
    "header only": PLAIN[: PLAIN.index(b"\n") + 1],
    "quoted quotes in a tag": PLAIN.replace(b'"u2"', b'"o\'brien ""ob"""'),
    "commas and accents in a tag": PLAIN.replace(b'"u2"', '"Zoë, Müller"'.encode()),
    "unquoted fields": PLAIN.replace(b'"', b""),
    "blank dates": PLAIN.replace(b'"2026-03-02 10:00:00","2026-03-02 11:00:00"', b'"",""', 5),
    "rows lasting days": PLAIN.replace(b'"2026-03-02 11:00:00"', b'"2026-03-09 11:00:00"', 7),
    "credits": PLAIN.replace(b'"3.25000000"', b'"-3.25000000"').replace(
        b'"5.25000000"', b'"-0.00000000"'),
    "a total row": PLAIN + text([row(cost="123.45000000", record_type="InvoiceTotal",
                                     record_id="", product="", start="", end="", owner="")])
    .encode().split(b"\n", 1)[1],
    "a total row with a bad cost": PLAIN + text([row(cost="abc", record_type="AccountTotal",
                                                     record_id="", start="", end="")])
    .encode().split(b"\n", 1)[1],
    "a total row with a far date": PLAIN + text([row(record_type="StatementTotal",
                                                     start="2020-01-01 00:00:00")])
    .encode().split(b"\n", 1)[1],
    "a CloudCheckr copy": PLAIN.replace(b'"LineItem","1"', b'"Usage","AWS"'),
    "a CloudCheckr record id only": PLAIN.replace(b'"LineItem","0"', b'"LineItem","AWS"'),
}


@pytest.mark.parametrize("zipped", [False, True], ids=["csv", "zip"])
@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_hostile_files_read_or_are_refused_the_same_both_ways(tmp_path, monkeypatch, case,
                                                              zipped, threads):
    path = hostile(tmp_path, None, raw=HOSTILE[case], zipped=zipped)
    for chunk_bytes in (1 << 22, 700):
        for tag in ("user:Owner", None):
            check(path, monkeypatch, tag=tag, chunk_bytes=chunk_bytes)


def test_a_file_without_a_month_in_its_name_finds_it_from_its_rows(tmp_path, monkeypatch):
    path = hostile(tmp_path, None, name="bill.csv", raw=PLAIN.replace(
        b'"2026-03-02 11:00:00"', b'"2026-04-09 11:00:00"', 3))
    for chunk_bytes in (1 << 22, 300):
        assert check(path, monkeypatch, tag="user:Owner", chunk_bytes=chunk_bytes) == "compiled"


def test_what_the_compiled_path_cannot_prove_it_hands_over(tmp_path, monkeypatch):
    for case in ("a quote inside a cost", "a NUL byte", "cost 1e12", "year 9999",
                 "a 2 MB line", "sums past int64", "credits past int64",
                 "an unknown record type"):
        path = hostile(tmp_path, None, raw=HOSTILE[case])
        assert read_both(path, monkeypatch, tag="user:Owner")[2].startswith("handed over"), case


def test_an_open_file_goes_the_general_way(monkeypatch):
    with open(costlib.sample_path(), "rb") as file:
        monkeypatch.setenv(fastpath.ENV, "1")
        fastpath.last = ""
        read_condensed(file, "user:Owner")
    assert fastpath.last == ""


# --- made-up bills -----------------------------------------------------------------------------

digits = st.integers(0, 10**12)
costs = st.one_of(
    st.builds(lambda n, sign: f"{'-' if sign else ''}{n // 10**8}.{n % 10**8:08d}", digits,
              st.booleans()),
    st.builds(lambda m, e: f"{m}e{e}", st.integers(-999, 999), st.integers(-10, 6)),
    st.builds(lambda m, e: f"{m}.{e}E-08", st.integers(0, 9), st.integers(0, 99)),
    st.sampled_from(["0", "0.0", "-0.00000000", "1E+7", "0.0000000001", "123456789.5"]),
)
hours = st.integers(0, 31 * 24 - 1)
tags = st.one_of(st.sampled_from(["", "alice", "bob", "o'brien \"ob\"", "Zoë, Müller"]),
                 st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=
                                       "\x00\r\n"), max_size=8))


def stamp(hour: int) -> str:
    day, hour = divmod(hour, 24)
    return f"2026-03-{day + 1:02d} {hour:02d}:00:00"


@st.composite
def charge(draw) -> list[str]:
    start = draw(hours)
    length = draw(st.sampled_from([0, 1, 1, 1, 2, 30]))
    end = "2026-04-01 00:00:00" if start + length >= 31 * 24 else stamp(start + length)
    blank = draw(st.integers(0, 9)) == 0
    return row(cost=draw(costs), start="" if blank else stamp(start), end="" if blank else end,
               owner=draw(tags), project=draw(tags),
               record_type=draw(st.sampled_from(["LineItem", "LineItem", "Usage", "Tax"])),
               record_id=draw(st.sampled_from(["1", "AWS", ""])),
               product=draw(st.sampled_from(["Amazon S3", "Amazon EC2", ""])))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(charge(), min_size=1, max_size=40),
       totals=st.lists(st.sampled_from(["AccountTotal", "InvoiceTotal", "Rounding"]),
                       max_size=3),
       chunk_bytes=st.sampled_from([256, 1000, 1 << 22]),
       tag=st.sampled_from([None, "user:Owner"]))
def test_made_up_bills_read_the_same_both_ways(tmp_path_factory, monkeypatch, rows, totals,
                                               chunk_bytes, tag, threads):
    rows = rows + [row(cost="12.5", record_type=t, record_id="", product="", start="", end="",
                       owner="") for t in totals]
    path = tmp_path_factory.mktemp("made") / NAME
    path.write_text(text(rows), encoding="utf-8")
    check(path, monkeypatch, tag=tag, chunk_bytes=chunk_bytes)


def test_costlib_info_says_which_reader_is_in_use_and_why(monkeypatch, capsys):
    monkeypatch.delenv(fastpath.ENV, raising=False)
    assert main(["info"]) == 0
    assert "reader: compiled (costlib._reduce is built; COSTLIB_COMPILED=0 turns it off)" in (
        capsys.readouterr().out)
    monkeypatch.setenv(fastpath.ENV, "0")
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("costlib ")
    assert "reader: pyarrow (turned off by COSTLIB_COMPILED=0)" in out


def test_the_compiled_path_reads_without_waiting_for_pandas():
    script = f"""
import sys
import costlib.reading as reading
load = reading._Condenser.load
seen = []
def watched(self, sums, singles):
    seen.append("pandas" in sys.modules)
    load(self, sums, singles)
reading._Condenser.load = watched
bill = reading.read_condensed({str(costlib.sample_path())!r}, chunk_bytes=20_000)
assert seen == [False], seen
assert bill.line_items > 0 and "pandas" not in sys.modules
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, env={k: v for k, v in os.environ.items() if k != fastpath.ENV})
    assert done.stdout.strip() == "ok", done.stderr


@pytest.mark.parametrize("case", ["a plain bill", "a quote inside a cost", "year 9999",
                                  "credits", "a CloudCheckr copy"])
def test_the_command_prints_the_same_both_ways(tmp_path, case):
    path = hostile(tmp_path, None, raw=PLAIN if case == "a plain bill" else HOSTILE[case],
                   zipped=True)
    compiled, general = (run_cli("report", str(path), "--json", env={fastpath.ENV: on})
                         for on in ("1", "0"))
    assert (compiled.returncode, compiled.stdout, compiled.stderr) == (
        general.returncode, general.stdout, general.stderr)
    assert compiled.returncode == (2 if case in ("a quote inside a cost", "year 9999") else 0)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_goes_the_general_way_for_it_cannot_be_read_again(tmp_path):
    """A file the compiled path would hand over is read again from its start: a pipe has no
    start to go back to (it once waited for a second writer, for ever)."""
    rows = [row(), row(cost="0.123456789012")]  # 12 decimals: the compiled path hands over
    fifo = tmp_path / NAME.replace(".csv", ".pipe")
    os.mkfifo(fifo)
    feeder = subprocess.Popen(["sh", "-c", f"cat > '{fifo}'"], stdin=subprocess.PIPE)
    feeder.stdin.write(text(rows).encode())
    feeder.stdin.close()
    try:
        done = run_cli("report", str(fifo), "--json", "--quiet")
    finally:
        feeder.kill()
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total"] == 0.623456789  # (units of 1e-10 dollars)


# --- the reducer itself, used directly ---------------------------------------------------------

def reducer(limit: int = 1 << 20):
    """A bare :class:`costlib._reduce.Reducer` of three columns: the record type, a key, the
    cost, and a fourth column it ignores."""
    from costlib import _reduce

    roles = [_reduce.RTYPE, _reduce.KEY, _reduce.NUM | _reduce.COST, 0]
    return _reduce.Reducer(roles, [(b"LineItem", False)], limit)


def run_python(script: str) -> subprocess.CompletedProcess:
    """``script`` in a Python of its own (a crash there fails the test, not the run)."""
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)


def test_a_reducer_that_refused_a_piece_refuses_every_later_call_the_same_way():
    """Rows before the refused one were summed already: more pieces, or the sums, would be a
    wrong bill given as a right one."""
    r = reducer()
    assert r.feed(b"LineItem,a,1,\nMystery,b,1,\n") == "an unknown record type"
    assert r.feed(b"LineItem,a,1,\n") == "an unknown record type"
    assert r.sums() == "an unknown record type"


@pytest.mark.parametrize("last, refused", [
    (b"", None), (b"LineItem,k1,1.5\n", "a line with too few fields"),
    (b"LineItem,k1,1.5,,\n", "a line with too many fields"),
    (b'LineItem,"k""1",1.5,\n', None), (b"LineItem,k1,1.5,", None)],
    ids=["plain", "too few fields", "too many", "an odd quote", "no newline at the end"])
def test_rows_of_more_fields_than_the_quick_walk_holds_sum_the_same(last, refused):
    """The quick walk flattens the field ends a window at a time; rows of more fields than a
    window holds are read the careful way, to the same sums and the same refusals."""
    from costlib import _reduce

    more = 9000
    rows = b"".join(b"LineItem,k%d,%d.5,\n" % (i % 7, i) for i in range(300)) + last

    def sums(piece: bytes, blanks: int):
        r = _reduce.Reducer([_reduce.RTYPE, _reduce.KEY, _reduce.NUM | _reduce.COST,
                             *[0] * (1 + blanks)], [(b"LineItem", False)], 1 << 20)
        got = r.feed(piece)
        return got if isinstance(got, str) else r.sums()["sums"]

    wide = b"\n".join(line + b"," * more if line else line for line in rows.split(b"\n"))
    got = sums(wide, more)
    assert got == sums(rows, 0)
    assert got == refused if refused else len(got) == 7 + (b'"' in last)


def test_sums_past_int64_only_once_the_two_tables_are_put_together_are_refused_every_time():
    r = reducer()
    assert isinstance(r.feed(b"LineItem,k,900000000,\n", number=0, work=0), dict)
    assert isinstance(r.feed(b"LineItem,k,900000000,\nLineItem,z,1,\n", number=1, work=1),
                      dict)
    assert r.sums() == "a sum past int64"
    assert r.sums() == "a sum past int64"  # (not the first table's sums alone)


def test_pieces_read_into_two_tables_in_any_order_sum_as_read_in_order():
    """Two threads feed pieces as they come, each into its own table: the sums come out in the
    order their keys first appear in the file, the rows kept one by one and the total rows in
    file order, whichever table read which piece and in whatever order they were read."""
    import random

    from costlib import _reduce

    roles = [_reduce.RTYPE, _reduce.KEY, _reduce.NUM | _reduce.COST,
             _reduce.DATE | _reduce.START | _reduce.KEY, _reduce.DATE | _reduce.END]
    types = [(b"LineItem", False), (b"InvoiceTotal", True)]
    rng = random.Random(7)
    pieces = []
    for _ in range(40):
        lines = []
        for _ in range(rng.randrange(1, 30)):
            kind = rng.choice([b"LineItem"] * 8 + [b"InvoiceTotal"])
            start = rng.randrange(28 * 24)
            hours = rng.choice([1, 1, 1, 5])  # (a row over an hour is kept one by one)
            lines.append(b"%s,k%d,%d.%02d,2026-02-%02d %02d:00:00,2026-02-%02d %02d:00:00\n" % (
                kind, rng.randrange(12), rng.randrange(-5, 50), rng.randrange(100),
                start // 24 + 1, start % 24, (start + hours) // 24 + 1 if start + hours < 672
                else 28, (start + hours) % 24 if start + hours < 672 else 23))
        pieces.append(b"".join(lines))
    one = _reduce.Reducer(roles, types, 1 << 20)
    for piece in pieces:
        assert isinstance(one.feed(piece), dict)
    expected = one.sums()
    for seed in range(5):
        order = list(enumerate(pieces))
        random.Random(seed).shuffle(order)
        two = _reduce.Reducer(roles, types, 1 << 20)
        for number, piece in order:
            assert isinstance(two.feed(piece, number=number, work=number % 2 ^ seed % 2), dict)
        assert two.sums() == expected, seed


def test_a_reducer_whose_set_up_failed_cannot_be_fed():
    from costlib import _reduce

    r = _reduce.Reducer.__new__(_reduce.Reducer)
    with pytest.raises(TypeError):
        r.__init__([_reduce.RTYPE, "cost"], [(b"LineItem", False)], 1 << 20)
    with pytest.raises(RuntimeError):
        r.feed(b"LineItem,1\n")
    with pytest.raises(RuntimeError):
        r.sums()
    with pytest.raises(RuntimeError):
        _reduce.Reducer.__new__(_reduce.Reducer).sums()


def test_a_reducer_reading_on_one_thread_refuses_calls_from_another():
    """The GIL is released while a piece is read: a second feed() (or sums()) from another
    thread meanwhile would share its table and marks (a piece refused for nothing, sums lost, a
    table read while it grows)."""
    script = """
import sys, threading, time
sys.path.insert(0, "tests")
from test_fastpath import reducer
big = b"".join(b"LineItem,k%d,1.5,\\n" % (i % 50000) for i in range(600000))
for what in ("feed", "sums"):
    r, out, refused = reducer(), [], 0
    thread = threading.Thread(target=lambda: out.append(r.feed(big)))
    thread.start()
    while thread.is_alive():
        try:
            got = r.feed(b"LineItem,small,2,\\n") if what == "feed" else r.sums()
        except RuntimeError:
            refused += 1
            continue
        if what == "sums":  # (read before the other thread began: no test, try again)
            thread.join()
            r, out = reducer(), []
            thread = threading.Thread(target=lambda: out.append(r.feed(big)))
            thread.start()
            time.sleep(0.001)
    thread.join()
    assert isinstance(out[0], dict) and out[0]["rows"] == 600000, (what, out)
    assert refused, what
    sums = r.sums()
    assert sums["rows"] == sum(count for *_, count in sums["sums"]), what
print("ok")
"""
    done = run_python(script)
    assert done.stdout.strip() == "ok", done.stderr[-3000:]


@pytest.mark.parametrize("line, why", [
    (b'LineItem,"a"-,1,\n', "text after a closing quote"),
    (b'LineItem,"a"""-,1,\n', "text after a closing quote"),
    (b'LineItem,"a"x"",1,\n', "text after a closing quote"),
    (b'LineItem,a"b"c,1,\n', "a quote inside an unquoted value"),
])
def test_a_malformed_quoted_value_is_refused_in_the_careful_reader_s_words(line, why):
    assert reducer().feed(b"LineItem,k,1,\n" + line) == why


def test_a_buffer_changed_while_it_is_read_never_makes_the_reducer_read_out_of_bounds():
    """A bytearray is read without the GIL and another thread may write into it meanwhile: the
    second pass must not trust what the first saw (a one-byte value seen as x, then read as a
    quote, was taken for a quoted value ending before it starts: a 4 GB copy)."""
    script = """
import sys, threading
sys.path.insert(0, "tests")
from test_fastpath import reducer
plain = b"LineItem,x,1,\\n" * 100000
buffer, stop = bytearray(plain), []
quoted = plain.replace(b",x,", b',",')
def flip():
    while not stop:
        buffer[:] = quoted
        buffer[:] = plain
thread = threading.Thread(target=flip)
thread.start()
try:
    for _ in range(60):
        r = reducer()
        got = r.feed(buffer)
        assert isinstance(got, (str, dict)), got
        if isinstance(got, dict):
            r.sums()
finally:
    stop.append(1)
    thread.join()
print("ok")
"""
    done = run_python(script)
    assert done.stdout.strip() == "ok", done.stderr[-3000:]


def test_an_interrupted_read_stops_the_second_reading_thread_too(tmp_path):
    """Ctrl-C (a KeyboardInterrupt in the main thread) while two threads read: the read stops
    and the process ends, rather than waiting for ever on the second thread, left blocked on
    the reader thread's queue once the file is closed."""
    rows = [row(cost=f"{i % 13}.{i:08d}", owner=f"u{i % 7}", record_id=str(i),
                start=f"2026-03-{1 + i % 28:02d} {i % 24:02d}:00:00",
                end=f"2026-03-{1 + i % 28:02d} {i % 24:02d}:59:59") for i in range(4000)]
    path = tmp_path / NAME
    path.write_text(text(rows))
    script = f"""
import threading
from costlib import fastpath
from costlib.reading import read_condensed
fastpath.THREADS = 2
check, seen = fastpath._Reading._check, []
def interrupted(self, piece):
    check(self, piece)
    if threading.current_thread() is threading.main_thread() and self.settled:
        seen.append(1)
        if len(seen) == 3:
            raise KeyboardInterrupt
fastpath._Reading._check = interrupted
try:
    read_condensed({str(path)!r}, chunk_bytes=1000)
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""
    try:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              cwd=ROOT, timeout=60,
                              env={k: v for k, v in os.environ.items() if k != fastpath.ENV})
    except subprocess.TimeoutExpired as err:
        raise AssertionError(f"the process never ended: {err.stdout!r} {err.stderr!r}") from None
    assert done.returncode == 0 and done.stdout.strip() == "interrupted", done.stderr


def test_without_a_second_thread_one_reads_it_all(samples, monkeypatch):
    """A process out of threads (``can't start new thread``) still answers, on one thread."""
    monkeypatch.setattr(fastpath, "THREADS", 2)
    real = threading.Thread.start

    def refused(self):
        if self.name == "costlib-reduce":
            raise RuntimeError("can't start new thread")
        real(self)

    monkeypatch.setattr(threading.Thread, "start", refused)
    path = sample(samples, "tags-2026-02")
    bill = read_condensed(path, chunk_bytes=20_000)
    assert fastpath.last == "compiled"
    assert costlib.report(bill).as_dict() == costlib.report(costlib.read(path)).as_dict()
