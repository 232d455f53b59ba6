"""Big months in bounded memory: read the file in chunks, sum each chunk, combine the sums.

    >>> import costlib
    >>> bill = read_condensed(sample_path(), tags="user:Owner")
    >>> whole = costlib.read(sample_path())
    >>> bill.line_items == len(whole.items) > len(bill.items)   # fewer rows, the same items
    True
    >>> costlib.report(bill).as_dict() == costlib.report(whole).as_dict()
    True

:func:`read_condensed` gives a :class:`CondensedBill`: a :class:`~costlib.Bill` whose
``items`` hold one row per distinct combination of the columns the questions need (record type,
product, accounts, invoice, start and end of usage, the tags asked for) and of the cost's sign,
with the cost summed exactly. The invoice check, spend per user and per day, windows, time zones
and spreading then run on it unchanged, and give the same answers, to the unit of 1e-10 dollars,
as on the full table of :func:`costlib.read`, in memory that grows with the number of distinct
combinations, not of rows. ``controls`` (the total rows) are kept whole, as ``read`` keeps them.
Rows lasting more than an hour (tax, fees) are kept one by one: spreading them over their hours
is exact per row, not per sum.

How: a thread inflates the zip (or reads the CSV, from disk or from S3 in ranges) into chunks of
about 4 MB cut at line ends, in a few buffers used over and over; pyarrow parses two chunks at a
time (one per core, without the GIL), converting only the columns needed; this thread sums each
chunk per combination in exact integer units, and sums the sums again now and then so that
memory stays bounded. pandas is not needed until the bill is put together, so that a caller
can load it meanwhile (``costlib report`` does, in a thread of its own).

Only the columns read are checked: a bad cost or date is named by its row in the file, with the
words :func:`costlib.read` uses (a chunk that pyarrow refuses, or in which it finds a value
wrong, is parsed again the way ``read`` parses, so the message is the same); a bad value in a
column no question needs (``UsageQuantity``, the rates) is not looked at, where ``read``
refuses the file. ``engine="pandas"`` parses every chunk that way: slower, the same answers.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import itertools
import os
import queue
import re
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from . import money
from .errors import BillError
from .files import Opened, open_source, parse_name
from .layout import (
    CLOUDCHECKR_RECORD_TYPES,
    CONTROL_RECORD_TYPES,
    DATE_COLUMNS,
    NUMERIC_COLUMNS,
    Bill,
    bad_date,
    date_format,
    dbr_or_copy,
    first_line,
    header_kind,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CHUNK_BYTES", "KEY_COLUMNS", "CondensedBill", "read_condensed"]

#: The columns kept (when the file has them) besides the tags and the cost.
KEY_COLUMNS = ("InvoiceID", "PayerAccountId", "LinkedAccountId", "RecordType", "ProductName",
               "UsageStartDate", "UsageEndDate")
CHUNK_BYTES = 4 << 20  #: bytes of CSV text parsed at a time
PIECE_BYTES = 1 << 18  #: bytes read (inflated) at a time: small enough to be recycled memory
PARSERS = 2  #: chunks parsed at once, each by one thread
AHEAD = 3  #: chunks handed to the parsers before the oldest is summed
QUEUED = 2  #: chunks read ahead of the parsers
BATCH_ROWS = 1 << 16  #: rows summed per key at a time
#: A group's cost is stored in pieces of at most this many units, so that every piece survives
#: the trip to float dollars and back (``money.units``) exactly.
PIECE = 2**50
PROGRESS_DELAY = 1.0  #: seconds a read runs before its progress bar shows
_NAT = np.iinfo(np.int64).min
_HOUR = 3600 * 10**9


@dataclass(frozen=True, eq=False)
class CondensedBill(Bill):
    """A :class:`~costlib.Bill` whose charge rows are summed per distinct combination of
    the columns kept; ``rows[i]`` line items of the file make up ``items.iloc[i]`` (a sum too
    large for float dollars to hold exactly is split over rows side by side, the first of
    them counting the line items).

    ``tags`` still lists every tag column of the file, kept or not, so that asking for a tag
    the file does not have is refused with the same words.
    """

    file_tags: tuple[str, ...] = ()
    rows: np.ndarray | None = None

    @property
    def tags(self) -> list[str]:
        """The tag columns of the file (``user:...`` and ``aws:...``), in file order."""
        return list(self.file_tags)

    @property
    def line_items(self) -> int:
        """How many charge rows the file holds."""
        return int(self.rows.sum()) if self.rows is not None else len(self.items)

    def __repr__(self) -> str:
        invoice = self.invoice_id or "no invoice id"
        return (f"<CondensedBill {os.path.basename(self.name)}: {self.kind}, {self.month}, "
                f"{self.line_items:,} charge rows in {len(self.items):,} sums, "
                f"{len(self.controls)} control rows, invoice {invoice}>")


def read_condensed(source, tags: str | Sequence[str] | None = None, *,
                   progress: bool | None = None, chunk_bytes: int = CHUNK_BYTES,
                   engine: str = "auto") -> CondensedBill:
    """Read a month's billing file in bounded memory, its charges summed per distinct key.

    ``source`` is what :func:`costlib.read` takes. ``tags`` names the tag columns to keep (one,
    or a fallback chain as :func:`costlib.spend` takes); ``None`` keeps them all (fewer tags,
    fewer distinct keys, less memory). ``progress`` shows a progress bar when the read takes
    more than a moment: ``None`` in a terminal or a notebook, ``True`` always, ``False`` never.
    ``engine`` is ``"pyarrow"`` (``"auto"``) or ``"pandas"`` (slower, the same answers).

    See also :func:`costlib.read` (every row and column, in memory).
    """
    pandas = sys.modules.get("pandas")  # (a DataFrame means that pandas is loaded)
    tables = tuple(getattr(pandas, kind, None) for kind in ("DataFrame", "Series"))
    if any(t is not None and isinstance(source, t) for t in tables):
        raise TypeError("read_condensed() takes a path, an s3:// URL or an open file, "
                        "not a DataFrame; the DataFrame is already read")
    keep_tags = None if tags is None else (tags,) if isinstance(tags, str) else tuple(tags)
    if chunk_bytes < 1:
        raise ValueError(f"chunk_bytes must be at least 1, not {chunk_bytes!r}")
    if engine not in ("auto", "pyarrow", "pandas"):
        raise ValueError(f"engine must be 'auto', 'pyarrow' or 'pandas', not {engine!r}")
    opened = open_source(source)
    with opened.stream, _progress_bar(opened, progress) as bar:
        chunks = _Chunks(opened, chunk_bytes, bar)
        try:
            return _Condenser(opened.name, chunks, keep_tags, engine != "pandas").run()
        finally:
            chunks.close()


# --- chunks of CSV text ---------------------------------------------------------------------

class _Chunks:
    """The CSV text in pieces of about ``size`` bytes, each ending at a line end, read (and
    inflated) by a thread of its own while the caller parses the previous pieces.

    Each piece is a ``memoryview`` of a buffer that the caller hands back with
    :meth:`release` once done with it: the few buffers in flight are filled again and again,
    rather than fresh memory being asked of the system for every piece.
    """

    def __init__(self, opened: Opened, size: int, bar) -> None:
        self.name = opened.name
        self._stream, self._size, self._bar = opened.stream, size, bar
        self._piece = max(1, min(size, PIECE_BYTES))  # bytes read at a time
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUED)
        self._free: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="costlib-read", daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        try:
            carry = b""  # the start of a line that the last piece did not end
            end = False
            while not end and not self._stop.is_set():
                buffer = self._buffer(len(carry))
                buffer[: len(carry)] = carry
                filled, target = len(carry), self._size
                while True:
                    filled, end = self._fill(buffer, filled, target)
                    cut = filled if end else buffer.rfind(b"\n", 0, filled) + 1
                    if cut or end:
                        break
                    larger = bytearray(2 * len(buffer))  # a line longer than the buffer
                    larger[:filled] = memoryview(buffer)[:filled]
                    buffer, target = larger, len(larger) - self._piece
                carry = bytes(memoryview(buffer)[cut:filled])
                if cut:
                    self._put(memoryview(buffer)[:cut])
                else:
                    self._free.put(buffer)
            self._put(None)
        except BaseException as err:  # handed to the reader, raised there
            self._put(err)

    def _buffer(self, carry: int) -> bytearray:
        """A buffer for ``carry`` bytes and a piece's worth of text after them."""
        size = max(self._size, carry) + 2 * self._piece
        while True:
            try:
                buffer = self._free.get_nowait()
            except queue.Empty:
                return bytearray(size)
            if len(buffer) >= size:
                return buffer

    def _fill(self, buffer: bytearray, filled: int, target: int) -> tuple[int, bool]:
        """Read into ``buffer`` from ``filled`` on until ``target`` bytes are there;
        ``(filled, end of the text)``."""
        view = memoryview(buffer)
        with view:
            while filled < target:
                got = self._stream.readinto(view[filled : filled + self._piece])
                if not got:
                    return filled, True
                if self._bar is not None:
                    self._bar.update(got)
                filled += got
        return filled, False

    def _put(self, item) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[memoryview]:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def release(self, piece: memoryview) -> None:
        """Hand a piece's buffer back, to be filled again once nothing looks at it any more."""
        buffer = piece.obj
        with contextlib.suppress(BufferError):
            piece.release()
        try:  # a bytearray refuses to change size while any view of it is alive
            buffer.append(0)
        except BufferError:
            return  # still looked at: left to the garbage collector
        del buffer[-1]
        self._free.put(buffer)

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._queue.get(timeout=0.1)
            except queue.Empty:
                pass
        self._thread.join()


