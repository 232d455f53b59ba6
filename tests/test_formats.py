"""Today's files (legacy CUR as CSV and Parquet, CUR 2.0, FOCUS) answer the same questions.

The bundled sample month written in every format gives the detailed bill's answers to the unit;
the conformance files written by others give what an independent computation gives.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import costlib
from conftest import CONFORMANCE, conformance, run_cli
from costlib.sample import FORMATS, write_formats

PACIFIC = "America/Los_Angeles"


@pytest.fixture(scope="module")
def formats(tmp_path_factory) -> dict[str, object]:
    paths = write_formats(tmp_path_factory.mktemp("formats"))
    return {FORMATS[p.name]: p for p in paths}


@pytest.mark.parametrize("fmt", sorted(set(FORMATS.values())))
@pytest.mark.parametrize("question", [{}, {"tz": PACIFIC, "start": "2026-02-08",
                                           "end": "2026-02-15 12:00"}, {"spread": True}])
def test_the_sample_month_answers_alike_in_every_format(formats, fmt, question):
    native = costlib.read(costlib.sample_path(), cost="unblended")
    expected = costlib.spend(native, "user:Owner", **question)
    for bill in (costlib.read(formats[fmt]), costlib.read_condensed(formats[fmt], "user:Owner")):
        got = costlib.spend(bill, "user:Owner", **question)
        assert got.users == expected.users
        assert np.array_equal(got.table, expected.table)  # to the unit of 1e-10 dollars
        assert got.total_units == expected.total_units and got.users_add_up


def test_each_format_names_its_kind_and_default_cost(formats):
    kinds = {fmt: (b.kind, b.cost_basis) for fmt, b in
             ((f, costlib.read_condensed(p)) for f, p in formats.items())}
    assert kinds == {"cur": ("cur", "unblended"), "cur-parquet": ("cur", "unblended"),
                     "cur2": ("cur2", "unblended"), "focus": ("focus", "billed")}


def test_tags_are_found_by_the_name_people_write(formats):
    cur = costlib.read(formats["cur-parquet"])
    assert "user_owner" in cur.tags and cur.tag_column("user:Owner") == "user_owner"
    assert costlib.read(formats["cur"]).tag_column("user:Owner") == "user:Owner"
    assert costlib.read(formats["cur2"]).tag_column("user:Project") == "user_project"


def test_a_cost_basis_the_format_lacks_is_one_line(formats):
    done = run_cli("report", str(formats["focus"]), "--cost", "blended")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == (f"costlib: error: {formats['focus']}: no blended cost in a "
                                   "FOCUS export (it has: billed, effective, list)")


def test_the_json_names_its_cost_and_total(formats):
    done = run_cli("report", str(formats["focus"]), "--json", "--quiet")
    data = json.loads(done.stdout)
    assert data["cost"] == "billed" and "blended_total" not in data
    native = json.loads(run_cli("report", "--json", "--quiet").stdout)
    assert native["cost"] == "blended" and native["total"] == native["blended_total"]
    assert data["total"] == json.loads(run_cli("report", "--json", "--quiet", "--cost",
                                               "unblended").stdout)["total"]
    assert data["invoice"]["status"] == "no invoice"
    assert "holds no invoice total" in data["invoice"]["explanation"][0]


def test_tag_coverage_lists_every_key_with_its_share(formats):
    done = run_cli("tags", str(formats["focus"]), "--json")
    coverage = json.loads(done.stdout)
    assert set(coverage["tags"]) == {"aws:createdBy", "user:Name", "user:Owner", "user:Project"}
    owner = costlib.spend(costlib.read(formats["focus"]), "user:Owner")
    tagged = owner.per_user.drop("(untagged)").abs().sum()
    assert coverage["tags"]["user:Owner"]["share"] <= 1
    assert coverage["tags"]["user:Owner"]["share"] >= tagged / owner.per_user.abs().sum() - 1e-9


def test_a_gzip_bomb_is_refused(tmp_path):
    path = tmp_path / "bomb.csv.gz"
    header = b"InvoiceID,PayerAccountId,RecordType,UsageStartDate,BlendedCost\n"
    path.write_bytes(gzip.compress(header + b"\n" * (300 << 20), compresslevel=9))
    with pytest.raises(costlib.BillError, match="the gzip inflates past 200 times"):
        costlib.read(path)


# --- files written by others --------------------------------------------------------------

def close(a: dict, b: dict, tolerance: float = 1e-6) -> bool:
    return set(a) == set(b) and all(abs(a[k] - b[k]) <= tolerance for k in a)


def test_the_focus_sample_matches_an_independent_sum():
    path = conformance(CONFORMANCE / "finops-focus-1.0-sample.csv")
    report = json.loads(run_cli("report", str(path), "--tag", "application", "--json",
                                "--quiet").stdout)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    cost = frame["BilledCost"].replace("NULL", "0").astype(float)
    tags = frame["Tags"].map(lambda t: {} if t == "NULL" else json.loads(t))
    owner = tags.map(lambda t: t.get("application") or "(untagged)")
    day = frame["ChargePeriodStart"].str[:10]
    assert abs(report["total"] - 20.52022672899) < 1e-6 and report["cost"] == "billed"
    assert close(report["users"], cost.groupby(owner).sum().to_dict())
    daily = {d: close(report["daily"][d], {u: v for u, v in g.groupby(owner[g.index]).sum()
                                           .to_dict().items()} | {u: 0.0 for u in report["users"]
                                           if u not in set(owner[g.index])})
             for d, g in cost.groupby(day)}
    assert all(daily.values()) and set(daily) == set(report["daily"]) - {"undated"}


@pytest.mark.parametrize("month, total", [("10", 4064.4831315379), ("11", 3505.3269681268)])
def test_the_workshop_cur_parquet_matches_an_independent_sum(month, total):
    path = conformance(CONFORMANCE / f"aws-workshop-cur-2018-{month}.snappy.parquet")
    report = json.loads(run_cli("report", str(path), "--tag", "user:Department", "--cost",
                                "unblended", "--json", "--quiet").stdout)
    table = pq.read_table(path, columns=["line_item_unblended_cost", "line_item_usage_start_date",
                                         "resource_tags_user_department"]).to_pandas()
    owner = table["resource_tags_user_department"].fillna("").replace("", "(untagged)")
    assert abs(report["total"] - total) < 1e-6
    assert close(report["users"], table["line_item_unblended_cost"].groupby(owner).sum().to_dict())
    day = table["line_item_usage_start_date"].dt.strftime("%Y-%m-%d")
    for d, rows in table.groupby(day):
        got = {u: v for u, v in report["daily"][d].items() if v}
        want = rows["line_item_unblended_cost"].groupby(owner[rows.index]).sum().to_dict()
        assert close(got, {u: v for u, v in want.items() if v}), d


def test_the_legacy_cur_csv_keeps_its_ids_and_sums():
    path = conformance(CONFORMANCE / "focus-converters-aws-cur-2023-11.csv")
    bill = costlib.read(path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert bill.kind == "cur" and bill.account == frame["bill/PayerAccountId"].iloc[0]
    assert set(bill.items["LinkedAccountId"]) == set(frame["lineItem/UsageAccountId"])
    expected = frame["lineItem/UnblendedCost"].astype(float).sum()
    assert abs(costlib.spend(bill).total - expected) < 1e-9
    assert set(bill.items["RecordType"]) == {"Usage", "Tax"}


def test_two_workshop_months_differ_in_columns_and_both_read():
    october = conformance(CONFORMANCE / "aws-workshop-cur-2018-10.snappy.parquet")
    november = conformance(CONFORMANCE / "aws-workshop-cur-2018-11.snappy.parquet")
    names = [set(pq.read_schema(p).names) for p in (october, november)]
    assert names[0] != names[1]
    new = sorted(c.removeprefix("resource_tags_") for c in names[1] - names[0]
                 if c.startswith("resource_tags_"))
    assert new, "November has a tag column October lacks"
    october_bill = costlib.read_condensed(october, new[0])
    assert costlib.spend(october_bill, new[0], strict=False).per_user.index.tolist() == [
        "(untagged)"]
    assert pc.sum(pq.read_table(november, columns=["line_item_unblended_cost"]).column(0)
                  ).as_py() == pytest.approx(costlib.spend(costlib.read(november)).total, abs=1e-6)


def test_the_json_splits_the_spend_by_account_type_and_provider(formats):
    path = conformance(CONFORMANCE / "finops-focus-1.0-sample.csv")
    data = json.loads(run_cli("report", str(path), "--json", "--quiet").stdout)
    assert data["providers"]["AWS"] == pytest.approx(18.0066386184, abs=1e-9)
    assert set(data["providers"]) == {"AWS", "Microsoft", "Oracle"}
    for split in ("providers", "by_account", "by_type"):
        assert sum(data[split].values()) == pytest.approx(data["total"], abs=1e-6), split
    native = json.loads(run_cli("report", "--json", "--quiet").stdout)
    assert set(native["by_account"]) == {"012345678901", "012345678902"}  # leading zeros kept
    assert "providers" not in native


def test_provider_keeps_one_providers_charges():
    path = conformance(CONFORMANCE / "finops-focus-1.0-sample.csv")
    aws = json.loads(run_cli("report", str(path), "--provider", "AWS", "--json", "--quiet",
                             "--tag", "application").stdout)
    assert aws["total"] == pytest.approx(18.0066386184, abs=1e-9)
    assert set(aws["providers"]) == {"AWS"} and aws["users_add_up"] is True
    done = run_cli("report", str(path), "--provider", "Azure")
    assert done.returncode == 2 and "no charge rows with Provider 'Azure' (found: AWS, " \
        "Microsoft, Oracle)" in done.stderr


def multipart_month(folder, formats) -> Path:
    """The sample CUR month as AWS delivers a big one: three gzip parts of the latest
    assembly, a manifest naming them, and an older assembly's part beside them."""
    with gzip.open(formats["cur"], "rt", encoding="utf-8") as text:
        header, *rows = text.read().splitlines()
    month = Path(folder) / "cur" / "ocean" / "20260201-20260301"
    keys = []
    for n, part in enumerate((rows[0::3], rows[1::3], rows[2::3]), start=1):
        key = f"cur/ocean/20260201-20260301/new-assembly/ocean-{n:05d}.csv.gz"
        (Path(folder) / key).parent.mkdir(parents=True, exist_ok=True)
        (Path(folder) / key).write_bytes(gzip.compress("\n".join([header, *part, ""]).encode()))
        keys.append(key)
    old = month / "old-assembly" / "ocean-00001.csv.gz"
    old.parent.mkdir(parents=True)
    old.write_bytes(gzip.compress("\n".join([header, *rows[:100], ""]).encode()))
    manifest = month / "ocean-Manifest.json"
    manifest.write_text(json.dumps({"assemblyId": "new-assembly", "bucket": "copydbr",
                                    "reportKeys": keys, "compression": "GZIP"}))
    return manifest


