"""Where a month's files are: the detailed bill's one file, a Cost and Usage Report's manifest
and its parts (older assemblies beside them), a Data Export's ``BILLING_PERIOD=`` folders; read
from real folders and, for the morning email, from a real S3 API server on loopback."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import boto3
import pytest

import costlib
from conftest import run_cli
from costlib.buckets import Listed, months
from costlib.sample import SAMPLE_ACCOUNT, write_formats

MONTH = "2026-02"


@pytest.fixture(scope="module")
def formats(tmp_path_factory) -> dict[str, Path]:
    paths = write_formats(tmp_path_factory.mktemp("formats"))
    return {p.name.split("-")[1] + ("-parquet" if "cur-" in p.name and p.suffix == ".parquet"
                                     else ""): p for p in paths}


def cur_parts(csv_gz: Path, parts: int = 3) -> tuple[bytes, list[bytes]]:
    """A CUR CSV month cut in ``parts`` gzip parts, each with the header."""
    header, *rows = gzip.decompress(csv_gz.read_bytes()).decode().splitlines()
    return header.encode(), [gzip.compress("\n".join([header, *rows[n::parts], ""]).encode())
                             for n in range(parts)]


def legacy_cur_layout(write, csv_gz: Path, month: str = MONTH, report: str = "ocean",
                      bucket: str = "copydbr") -> None:
    """A legacy CUR month as AWS writes it: the parts of the latest assembly, the manifest of
    the month naming them, and an older assembly's part that must not be added."""
    start = month.replace("-", "") + "01"
    end = f"{int(month[:4]) + (month[5:] == '12')}{int(month[5:]) % 12 + 1:02d}01"
    folder = f"cur/{report}/{start}-{end}"
    _, parts = cur_parts(csv_gz)
    keys = [f"{folder}/assembly-2/{report}-{n:05d}.csv.gz" for n in range(1, len(parts) + 1)]
    for key, data in zip(keys, parts, strict=True):
        write(key, data)
    write(f"{folder}/assembly-1/{report}-00001.csv.gz", parts[0])  # an older assembly
    write(f"{folder}/assembly-2/{report}-Manifest.json", b"{}")  # (an assembly's own copy)
    write(f"{folder}/{report}-Manifest.json", json.dumps(
        {"assemblyId": "assembly-2", "bucket": bucket, "reportKeys": keys}).encode())


def export_layout(write, part: Path, month: str = MONTH, manifest: bool = False,
                  export: str = "ocean-cur2") -> None:
    """A Data Export month: its part under data/BILLING_PERIOD=, a manifest when asked."""
    ending = ".snappy.parquet" if part.suffix == ".parquet" else ".csv.gz"
    key = f"exports/{export}/data/BILLING_PERIOD={month}/{export}-00001{ending}"
    data = part.read_bytes()
    write(key, data if part.suffix in (".parquet", ".gz") else gzip.compress(data))
    if manifest:
        write(f"exports/{export}/metadata/BILLING_PERIOD={month}/{export}-Manifest.json",
              json.dumps({"dataFiles": [key]}).encode())


def into(folder: Path):
    def write(key: str, data: bytes) -> None:
        (folder / key).parent.mkdir(parents=True, exist_ok=True)
        (folder / key).write_bytes(data)
    return write


def unblended_total() -> float:
    return costlib.spend(costlib.read(costlib.sample_path(), cost="unblended")).total


def report(*args: str) -> dict:
    done = run_cli("report", *args, "--json", "--quiet")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_folder_of_a_cur_report_reads_each_month_once(formats, tmp_path):
    legacy_cur_layout(into(tmp_path), formats["cur"])
    data = report(str(tmp_path), "--jobs", "1")
    assert data["total"] == pytest.approx(unblended_total(), abs=1e-9)  # not the old assembly
    assert data["cost"] == "unblended"


@pytest.mark.parametrize("manifest", [False, True])
def test_a_folder_of_a_data_export_reads_each_period(formats, tmp_path, manifest):
    export_layout(into(tmp_path), formats["cur2"], manifest=manifest)
    assert report(str(tmp_path))["total"] == pytest.approx(unblended_total(), abs=1e-9)


def test_a_folder_of_parts_is_read_whole(formats, tmp_path):
    for n, data in enumerate(cur_parts(formats["cur"])[1]):
        (tmp_path / f"part-{n}.csv.gz").write_bytes(data)
    assert report(str(tmp_path), "--jobs", "1")["total"] == pytest.approx(unblended_total(),
                                                                         abs=1e-9)


