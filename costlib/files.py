"""Where a billing file comes from: its name (account, month) and its bytes (zip, csv, S3)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import struct
import threading
import zipfile
import zlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .errors import BillError, BillNotFoundError, OptionError

try:  # ISA-L inflates about twice as fast as zlib
    from isal import isal_zlib as _zlib

    _ZLIB_ERRORS: tuple[type[Exception], ...] = (zlib.error, _zlib.error)
except ImportError:  # pragma: no cover - isal is optional
    _zlib = zlib
    _ZLIB_ERRORS = (zlib.error,)

#: A zip member may inflate to at most this many times its compressed size: billing CSVs
#: deflate about 17 to 1, a zip bomb of zeros about 1000 to 1. ``COSTLIB_MAX_INFLATION`` raises it.
MAX_INFLATION = 200
MAX_INFLATION_ENV = "COSTLIB_MAX_INFLATION"

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


def sample_path() -> str:
    """The path of the small sample bill that ships inside the package."""
    from .sample import DEFAULT_SAMPLE

    return os.path.join(os.path.dirname(__file__), "data", DEFAULT_SAMPLE)


def open_bill(source: str | os.PathLike | IO) -> tuple[str, IO[bytes]]:
    """Return ``(name, binary stream of the CSV text)`` for a path, an ``s3://`` URL or a file.

    A zip is opened and its single CSV member returned, inflated as it is read; anything else
    is taken as CSV. An ``s3://`` object is read in ranges, never downloaded whole.
    """
    opened = open_source(source)
    return opened.name, opened.stream


@dataclass(frozen=True)
class Opened:
    """An opened billing file: its name, a binary stream of its CSV text, and that text's size
    in bytes when known (for progress bars)."""

    name: str
    stream: IO[bytes]
    size: int | None
    parquet: bool = False  #: the stream is a (seekable) Parquet file, not CSV text


def open_source(source: str | os.PathLike | IO) -> Opened:
    """:func:`open_bill`, with the size of the CSV text when it is known."""
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
        return _open_s3(text)
    with _local_errors(text):
        return _open_path(text)


@contextlib.contextmanager
def _local_errors(text: str):
    """Turn the system's refusals of a local file into one clear line naming it."""
    try:
        yield
    except PermissionError:
        raise BillNotFoundError(f"{text}: permission denied") from None
    except IsADirectoryError:
        raise BillError(f"{text}: is a folder, not a billing file") from None
    except FileNotFoundError:
        raise BillNotFoundError(f"{text}: no such file") from None
    except OSError as err:
        raise BillError(f"{text}: cannot be read ({err.strerror or err})") from None


def _open_path(text: str) -> Opened:
    path = Path(text)
    if not path.exists():
        raise BillNotFoundError(f"{text}: no such file")
    if path.is_dir():
        raise BillError(f"{text}: is a folder, not a billing file")
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):  # a pipe (``<(zcat bill.csv.gz)``) or a device
        raw = io.BufferedReader(io.FileIO(text, "rb"), buffer_size=1 << 16)
        magic = raw.peek(4)[:4]
        if not magic:
            raw.close()
            raise BillError(f"{text}: the file is empty")
        if magic[:2] == b"PK" or magic == b"PAR1":
            raw.close()
            raise BillError(f"{text}: a zip or Parquet file must be read from a file, not a "
                            "pipe (give the file)")
        return _by_magic(text, magic, raw, None)
    if info.st_size == 0:
        raise BillError(f"{text}: the file is empty")
    with path.open("rb") as head:
        magic = head.read(4)
    return _by_magic(text, magic, path.open("rb"), info.st_size)


