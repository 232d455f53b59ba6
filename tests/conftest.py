"""Shared fixtures: the synthetic sample bills, a real S3 API server on loopback, the CLI."""

from __future__ import annotations

import collections
import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE = ROOT.parent / "shared" / "conformance"
SCOPELY = CONFORMANCE / "scopely-details-detailed_with_tags.csv"


def conformance(path: Path = SCOPELY) -> Path:
    """A conformance file from ``../shared/conformance``; the test skips, saying why, when the
    folder is not beside the checkout (a user's clone has none; CI has it)."""
    if not path.exists():
        pytest.skip(f"{path} is absent: ../shared/conformance sits beside the checkout in CI "
                    "only")
    return path


@pytest.fixture
def scopely() -> Path:
    """The scopely DBR conformance file (skips when ``../shared`` is absent)."""
    return conformance(SCOPELY)


@pytest.fixture(scope="session")
def samples(tmp_path_factory) -> dict[str, Path]:
    """Every sample bill ``costlib sample`` writes, by month (and by kind for the extras)."""
    from costlib.sample import write_samples

    folder = tmp_path_factory.mktemp("samples")
    paths = write_samples(folder)
    return {p.name: p for p in paths}


def sample(samples: dict[str, Path], part: str) -> Path:
    """The one sample whose file name contains ``part``."""
    (path,) = [p for name, p in samples.items() if part in name]
    return path


@pytest.fixture(scope="module")
def s3_endpoint():
    """moto's server (S3, SES, SNS), in server mode on a free loopback port, reset for each
    test module so no module sees another's state (moto 5.2's /moto-api/data.json fails once
    any bucket has been deleted, until a reset)."""
    import urllib.request

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"))
    yield url
    server.stop()


@pytest.fixture
def aws_env(s3_endpoint, monkeypatch) -> dict[str, str]:
    """Point boto3 at the loopback server. moto takes any credentials: these are placeholders
    so that botocore can sign, not keys."""
    env = {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "placeholder-for-moto",
        "AWS_SECRET_ACCESS_KEY": "placeholder-for-moto",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE",
                "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@contextlib.contextmanager
def s3_bucket(name: str):
    """A new bucket on the loopback server, emptied and deleted afterwards."""
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=name)
    try:
        yield s3
    finally:
        for obj in s3.list_objects_v2(Bucket=name).get("Contents", []):
            s3.delete_object(Bucket=name, Key=obj["Key"])
        s3.delete_bucket(Bucket=name)


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None
            ) -> subprocess.CompletedProcess:
    """Run ``costlib`` in a fresh process, as a user would."""
    full_env = {**os.environ, **(env or {}), "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "costlib.cli", *args], capture_output=True,
                          text=True, env=full_env, cwd=cwd or ROOT, timeout=120)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


DBR_COLUMNS = ("InvoiceID,PayerAccountId,LinkedAccountId,RecordType,RecordId,ProductName,"
               "UsageStartDate,UsageEndDate,BlendedCost,UnBlendedCost").split(",")


def tiny_bill(rows: list[tuple], tags: tuple[str, ...] = ("user:Owner",), kind: str = "LineItem",
              controls: list[tuple[str, str]] = (), invoice: str = "Estimated",
              month: str | None = None):
    """A small native bill read by costlib: rows are ``(start, end, cost, *tag values)``;
    ``controls`` are ``(RecordType, cost)`` trailer rows."""
    import csv
    import io

    import costlib

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*DBR_COLUMNS, *tags])
    for i, (start, end, cost, *values) in enumerate(rows):
        writer.writerow([invoice, "012345678901", "012345678901", kind, str(10**25 + i),
                         "Amazon Elastic Compute Cloud", start, end, cost, cost, *values,
                         *[""] * (len(tags) - len(values))])
    for record_type, cost in controls:
        writer.writerow([invoice, "012345678901", "", record_type, "", "", "", "", cost, cost,
                         *[""] * len(tags)])
    data = io.BytesIO(buffer.getvalue().encode())
    months = collections.Counter(row[0][:7] for row in rows if row[0])
    # the month most rows start in (in a tie the later: usage may start the day before)
    month = month or (max(months.items(), key=lambda m: (m[1], m[0]))[0] if months
                      else "2026-03")
    data.name = f"012345678901-aws-billing-detailed-line-items-with-resources-and-tags-{month}.csv"
    return costlib.read(data)
