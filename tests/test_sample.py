"""The synthetic bills have the properties of real ones; read back with csv/zipfile/decimal only."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from costlib import sample

FEB = sample.DEFAULT_SAMPLE
MAR = "012345678901-aws-billing-detailed-line-items-with-resources-and-tags-2026-03.csv.zip"
MAR_INVOICE = "012345678901-aws-billing-csv-2026-03.csv"
NOV = "012345678901-aws-billing-detailed-line-items-with-resources-and-tags-2026-11.csv.zip"
JAN_SINGLE = "012345678901-aws-billing-detailed-line-items-2026-01.csv"
SPREADSHEET = "spreadsheet-copy-2026-02.csv"
CONTROL = ("AccountTotal", "Rounding", "InvoiceTotal", "StatementTotal")
CENT = Decimal("0.01")
STAMP = "%Y-%m-%d %H:%M:%S"
MONEY = re.compile(r"-?\d+\.\d{8}")
SCI = re.compile(r"\d(\.\d+)?[eE]-\d{1,2}")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("samples")
    paths = sample.write_samples(folder)
    return {p.name: p for p in paths}


def csv_bytes(path) -> bytes:
    """The CSV bytes of a sample: the single member of a zip, or the file itself."""
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path) as archive:
            (member,) = archive.infolist()
            assert member.filename == path.name[: -len(".zip")]
            return archive.read(member)
    return path.read_bytes()


def parse(data: bytes, encoding: str = "utf-8") -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.reader(io.StringIO(data.decode(encoding), newline=""))
    header = next(reader)
    rows = [dict(zip(header, row, strict=True)) for row in reader]
    return header, rows


def rows_of(files, name):
    return parse(csv_bytes(files[name]))


def dec(text: str) -> Decimal:
    return Decimal(text) if text else Decimal(0)


def dbr_quoting(fields: list[str]) -> str:
    """How AWS writes a DBR data line: every value quoted, empty values not."""
    return ",".join('"' + f.replace('"', '""') + '"' if f else "" for f in fields) + "\n"


# ---------------------------------------------------------------------------- the files


def test_write_samples_writes_the_six_files(files):
    assert list(files) == list(sample.SAMPLES)
    assert len(files) == 6
    assert FEB.endswith("-2026-02.csv.zip") and FEB.startswith(sample.SAMPLE_ACCOUNT)
    assert files[FEB].stat().st_size < 1_000_000
    for name, path in files.items():
        assert path.exists() and path.stat().st_size > 0, name


def test_zip_has_one_member_with_a_fixed_date(files):
    for name in (FEB, MAR, NOV):
        with zipfile.ZipFile(files[name]) as archive:
            (member,) = archive.infolist()
            assert member.filename == name[: -len(".zip")]
            assert member.date_time == sample.ZIP_DATE_TIME
            assert member.compress_type == zipfile.ZIP_DEFLATED


def test_same_arguments_give_the_same_bytes(tmp_path):
    for kind in sample.KINDS:
        first = sample.make_bill("2026-03", kind=kind, days=3, seed=5)
        assert first == sample.make_bill("2026-03", kind=kind, days=3, seed=5), kind
        assert first != sample.make_bill("2026-03", kind=kind, days=3, seed=6), kind
    one = sample.write_bill(tmp_path / "a" / FEB, days=2)
    two = sample.write_bill(tmp_path / "b" / FEB, days=2)
    assert one.read_bytes() == two.read_bytes()
    assert csv_bytes(one) == sample.make_bill(days=2)


def test_write_samples_is_reproducible(files, tmp_path):
    again = sample.write_samples(tmp_path)
    for path in again:
        assert path.read_bytes() == files[path.name].read_bytes(), path.name


def test_write_bill_plain_csv(tmp_path):
    path = sample.write_bill(tmp_path / "x.csv", month="2026-04", days=1, resources=3)
    assert path.read_bytes() == sample.make_bill("2026-04", days=1, resources=3)


# ----------------------------------------------------------------------- layout and text


def test_columns_and_tag_columns_per_month(files):
    feb, _ = rows_of(files, FEB)
    mar, _ = rows_of(files, MAR)
    jan, _ = rows_of(files, JAN_SINGLE)
    assert feb == [*sample.DBR_COLUMNS, "aws:createdBy", "user:Name", "user:Owner", "user:Project"]
    assert mar[:22] == list(sample.DBR_COLUMNS)
    assert mar[22:] == ["user:Name", "user:Owner", "user:Project", "user:ProjectName", "user:name"]
    assert mar[22:] == sorted(mar[22:])
    fixed = [c for c in sample.DBR_COLUMNS if c not in ("LinkedAccountId", "ResourceId")]
    at = fixed.index("BlendedRate")
    assert jan == fixed[:at] + ["Rate", "Cost"] + fixed[at + 4 :]


def test_header_unquoted_data_quoted_empty_unquoted_lf_utf8(files):
    for name in (FEB, MAR, NOV, JAN_SINGLE):
        data = csv_bytes(files[name])
        assert not data.startswith(b"\xef\xbb\xbf")
        assert b"\r" not in data
        lines = data.decode("utf-8").split("\n")
        assert lines[-1] == ""
        assert '"' not in lines[0]
        parsed = list(csv.reader(lines[1:-1]))
        for line, fields in zip(lines[1:-1], parsed, strict=True):
            assert dbr_quoting(fields) == line + "\n"
        assert any(",," in line for line in lines[1:-1])  # an empty field, unquoted


def test_hard_text_survives_a_csv_round_trip(files):
    _, rows = rows_of(files, FEB)
    owners = {r["user:Owner"] for r in rows}
    assert set(sample.OWNERS) <= owners
    assert "Zoë, Müller" in owners and 'o\'brien "ob"' in owners and "dev<ops>" in owners
    assert "<script>alert(1)</script>" in {r["user:Name"] for r in rows}
    descriptions = {r["ItemDescription"] for r in rows}
    assert "$0.005 per 1,000 PUT, COPY, POST, or LIST requests" in descriptions
    items = [r for r in rows if r["RecordType"] == "LineItem"]
    untagged = [r for r in items if not any(r[c] for c in r if c.startswith(("user:", "aws:")))]
    project_only = [r for r in items if r["user:Project"] and not r["user:Owner"]]
    assert untagged and project_only
    _, mar = rows_of(files, MAR)
    assert any(r["user:Name"] and r["user:name"] for r in mar)
    assert "Argo Floats, Pacific" in {r["user:ProjectName"] for r in mar}


def test_ids_keep_leading_zeros(files):
    for name in (FEB, MAR, NOV, JAN_SINGLE):
        _, rows = rows_of(files, name)
        assert {r["PayerAccountId"] for r in rows} == {"012345678901"}
        if "LinkedAccountId" in rows[0]:
            assert {r["LinkedAccountId"] for r in rows} - {""} == set(sample.LINKED_ACCOUNTS)
    _, rows = rows_of(files, FEB)
    ids = [r["RecordId"] for r in rows if r["RecordType"] == "LineItem"]
    assert all(re.fullmatch(r"\d{26}", i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_number_formats(files):
    _, rows = rows_of(files, FEB)
    items = [r for r in rows if r["RecordType"] == "LineItem"]
    spellings = Counter()
    for r in items:
        for col in ("BlendedCost", "UnBlendedCost"):
            value = r[col]
            if SCI.fullmatch(value):
                spellings["e-0" if "e-0" in value else "E-0" if "E-0" in value else "E-"] += 1
                assert Decimal(value) < Decimal("0.000001")
            else:
                assert MONEY.fullmatch(value), value
        if r["UsageQuantity"]:
            assert re.fullmatch(r"\d+\.\d{8}", r["UsageQuantity"])
            assert re.fullmatch(r"\d+\.\d{10}", r["BlendedRate"])
            assert re.fullmatch(r"\d+\.\d{10}", r["UnBlendedRate"])
    assert set(spellings) == {"e-0", "E-0", "E-"}
    assert "0.04400000" == sample._fmt_money(440_000_000)  # the doc's example, 1e-10 units
    assert sample._fmt_sci(192, 0) == "1.92e-08" and sample._fmt_sci(192, 1) == "1.92E-08"
    assert sample._fmt_sci(40, 2) == "4E-9"


TEMPLATES = len(sample._TEMPLATES)  # resource r is of template r % TEMPLATES


@pytest.mark.parametrize("resources", [TEMPLATES, TEMPLATES + 3])
def test_costs_are_quantity_times_rate(resources):
    _, rows = parse(sample.make_bill("2026-02", days=2, resources=resources))
    half = Decimal("0.000000005")
    items = [r for r in rows if r["RecordType"] == "LineItem" and r["UsageQuantity"]]
    for r in items:
        if SCI.fullmatch(r["BlendedCost"]):
            continue
        quantity = Decimal(r["UsageQuantity"])
        assert abs(quantity * Decimal(r["BlendedRate"]) - Decimal(r["BlendedCost"])) <= half
        assert abs(quantity * Decimal(r["UnBlendedRate"]) - Decimal(r["UnBlendedCost"])) <= half
    blended = any(r["BlendedRate"] != r["UnBlendedRate"] for r in items)
    # with 3 more, bob's m5.xlarge (template 2) has two resources and o'brien's reserved one
    # (template 6) one: the extra on-demand hours have no reservation to blend with
    assert blended == (resources == TEMPLATES)


# ------------------------------------------------------------------------------ time


def test_rows_are_not_in_time_order_and_include_23h_and_previous_month(files):
    _, rows = rows_of(files, FEB)
    items = [r for r in rows if r["RecordType"] == "LineItem" and r["UsageStartDate"]]
    starts = [r["UsageStartDate"] for r in items]
    assert starts != sorted(starts)
    assert starts != sorted(starts, reverse=True)
    for r in items:
        start = datetime.strptime(r["UsageStartDate"], STAMP)
        assert datetime.strptime(r["UsageEndDate"], STAMP) - start == timedelta(hours=1)
        assert start.minute == start.second == 0
    late = {s[:10] for s in starts if s.endswith(" 23:00:00")}
    assert {f"2026-02-{d:02d}" for d in range(1, 29)} <= late
    previous = [r for r in items if r["UsageStartDate"] == "2026-01-31 23:00:00"]
    assert previous and all(r["UsageEndDate"] == "2026-02-01 00:00:00" for r in previous)
    assert any(r["UsageEndDate"] == "2026-03-01 00:00:00" for r in items)
    assert min(starts) == "2026-01-31 23:00:00" and max(starts) == "2026-02-28 23:00:00"


def test_office_hours_move_with_daylight_saving_time(files):
    _, rows = rows_of(files, MAR)
    gpu = [r for r in rows if r["UsageType"] == "USW2-BoxUsage:g4dn.xlarge"]
    first_hour = defaultdict(set)
    for r in gpu:
        start = datetime.strptime(r["UsageStartDate"], STAMP)
        first_hour[start.date() < datetime(2026, 3, 8).date()].add(start.hour)
    # 08:00 in Seattle is 16:00 UTC in PST and 15:00 UTC in PDT (from Sunday 8 March 2026).
    assert 16 in first_hour[True] and 15 not in first_hour[True]
    assert 15 in first_hour[False]


def test_credit_row_has_blank_dates_and_negative_cost(files):
    _, rows = rows_of(files, FEB)
    credits = [r for r in rows if r["ProductName"] == sample.CREDIT_PRODUCT]
    assert len(credits) == 1
    (credit,) = credits
    assert credit["RecordType"] == "LineItem"
    assert credit["UsageStartDate"] == credit["UsageEndDate"] == ""
    assert Decimal(credit["BlendedCost"]) < 0
    assert credit["user:Owner"] == "chen.wei"


# ----------------------------------------------------------------------------- money


def check_native_totals(rows: list[dict[str, str]], cost: str = "BlendedCost") -> Decimal:
    """Line items + Rounding == InvoiceTotal == StatementTotal; AccountTotals are exact."""
    kinds = [r["RecordType"] for r in rows]
    tail = [k for k in kinds if k != "LineItem"]
    assert kinds[-len(tail) :] == tail, "control rows come last"
    assert tail[-3:] == ["Rounding", "InvoiceTotal", "StatementTotal"]
    items = [r for r in rows if r["RecordType"] == "LineItem"]
    control = {r["RecordType"]: r for r in rows if r["RecordType"] in CONTROL[1:]}
    total = sum((dec(r[cost]) for r in items), Decimal(0))
    invoice = Decimal(control["InvoiceTotal"][cost])
    assert invoice == total.quantize(CENT, rounding=ROUND_HALF_UP)
    assert total + Decimal(control["Rounding"][cost]) == invoice
    assert abs(Decimal(control["Rounding"][cost])) <= Decimal("0.005")
    assert Decimal(control["StatementTotal"][cost]) == invoice
    for r in rows:
        if r["RecordType"] in CONTROL:
            assert r["ProductName"] == r["RecordId"] == r["UsageStartDate"] == ""
            assert r["UsageEndDate"] == r["UsageQuantity"] == ""
            assert MONEY.fullmatch(r[cost])
    return invoice


def test_native_dbr_totals(files):
    _, rows = rows_of(files, FEB)
    assert {r["RecordType"] for r in rows} == {"LineItem", *CONTROL}
    assert {r["InvoiceID"] for r in rows} == {"86752602"}
    invoice = check_native_totals(rows, "BlendedCost")
    assert check_native_totals(rows, "UnBlendedCost") == invoice
    items = [r for r in rows if r["RecordType"] == "LineItem"]
    assert any(r["BlendedCost"] != r["UnBlendedCost"] for r in items)
    totals = [r for r in rows if r["RecordType"] == "AccountTotal"]
    assert {r["LinkedAccountId"] for r in totals} == set(sample.LINKED_ACCOUNTS)
    for r in totals:
        name = sample.LINKED_ACCOUNTS[r["LinkedAccountId"]]
        assert r["ItemDescription"] == f"Total for linked account# {r['LinkedAccountId']} ({name})"
        for col in ("BlendedCost", "UnBlendedCost"):
            mine = [dec(i[col]) for i in items if i["LinkedAccountId"] == r["LinkedAccountId"]]
            assert Decimal(r[col]) == sum(mine, Decimal(0))
    control = {r["RecordType"]: r for r in rows if r["RecordType"] != "AccountTotal"}
    assert control["InvoiceTotal"]["ItemDescription"] == "Total amount for invoice 86752602"
    assert control["StatementTotal"]["ItemDescription"] == (
        "Total statement amount for period 2026-02-01 00:00:00 - 2026-03-01 00:00:00"
    )
    assert control["Rounding"]["LinkedAccountId"] == ""


def test_open_month_is_estimated_and_covers_20_days(files):
    _, rows = rows_of(files, NOV)
    assert {r["InvoiceID"] for r in rows} == {"Estimated"}
    check_native_totals(rows)
    invoice = next(r for r in rows if r["RecordType"] == "InvoiceTotal")
    assert invoice["ItemDescription"] == "Total amount for invoice Estimated"
    starts = [r["UsageStartDate"] for r in rows if r["UsageStartDate"]]
    assert min(starts) == "2026-10-31 23:00:00"
    assert "2026-11-20 00:00:00" <= max(starts) <= "2026-11-20 23:00:00"
    per_day = Counter(s[:10] for s in starts)
    assert per_day["2026-11-20"] < per_day["2026-11-19"] < per_day["2026-11-10"]


def test_single_account_file(files):
    _, rows = rows_of(files, JAN_SINGLE)
    assert {r["RecordType"] for r in rows} == {
        "LineItem",
        "Rounding",
        "InvoiceTotal",
        "StatementTotal",
    }
    check_native_totals(rows, "Cost")
    assert len(rows) < 2000


def test_cloudcheckr_copy(files):
    _, rows = rows_of(files, MAR)
    assert Counter(r["RecordType"] for r in rows).keys() == {
        "Usage", "DiscountedUsage", "Tax", "LineItem"
    }  # fmt: skip
    assert {r["InvoiceID"] for r in rows} == {""}
    custom = [r for r in rows if r["ProductName"] == "Custom Charge"]
    assert len(custom) == 1
    (charge,) = custom
    assert charge["RecordType"] == "LineItem" and charge["RecordId"] == ""
    assert charge["ItemDescription"] == (
        "AWS/DLT Business Support, 10.0000% from $0.00 to $10,000.00"
    )
    assert (charge["UsageStartDate"], charge["UsageEndDate"]) == (
        "2026-03-01 00:00:00", "2026-03-01 00:59:59"
    )  # fmt: skip
    others = [r for r in rows if r is not charge]
    assert {r["RecordId"] for r in others} == {"AWS"}
    other_sum = sum((dec(r["BlendedCost"]) for r in others), Decimal(0))
    expected = (other_sum * Decimal("0.1")).quantize(Decimal("1e-8"), rounding=ROUND_HALF_UP)
    assert Decimal(charge["BlendedCost"]) == expected
    taxes = [r for r in rows if r["RecordType"] == "Tax"]
    assert ("2026-03-01 00:00:00", "2026-03-16 19:58:36") in {
        (r["UsageStartDate"], r["UsageEndDate"]) for r in taxes
    }
    for r in taxes:
        span = datetime.strptime(r["UsageEndDate"], STAMP) - datetime.strptime(
            r["UsageStartDate"], STAMP
        )
        assert span > timedelta(days=7)
    discounted = [r for r in rows if r["RecordType"] == "DiscountedUsage"]
    assert discounted and {r["ReservedInstance"] for r in discounted} == {"Y"}
    assert not any(r["RecordType"] in CONTROL for r in rows)


def test_invoice_report_matches_the_cloudcheckr_copy(files):
    raw = files[MAR_INVOICE].read_bytes()
    lines = raw.decode("utf-8").split("\n")[:-1]
    for line, fields in zip(lines, csv.reader(lines), strict=True):
        assert line == ",".join('"' + f.replace('"', '""') + '"' for f in fields)
    header, report = parse(raw)
    assert header == list(sample.INVOICE_COLUMNS)
    _, copy = rows_of(files, MAR)
    kinds = Counter(r["RecordType"] for r in report)
    assert kinds["AccountTotal"] == 2
    assert all(kinds[k] == 1 for k in ("CBRounding", "InvoiceTotal", "StatementTotal"))
    assert kinds["EstimatedDisclaimer"] == 1
    for r in report:
        for col in ("BillingPeriodStartDate", "UsageStartDate", "InvoiceDate"):
            assert r[col] == "" or re.fullmatch(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d", r[col])
    aws_rows = [r for r in copy if r["ProductName"] != "Custom Charge"]
    aws_sum = sum((dec(r["BlendedCost"]) for r in aws_rows), Decimal(0))
    items = [r for r in report if r["RecordType"] == "LinkedLineItem"]
    assert sum((Decimal(r["TotalCost"]) for r in items), Decimal(0)) == aws_sum
    by_type = {r["RecordType"]: r for r in report}
    invoice = Decimal(by_type["InvoiceTotal"]["TotalCost"])
    assert invoice == aws_sum.quantize(CENT, rounding=ROUND_HALF_UP)
    assert aws_sum + Decimal(by_type["CBRounding"]["TotalCost"]) == invoice
    assert Decimal(by_type["StatementTotal"]["TotalCost"]) == invoice
    assert by_type["EstimatedDisclaimer"]["TotalCost"] == ""
    for total in (r for r in report if r["RecordType"] == "AccountTotal"):
        account = total["LinkedAccountId"]
        mine = [dec(r["BlendedCost"]) for r in aws_rows if r["LinkedAccountId"] == account]
        assert Decimal(total["TotalCost"]) == sum(mine, Decimal(0))
    charge = next(Decimal(r["BlendedCost"]) for r in copy if r["ProductName"] == "Custom Charge")
    reseller_invoice = invoice + charge
    assert reseller_invoice > invoice
    assert by_type["InvoiceTotal"]["InvoiceID"] == "86752603"


def test_spreadsheet_copy(files):
    data = files[SPREADSHEET].read_bytes()
    assert data.startswith(b'\xef\xbb\xbf"InvoiceID","PayerAccountId"')
    assert data.count(b"\n") == data.count(b"\r\n")
    with pytest.raises(KeyError):
        parse(data, "utf-8")[1][0]["InvoiceID"]
    header, rows = parse(data, "utf-8-sig")
    assert (header, rows) == rows_of(files, FEB)


# ------------------------------------------------------------------------- the users


def spend_of(rows: list[dict[str, str]], key: str = "user:Owner"):
    """Month total and UTC daily sums (February days only) of BlendedCost per ``key`` value."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    daily: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for r in rows:
        if r["RecordType"] != "LineItem":
            continue
        who = r[key] or "(untagged)"
        totals[who] += dec(r["BlendedCost"])
        if r["UsageStartDate"].startswith("2026-02-"):
            daily[who][r["UsageStartDate"][:10]] += dec(r["BlendedCost"])
    return totals, daily