def test_a_multipart_month_is_read_from_its_manifest_once(formats, tmp_path):
    from costlib.files import manifest_parts

    manifest = multipart_month(tmp_path, formats)
    parts = manifest_parts(manifest)
    assert len(parts) == 3 and all("new-assembly" in p for p in parts)
    whole = costlib.spend(costlib.read(formats["cur"]), "user:Owner")
    scanned = costlib.spend(costlib.scan(manifest, "user:Owner"), "user:Owner")
    assert scanned.total_units == whole.total_units  # the old assembly is not added
    assert scanned.users == whole.users and np.array_equal(scanned.table, whole.table)
    done = run_cli("report", str(manifest), "--json", "--quiet")
    data = json.loads(done.stdout)
    assert data["total"] == whole.total
    assert data["cost"] == "unblended" and "blended_total" not in data  # the parts' basis


# --- the amortized cost ------------------------------------------------------------------------

AMORTIZED_HEADER = ("identity/LineItemId,bill/InvoiceId,bill/PayerAccountId,"
                    "lineItem/UsageAccountId,"
                    "lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UsageEndDate,"
                    "lineItem/UnblendedCost,reservation/EffectiveCost,"
                    "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod,"
                    "reservation/UnusedRecurringFee,reservation/ReservationARN,"
                    "savingsPlan/SavingsPlanEffectiveCost,savingsPlan/TotalCommitmentToDate,"
                    "savingsPlan/UsedCommitment,resourceTags/user:Owner")