def _progress_bar(opened: Opened, progress: bool | None):
    """A tqdm bar over the bytes of CSV text, shown after :data:`PROGRESS_DELAY` seconds."""
    if progress is False or not opened.size:
        return contextlib.nullcontext()
    if progress is None and not _interactive():
        return contextlib.nullcontext()
    try:
        if "ipykernel" in sys.modules and _has_widgets():
            from tqdm.notebook import tqdm
        else:
            from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return contextlib.nullcontext()
    named = parse_name(opened.name)
    what = f"{named.account} {named.month}" if named.month else os.path.basename(opened.name)
    return tqdm(total=opened.size, desc=f"reading {what}", unit="B",
                unit_scale=True, unit_divisor=1024, delay=PROGRESS_DELAY, leave=False,
                dynamic_ncols=True)


def _interactive() -> bool:
    if "ipykernel" in sys.modules:
        return True
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def _has_widgets() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


# --- one chunk, parsed --------------------------------------------------------------------

@dataclass
class _Parsed:
    """A chunk's columns: text as (distinct values, codes), dates as int64 nanoseconds (``_NAT``
    when blank) or as text, the cost as float64 (NaN when blank); a way to get every column of
    some rows as text (for the total rows); whether a ``RecordId`` is the literal ``AWS``."""

    rows: int
    strings: dict[str, tuple[list[str], np.ndarray]]
    instants: dict[str, np.ndarray]
    cost: np.ndarray
    whole_rows: Callable[[np.ndarray], pd.DataFrame]
    record_id_aws: Callable[[], bool]
    distinct: dict[str, tuple[np.ndarray, np.ndarray]] | None = None  # dates: values, codes