def _by_magic(name: str, magic: bytes, file: IO[bytes], size: int | None) -> Opened:
    """The file opened by what its first bytes say: a zip, gzip, Parquet, else CSV text."""
    if magic[:2] == b"PK":
        return _open_zip(name, file)
    if magic[:2] == b"\x1f\x8b":
        return Opened(name, GzipReader(name, file, size), None)
    if magic == b"PAR1":
        return Opened(name, file, size, parquet=True)
    if name.endswith(".zip"):
        file.close()
        raise BillError(f"{name}: not a zip file (truncated or corrupt?)")
    return Opened(name, file, size)


def _unzip_if_zip(name: str, data: bytes) -> Opened:
    if not data:
        raise BillError(f"{name}: the file is empty")
    return _by_magic(name, data[:4], io.BytesIO(data), len(data))


def _open_zip(name: str, file: IO[bytes]) -> Opened:
    """The single CSV member of the zip in ``file`` (which the returned stream then owns)."""
    try:
        try:
            archive = zipfile.ZipFile(file)
        except (zipfile.BadZipFile, OSError, EOFError) as err:
            raise BillError(f"{name}: not a readable zip file (truncated or corrupt?): "
                            f"{err}") from None
        members = [m for m in archive.infolist() if not m.is_dir()]
        csvs = [m for m in members if m.filename.lower().endswith(".csv")]
        if not csvs:
            found = ", ".join(m.filename for m in members) or "nothing"
            raise BillError(f"{name}: the zip holds no CSV file (found: {found})")
        if len(csvs) > 1:
            found = ", ".join(m.filename for m in csvs)
            raise BillError(f"{name}: the zip holds {len(csvs)} CSV files, expected one "
                            f"({found})")
        if csvs[0].file_size == 0:
            raise BillError(f"{name}: the CSV inside the zip is empty")
        ratio = max_inflation()
        if csvs[0].file_size > ratio * max(csvs[0].compress_size, 1 << 10):
            raise BillError(f"{name}: the zip member inflates past {ratio:g} times its size "
                            f"({csvs[0].compress_size:,} to {csvs[0].file_size:,} bytes); not "
                            f"a billing file (a zip bomb?); {MAX_INFLATION_ENV} raises the limit")
        return Opened(name, _member(name, archive, csvs[0], file), csvs[0].file_size)
    except BaseException:
        file.close()
        raise


def _member(name: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo,
            file: IO[bytes]) -> IO[bytes]:
    if info.compress_type in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED) and not (
            info.flag_bits & 0x1):  # not encrypted
        try:
            file.seek(info.header_offset)
            header = file.read(zipfile.sizeFileHeader)
        except (OSError, EOFError) as err:
            raise BillError(f"{name}: not a readable zip file (truncated or corrupt?): "
                            f"{err}") from None
        if len(header) != zipfile.sizeFileHeader or header[:4] != zipfile.stringFileHeader:
            raise BillError(f"{name}: not a readable zip file (truncated or corrupt?): "
                            f"bad local header of {info.filename}")
        fields = struct.unpack(zipfile.structFileHeader, header)
        skip = fields[zipfile._FH_FILENAME_LENGTH] + fields[zipfile._FH_EXTRA_FIELD_LENGTH]
        start = info.header_offset + zipfile.sizeFileHeader + skip
        if isinstance(file, S3Object):  # (the member is read in order from here to its end)
            file.until = start + info.compress_size
        file.seek(start)
        return MemberReader(name, info, file)
    try:  # bzip2, lzma, encrypted...: zipfile knows how (or says why not)
        return _Closing(archive.open(info), file)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError) as err:
        raise BillError(f"{name}: not a readable zip file (truncated or corrupt?): "
                        f"{err}") from None


class _Closing(io.RawIOBase):
    """A member stream opened by ``zipfile`` that also closes the zip's file when closed."""

    def __init__(self, member: IO[bytes], file: IO[bytes]) -> None:
        self._member, self._file = member, file

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._member.read(size)

    def readinto(self, buffer) -> int:
        return self._member.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            self._member.close()
            self._file.close()
        super().close()


