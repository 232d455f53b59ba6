"""Reading every kind of billing file into one tidy table, with the control rows kept apart."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

import costlib
from conftest import sample

ACCOUNT = "012345678901"


def test_bundled_sample_reads_as_a_closed_native_february(samples):
    bill = costlib.read(costlib.sample_path())
    assert (bill.account, bill.month, bill.kind) == (ACCOUNT, "2026-02", "dbr")
    assert bill.closed and bill.invoice_id.isdigit()
    assert set(bill.controls["RecordType"]) == {"AccountTotal", "Rounding", "InvoiceTotal",
                                                "StatementTotal"}
    assert not bill.items["RecordType"].isin(bill.controls["RecordType"]).any()
    # the shipped file is exactly what the generator writes today
    shipped = sample(samples, "tags-2026-02.csv.zip").read_bytes()
    assert open(costlib.sample_path(), "rb").read() == shipped


def test_tidy_types_ids_stay_strings_times_are_utc(samples):
    bill = costlib.read(sample(samples, "tags-2026-02"))
    items = bill.items
    assert items["PayerAccountId"].iloc[0] == ACCOUNT  # the leading zero survives
    assert items["RecordId"].str.fullmatch(r"\d{26}").all()
    assert str(items["UsageStartDate"].dtype) == "datetime64[ns, UTC]"
    assert items["BlendedCost"].dtype == np.float64
    assert bill.tags == [c for c in items.columns if ":" in c] and "user:Owner" in bill.tags


def test_tag_columns_differ_between_months_and_are_all_kept(samples):
    feb = costlib.read(sample(samples, "tags-2026-02"))
    mar = costlib.read(sample(samples, "tags-2026-03"))
    assert feb.tags != mar.tags
    assert "user:Owner" in feb.tags and "user:Owner" in mar.tags


@pytest.mark.parametrize("part, kind", [("tags-2026-02", "dbr"), ("tags-2026-03", "cloudcheckr"),
                                        ("billing-csv-2026-03", "invoice-report"),
                                        ("tags-2026-11", "dbr"),
                                        ("line-items-2026-01", "single-account")])
def test_each_kind_of_file_is_recognised(samples, part, kind):
    bill = costlib.read(sample(samples, part))
    assert bill.kind == kind
    assert bill.account == ACCOUNT
    assert bill.month == part[-7:]
    assert len(bill.items) > 0


def test_spreadsheet_round_trip_reads_the_same(samples):
    original = costlib.read(sample(samples, "tags-2026-02"))
    copy_path = sample(samples, "spreadsheet-copy")
    raw = copy_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw and raw[3:4] == b'"'
    copy = costlib.read(copy_path)
    assert list(copy.items.columns) == list(original.items.columns)
    pd.testing.assert_frame_equal(copy.items, original.items)
    assert costlib.blended_total(copy) == costlib.blended_total(original)


def test_open_file_objects_read_too(samples):
    path = sample(samples, "tags-2026-02")
    with open(path, "rb") as handle:
        from_handle = costlib.read(handle)
    assert costlib.blended_total(from_handle) == costlib.blended_total(costlib.read(path))


def test_a_dataframe_is_refused_with_a_friendly_type_error(samples):
    frame = costlib.read(sample(samples, "tags-2026-02")).items
    with pytest.raises(TypeError, match="not a DataFrame"):
        costlib.read(frame)


def test_hard_tag_values_survive(samples):
    owners = set(costlib.read(sample(samples, "tags-2026-02")).items["user:Owner"])
    assert any("," in o for o in owners)
    assert any('"' in o for o in owners)
    assert any("<" in o for o in owners)
    assert any(not o.isascii() for o in owners)
    assert "" in owners


def test_conformance_file_reads_as_it_is(scopely):
    bill = costlib.read(scopely)
    assert bill.kind == "dbr" and bill.account == "123456789012" and bill.month == "2014-09"
    assert bill.items["LinkedAccountId"].iloc[0] == "095669871260"
    assert len(bill.items) == 8 and bill.controls.empty
    assert costlib.blended_total(bill) == 0.08805964
    assert bill.tags == ["user:Name", "user:Role"]
    assert bill.items["ItemDescription"].iloc[-1] == (
        "$0.005 per 1,000 PUT, COPY, POST, or LIST requests")


def test_conformance_file_with_bom_and_crlf_reads_the_same(scopely):
    text = scopely.read_bytes().replace(b"\n", b"\r\n")
    header, rest = text.split(b"\r\n", 1)
    quoted = b",".join(b'"' + h + b'"' for h in header.split(b","))
    converted = io.BytesIO(b"\xef\xbb\xbf" + quoted + b"\r\n" + rest)
    bill = costlib.read(converted)
    pd.testing.assert_frame_equal(bill.items, costlib.read(scopely).items)