class _Condenser:
    def __init__(self, name: str, chunks: _Chunks, tags: tuple[str, ...] | None,
                 arrow: bool) -> None:
        self.name, self.chunks, self.arrow = name, chunks, arrow
        self.tags = tags

    # the header, what to read

    def _setup(self, header_line: bytes) -> None:
        name = self.name
        try:
            text = header_line.decode("utf-8-sig").rstrip("\r\n")
        except UnicodeDecodeError:
            raise BillError(f"{name}: not a billing file (not UTF-8 text)") from None
        try:
            names = next(csv.reader([text]), [])
        except csv.Error as err:
            raise BillError(f"{name}: not a well-formed CSV file ({first_line(err)})") from None
        self.header = _unique_names(names)
        self.header_line = header_line
        self.kind, self.cost = header_kind(name, self.header)
        file_tags = [c for c in self.header if ":" in c]
        wanted = file_tags if self.tags is None else [t for t in file_tags if t in self.tags]
        self.file_tags = tuple(file_tags)
        self.keys = [c for c in self.header if c in KEY_COLUMNS or c in wanted]
        self.numeric = [c for c in NUMERIC_COLUMNS if c in self.header]  # (total rows)
        self.dates = [c for c in DATE_COLUMNS if c in self.header]
        self.texts = [c for c in self.keys if c not in self.dates]
        self.codes = {c: _Codes() for c in self.keys}
        self.date_format: dict[str, str | None] = {c: None for c in self.dates}
        self.date_text: dict[str, dict[str, int]] = {c: {} for c in self.dates}  # text -> ns
        self.record_types: set[str] = set()
        self.record_id_aws = False
        self.offset = 0  # data rows before the current chunk
        self.parts: list[tuple[list[np.ndarray], np.ndarray, np.ndarray]] = []
        self.singles: list[tuple[list[np.ndarray], np.ndarray]] = []
        self.pending = self.reduced = 0
        self.batch: list[tuple[list[np.ndarray], np.ndarray, np.ndarray]] = []
        self.batched = 0
        self.controls: list[pd.DataFrame] = []
        self.split: tuple[bytes, str] | None = None  # a chunk cut inside a quoted field

    def run(self) -> CondensedBill:
        chunks = iter(self.chunks)
        rest = b""
        for chunk in chunks:
            end = bytes(chunk[:4096]).find(b"\n")
            if end < 0 and len(chunk) > 4096:
                end = bytes(chunk).find(b"\n")
            if end < 0:
                self._setup(bytes(chunk))
                break
            self._setup(bytes(chunk[: end + 1]))
            rest = memoryview(chunk)[end + 1 :]
            self._first_dates(rest)
            break
        else:
            raise BillError(f"{self.name}: the file is empty")
        first = [rest] if len(rest) else []
        if not self.arrow:
            for data in itertools.chain(first, chunks):
                self._finish(data, None)
        else:
            # pyarrow parses the next chunks (without the GIL) while this thread sums the one
            # before; a chunk it refuses is parsed again here, in file order.
            with ThreadPoolExecutor(PARSERS, thread_name_prefix="costlib-parse") as parser:
                ahead: collections.deque = collections.deque()
                for data in itertools.chain(first, chunks):
                    ahead.append((data, parser.submit(self._parse, data)))
                    if len(ahead) > AHEAD:
                        self._finish(*ahead.popleft())
                while ahead:
                    self._finish(*ahead.popleft())
        if self.split is not None:  # the file ends inside a quoted field
            raise BillError(self.split[1])
        return self._bill()

    # one chunk

    def _first_dates(self, text: memoryview) -> None:
        """Tell how each date column is written by the first row, as :func:`costlib.read`
        tells it by the first value, so that pyarrow parses dates from the first chunk on."""
        end = bytes(text[: 1 << 16]).find(b"\n")
        try:
            row = next(csv.reader([bytes(text[: max(end, 0)]).decode("utf-8").rstrip("\r")]))
        except (UnicodeDecodeError, csv.Error, StopIteration):
            return
        if len(row) == len(self.header):
            for column in self.dates:
                value = row[self.header.index(column)]
                if value:
                    self.date_format[column] = date_format(value)

    def _finish(self, piece, parsing) -> None:
        parsed = parsing.result() if parsing is not None else None  # done with the piece
        data = piece
        if self.split is not None:  # the chunk before ended inside a quoted field
            data = self.split[0] + bytes(piece)
            self.split = None
            parsed = self._parse(data) if self.arrow else None
        try:
            self._take(parsed if parsed is not None else self._pandas(data))
        except _Split as split:
            self.split = (bytes(data), str(split))
        finally:
            if isinstance(piece, memoryview):
                self.chunks.release(piece)

    def _undecided(self) -> bool:
        """Whether ``RecordId`` must still be looked at to tell a CloudCheckr copy."""
        return (self.kind is None and not self.record_id_aws and "RecordId" in self.header
                and not self.record_types & CLOUDCHECKR_RECORD_TYPES)

    def _parse(self, data) -> _Parsed | None:
        """Parse with pyarrow (in a thread of its own); ``None`` when pyarrow refuses the chunk
        or a value needs a closer look."""
        text = pa.dictionary(pa.int32(), pa.string())
        types = {c: text for c in self.texts}
        # ISO dates are parsed by pyarrow (what it refuses, pandas gets to name); other
        # formats, and a column's dates until its format is known, are read as text.
        iso = {c for c in self.dates if self.date_format[c] == "ISO8601"}
        types.update({c: pa.timestamp("ns") if c in iso else text for c in self.dates})
        types[self.cost] = pa.float64()
        if self._undecided():  # is a RecordId the literal AWS (a CloudCheckr copy)?
            types["RecordId"] = pa.string()
        try:
            table = pcsv.read_csv(
                pa.py_buffer(data),
                read_options=pcsv.ReadOptions(column_names=self.header,
                                              use_threads=PARSERS == 1,
                                              block_size=max(1 << 20, len(data) // PARSERS + 1)),
                parse_options=pcsv.ParseOptions(newlines_in_values=False),
                convert_options=pcsv.ConvertOptions(
                    column_types=types, include_columns=list(types), null_values=[""],
                    strings_can_be_null=False, quoted_strings_can_be_null=True,
                    check_utf8=False))  # (checked on the distinct values, in _columns)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return None
        try:
            return self._columns(data, table, types)
        except UnicodeDecodeError:
            return None

    def _columns(self, data, table, types) -> _Parsed | None:
        iso = {c for c in self.dates if pa.types.is_timestamp(types[c])}
        aws = "RecordId" in types
        rows = table.num_rows
        strings = {}
        for column in self.texts + [c for c in self.dates if c not in iso]:
            values, codes = [], []
            for piece in table.column(column).chunks:
                base = len(values)
                values += piece.dictionary.to_pylist()
                indices = _numpy(piece.indices, np.int32)[0].astype(np.int64)
                codes.append(indices + base if base else indices)
            strings[column] = (values, np.concatenate(codes) if codes else np.zeros(0, np.int64))
        instants, distinct = {}, {}
        for column in iso:
            ns, blank = _numpy(table.column(column), np.int64)
            if blank is not None:
                ns[blank] = _NAT
            instants[column] = ns
            if column in self.keys:
                local, uniques = _factorize(ns)
                distinct[column] = (uniques, local)
        if aws:  # read as text, not decoded: its UTF-8 is checked here
            try:
                table.column("RecordId").validate(full=True)
            except pa.ArrowInvalid:
                return None
        cost, blank = _numpy(table.column(self.cost), np.float64)
        if blank is not None:
            if not np.isfinite(cost[~blank]).all() or (blank & ~self._control(strings)).any():
                return None  # inf or nan written out, or a charge without a cost: let the
                # reference parser name the row
        elif not np.isfinite(cost).all():
            return None

        def whole_rows(at: np.ndarray) -> pd.DataFrame:  # the total rows: a few a file
            import pandas as pd

            try:  # every column as text (numbered as the first parse numbered the rows)
                rest = pcsv.read_csv(
                    pa.py_buffer(data),
                    read_options=pcsv.ReadOptions(column_names=self.header, use_threads=False),
                    parse_options=pcsv.ParseOptions(newlines_in_values=False),
                    convert_options=pcsv.ConvertOptions(
                        column_types={c: pa.string() for c in self.header},
                        strings_can_be_null=False, check_utf8=False))
                picked = rest.take(_int64_array(at))
                return pd.DataFrame({c: pd.Series(picked.column(c).to_pylist(), dtype="str")
                                     for c in self.header})  # (decoded: UTF-8 checked)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError,
                    UnicodeDecodeError):
                return self._pandas(data).whole_rows(at)  # the reference parser says why

        def record_id_aws() -> bool:
            if not aws:
                return False
            import pyarrow.compute as pc

            return bool(pc.any(pc.equal(table.column("RecordId"), _AWS)).as_py())

        return _Parsed(rows, strings, instants, cost, whole_rows, record_id_aws, distinct)

    def _pandas(self, data: memoryview) -> _Parsed:
        """Parse as :func:`costlib.read` does, refusing what it refuses with its words."""
        import io

        import pandas as pd

        from .reading import _numbers, _parse_csv

        stream = io.BytesIO(self.header_line + bytes(data))
        try:
            table = _parse_csv(self.name, stream)
        except BillError as err:  # "line N" of this chunk: of the file
            lines = self.offset  # lines before the chunk, less the header
            words = re.sub(r"\bline (\d+)", lambda m: f"line {int(m[1]) + lines}", str(err))
            if "EOF inside string" in words:  # cut inside a quoted line end: join the next
                raise _Split(words) from None
            raise BillError(words) from None
        table.columns = self.header
        rows = len(table)
        strings = {}
        for column in self.texts + self.dates:
            codes, uniques = pd.factorize(table[column])
            strings[column] = ([str(u) for u in uniques], codes.astype(np.int64))
        cost = _numbers(self.name, table[self.cost], np.arange(rows) + self.offset + 2,
                        required=~self._control(strings)).to_numpy()
        return _Parsed(
            rows, strings, {}, cost,
            whole_rows=lambda at: table.iloc[at].reset_index(drop=True),
            record_id_aws=lambda: "RecordId" in table.columns
            and bool((table["RecordId"] == "AWS").any()))

    def _control(self, strings) -> np.ndarray:
        """Which rows of the chunk are total rows."""
        values, codes = strings["RecordType"]
        return np.array([v in CONTROL_RECORD_TYPES for v in values], dtype=bool)[codes]

    def _take(self, parsed: _Parsed) -> None:
        """Check the chunk's dates, keep its total rows, sum its charges per key."""
        self._take_rows(parsed)
        self.offset += parsed.rows

    def _take_rows(self, parsed: _Parsed) -> None:
        instants = {c: parsed.instants.get(c) for c in self.dates}
        for column in self.dates:
            if instants[column] is None:
                instants[column] = self._parse_dates(column, *parsed.strings[column])
        codes = {}
        for column in self.texts:
            values, local = parsed.strings[column]
            codes[column] = self.codes[column].map(values)[local]
        for column in self.keys:
            if column in self.dates:
                if parsed.distinct and column in parsed.distinct:
                    uniques, local = parsed.distinct[column]
                else:
                    local, uniques = _factorize(instants[column])
                codes[column] = self.codes[column].map(uniques)[local]
        self.record_types.update(parsed.strings["RecordType"][0])
        control = self._control(parsed.strings)
        if control.any():
            at = np.flatnonzero(control)
            self.controls.append(self._tidy_controls(parsed.whole_rows(at), at, instants))
        if self._undecided() and parsed.record_id_aws():
            self.record_id_aws = True
        charge = ~control if control.any() else slice(None)
        units = money.units(parsed.cost[charge])
        keys = [codes[c][charge] for c in self.keys]
        long = self._lasting(instants, charge)
        if long is not None and long.any():  # kept one by one: see _lasting
            self.singles.append(([k[long] for k in keys], units[long]))
            keys, units = [k[~long] for k in keys], units[~long]
        self._add(keys, units, np.ones(len(units), np.int64))

    def _lasting(self, instants: dict[str, np.ndarray], charge) -> np.ndarray | None:
        """The charge rows that last more than an hour. ``spend(spread=True)`` splits each of
        them into hourly pieces whose units add up exactly, the odd units going to the first
        hours; the pieces of a sum are not the sums of the pieces, so these rows stay apart."""
        if "UsageStartDate" not in self.dates or "UsageEndDate" not in self.dates:
            return None
        start = instants["UsageStartDate"][charge]
        end = instants["UsageEndDate"][charge]
        return (start != _NAT) & (end != _NAT) & (end - start > _HOUR)

    def _parse_dates(self, column: str, values: list[str], local: np.ndarray) -> np.ndarray:
        """The chunk's dates written as text, as int64 nanoseconds; values not seen before are
        parsed as :func:`costlib.read` parses them, and a bad one is named by its row."""
        known = self.date_text[column]
        new = [v for v in values if v not in known]
        if new:
            if self.date_format[column] is None:
                first = next((v for v in values if v != ""), None)  # in the order of the file
                if first is not None:
                    self.date_format[column] = date_format(first)
            import pandas as pd

            text = pd.Series(new, dtype="str")
            fmt = self.date_format[column] or "ISO8601"
            parsed = pd.to_datetime(text.where(text != ""), format=fmt, errors="coerce",
                                    utc=True)
            bad = (parsed.isna() & (text != "")).to_numpy()
            if bad.any():
                bad_values = {new[i] for i in np.flatnonzero(bad)}
                is_bad = np.array([v in bad_values for v in values], dtype=bool)
                at = int(np.flatnonzero(is_bad[local])[0])
                raise BillError(bad_date(self.name, self.offset + at + 2, column,
                                          values[local[at]]))
            ns = _ns(parsed)
            known.update(zip(new, ns.tolist(), strict=True))
        lookup = np.array([known[v] for v in values], dtype=np.int64)
        return lookup[local] if len(lookup) else np.zeros(len(local), np.int64)

    def _tidy_controls(self, table: pd.DataFrame, at: np.ndarray,
                       instants: dict[str, np.ndarray]) -> pd.DataFrame:
        from .reading import _numbers

        rows = at + self.offset + 2
        for column in self.numeric:
            table[column] = _numbers(self.name, table[column], rows, None)
        for column in self.dates:
            table[column] = _datetimes(instants[column][at])
        return table

    # sums of sums

    def _add(self, keys: list[np.ndarray], units: np.ndarray, counts: np.ndarray) -> None:
        """Sum rows per key a batch at a time; sum the sums again once they pile up."""
        if len(units):
            self.batch.append((keys, units, counts))
            self.batched += len(units)
        if self.batched >= BATCH_ROWS or (self.batched and not len(units)):
            keys = [np.concatenate(k) for k in zip(*(b[0] for b in self.batch), strict=True)]
            units = np.concatenate([b[1] for b in self.batch])
            counts = np.concatenate([b[2] for b in self.batch])
            self.batch, self.batched = [], 0
            self.parts.append(_reduce(keys + [(units < 0).astype(np.int64)], units, counts))
            self.pending += len(self.parts[-1][1])
            if self.pending > max(BATCH_ROWS, 2 * self.reduced):
                self._combine()

    def _combine(self) -> None:
        if len(self.parts) > 1:
            keys = [np.concatenate(k) for k in zip(*(p[0] for p in self.parts), strict=True)]
            units = np.concatenate([p[1] for p in self.parts])
            counts = np.concatenate([p[2] for p in self.parts])
            self.parts = [_reduce(keys, units, counts)]
        self.pending = self.reduced = len(self.parts[0][1]) if self.parts else 0

    # the bill

    def _bill(self) -> CondensedBill:
        import pandas as pd

        self._add([], np.zeros(0, np.int64), np.zeros(0, np.int64))  # the last batch
        self._combine()
        if self.parts:
            keys, units, counts = self.parts[0]
            keys = keys[:-1]  # the sign was only kept apart
        else:
            keys = [np.zeros(0, np.int64) for _ in self.keys]
            units = counts = np.zeros(0, np.int64)
        if self.singles:
            keys = [np.concatenate([k, *(one[0][i] for one in self.singles)])
                    for i, k in enumerate(keys)]
            units = np.concatenate([units, *(one[1] for one in self.singles)])
            counts = np.concatenate([counts, np.ones(len(units) - len(counts), np.int64)])
        keys, units, counts = _pieces(keys, units, counts)
        items = {}
        for column, codes in zip(self.keys, keys, strict=True):
            values = np.asarray(self.codes[column].values,
                                dtype=np.int64 if column in self.dates else object)
            picked = values[codes] if len(values) else values[:0]
            items[column] = (_datetimes(picked) if column in self.dates
                             else pd.Series(picked, dtype="str"))
        items[self.cost] = pd.Series(units / money.UNIT, dtype="float64")
        order = [c for c in self.header if c in items]
        items = pd.DataFrame(items)[order]
        controls = (pd.concat(self.controls, ignore_index=True) if self.controls
                    else self._no_controls())
        kind = self.kind or dbr_or_copy(self.record_types, lambda: self.record_id_aws)
        from_name = parse_name(self.name)
        return CondensedBill(
            items=items, controls=controls, name=self.name,
            account=from_name.account or self._first("PayerAccountId"),
            month=from_name.month or _month(items, counts),
            kind=kind, invoice_id=self._first("InvoiceID"), cost_column=self.cost,
            file_tags=self.file_tags, rows=counts)

    def _first(self, column: str) -> str | None:
        if column not in self.codes:
            return None
        return next((v for v in self.codes[column].values if v != ""), None)

    def _no_controls(self) -> pd.DataFrame:
        import pandas as pd

        frame = pd.DataFrame({c: pd.Series([], dtype="str") for c in self.header})
        for column in self.numeric:
            frame[column] = frame[column].astype("float64")
        for column in self.dates:
            frame[column] = pd.Series([], dtype="datetime64[ns, UTC]")
        return frame


class _Split(Exception):
    """A chunk ends inside a quoted field (a value holding a line end): join it to the next."""


class _Codes:
    """A column's distinct values, numbered in the order they first appear in the file."""

    def __init__(self) -> None:
        self.values: list = []
        self._numbers: dict = {}
        self._known = self._known_codes = np.zeros(0, np.int64)  # dates seen, sorted

    def map(self, values: Sequence) -> np.ndarray:
        """The numbers of ``values`` (distinct; new ones numbered as they come): a few text
        values a chunk, or hundreds of dates (int64 nanoseconds, looked up all at once)."""
        if isinstance(values, np.ndarray):
            codes = np.full(len(values), -1, np.int64)
            if len(self._known) and len(values):
                at = np.searchsorted(self._known, values).clip(max=len(self._known) - 1)
                found = self._known[at] == values
                codes[found] = self._known_codes[at[found]]
            new = np.flatnonzero(codes < 0)
            if len(new):
                codes[new] = self._number(values[new].tolist())
                known = np.asarray(self.values, np.int64)
                self._known_codes = np.argsort(known, kind="stable")
                self._known = known[self._known_codes]
            return codes
        numbers = self._numbers
        codes = np.fromiter((numbers.get(v, -1) for v in values), np.int64, len(values))
        new = np.flatnonzero(codes < 0)
        if len(new):
            codes[new] = self._number([values[i] for i in new])
        return codes

    def _number(self, values: list) -> list[int]:
        numbers, out = self._numbers, []
        for value in values:
            code = numbers.get(value)
            if code is None:
                code = numbers[value] = len(self.values)
                self.values.append(value)
            out.append(code)
        return out


def _ns(parsed: pd.Series) -> np.ndarray:
    """UTC datetimes (NaT allowed) as int64 nanoseconds, NaT as ``_NAT``."""
    naive = parsed.dt.tz_localize(None).to_numpy("datetime64[ns]")
    return naive.view(np.int64)


def _datetimes(ns: np.ndarray) -> pd.Series:
    import pandas as pd

    return pd.Series(np.asarray(ns, np.int64).view("datetime64[ns]")).dt.tz_localize("UTC")


def _reduce(keys: list[np.ndarray], units: np.ndarray, counts: np.ndarray
            ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Sum ``units`` and ``counts`` per distinct row of ``keys`` (numbers from 0), exactly
    (int64), the sums in the order in which their keys first appear."""
    group = np.zeros(len(units), np.int64)
    size = 1  # group < size
    for key in keys:
        key_size = int(key.max()) + 1 if len(key) else 1
        if size * key_size >= 2**62:  # too many combinations for an int64: renumber first
            group, size = _renumber(group)
        group = group * key_size + key
        size *= key_size
    group, groups = _renumber(group)
    first = np.flatnonzero(np.r_[True, group[1:] > np.maximum.accumulate(group)[:-1]])
    sums = np.zeros(groups, np.int64)
    totals = np.zeros(groups, np.int64)
    np.add.at(sums, group, units)
    np.add.at(totals, group, counts)
    return [key[first] for key in keys], sums, totals


def _renumber(values: np.ndarray) -> tuple[np.ndarray, int]:
    """``values`` numbered from 0 in the order they first appear, and how many there are."""
    codes, uniques = _factorize(values)
    return codes, len(uniques)


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct values) of an int64 array, numbered in the order of first appearance."""
    import pyarrow.compute as pc  # (here: its import overlaps the first chunk's parsing)

    encoded = pc.dictionary_encode(_int64_array(values))
    return (_numpy(encoded.indices, np.int32)[0].astype(np.int64),
            _numpy(encoded.dictionary, np.int64)[0])


def _int64_array(values: np.ndarray) -> pa.Array:
    """An int64 numpy array as an arrow array, by its buffer (``pa.array`` imports pandas)."""
    values = np.ascontiguousarray(values, np.int64)
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def _numpy(array: pa.Array | pa.ChunkedArray, dtype) -> tuple[np.ndarray, np.ndarray | None]:
    """The values of a fixed-width arrow array as numpy, and which are missing (``None``:
    none), read from its buffers. (pyarrow's own ``to_numpy`` imports pandas the first time,
    which reading must not wait for: pandas loads meanwhile in a thread of its own.)"""
    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    values, missing = [], []
    for chunk in chunks:
        validity, data = chunk.buffers()[:2]
        n, at = len(chunk), chunk.offset
        values.append(np.frombuffer(data, dtype, count=at + n)[at:] if n else np.zeros(0, dtype))
        if chunk.null_count:
            bits = np.unpackbits(np.frombuffer(validity, np.uint8), bitorder="little")
            missing.append(~bits[at : at + n].astype(bool))
        else:
            missing.append(None)
    if not values:
        return np.zeros(0, dtype), None
    out = np.concatenate(values) if len(values) != 1 else values[0].copy()
    if all(m is None for m in missing):
        return out, None
    return out, np.concatenate([np.zeros(len(v), bool) if m is None else m
                                for v, m in zip(values, missing, strict=True)])


#: ``"AWS"`` as an arrow scalar, made from its bytes (``pa.scalar`` would import pandas).
_AWS = pa.Array.from_buffers(pa.string(), 1, [None, pa.py_buffer(np.array([0, 3], np.int32)),
                                              pa.py_buffer(b"AWS")])[0]


def _pieces(keys: list[np.ndarray], units: np.ndarray, counts: np.ndarray
            ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Split sums beyond :data:`PIECE` units into equal pieces that each survive float dollars
    exactly; the pieces of one sum sit side by side and add up to it."""
    big = np.abs(units) > PIECE
    if not big.any():
        return keys, units, counts
    n = np.where(big, -(-np.abs(units) // PIECE), 1)
    row = np.repeat(np.arange(len(units)), n)
    k = np.arange(len(row)) - np.repeat(np.cumsum(n) - n, n)
    sign = np.sign(units)[row]
    base, rest = np.divmod(np.abs(units), n)
    pieces = sign * (base[row] + (k < rest[row]))
    piece_counts = np.where(k == 0, counts[row], 0)
    return [key[row] for key in keys], pieces.astype(np.int64), piece_counts


def _month(items: pd.DataFrame, counts: np.ndarray) -> str | None:
    """The month most line items start in (as :func:`costlib.read` tells it), by row count."""
    import pandas as pd

    if "UsageStartDate" not in items.columns or not len(items):
        return None
    starts = items["UsageStartDate"]
    dated = starts.notna().to_numpy()
    if not dated.any():
        return None
    months = starts[dated].dt.strftime("%Y-%m").to_numpy(object)
    per_month = pd.Series(counts[dated]).groupby(months).sum()
    best = per_month.max()
    return str(sorted(per_month.index[per_month == best])[0])


def _unique_names(names: list[str]) -> list[str]:
    """Column names as pandas gives them: blank ones named, repeated ones numbered."""
    out, seen = [], {}
    for i, name in enumerate(names):
        name = name or f"Unnamed: {i}"
        if name in seen:
            seen[name] += 1
            candidate = f"{name}.{seen[name]}"
            while candidate in seen:
                seen[name] += 1
                candidate = f"{name}.{seen[name]}"
            seen[candidate] = 0
            name = candidate
        else:
            seen[name] = 0
        out.append(name)
    return out
