"""Every bad input gets one clear line on stderr naming the file and the problem, and exit 2."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import costlib
from conftest import ROOT, run_cli
from costlib.cli import main

HEADER = ("InvoiceID,PayerAccountId,LinkedAccountId,RecordType,RecordId,ProductName,"
          "UsageStartDate,UsageEndDate,BlendedCost,user:Owner")
GOOD_ROW = ('"Estimated","012345678901","012345678901","LineItem","1","Amazon S3",'
            '"2026-02-01 00:00:00","2026-02-01 01:00:00","0.50000000","alice"')


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def zipped(members: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buffer.getvalue()


BIG_CSV = csv_text(*[GOOD_ROW.replace('"1"', f'"{10**25 + 7919 * i}"') for i in range(2000)])


def truncated_zip() -> bytes:
    data = zipped({"bill.csv": BIG_CSV})
    return data[: len(data) // 2]


def corrupt_zip() -> bytes:
    data = bytearray(zipped({"bill.csv": BIG_CSV}))
    middle = len(data) // 3
    data[middle : middle + 40] = bytes(40)
    return bytes(data)


# (file name, content or None for no file, extra CLI args, words the message must hold)
CASES = {
    "missing file": ("nothere.csv.zip", None, [], "no such file"),
    "empty file": ("empty.csv", b"", [], "is empty"),
    "truncated zip": ("cut.csv.zip", truncated_zip(), [], "truncated or corrupt"),
    "corrupt zip": ("bad.csv.zip", corrupt_zip(), [], "corrupt"),
    "zip without csv": ("nocsv.csv.zip", zipped({"readme.txt": "hello"}), [], "no CSV"),
    "zip with two csvs": ("two.csv.zip", zipped({"a.csv": BIG_CSV, "b.csv": BIG_CSV}), [],
                          "2 CSV files"),
    "not a billing file": ("notes.csv", b"name,age\nann,3\n", [], "not a billing file"),
    "not text": ("binary.csv", bytes(range(256)) * 4, [], "not"),
    "no cost column": ("nocost.csv",
                       csv_text(header=HEADER.replace("BlendedCost", "Price")).encode(), [],
                       "BlendedCost column missing"),
    "no date column": ("nodate.csv",
                       csv_text(header=HEADER.replace("UsageStartDate", "Start")).encode(), [],
                       "UsageStartDate column missing"),
    "non-numeric cost": ("word.csv", csv_text(GOOD_ROW, GOOD_ROW.replace('"0.50000000"', '"abc"'))
                         .encode(), [], "row 3: BlendedCost is not a number ('abc')"),
    "blank cost": ("blank.csv", csv_text(GOOD_ROW.replace('"0.50000000"', "")).encode(), [],
                   "row 2: BlendedCost is blank"),
    "infinite cost": ("inf.csv", csv_text(GOOD_ROW.replace('"0.50000000"', '"inf"')).encode(), [],
                      "row 2: BlendedCost is not a number"),
    "bad date": ("date.csv", csv_text(GOOD_ROW, GOOD_ROW, GOOD_ROW.replace(
        "2026-02-01 00:00:00", "2026-02-30 00:00:00")).encode(), [],
        "row 4: UsageStartDate is not a date ('2026-02-30 00:00:00'"),
    "unknown zone": ("ok.csv", csv_text(GOOD_ROW).encode(), ["--tz", "Mars/Olympus"],
                     "unknown time zone 'Mars/Olympus'"),
    "window ends before start": ("ok.csv", csv_text(GOOD_ROW).encode(),
                                 ["--start", "2026-02-10", "--end", "2026-02-03"],
                                 "ends (2026-02-03) before it starts (2026-02-10)"),
    "bad start": ("ok.csv", csv_text(GOOD_ROW).encode(), ["--start", "yesterday-ish"],
                  "not a date or time: 'yesterday-ish'"),
    "unknown tag": ("ok.csv", csv_text(GOOD_ROW).encode(), ["--tag", "user:Ownr"],
                    "no tag column user:Ownr (tags in this file: user:Owner)"),
    "bad invoice file": ("ok.csv", csv_text(GOOD_ROW).encode(), ["--invoice", "nothere.csv"],
                         "nothere.csv: no such file"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_input_is_one_line_exit_2(case, tmp_path: Path, capsys, monkeypatch):
    name, content, extra, words = CASES[case]
    monkeypatch.chdir(tmp_path)
    if content is not None:
        (tmp_path / name).write_bytes(content)
    code = main(["report", name, *extra])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("costlib: error: ")
    assert words in err
    if case not in {"unknown zone", "window ends before start", "bad start", "bad invoice file"}:
        assert name in err


def test_bad_input_from_a_real_process_has_no_traceback(tmp_path: Path):
    (tmp_path / "word.csv").write_text(csv_text(GOOD_ROW.replace('"0.50000000"', '"1,5"')))
    result = run_cli("report", str(tmp_path / "word.csv"))
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (f"costlib: error: {tmp_path / 'word.csv'}: row 2: "
                                     "BlendedCost is not a number ('1,5')")


def test_a_good_file_beside_the_bad_ones_reads(tmp_path: Path, capsys):
    (tmp_path / "ok.csv").write_text(csv_text(GOOD_ROW))
    assert main(["report", str(tmp_path / "ok.csv"), "--json"]) == 0
    assert '"blended_total": 0.5' in capsys.readouterr().out


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_a_report_that_cannot_be_written_is_an_error_not_a_success(unbuffered):
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "costlib.cli", "report", "--json"],
                              stdout=full, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                              env={**os.environ, "PYTHONUNBUFFERED": unbuffered}, timeout=120)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert lines[0].startswith("costlib: error:") and "No space left" in lines[0]



FILE_CASES = [case for case, (_, content, extra, _) in CASES.items()
              if content is not None and not extra]


@pytest.mark.parametrize("case", FILE_CASES)
def test_both_readers_refuse_a_bad_file_in_the_same_words(case, tmp_path):
    """One parser: what costlib.read refuses, read_condensed (the command, the Lambda)
    refuses too, word for word."""
    name, content, _, words = CASES[case]
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(costlib.CostlibError) as whole:
        costlib.read(path)
    with pytest.raises(costlib.CostlibError) as condensed:
        costlib.read_condensed(path, "user:Owner")
    assert str(whole.value) == str(condensed.value)
    assert words in str(whole.value)


# --- two problems in one file: the first in file order is the one named -------------------

BAD_COST = GOOD_ROW.replace('"0.50000000"', '"lots"')
SHORT_ROW = '"Estimated","012345678901","012345678901","LineItem","1"'
NOT_UTF8 = GOOD_ROW.replace("alice", "al\xe9ce")  # written in Latin-1 below


@pytest.mark.parametrize("rows, first", [
    ([BAD_COST, GOOD_ROW, SHORT_ROW], "row 3: BlendedCost is not a number ('lots')"),
    ([SHORT_ROW, GOOD_ROW, NOT_UTF8], "row 3: not a well-formed CSV line"),
    ([BAD_COST, GOOD_ROW, NOT_UTF8], "row 3: BlendedCost is not a number ('lots')"),
    ([NOT_UTF8, GOOD_ROW, BAD_COST], "row 3: not UTF-8 text"),
], ids=["a value before a short line", "a short line before a byte not UTF-8",
        "a value before a byte not UTF-8", "a byte not UTF-8 before a value"])
@pytest.mark.parametrize("chunk_bytes", [100, 1 << 22], ids=["a piece a line", "one piece"])
def test_the_first_of_two_problems_is_named_however_the_text_is_cut(tmp_path, rows, first,
                                                                    chunk_bytes, monkeypatch):
    """pyarrow names a line it cannot split before any bad value, and the UTF-8 check ran
    before both: the later problem was named, or another one from run to run."""
    monkeypatch.setenv("COSTLIB_COMPILED", "0")
    path = tmp_path / "two-problems.csv"
    path.write_bytes(csv_text(GOOD_ROW, *rows).encode("latin-1"))
    for _ in range(3):  # the same words every time
        with pytest.raises(costlib.BillError) as refused:
            costlib.read_condensed(path, chunk_bytes=chunk_bytes)
        assert f"two-problems.csv: {first}" in str(refused.value)