def test_two_reports_of_one_month_are_refused_not_added(formats, tmp_path):
    legacy_cur_layout(into(tmp_path), formats["cur"], report="ocean")
    legacy_cur_layout(into(tmp_path), formats["cur"], report="ocean-daily")
    done = run_cli("report", str(tmp_path))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and "two reports hold 2026-02" in done.stderr
    assert "cur/ocean and " in done.stderr and "give the prefix of one" in done.stderr


def test_versions_of_an_export_without_a_manifest_are_refused(formats, tmp_path):
    for version in ("20260302T0100", "20260303T0100"):
        key = f"exports/x/data/BILLING_PERIOD={MONTH}/{version}/x-00001.snappy.parquet"
        into(tmp_path)(key, formats["cur2"].read_bytes())
    done = run_cli("report", str(tmp_path))
    assert done.returncode == 2 and "2026-02 is written 2 times" in done.stderr


def test_one_accounts_months_from_a_listing():
    listing = [Listed(costlib.bill_name(SAMPLE_ACCOUNT, "2026-01"), "a"),
               Listed(costlib.bill_name(SAMPLE_ACCOUNT, "2026-01", tags=False), "b"),
               Listed(costlib.bill_name("111111111111", "2026-01"), "c"),
               Listed(f"{SAMPLE_ACCOUNT}-aws-billing-csv-2026-01.csv", "d")]
    found = months(listing, "s3://copydbr/", SAMPLE_ACCOUNT)
    assert list(found) == ["2026-01"] and found["2026-01"].etag == "a"  # the file with tags


# --- the morning email from a report's bucket --------------------------------------------------

BUCKET = "costnotify-layouts"
NOTIFY_MONTHS = {"2026-02": dict(seed=0), "2026-03": dict(closed=False, days=20, seed=1)}


@pytest.mark.parametrize("layout", ["dbr", "cur", "data-exports", "focus-export"])
def test_the_morning_email_reads_every_bucket_layout_alike(layout, aws_env, tmp_path, capsys):
    from costlib.notify.config import parse_config
    from costlib.notify.morning import run
    from costlib.sample import make_bill

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)

    def write(key: str, data: bytes) -> None:
        s3.put_object(Bucket=BUCKET, Key=key, Body=data)

    expected = 0
    for month, options in NOTIFY_MONTHS.items():
        folder = tmp_path / month
        paths = {p.name.split("-")[1] + ("-parquet" if p.suffix == ".parquet" and "-cur-" in
                                         p.name else ""): p
                 for p in write_formats(folder, month, **options)}
        dbr = folder / costlib.bill_name(SAMPLE_ACCOUNT, month).removesuffix(".zip")
        dbr.write_bytes(make_bill(month, **options))
        if layout == "dbr":
            write(f"dbr/{dbr.name}", dbr.read_bytes())
        elif layout == "cur":
            legacy_cur_layout(write, paths["cur"], month, bucket=BUCKET)
        else:
            export_layout(write, paths["cur2" if layout == "data-exports" else "focus"], month,
                          manifest=month == "2026-03")
        spent = costlib.spend(costlib.read(dbr, cost="unblended"), "user:Owner",
                              start="2026-03-12", end="2026-03-13", tz="America/Los_Angeles")
        expected += spent.total_units
    prefix = {"dbr": "dbr/", "cur": "cur/"}.get(layout, "exports/")
    config = parse_config({"account": SAMPLE_ACCOUNT, "name": "ocean-lab", "bucket": BUCKET,
                           "prefix": prefix, "tag": ["user:Owner"],
                           "tz": "America/Los_Angeles"}, "test")
    outcome = run(config, day="2026-03-12", dry_run=True)
    subject = capsys.readouterr().out.splitlines()[0]
    amount = costlib.money.usd(costlib.money.dollars(expected))
    if layout == "dbr":  # the detailed bill's default is the blended cost: another number
        assert subject.startswith("Subject: $") and outcome.day.isoformat() == "2026-03-12"
    else:
        assert subject.startswith(f"Subject: {amount} on Thu 12 Mar"), subject
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
    s3.delete_bucket(Bucket=BUCKET)


def test_every_format_reads_from_s3_like_the_local_file(formats, aws_env, monkeypatch):
    """Parquet is read by ranges from its end: a short read there once said 'File too short'
    (ranges made small, so that these small files take many)."""
    monkeypatch.setattr("costlib.files.FIRST_RANGE", 4096)
    monkeypatch.setattr("costlib.files.READ_AHEAD", 4096)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    try:
        for path in formats.values():
            s3.put_object(Bucket=BUCKET, Key=f"formats/{path.name}", Body=path.read_bytes())
            remote = costlib.read_condensed(f"s3://{BUCKET}/formats/{path.name}", "user:Owner")
            local = costlib.read_condensed(path, "user:Owner")
            assert costlib.spend(remote, "user:Owner").per_user.equals(
                costlib.spend(local, "user:Owner").per_user), path.name
    finally:
        for obj in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
        s3.delete_bucket(Bucket=BUCKET)