HOUR_11 = "2026-11-03T05:00:00Z,2026-11-03T06:00:00Z"
MONTH_11 = "2026-11-01T00:00:00Z,2026-12-01T00:00:00Z"
ARN = "arn:aws:ec2:us-east-1:012345678901:reserved-instances/ri-1"
#: Each kind of row, with its amortized cost worked out by hand from AWS's rule.
AMORTIZED_ROWS = [
    (f"Usage,{HOUR_11},1.25,,,,,,,,alice", 1.25),
    (f"DiscountedUsage,{HOUR_11},0,0.40,,,{ARN},,,,alice", 0.40),
    (f"RIFee,{MONTH_11},72.00,,3.10,2.05,{ARN},,,,", 5.15),  # the unused part only
    (f"Fee,{MONTH_11},876.00,,,,{ARN},,,,", 0.0),  # the RI's upfront fee: spread, not billed
    (f"Fee,{MONTH_11},10.00,,,,,,,,", 10.00),  # a fee of no reservation stays
    (f"SavingsPlanCoveredUsage,{HOUR_11},2.00,,,,,1.30,,,bob", 1.30),
    (f"SavingsPlanNegation,{HOUR_11},-2.00,,,,,,,,bob", 0.0),
    (f"SavingsPlanRecurringFee,{MONTH_11},720.00,,,,,,720.00,650.55,", 69.45),  # unused commitment
    (f"SavingsPlanUpfrontFee,{MONTH_11},1000.00,,,,,,,,", 0.0),
    (f"Tax,{MONTH_11},3.33,,,,,,,,", 3.33),
]


