"""Where a billing file comes from: its name (account, month) and its bytes (zip, csv, S3)."""

from __future__ import annotations

import io
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .errors import BillError, BillNotFoundError

NAME_PATTERN = re.compile(
    r"(?P<account>\d{12})-aws-billing-"
    r"(?P<what>detailed-line-items(?:-with-resources-and-tags)?(?:-ACTS)?|csv)"
    r"-(?P<month>\d{4}-\d{2})\.csv(?:\.zip)?$"
)


@dataclass(frozen=True)
class FileName:
    """What a billing file's name says: ``<account>-aws-billing-...-YYYY-MM.csv[.zip]``."""

    account: str | None
    month: str | None
    invoice_report: bool


def parse_name(name: str) -> FileName:
    """Read account and month from a file name; unknown names give ``None`` for both.

    >>> parse_name("012345678901-aws-billing-detailed-line-items-2026-02.csv.zip")
    FileName(account='012345678901', month='2026-02', invoice_report=False)
    >>> parse_name("notes.csv")
    FileName(account=None, month=None, invoice_report=False)
    """
    match = NAME_PATTERN.search(os.path.basename(name))
    if not match:
        return FileName(None, None, False)
    return FileName(match["account"], match["month"], match["what"] == "csv")


def bill_name(account: str, month: str, *, tags: bool = True) -> str:
    """The name AWS gives a month's detailed billing file."""
    what = "detailed-line-items-with-resources-and-tags" if tags else "detailed-line-items"
    return f"{account}-aws-billing-{what}-{month}.csv.zip"


def open_bill(source: str | os.PathLike | IO) -> tuple[str, IO[bytes]]:
    """Return ``(name, binary stream of the CSV text)`` for a path, an ``s3://`` URL or a file.

    A zip is opened and its single CSV member returned; anything else is taken as CSV.
    """
    if hasattr(source, "read"):
        name = str(getattr(source, "name", "<file>"))
        data = source.read()
        if isinstance(data, str):
            data = data.encode("utf-8")
        return _unzip_if_zip(name, data)
    if not isinstance(source, (str, os.PathLike)):
        kind = type(source).__name__
        raise TypeError(f"costlib.read() takes a path, an s3:// URL or an open file, not {kind}")
    text = os.fspath(source)
    if text.startswith("s3://"):
        return _unzip_if_zip(text, read_s3(text))
    path = Path(text)
    if not path.exists():
        raise BillNotFoundError(f"{text}: no such file")
    if path.is_dir():
        raise BillError(f"{text}: is a folder, not a billing file")
    if path.stat().st_size == 0:
        raise BillError(f"{text}: the file is empty")
    with path.open("rb") as head:
        magic = head.read(4)
    if magic[:2] == b"PK":
        return _open_zip(text, path)
    if text.endswith(".zip"):
        raise BillError(f"{text}: not a zip file (truncated or corrupt?)")
    return text, path.open("rb")


def _unzip_if_zip(name: str, data: bytes) -> tuple[str, IO[bytes]]:
    if not data:
        raise BillError(f"{name}: the file is empty")
    if data[:2] == b"PK":
        return _open_zip(name, io.BytesIO(data))
    if name.endswith(".zip"):
        raise BillError(f"{name}: not a zip file (truncated or corrupt?)")
    return name, io.BytesIO(data)


def _open_zip(name: str, file: Path | IO[bytes]) -> tuple[str, IO[bytes]]:
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise BillError(f"{name}: not a readable zip file (truncated or corrupt?): {err}") from None
    members = [m for m in archive.infolist() if not m.is_dir()]
    csvs = [m for m in members if m.filename.lower().endswith(".csv")]
    if not csvs:
        found = ", ".join(m.filename for m in members) or "nothing"
        raise BillError(f"{name}: the zip holds no CSV file (found: {found})")
    if len(csvs) > 1:
        found = ", ".join(m.filename for m in csvs)
        raise BillError(f"{name}: the zip holds {len(csvs)} CSV files, expected one ({found})")
    if csvs[0].file_size == 0:
        raise BillError(f"{name}: the CSV inside the zip is empty")
    return name, archive.open(csvs[0])


def split_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> ``(bucket, key)``."""
    bucket, _, key = url[len("s3://") :].partition("/")
    if not bucket or not key:
        raise BillError(f"{url}: an S3 URL needs a bucket and a key (s3://bucket/key)")
    return bucket, key


def s3_client():
    """A boto3 S3 client; credentials and endpoint come from the environment or the role."""
    import boto3

    return boto3.client("s3")


def read_s3(url: str) -> bytes:
    """The bytes of an S3 object, with one clear error for a missing key or a refusal."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    bucket, key = split_s3_url(url)
    try:
        return s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
    except NoCredentialsError:
        raise BillNotFoundError(
            f"{url}: no AWS credentials found (set them in the environment or use a role)"
        ) from None
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchKey", "404", "NotFound"):
            raise BillNotFoundError(f"{url}: no such key in bucket {bucket}") from None
        if code == "NoSuchBucket":
            raise BillNotFoundError(f"{url}: no such bucket {bucket}") from None
        if code in ("AccessDenied", "403", "Forbidden", "AllAccessDisabled"):
            raise BillNotFoundError(f"{url}: access denied") from None
        raise BillNotFoundError(f"{url}: S3 refused the read ({code or err})") from None
    except BotoCoreError as err:
        raise BillNotFoundError(f"{url}: could not reach S3 ({err})") from None