FEB_DAYS = [f"2026-02-{d:02d}" for d in range(1, 29)]


def test_no_two_users_spend_the_same_and_nobody_is_a_flat_line(files):
    _, rows = rows_of(files, FEB)
    totals, daily = spend_of(rows)
    assert set(totals) == {*sample.OWNERS, "(untagged)"}
    assert len(set(totals.values())) == len(totals), totals
    series = {who: tuple(daily[who][d] for d in FEB_DAYS) for who in totals}
    assert len(set(series.values())) == len(series)  # no line hides under another
    for who, values in series.items():
        assert len(set(values)) > 1, who  # no flat line
    # a small research group: a few dollars to several hundred per user, ~$2,000 in all
    people = sorted(totals[o] for o in sample.OWNERS)
    assert people[0] < 10 and people[-1] > 500 and people[-1] / people[0] > 50
    invoice = next(Decimal(r["BlendedCost"]) for r in rows if r["RecordType"] == "InvoiceTotal")
    assert 1500 < invoice < 3000


def test_users_have_patterns_of_their_own(files):
    _, rows = rows_of(files, FEB)
    items = [r for r in rows if r["RecordType"] == "LineItem" and r["UsageStartDate"]]

    def starts(name: str) -> list[str]:
        return sorted(r["UsageStartDate"] for r in items if r["user:Name"] == name)

    # o'brien's ensemble run: started on the 9th, stopped on the 20th, every hour in between
    ensemble = starts("ob-ensemble")
    assert (ensemble[0], ensemble[-1]) == ("2026-02-09 17:00:00", "2026-02-20 20:00:00")
    assert len(ensemble) == len(set(ensemble)) == 11 * 24 + 4
    # bob's batch job: five instances, two to three days, a spike in bob's daily spend
    batch = [r for r in items if r["user:Name"] == "tides-batch"]
    assert len({r["ResourceId"] for r in batch}) == 5
    assert {r["UsageStartDate"][:10] for r in batch} == {f"2026-02-{d}" for d in (16, 17, 18, 19)}
    _, daily = spend_of(rows)
    bob = [daily["bob"][d] for d in FEB_DAYS]
    assert sorted(bob)[-2] > 10 * sorted(bob)[len(bob) // 2]
    # alice's notebook server stops for the weekend (Seattle): nothing on Sundays (UTC)
    jupyter = {s[:10] for s in starts("alice-jupyter")}
    sundays = {f"2026-02-{d:02d}" for d in (1, 8, 15, 22)}
    assert not jupyter & sundays and len(jupyter) == 24
    alice = [daily["alice"][d] for d in FEB_DAYS]
    assert max(alice) > 5 * min(alice)
    # chen.wei's downloads and Zoë's uploads differ from day to day
    s3 = [r for r in items if r["ProductName"] == "Amazon Simple Storage Service"]
    for usage_type in ("USW2-DataTransfer-Out-Bytes", "USW2-Requests-Tier1"):
        per_day: dict[str, Decimal] = defaultdict(Decimal)
        for r in s3:
            if r["UsageType"] == usage_type:
                per_day[r["UsageStartDate"][:10]] += dec(r["BlendedCost"])
        assert len(set(per_day.values())) >= 25, usage_type
    # dev<ops> added metrics on the 12th: a step
    ops = [daily["dev<ops>"][d] for d in FEB_DAYS]
    assert ops[0] == ops[10] < ops[11] == ops[-1]


# ------------------------------------------------------------------------ make_bill


def test_resources_scale_the_row_count(files):
    data = sample.make_bill("2026-02", resources=120, days=2)
    lines = data.count(b"\n") - 1
    # about one row per resource and hour: fewer, as some resources run only in office hours,
    # on weekdays or between two dates; a few more, as a fleet's instances have rows of their own
    assert 0.6 * 120 * 48 < lines < 1.05 * 120 * 48 + 10
    double = sample.make_bill("2026-02", resources=240, days=2).count(b"\n") - 1
    assert 1.9 < double / lines < 2.1
    _, rows = parse(data)
    check_native_totals(rows)
    _, feb = rows_of(files, FEB)
    assert 0.7 * TEMPLATES * 28 * 24 < len(feb) < TEMPLATES * 28 * 24


@pytest.mark.parametrize("resources", [1, 5, 30])
def test_invoice_report_matches_any_cloudcheckr_copy(resources):
    args = dict(month="2026-11", closed=False, days=4, resources=resources, seed=9)
    _, copy = parse(sample.make_bill(kind="cloudcheckr", **args))
    _, report = parse(sample.make_bill(kind="invoice-report", **args))
    aws = sum((dec(r["BlendedCost"]) for r in copy if r["ProductName"] != "Custom Charge"), 0)
    invoice = next(r for r in report if r["RecordType"] == "InvoiceTotal")
    assert invoice["InvoiceID"] == "Estimated"
    assert Decimal(invoice["TotalCost"]) == Decimal(aws).quantize(CENT, rounding=ROUND_HALF_UP)
    _, native = parse(sample.make_bill(**args))
    check_native_totals(native)


def test_bad_arguments_are_refused():
    for kwargs in (
        dict(kind="cur"),
        dict(month="2026-13"),
        dict(month="Feb 2026"),
        dict(days=0),
        dict(days=29),
        dict(resources=0),
        dict(seed=-1),
        dict(tags="user:Owner"),
    ):
        with pytest.raises(ValueError):
            sample.make_bill(**kwargs)