def amortized_month(folder: Path, rows=AMORTIZED_ROWS, header: str = AMORTIZED_HEADER) -> Path:
    path = folder / "ri-and-savings-plans.csv"
    lines = [header] + [f"r{i},99,012345678901,012345678902,{row}"
                        for i, (row, _) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("reader", [costlib.read, costlib.read_condensed])
def test_the_amortized_cost_follows_awss_rule_row_by_row(tmp_path, reader):
    bill = reader(amortized_month(tmp_path), cost="amortized")
    spent = costlib.spend(bill, "user:Owner")
    assert bill.cost_basis == "amortized"
    assert spent.total_units == sum(round(cost * 10**10) for _, cost in AMORTIZED_ROWS)
    assert spent.per_user.round(2).to_dict() == {"(untagged)": 87.93, "alice": 1.65, "bob": 1.3}
    unblended = costlib.spend(reader(amortized_month(tmp_path)))
    assert unblended.total == pytest.approx(2682.58, abs=1e-9)


@pytest.mark.parametrize("reader", [costlib.read, costlib.read_condensed])
def test_a_cost_worked_out_per_row_is_a_column_of_the_total_rows_too(tmp_path, reader):
    """The amortized cost is no column of the file: both readers add it, to the total rows as
    well (none here), so that the bill shows itself and sums its total rows like any other."""
    bill = reader(amortized_month(tmp_path), cost="amortized")
    assert len(bill.control_cost_units) == 0 and "AmortizedCost" in bill.controls.columns
    assert "0 control rows" in repr(bill)


def test_the_amortized_cost_is_in_the_json_and_refused_where_no_format_has_it(tmp_path):
    data = json.loads(run_cli("report", str(amortized_month(tmp_path)), "--cost", "amortized",
                              "--json", "--quiet").stdout)
    assert data["cost"] == "amortized" and data["total"] == pytest.approx(90.88, abs=1e-9)
    done = run_cli("report", "--cost", "amortized")  # the sample: a detailed bill
    assert done.returncode == 2 and "no amortized cost in a detailed billing report" in done.stderr


def test_an_amortized_row_missing_its_parts_is_refused_by_its_row(tmp_path):
    blank = [(r.replace(",0.40,", ",,"), c) for r, c in AMORTIZED_ROWS]
    done = run_cli("report", str(amortized_month(tmp_path, blank)), "--cost", "amortized")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().endswith("row 3: reservation/EffectiveCost is blank on a "
                                        "DiscountedUsage row: the amortized cost of one is "
                                        "made of it")

    def without_used_commitment(line: str) -> str:  # the next to last column
        fields = line.split(",")
        return ",".join(fields[:-2] + fields[-1:])

    fewer = without_used_commitment(AMORTIZED_HEADER)
    rows = [(without_used_commitment(r), c) for r, c in AMORTIZED_ROWS]
    with pytest.raises(costlib.BillError, match=r"row 9: savingsPlan/UsedCommitment is missing "
                       "on a SavingsPlanRecurringFee row"):
        costlib.read(amortized_month(tmp_path, rows, fewer), cost="amortized")
    assert costlib.spend(costlib.read(amortized_month(tmp_path, rows, fewer))).total == \
        pytest.approx(2682.58, abs=1e-9)  # the unblended cost does not need the column


@pytest.mark.parametrize("month", ["10", "11"])
def test_the_workshop_months_amortized_cost_matches_an_independent_sum(month):
    path = conformance(CONFORMANCE / f"aws-workshop-cur-2018-{month}.snappy.parquet")
    table = pq.read_table(path).to_pandas()
    kind, cost = table["line_item_line_item_type"], table["line_item_unblended_cost"].copy()
    assert {"DiscountedUsage", "RIFee"} <= set(kind)  # rows whose amortized cost differs
    cost[kind == "DiscountedUsage"] = table["reservation_effective_cost"]
    cost[kind == "RIFee"] = (table["reservation_unused_amortized_upfront_fee_for_billing_period"]
                             + table["reservation_unused_recurring_fee"])
    cost[(kind == "Fee") & (table["reservation_reservation_a_r_n"].fillna("") != "")] = 0
    data = json.loads(run_cli("report", str(path), "--cost", "amortized", "--tag",
                              "user:Department", "--json", "--quiet").stdout)
    owner = table["resource_tags_user_department"].fillna("").replace("", "(untagged)")
    assert data["cost"] == "amortized" and abs(data["total"] - cost.sum()) < 1e-6
    assert abs(data["total"] - table["line_item_unblended_cost"].sum()) > 100
    assert close(data["users"], cost.groupby(owner).sum().to_dict())


def _retyped(table, name: str, how):
    import pyarrow as pa
    import pyarrow.compute as pc

    column = table.column(name)
    new = {"text with Z": lambda: pc.strftime(column, "%Y-%m-%dT%H:%M:%SZ"),
           "text": lambda: pc.strftime(column, "%Y-%m-%d %H:%M:%S"),
           "ns, no zone": lambda: column.cast(pa.timestamp("ns")),
           "decimal": lambda: column.cast(pa.decimal128(38, 10)),
           "text number": lambda: column.cast(pa.string()),
           "dictionary": lambda: column.dictionary_encode(),
           "large text": lambda: column.cast(pa.large_string())}[how]()
    return table.set_column(table.schema.get_field_index(name), name, new)


@pytest.mark.parametrize("name, how", [
    ("line_item_usage_start_date", "text with Z"), ("line_item_usage_start_date", "text"),
    ("line_item_usage_end_date", "ns, no zone"), ("line_item_unblended_cost", "decimal"),
    ("line_item_unblended_cost", "text number"), ("resource_tags_user_owner", "dictionary"),
    ("line_item_line_item_type", "large text")])
def test_a_cur_parquet_written_with_other_types_reads_alike(formats, tmp_path, name, how):
    """Writers other than AWS's (Athena CTAS, Spark, pandas) type the columns their way."""
    path = tmp_path / "retyped.parquet"
    pq.write_table(_retyped(pq.read_table(formats["cur-parquet"]), name, how), path)
    expected = costlib.spend(costlib.read(formats["cur-parquet"]), "user:Owner")
    for bill in (costlib.read(path), costlib.read_condensed(path, "user:Owner")):
        got = costlib.spend(bill, "user:Owner")
        assert got.users == expected.users and np.array_equal(got.table, expected.table)


def test_a_focus_parquet_with_a_tags_map_and_null_texts_reads_like_the_csv(formats, tmp_path):
    """AWS's FOCUS export is Parquet, its Tags a map; a converted CSV keeps "NULL" as text."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    texts = pcsv.read_csv(formats["focus"], convert_options=pcsv.ConvertOptions(
        column_types={"ConsumedQuantity": pa.string(), "ChargePeriodStart": pa.string(),
                      "BillingAccountId": pa.string(), "SubAccountId": pa.string()}))
    assert "NULL" in texts.column("ConsumedQuantity").to_pylist()
    tags = [[] if v == "NULL" else list(json.loads(v).items())
            for v in texts.column("Tags").to_pylist()]
    texts = texts.set_column(texts.schema.get_field_index("Tags"), "Tags",
                             pa.array(tags, pa.map_(pa.string(), pa.string())))
    pq.write_table(texts, tmp_path / "focus.parquet")
    expected = costlib.spend(costlib.read(formats["focus"]), "user:Owner")
    for bill in (costlib.read(tmp_path / "focus.parquet"),
                 costlib.read_condensed(tmp_path / "focus.parquet", "user:Owner")):
        got = costlib.spend(bill, "user:Owner")
        assert got.users == expected.users and np.array_equal(got.table, expected.table)
