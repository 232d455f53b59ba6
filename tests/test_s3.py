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
