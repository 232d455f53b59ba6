"""``s3://`` bills are read through boto3 from a real S3 API server (moto, server mode)."""

from __future__ import annotations

import io
import json
import zipfile

import boto3
import pytest

import costlib
from conftest import run_cli

BUCKET = "copydbr"
KEY = "123456789012-aws-billing-detailed-line-items-with-resources-and-tags-2014-09.csv.zip"


@pytest.fixture
def bucket(aws_env, scopely):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(KEY.removesuffix(".zip"), scopely.read_bytes())
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=buffer.getvalue())
    yield s3
    for obj in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
    s3.delete_bucket(Bucket=BUCKET)


def test_s3_bill_reads_like_the_local_file(bucket, scopely):
    remote = costlib.read(f"s3://{BUCKET}/{KEY}")
    local = costlib.read(scopely)
    assert remote.name == f"s3://{BUCKET}/{KEY}"
    assert (remote.account, remote.month) == ("123456789012", "2014-09")
    assert costlib.blended_total(remote) == costlib.blended_total(local) == 0.08805964
    assert remote.items.drop(columns=[]).equals(local.items)


def test_cli_reads_s3_in_a_fresh_process(bucket, aws_env):
    result = run_cli("report", f"s3://{BUCKET}/{KEY}", "--json", "--tag", "user:Name",
                     env=aws_env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["blended_total"] == 0.08805964


def test_missing_key_is_one_clear_line(bucket, aws_env):
    result = run_cli("report", f"s3://{BUCKET}/nothere.csv.zip", env=aws_env)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"costlib: error: s3://{BUCKET}/nothere.csv.zip: "
                                     f"no such key in bucket {BUCKET}")


def test_missing_bucket_is_one_clear_line(aws_env):
    with pytest.raises(costlib.BillNotFoundError, match="no such bucket nobucket"):
        costlib.read("s3://nobucket/x.csv.zip")


def test_refused_read_says_access_denied(bucket):
    bucket.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
                       "Resource": f"arn:aws:s3:::{BUCKET}/*"}],
    }))
    with pytest.raises(costlib.BillNotFoundError, match="access denied"):
        costlib.read(f"s3://{BUCKET}/{KEY}")
    bucket.delete_bucket_policy(Bucket=BUCKET)


@pytest.mark.parametrize("broken", [1, 3], ids=["once", "every time"])
def test_a_first_response_cut_short_is_read_again_or_one_line(aws_env, monkeypatch, broken):
    """S3 (or the network) may close a response early: the first ranged GET's body is read
    again like the others, and a body that stays short is one line, never a traceback."""
    from costlib import files

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="cut")
    with zipfile.ZipFile(costlib.sample_path()) as archive:
        text = archive.read(archive.namelist()[0])
    s3.put_object(Bucket="cut", Key="bill.csv", Body=text)
    calls = []

    def cut_short(http_response, parsed, model, **_):
        """The body as a server that hangs up half-way would send it."""
        if model.name == "GetObject" and len(calls) < broken:
            calls.append(1)
            body = parsed["Body"].read()
            parsed["Body"] = io.BytesIO(body[: len(body) // 2])

    client = boto3.client("s3")
    client.meta.events.register("after-call.s3.GetObject", cut_short)
    monkeypatch.setattr(files, "s3_client", lambda: client)
    try:
        if broken < 3:
            bill = costlib.read("s3://cut/bill.csv")
            assert len(bill.items) == len(costlib.read(costlib.sample_path()).items)
        else:
            with pytest.raises(costlib.BillError, match="the connection to S3 broke"):
                costlib.read("s3://cut/bill.csv")
    finally:
        for obj in s3.list_objects_v2(Bucket="cut").get("Contents", []):
            s3.delete_object(Bucket="cut", Key=obj["Key"])
        s3.delete_bucket(Bucket="cut")