def test_a_read_across_ranges_of_an_s3_object_is_whole(aws_env, monkeypatch):
    from costlib.files import S3Object

    monkeypatch.setattr("costlib.files.FIRST_RANGE", 4096)
    monkeypatch.setattr("costlib.files.READ_AHEAD", 4096)
    data = bytes(range(256)) * 1200
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    try:
        s3.put_object(Bucket=BUCKET, Key="blob", Body=data)
        view = S3Object(f"s3://{BUCKET}/blob")
        view.seek(100)
        assert view.read(10_000) == data[100:10_100]  # starts in the first range, ends past it
        view.seek(-50, 2)
        assert view.read(1000) == data[-50:]  # the end of the object ends the read
    finally:
        s3.delete_object(Bucket=BUCKET, Key="blob")
        s3.delete_bucket(Bucket=BUCKET)


def test_an_s3_prefix_of_a_cur_report_reads_each_month_once(formats, aws_env):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    try:
        legacy_cur_layout(lambda key, data: s3.put_object(Bucket=BUCKET, Key=key, Body=data),
                          formats["cur"], bucket=BUCKET)
        scanned = costlib.scan(f"s3://{BUCKET}/cur/", "user:Owner", jobs=1)
        assert len(scanned.files) == 3  # the latest assembly's parts, not the older one
        expected = costlib.read(costlib.sample_path(), cost="unblended")
        assert costlib.spend(scanned, "user:Owner").per_user.equals(
            costlib.spend(expected, "user:Owner").per_user)
    finally:
        for obj in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
        s3.delete_bucket(Bucket=BUCKET)


# --- hostile layouts -------------------------------------------------------------------------

def test_a_manifest_cannot_send_the_reader_outside_its_folder(formats, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("RecordType,UsageStartDate,password\nx,y,hunter2\n")
    folder = tmp_path / "cur" / "ocean" / "20260201-20260301"
    folder.mkdir(parents=True)
    (folder / "ocean-Manifest.json").write_text(json.dumps(
        {"reportKeys": ["../../../secret.csv"]}))
    done = run_cli("report", str(folder / "ocean-Manifest.json"))
    assert done.returncode == 2 and "hunter2" not in done.stderr + done.stdout
    assert "'..'" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("key", [
    "exports/x/data/BILLING_PERIOD=2026-13/x-00001.parquet",
    "exports/x/data/BILLING_PERIOD=9999-01/x-00001.parquet",
    "cur/x/20261301-20261401/x-Manifest.json", "cur/x/00000101-00000201/x-Manifest.json",
    f"{SAMPLE_ACCOUNT}-aws-billing-detailed-line-items-with-resources-and-tags-2026-00.csv.zip"])
def test_a_month_no_calendar_has_is_no_month(key):
    assert months([Listed(key, "e")], "s3://copydbr/") == {}


def test_a_manifest_past_any_aws_writes_is_refused_unread(tmp_path):
    manifest = tmp_path / "ocean-Manifest.json"
    with manifest.open("w") as out:  # 20 MB: AWS's manifests are a few hundred KB
        out.write('{"reportKeys": [' + ", ".join(['"k.csv.gz"'] * 2_000_000) + "]}")
    done = run_cli("report", str(manifest))
    assert done.returncode == 2 and "larger than 16 MB" in done.stderr


def test_a_month_with_and_without_tags_is_counted_once(tmp_path):
    """AWS writes both the detailed bill and its twin with resources and tags: a folder of a
    bucket holds both, and adding them would count the month twice."""
    sample = Path(costlib.sample_path()).read_bytes()
    (tmp_path / costlib.bill_name(SAMPLE_ACCOUNT, MONTH)).write_bytes(sample)
    (tmp_path / costlib.bill_name(SAMPLE_ACCOUNT, MONTH, tags=False)).write_bytes(sample)
    (tmp_path / costlib.bill_name("111111111111", MONTH, tags=False)).write_bytes(sample)
    scanned = costlib.scan(tmp_path, jobs=1)
    assert sorted(Path(f.name).name for f in scanned.files) == sorted([
        costlib.bill_name(SAMPLE_ACCOUNT, MONTH),  # the file with tags wins
        costlib.bill_name("111111111111", MONTH, tags=False)])  # alone, it is read