class _Inflated(io.RawIOBase):
    """Text inflated from a compressed ``file`` (which it owns); ``what`` names the kind of
    archive in the one line that says it is broken."""

    what = "archive"

    def __init__(self, name: str, file: IO[bytes]) -> None:
        self.name, self._file = name, file

    def readable(self) -> bool:
        return True

    def _broken(self, why: str):
        raise BillError(f"{self.name}: the {self.what} is corrupt or truncated ({why})")

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()


class MemberReader(_Inflated):
    """The inflated bytes of one zip member, read straight from the archive's file.

    Inflates with ISA-L (``isal``) when it is installed, else ``zlib``; both let other threads
    run meanwhile. Checks the member's size and CRC-32 at the end, as ``zipfile`` does.
    ``read(n)`` returns up to ``n`` bytes in one piece (no copy through a small buffer).
    """

    BLOCK = 1 << 16  #: compressed bytes read from the file at a time (small: the unconsumed
    #: rest of each block is copied after every call to the inflater)

    what = "zip"

    def __init__(self, name: str, info: zipfile.ZipInfo, file: IO[bytes]) -> None:
        super().__init__(name, file)
        self.info = info
        self._left = info.compress_size  # compressed bytes not read from the file yet
        self._inflate = _zlib.decompressobj(-15) if info.compress_type else None
        self._tail = b""
        self._crc = 0
        self._out = 0
        self._done = False

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = max(self.info.file_size - self._out, 0) + 1
        parts = list(self._inflated(size))
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readinto(self, buffer) -> int:
        filled = 0
        for part in self._inflated(len(buffer)):  # each piece straight into place
            buffer[filled : filled + len(part)] = part
            filled += len(part)
        return filled

    def _inflated(self, want: int) -> Iterator[bytes]:
        """Inflated pieces adding up to ``want`` bytes (fewer at the end), counted and
        CRC-checked."""
        while want > 0 and not self._done:
            if not self._tail and self._left > 0:
                self._tail = self._file.read(min(self._left, max(self.BLOCK, want // 8)))
                self._left = self._left - len(self._tail) if self._tail else 0
            if self._inflate is None:
                out, self._tail = self._tail[:want], self._tail[want:]
                self._done = not out
            else:
                try:
                    out = self._inflate.decompress(self._tail, want)
                except _ZLIB_ERRORS as err:
                    self._broken(f"{err}")
                self._tail = self._inflate.unconsumed_tail
                if self._inflate.eof:
                    self._done = True
                elif not out and not self._tail and not self._left:
                    self._broken("the compressed data ends early")
            if out:
                self._crc = _zlib.crc32(out, self._crc)
                self._out += len(out)
                if self._out > self.info.file_size:  # a header that lies: stop right there
                    self._broken(f"it inflates past the {self.info.file_size:,} bytes the zip "
                                 "says")
                want -= len(out)
                yield out
        if self._done:
            self._check()

    def _check(self) -> None:
        if self._out != self.info.file_size:
            self._broken(f"{self._out} bytes inflated, the zip says {self.info.file_size}")
        if self._crc != self.info.CRC:
            self._broken(f"Bad CRC-32 for file {self.info.filename!r}")



class GzipReader(_Inflated):
    """The inflated text of a ``.csv.gz`` (members one after another, as ``gzip`` writes them
    when appending), refused once it inflates past :func:`max_inflation` times the compressed
    bytes read (a gzip bomb; a gzip header's size field cannot be trusted)."""

    BLOCK = 1 << 16
    what = "gzip"

    def __init__(self, name: str, file: IO[bytes], size: int | None) -> None:
        super().__init__(name, file)
        self._inflate = _zlib.decompressobj(31)
        self._tail = b""
        self._read = self._out = 0
        self._ratio = max_inflation()
        self._done = False
        self._between = False  # at the end of a member: the text may end here

    def readinto(self, buffer) -> int:
        want, filled = len(buffer), 0
        while filled < want and not self._done:
            if not self._tail:
                self._tail = self._file.read(self.BLOCK)
                self._read += len(self._tail)
                if not self._tail:
                    if not self._between:
                        self._broken("the compressed data ends early")
                    self._done = True
                    break
            try:
                out = self._inflate.decompress(self._tail, want - filled)
            except _ZLIB_ERRORS as err:
                self._broken(str(err))
            self._tail = self._inflate.unconsumed_tail
            self._between = self._inflate.eof
            if self._inflate.eof:  # another member may follow
                self._tail = self._inflate.unused_data + self._tail
                self._inflate = _zlib.decompressobj(31)
            buffer[filled : filled + len(out)] = out
            filled += len(out)
            self._out += len(out)
            if self._out > self._ratio * max(self._read, 1 << 10) + (1 << 20):
                raise BillError(f"{self.name}: the gzip inflates past {self._ratio:g} times its "
                                f"size; not a billing file (a gzip bomb?); {MAX_INFLATION_ENV} "
                                "raises the limit")
        return filled



READ_AHEAD = 8 << 20  #: bytes fetched (at least) per ranged GET of an S3 object
FIRST_RANGE = 1 << 16  #: the first GET: enough to tell a zip from a CSV


def _open_s3(url: str) -> Opened:
    raw = S3Object(url)
    if raw.size == 0:
        raise BillError(f"{url}: the file is empty")
    return _by_magic(url, raw.head[:4], raw, raw.size)


class S3Object(io.RawIOBase):
    """A seekable, read-only view of an S3 object, read by ranged GETs of at least
    :data:`READ_AHEAD` bytes (the last one kept for the reads that follow).

    ``zipfile`` can then find the central directory at the end and a member be inflated as it
    is read, without the object ever being held whole in memory or on disk. Every GET after the
    first asks for the same version (``If-Match`` on the ETag), so a file rewritten meanwhile
    is refused rather than read half old, half new. ``requests`` counts the GETs.

    Read in order, the range after the one being read is already on its way (two GETs in
    flight: one waits tens of milliseconds for its first byte), up to :attr:`until` (where
    the reading is known to stop: a zip member's end).
    """

    def __init__(self, url: str, client=None) -> None:
        self.url = url
        self.bucket, self.key = split_s3_url(url)
        self._client = client or s3_client()
        self._pos = 0
        self.requests = 0
        self.etag = None
        self._counting = threading.Lock()
        self._ahead: tuple[int, Future] | None = None  # (where, the GET) of the next range
        self._fetcher: ThreadPoolExecutor | None = None
        try:
            reply, self.head = self._fetch_reply(f"bytes=0-{FIRST_RANGE - 1}", first=True)
        except _EmptyObject:
            self.head, self.size = b"", 0
            self._cached, self._cached_at = b"", 0
            return
        self.etag = reply.get("ETag")
        self._cached, self._cached_at = self.head, 0
        content_range = reply.get("ContentRange") or ""
        if "/" in content_range:
            self.size = int(content_range.rsplit("/", 1)[1])
        else:  # the server ignored the range and sent it all: that is the whole object
            self.size = len(self.head)
        self.until = self.size  #: no range is fetched ahead past here

    def _get(self, byte_range: str, first: bool = False) -> dict:
        with self._counting:
            self.requests += 1
        extra = {} if first or not self.etag else {"IfMatch": self.etag}
        return self._client.get_object(Bucket=self.bucket, Key=self.key, Range=byte_range,
                                       **extra)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        """Fill ``buffer`` whole, up to the object's end (a reader such as Parquet's takes a
        short read for the end of the file)."""
        view, done = memoryview(buffer).cast("B"), 0
        while done < len(view):
            got = self._read_some(view[done:])
            if not got:
                break
            done += got
        return done

    def _read_some(self, buffer: memoryview) -> int:
        want = min(len(buffer), self.size - self._pos)
        if want <= 0:
            return 0
        at = self._pos - self._cached_at
        if self._pos < len(self.head) and not 0 <= at < len(self._cached):
            self._cached, self._cached_at, at = self.head, 0, self._pos  # the first range
        if not 0 <= at < len(self._cached):
            in_order = self._pos == self._cached_at + len(self._cached)
            # (kept as it was should the GET fail: a read there again asks again)
            self._cached = self._fetched_ahead(self._pos) or self._fetch(
                self._pos, self._span(self._pos, want))
            self._cached_at, at = self._pos, 0
            if in_order:
                self._fetch_ahead(self._pos + len(self._cached))
        data = memoryview(self._cached)[at : at + want]
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def _span(self, start: int, want: int) -> int:
        """How many bytes to GET from ``start`` for a read of ``want``: at least
        :data:`READ_AHEAD`, not past :attr:`until` (unless the read is), nor the end."""
        end = start + max(want, READ_AHEAD)
        if start < self.until:
            end = min(end, max(self.until, start + want))
        return min(end, self.size) - start

    def _fetch_ahead(self, start: int) -> None:
        if start >= min(self.until, self.size):
            return
        if self._fetcher is None:
            self._fetcher = ThreadPoolExecutor(1, thread_name_prefix="costlib-s3")
        self._ahead = (start, self._fetcher.submit(self._fetch, start, self._span(start, 0)))

    def _fetched_ahead(self, start: int) -> bytes | None:
        """The range fetched ahead if it starts at ``start`` (its error, if it failed);
        ``None`` if there is none or it starts elsewhere (a seek: it is dropped)."""
        ahead, self._ahead = self._ahead, None
        if ahead is None or ahead[0] != start:
            return None
        return ahead[1].result()

    def close(self) -> None:
        if self._fetcher is not None:
            self._fetcher.shutdown(wait=False, cancel_futures=True)
        super().close()

    def _fetch(self, start: int, size: int) -> bytes:
        return self._fetch_reply(f"bytes={start}-{start + size - 1}")[1]

    def _fetch_reply(self, byte_range: str, first: bool = False, tries: int = 3
                     ) -> tuple[dict, bytes]:
        """A ranged GET and its body; botocore retries the requests, this the broken bodies."""
        from botocore.exceptions import IncompleteReadError, ResponseStreamingError

        for _ in range(tries):
            with _s3_errors(self.url, self.bucket):
                try:
                    reply = self._get(byte_range, first=first)
                except _client_error_class() as err:
                    if first and err.response.get("Error", {}).get("Code") == "InvalidRange":
                        raise _EmptyObject from None
                    raise
            try:
                body = reply["Body"].read()
            except (IncompleteReadError, ResponseStreamingError, OSError):
                continue
            expected = reply.get("ContentLength")
            if expected is None or len(body) == expected:
                return reply, body
        raise BillError(f"{self.url}: the connection to S3 broke while reading (try again)")


class _EmptyObject(Exception):
    """The first range of an empty object cannot be satisfied."""


def max_inflation() -> float:
    """How many times its compressed size a zip member may inflate to (see
    :data:`MAX_INFLATION`)."""
    return limit_from_env(MAX_INFLATION_ENV, MAX_INFLATION, 1, float("inf"), "a ratio (say 200)")


def limit_from_env(name: str, default: float, low: float, high: float, what: str) -> float:
    """A limit a person may raise through the environment variable ``name``: its number,
    between ``low`` and ``high``, else ``default`` when unset; one clear error otherwise."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        raise OptionError(f"{name}={text!r}: not {what}")
    return value


def _client_error_class():
    from botocore.exceptions import ClientError

    return ClientError


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


def read_s3(url: str, limit: int | None = None) -> bytes:
    """The bytes of an S3 object, with one clear error for a missing key or a refusal; at most
    ``limit`` bytes and one more (to tell that there were more)."""
    bucket, key = split_s3_url(url)
    with _s3_errors(url, bucket):
        body = s3_client().get_object(Bucket=bucket, Key=key)["Body"]
        return body.read() if limit is None else body.read(limit + 1)


@contextlib.contextmanager
def _s3_errors(url: str, bucket: str):
    """Turn boto3's refusals into one clear :class:`BillNotFoundError` line."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        yield
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
        if code in ("PreconditionFailed", "412"):
            raise BillNotFoundError(f"{url}: the object changed while it was read "
                                    "(rewritten meanwhile?); read it again") from None
        raise BillNotFoundError(f"{url}: S3 refused the read ({code or err})") from None
    except BotoCoreError as err:
        raise BillNotFoundError(f"{url}: could not reach S3 ({err})") from None


#: The largest manifest read: AWS's list a month's parts and columns in a few hundred KB.
MAX_MANIFEST_BYTES = 16 << 20


def is_manifest(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a Cost and Usage Report's manifest (``...-Manifest.json``) or a
    Data Exports one (``Manifest.json``)."""
    return os.fspath(path).lower().endswith("manifest.json")


def manifest_parts(path: str | os.PathLike) -> list[str]:
    """The data files of the month a manifest describes: the ``reportKeys`` of a legacy CUR
    manifest (one assembly: the latest, since AWS rewrites the manifest with each) or the
    ``dataFiles`` of a Data Exports one; local keys are found under the manifest's folder.

    A month's parts are summed together, never the parts of two assemblies: give the manifest
    rather than a folder where old assemblies linger.
    """
    import json

    text = os.fspath(path)
    data = read_s3(text, MAX_MANIFEST_BYTES) if text.startswith("s3://") else _read_local(
        text, MAX_MANIFEST_BYTES)
    if len(data) > MAX_MANIFEST_BYTES:
        raise BillError(f"{text}: larger than {MAX_MANIFEST_BYTES >> 20} MB: not a manifest "
                        "AWS writes (theirs are a few hundred KB)")
    try:
        manifest = json.loads(data)
    except ValueError:
        raise BillError(f"{text}: not a manifest (not JSON)") from None
    if not isinstance(manifest, dict):
        raise BillError(f"{text}: not a manifest (no reportKeys or dataFiles)")
    if isinstance(manifest.get("dataFiles"), list):
        keys, bucket = [str(k) for k in manifest["dataFiles"]], None
    elif isinstance(manifest.get("reportKeys"), list):
        keys, bucket = [str(k) for k in manifest["reportKeys"]], manifest.get("bucket")
    else:
        raise BillError(f"{text}: not a manifest (no reportKeys or dataFiles)")
    if not keys:
        raise BillError(f"{text}: the manifest lists no data files (an empty month?)")
    if text.startswith("s3://"):
        own_bucket = split_s3_url(text)[0]
        return [k if k.startswith("s3://") else f"s3://{bucket or own_bucket}/{k}"
                for k in keys]
    return [_local_part(text, k) for k in keys]


def _read_local(path: str, limit: int) -> bytes:
    """At most ``limit`` bytes of a local file, and one more (to tell that there were more)."""
    with _local_errors(path), open(path, "rb") as file:
        return file.read(limit + 1)


def _local_part(manifest: str, key: str) -> str:
    """Where a manifest's key (a path in the bucket) lies in a local copy: the longest end of
    the key found under the manifest's folder, or the folders just above it (a Data Export's
    manifest sits in ``metadata/``, beside ``data/``; a synced bucket keeps the layout)."""
    folder = Path(manifest).parent
    names = key.removeprefix("s3://").split("/")
    if ".." in names or key.startswith(("/", "\\")):
        raise BillError(f"{manifest}: its part {key!r} climbs out of the report's folder "
                        "('..' or an absolute path): not a manifest AWS writes")
    for above in (folder, *list(folder.parents)[:2]):
        for start in range(len(names)):
            candidate = above.joinpath(*names[start:])
            if candidate.is_file():
                return str(candidate)
    raise BillNotFoundError(f"{manifest}: its part {key} is not under {folder.parents[1]}")
