"""The one parser: a billing file's bytes in, typed, validated, row-numbered chunks out.

Every way into costlib reads through here (:func:`costlib.read`, :func:`costlib.read_condensed`,
the ``costlib`` command, the grader, the Lambda), so that what one refuses, all refuse, in the
same words, naming the file and the row.

    >>> from costlib.files import sample_path
    >>> with parse(sample_path(), columns=["RecordType"]) as chunks:
    ...     rows = sum(chunk.rows for chunk in chunks)
    >>> chunks.header.kind, chunks.kind, chunks.month, rows
    (None, 'dbr', '2026-02', 9014)

How: a thread inflates the file (zip, plain CSV, S3 in ranges) into pieces of about
:data:`CHUNK_BYTES` cut at line ends, in a few buffers used over and over; pyarrow parses two
pieces at a time (one per core, without the GIL); the caller takes the chunks in file order.
Each chunk is checked before it is handed over:

- the text is UTF-8 (the whole piece at once, in C);
- every number column (:data:`~costlib.layout.NUMERIC_COLUMNS`) holds finite numbers or blanks,
  the cost column a number on every charge row; the cost is also given in exact integer units of
  1e-10 dollars (:mod:`costlib.money`), whatever its size;
- every date column holds dates from 1970 to 2199 (``YYYY-MM-DD HH:MM:SS``, ISO 8601, or the
  invoice report's ``YYYY/MM/DD HH:MM:SS``), and a charge row's usage lies within
  :data:`MONTH_MARGIN` of the bill's month;
- no line is longer than :data:`MAX_LINE_BYTES` (``COSTLIB_MAX_LINE_MB`` raises it).

Every column a caller may use is checked, asked for or not, so that a file ``costlib report``
reads is one ``costlib.read`` reads too. The first problem in file order is the one reported.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import os
import queue
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from . import money
from .errors import BillError, OptionError
from .files import Opened, limit_from_env, open_source, parse_name
from .layout import (
    AMORTIZED_BASE,
    AMORTIZED_COST,
    CLOUDCHECKR_RECORD_TYPES,
    CONTROL_RECORD_TYPES,
    COST_COLUMNS,
    DATE_COLUMNS,
    END_YEAR,
    FIRST_YEAR,
    KINDS,
    NUMERIC_COLUMNS,
    Format,
    file_format,
    first_line,
    header_kind,
    tag_matches,
)

CHUNK_BYTES = 4 << 20  #: bytes of CSV text parsed at a time
PIECE_BYTES = 1 << 18  #: bytes read (inflated) at a time
PARSERS = 2  #: chunks parsed at once, each by one thread
AHEAD = 3  #: chunks handed to the parsers before the oldest is taken
QUEUED = 2  #: chunks read ahead of the parsers
MAX_LINE_BYTES = 1 << 20  #: the longest line (or quoted value) read; see :func:`max_line_bytes`
MAX_LINE_ENV = "COSTLIB_MAX_LINE_MB"
FIRST_DATE = np.datetime64(f"{FIRST_YEAR}-01-01", "ms")  #: the first date read
END_DATE = np.datetime64(f"{END_YEAR}-01-01", "ms")  #: dates are read up to this one
#: A charge row's usage may start or end this long before or after the bill's month (usage that
#: starts on the last day of the month before, refunds dated a little off), no longer.
MONTH_MARGIN = np.timedelta64(31, "D")
NAT = np.iinfo(np.int64).min  #: a blank date, in int64 nanoseconds
DATE_FORMATS = [pcsv.ISO8601, "%Y/%m/%d %H:%M:%S"]
_TEXT = pa.dictionary(pa.int32(), pa.string())
_MS = pa.timestamp("ms")
_NS_PER_MS = 10**6


def max_line_bytes() -> int:
    """The longest line read, in bytes: :data:`MAX_LINE_BYTES`, or ``COSTLIB_MAX_LINE_MB``."""
    megabytes = limit_from_env(MAX_LINE_ENV, MAX_LINE_BYTES / (1 << 20), 1 / (1 << 20), 1 << 20,
                               "a size in megabytes (say 1 or 300)")
    return int(megabytes * (1 << 20))


@dataclass(frozen=True)
class Header:
    """What a file's header says, in the detailed bill's words: its columns (the file's own
    names where no DBR word fits; blank ones ``Unnamed: i``, repeated ones ``name.1``, as pandas
    names them; tag columns by their tag), its kind when the header tells it (``None`` for a
    detailed bill with ``BlendedCost``: its rows tell a native file from a CloudCheckr copy),
    the cost column of the basis asked for, and the names the file itself uses."""

    name: str
    columns: tuple[str, ...]
    kind: str | None
    cost: str
    file_columns: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    format: Format | None = None

    # (worked out once: every column of a file may ask, and a hostile header has many)
    @cached_property
    def numbers(self) -> list[str]:
        return [c for c in NUMERIC_COLUMNS if c in self._names]

    @cached_property
    def dates(self) -> list[str]:
        return [c for c in DATE_COLUMNS if c in self._names]

    @cached_property
    def checked(self) -> list[str]:
        """The number and date columns, in file order: every chunk checks them all."""
        return [c for c in self.columns if c in self.numbers or c in self.dates]

    @cached_property
    def _names(self) -> frozenset[str]:
        return frozenset(self.columns)

    @property
    def cost_source(self) -> str:
        """The column the cost is read from: the cost column itself, or for an amortized cost
        (worked out per row, :data:`~costlib.layout.AMORTIZED_COST`) the unblended cost."""
        return AMORTIZED_BASE if self.cost == COST_COLUMNS["amortized"] else self.cost

    @property
    def basis(self) -> str:
        """The cost basis, as ``--cost`` spells it."""
        if self.kind in ("single-account", "invoice-report"):
            return "blended" if self.cost != "UnBlendedCost" else "unblended"
        return next(b for b, c in COST_COLUMNS.items() if c == self.cost)

    @property
    def tag_text(self) -> str | None:
        """The one column holding every tag (FOCUS ``Tags``, CUR 2.0 ``resource_tags``)."""
        return self.format.tag_text if self.format and self.format.tag_text else None


def header(name: str, names: Sequence[str], cost: str | None = None) -> Header:
    """The :class:`Header` of a file whose columns are ``names``, with the cost column of the
    basis ``cost`` (``None``: the format's default). Refuses a header no billing file has."""
    native = _unique_names(list(names))
    fmt = file_format(native)
    if fmt is None:
        kind, column = header_kind(name, native)
        if cost is not None:
            column = _dbr_cost(name, kind, native, cost)
        return Header(name, tuple(native), kind, column, tuple(native),
                      tuple(c for c in native if ":" in c))
    mapped = {v: k for k, v in fmt.native(set(native)).items()}
    tidy = []
    for column in native:
        tag = fmt.tag_of(column)
        tidy.append(mapped.get(column) or (tag if tag is not None else column))
    tidy = _unique_names(tidy)
    tags = tuple(t for t, n in zip(tidy, native, strict=True) if fmt.tag_of(n) is not None)
    basis = cost or fmt.costs[0]
    column = COST_COLUMNS.get(basis)

    def source(basis: str) -> str:
        return AMORTIZED_BASE if basis == "amortized" else COST_COLUMNS[basis]

    if basis not in fmt.costs or source(basis) not in tidy:
        have = [b for b in fmt.costs if source(b) in tidy]
        raise OptionError(f"{name}: no {basis} cost in a {KINDS[fmt.kind]} (it has: "
                          f"{', '.join(have)})")
    for needed in ("RecordType", "UsageStartDate"):
        if needed not in tidy:
            raise BillError(f"{name}: {fmt.columns[needed][0]} column missing")
    return Header(name, tuple(tidy), fmt.kind, column, tuple(native), tags, fmt)


def _dbr_cost(name: str, kind: str | None, columns: list[str], cost: str) -> str:
    """The column of cost basis ``cost`` in a detailed bill (or its invoice report)."""
    if kind == "single-account" and cost in ("blended", "unblended"):
        return "Cost"
    if kind == "invoice-report":
        return "TotalCost"
    column = COST_COLUMNS.get(cost)
    if column not in columns:
        have = [b for b, c in COST_COLUMNS.items() if c in columns]
        raise OptionError(f"{name}: no {cost} cost in a detailed billing report (it has: "
                          f"{', '.join(have) or 'none'})")
    return column


@dataclass
class Chunk:
    """Rows ``first_row`` to ``first_row + rows - 1`` of a file (the header is row 1), checked.

    ``texts[c]`` is ``(distinct values, int64 codes)``; ``instants[c]`` int64 nanoseconds since
    1970 UTC (:data:`NAT` when blank); ``numbers[c]`` float64 (NaN when blank); ``units`` the cost
    column in exact units of 1e-10 dollars (0 when blank); ``control`` marks the total rows.
    """

    first_row: int
    rows: int
    texts: dict[str, tuple[list[str], np.ndarray]]
    instants: dict[str, np.ndarray]
    numbers: dict[str, np.ndarray]
    units: np.ndarray
    control: np.ndarray
    record_id_aws: bool = False
    _strings: Callable[[Sequence[str]], dict[str, list[str]]] = field(repr=False,
                                                                    default=None)

    @property
    def record_types(self) -> set[str]:
        return set(self.texts["RecordType"][0])

    def strings(self, columns: Sequence[str], at: np.ndarray) -> dict[str, list[str]]:
        """The text of ``columns`` in rows ``at`` of the chunk, as written in the file."""
        found = {}
        missing = []
        for column in columns:
            if column in self.texts:
                values, codes = self.texts[column]
                found[column] = [values[i] for i in codes[at]]
            else:
                missing.append(column)
        if missing:
            every = self._strings(missing)
            found.update({c: [every[c][i] for i in at] for c in missing})
        return {c: found[c] for c in columns}


# --- the parser -------------------------------------------------------------------------------

@contextlib.contextmanager
def parse(source, *, columns: Iterable[str] | None = None, chunk_bytes: int = CHUNK_BYTES,
          progress: bool | None = None, cost: str | None = None) -> Iterator[Parsed]:
    """Open ``source`` (what :func:`costlib.read` takes) and parse it in chunks.

    ``columns`` names the text columns the caller needs (``None``: every column); numbers and
    dates are always read and checked. ``cost`` is the cost basis (``None``: the format's
    default). The :class:`Parsed` given is iterated once.
    """
    if chunk_bytes < 1:
        raise OptionError(f"chunk_bytes must be at least 1, not {chunk_bytes!r}")
    if cost is not None and cost not in COST_COLUMNS:
        raise OptionError(f"unknown cost basis {cost!r} (one of {', '.join(COST_COLUMNS)})")
    limit = max_line_bytes()
    opened = open_source(source)
    with opened.stream, _progress_bar(opened, progress) as bar:
        if opened.parquet:
            yield _ParquetParsed(opened, columns, cost, chunk_bytes)
            return
        pieces = _Pieces(opened, chunk_bytes, bar, limit)
        try:
            yield Parsed(opened.name, pieces, columns, limit, cost)
        finally:
            pieces.close()


class Parsed:
    """A file being parsed: its :class:`Header`, then its :class:`Chunk` objects in file order;
    after them, what the rows told: ``kind`` (``dbr`` or ``cloudcheckr`` for a detailed bill),
    ``month`` and ``rows``."""

    def __init__(self, name: str, pieces: _Pieces, columns: Iterable[str] | None,
                 limit: int, cost: str | None = None) -> None:
        self.name, self.limit = name, limit
        self._pieces = iter(pieces)
        self._release = pieces.release
        first = next(self._pieces, None)
        if isinstance(first, _TooLong):
            raise BillError(f"{name}: row 1: {first.words}")
        if first is None or not bytes(first[:1]):
            raise BillError(f"{name}: the file is empty")
        header, rest = _header(name, first, cost)
        self._first = [rest] if len(rest) else []
        self._setup(header, columns)
        # The last column is read too: a chunk cut inside a quoted value there parses cleanly,
        # and only that value's line end tells (see _take).
        last = self.header.columns[-1]
        if last not in self.texts and last not in self.header.numbers + self.header.dates:
            self.texts.append(last)
        self.chunk_bytes = pieces.size

    def _setup(self, header: Header, columns: Iterable[str] | None) -> None:
        self.header = header
        asked = () if columns is None else tuple(columns)
        wanted = set(header.columns) if columns is None else {
            *asked, "RecordType", *([header.tag_text] if header.tag_text else []),
            *(t for t in header.tags if any(tag_matches(t, c) for c in asked)),
            *(["ReservationARN"] if header.cost_source != header.cost else [])}
        self.texts = [c for c in header.columns if c in wanted
                      and c not in header.numbers + header.dates]
        self.kind = header.kind
        self.month = parse_name(header.name).month
        self.rows = 0
        self._aws = False
        self._bounds = _month_bounds(self.month) if self.month else None
        fmt = header.format
        self._nulls = ["", *(fmt.nulls if fmt else ())]
        self._date_type = pa.timestamp("ms", tz="UTC") if fmt and fmt.zoned else _MS

    def __iter__(self) -> Iterator[Chunk]:
        # The first chunk's RecordId tells a CloudCheckr copy (the literal "AWS") when its
        # record types do not; later chunks are not asked (their record types still are).
        first_texts = self.texts
        if self.header.kind is None and "RecordId" in self.header.columns:
            first_texts = list(dict.fromkeys([*self.texts, "RecordId"]))
        with ThreadPoolExecutor(PARSERS, thread_name_prefix="costlib-parse") as pool:
            ahead: collections.deque = collections.deque()
            sources = _chain(self._first, self._pieces)

            def submit() -> bool:
                piece = next(sources, None)
                if piece is None:
                    return False
                if isinstance(piece, _TooLong):
                    ahead.append((piece, None, None))
                    return True
                texts = self.texts if self.rows or ahead else first_texts
                ahead.append((piece, pool.submit(self._convert, piece, texts), texts))
                return True

            while len(ahead) <= AHEAD and submit():
                pass
            while ahead:
                piece, parsing, texts = ahead.popleft()
                chunk = self._take(piece, parsing, texts, ahead, submit)
                while len(ahead) <= AHEAD and submit():
                    pass
                yield chunk
                if isinstance(piece, memoryview):
                    self._release(piece)
        self._finish()

    def pieces(self) -> Iterator[memoryview | bytes | _TooLong]:
        """The text after the header in the pieces read, for a reader of its own (the compiled
        path) in place of iterating; each ``memoryview`` goes back through :meth:`release`."""
        return _chain(self._first, self._pieces)

    def release(self, piece) -> None:
        """Hand a piece from :meth:`pieces` back once read."""
        if isinstance(piece, memoryview):
            self._release(piece)

    def settle(self, rows: int, kind: str, month: str | None) -> None:
        """What the rows told, when another reader (the compiled path) read them."""
        self.rows, self.kind, self.month = rows, kind, month

    def _finish(self) -> None:
        """After the last chunk: refuse a file without rows, settle a detailed bill's kind."""
        if not self.rows:
            raise BillError(f"{self.name}: no rows after the header")
        if self.kind is None:
            self.kind = "cloudcheckr" if self._aws else "dbr"

    # one chunk

    def _take(self, piece, parsing, texts, ahead, submit) -> Chunk:
        """The chunk of ``piece`` (parsed meanwhile by ``parsing``), joined to the pieces after
        it while it ends inside a quoted value, checked against the month; errors named by
        their row in the file."""
        if isinstance(piece, _TooLong):
            raise BillError(f"{self.name}: row {self.rows + 2}: {piece.words}")
        data = piece
        refused: _Bad | None = None
        while True:
            try:
                result = parsing.result() if parsing is not None else self._convert(
                    data, texts)
            except _Bad as bad:
                result = bad
            if isinstance(result, _Bad):
                # A piece cut inside a quoted value fails at its last row: joined to the next
                # piece it parses on. An error that stays where it was is the file's own.
                if not result.structure or (refused is not None and result.row == refused.row):
                    break
                refused = result
            elif not _ends_in_a_value(result, self.header.columns[-1]):
                break
            if not ahead and not submit():
                break
            following, later, _ = ahead.popleft()
            if isinstance(following, _TooLong):
                if isinstance(result, _Bad):
                    break
                raise BillError(f"{self.name}: row {self.rows + 2}: {following.words}")
            if later is not None:
                later.cancel()
            joined = bytes(data) + bytes(following)
            if isinstance(following, memoryview):
                self._release(following)
            if len(joined) > self.limit + 3 * self.chunk_bytes:  # (one join always allowed)
                row = refused.row if refused is not None else 1
                raise BillError(f"{self.name}: row {self.rows + 1 + row}: a quoted value "
                                f"longer than {self.limit / (1 << 20):g} MB (a quote that "
                                "never closes?)")
            data, parsing = joined, None
        if isinstance(result, _Bad):
            raise BillError(f"{self.name}: row {self.rows + 1 + result.row}: {result.words}")
        return self._accept(result)

    def _accept(self, chunk: Chunk) -> Chunk:
        """Number the chunk's rows in the file, check them against the month, learn the kind."""
        chunk.first_row = self.rows + 2
        self._check_month(chunk)
        if self.kind is None:
            self._aws = self._aws or (chunk.record_id_aws and not self.rows) or bool(
                chunk.record_types & CLOUDCHECKR_RECORD_TYPES)
        self.rows += chunk.rows
        return chunk

    def _convert(self, data, texts: list[str]) -> Chunk:
        """Parse and check one piece (in a parser thread); :class:`_Bad` names a problem by its
        row in the piece."""
        header = self.header
        try:
            _check_utf8(data, header.columns)
            _check_lines(data, header.columns, self.limit)
        except _Bad as bad:  # the rows before its line may hold the first problem
            if bad.offset:
                try:
                    self._convert(data[: bad.offset], texts)
                except _Bad as before:
                    if before.row < bad.row:
                        raise before from None
            raise
        types = {c: _TEXT for c in texts}
        types.update({c: pa.float64() for c in header.numbers})
        types.update({c: self._date_type for c in header.dates})
        checked = header.checked

        def text(columns: Sequence[str]) -> pa.Table:
            return _csv(data, header.columns, {c: pa.string() for c in columns}, self._nulls)

        try:
            table = _csv(data, header.columns, types, self._nulls)
        except pa.ArrowInvalid as err:
            message = str(err)
            if "conversion error" in message or "In CSV column" in message:
                raise _bad_values(text([*checked, "RecordType"]), header, self._date_type) \
                    from None
            raise self._values_before(data, _structure(message)) from None
        def written(column: str) -> list[str | None]:
            return text([column]).column(column).to_pylist()

        return self._chunk(table, texts, lambda columns: {
            c: v.to_pylist() for c, v in zip(columns, text(columns).columns, strict=True)},
            lambda: text([*checked, "RecordType"]), written)

    def _values_before(self, data, bad: _Bad) -> _Bad:
        """A bad value in the rows before a line pyarrow cannot split (it reports the line
        first, wherever the value is), else that line: the first problem in file order."""
        if bad.row <= 1:
            return bad
        columns = [*self.header.checked, "RecordType"]
        try:
            table = _csv(data, self.header.columns, {c: pa.string() for c in columns},
                         self._nulls, invalid=lambda row: "skip").slice(0, bad.row - 1)
        except pa.ArrowInvalid:
            return bad
        return _first_bad_value(table, self.header, self._date_type) or bad

    def _chunk(self, table: pa.Table, texts: list[str], strings_of, checked_text,
               written: Callable[[str], list[str | None]] | None) -> Chunk:
        """The checked :class:`Chunk` of a typed table; ``strings_of(columns)`` gives columns
        as written, ``checked_text()`` every checked column as text (for naming a bad value),
        ``written(column)`` a number column as written (its exact units when a float's are not;
        ``None``: a typed file, whose float is the value)."""
        header = self.header
        rows = table.num_rows
        strings = {c: _codes(table.column(c), self._nulls) for c in texts}
        numbers = {c: numpy_of(table.column(c), np.float64, np.nan) for c in header.numbers}
        stamps = {c: numpy_of(table.column(c), np.int64, NAT) for c in header.dates}
        values, codes = strings["RecordType"]
        control = np.array([v in CONTROL_RECORD_TYPES for v in values], bool)[codes] if len(
            values) else np.zeros(rows, bool)
        cost = numbers[header.cost_source]
        bad = (np.isnan(cost) & ~control).any() or any(
            not np.isfinite(v[~np.isnan(v)]).all() for v in numbers.values()) or any(
            ((s != NAT) & ((s < _ms(FIRST_DATE)) | (s >= _ms(END_DATE)))).any()
            for s in stamps.values())
        if bad:
            raise _bad_values(checked_text(), header, self._date_type)
        instants = {}
        for column, ms in stamps.items():
            ns = ms * _NS_PER_MS
            ns[ms == NAT] = NAT
            instants[column] = ns
        if header.cost_source == header.cost:
            units = _units(cost, written and (lambda: written(header.cost)))
        else:
            units = _amortized(header, strings, numbers, control, written)
        aws = "RecordId" in strings and "AWS" in strings["RecordId"][0]
        if "RecordId" not in self.texts:
            strings.pop("RecordId", None)
        return Chunk(0, rows, strings, instants, numbers, units, control, aws, strings_of)

    def _check_month(self, chunk: Chunk) -> None:
        """Refuse a charge row whose usage lies far outside the bill's month (a stray date would
        otherwise stretch every daily table over years); the month is the file name's, else the
        one most of the first dated rows start in."""
        if "UsageStartDate" not in chunk.instants:
            return
        charge = ~chunk.control
        if self._bounds is None:
            starts = chunk.instants["UsageStartDate"][charge]
            starts = starts[starts != NAT]
            if not len(starts):
                return
            months, counts = np.unique(starts.astype("datetime64[ns]").astype("datetime64[M]"),
                                       return_counts=True)
            self.month = str(months[np.argmax(counts)])
            self._bounds = _month_bounds(self.month)
        lo, hi = self._bounds
        for column in ("UsageStartDate", "UsageEndDate"):
            if column not in chunk.instants:
                continue
            ns = chunk.instants[column]
            far = charge & (ns != NAT) & ((ns < lo) | (ns > hi))
            if far.any():
                at = np.flatnonzero(far)[:1]
                value = chunk.strings([column], at)[column][0]
                raise BillError(f"{self.name}: row {chunk.first_row + int(at[0])}: {column} "
                                f"{value!r} is far outside the bill's month {self.month} (more "
                                f"than {MONTH_MARGIN.astype(int)} days away); is the row from "
                                "another file?")


class _ParquetParsed(Parsed):
    """A Parquet file (a CUR month, a CUR 2.0 or FOCUS export) parsed a batch of rows at a
    time: its columns come typed, and go through the same checks as text does."""

    def __init__(self, opened: Opened, columns: Iterable[str] | None, cost: str | None,
                 chunk_bytes: int) -> None:
        import pyarrow.parquet as pq

        self.name, self.limit, self.chunk_bytes = opened.name, max_line_bytes(), chunk_bytes
        try:
            self._file = pq.ParquetFile(opened.stream)
        except (pa.ArrowException, OSError) as err:
            raise BillError(f"{opened.name}: not a readable Parquet file "
                            f"({first_line(err)})") from None
        self._setup(header(opened.name, self._file.schema_arrow.names, cost), columns)

    def __iter__(self) -> Iterator[Chunk]:
        header = self.header
        native = dict(zip(header.columns, header.file_columns, strict=True))
        wanted = [*self.texts, *header.numbers, *header.dates]
        rows = max(1024, self.chunk_bytes // 512)  # about a text chunk's rows
        try:
            for batch in self._file.iter_batches(batch_size=rows,
                                                 columns=[native[c] for c in wanted]):
                table = pa.Table.from_batches([batch]).select(
                    [native[c] for c in wanted]).rename_columns(wanted)
                yield self._accept(self._typed(table))
        except (pa.ArrowException, OSError) as err:
            raise BillError(f"{self.name}: not a readable Parquet file "
                            f"({first_line(err)})") from None
        self._finish()

    def _typed(self, table: pa.Table) -> Chunk:
        header = self.header
        columns = {}
        for name in table.column_names:
            column = table.column(name)
            if name in header.checked and pa.types.is_string(column.type) and len(self._nulls) > 1:
                column = _nulled(column, self._nulls)  # FOCUS's "NULL" written as text
            if name in header.dates:
                if not pa.types.is_timestamp(column.type):  # dates written as text, with
                    column = _text_dates(column)             # their zone (Z) or without
                    if column is None:
                        raise _refused(self, table, name) from None
                columns[name] = column.cast(pa.timestamp("ms", tz=column.type.tz))
            elif name in header.numbers:
                try:
                    columns[name] = column.cast(pa.float64())
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    raise _refused(self, table, name) from None
            else:
                columns[name] = _text(column)
        typed = pa.table(columns)
        checked = header.checked

        def as_text(names: Sequence[str]) -> pa.Table:
            return pa.table({c: _written(table.column(c)) for c in names})

        try:
            return self._chunk(typed, self.texts, lambda names: {
                c: as_text([c]).column(c).to_pylist() for c in names},
                lambda: as_text([*checked, "RecordType"]), None)
        except _Bad as bad:
            raise BillError(f"{self.name}: row {self.rows + 1 + bad.row}: {bad.words}") \
                from None


def _nulled(column: pa.ChunkedArray, nulls: Sequence[str]) -> pa.ChunkedArray:
    """A text column with the texts that mean "no value" made nulls."""
    import pyarrow.compute as pc

    blank = pc.is_in(column, value_set=pa.array(list(nulls), pa.string()))
    return pc.if_else(blank, pa.scalar(None, pa.string()), column)


def _text_dates(column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """A Parquet column of dates written as text, as timestamps: all with a zone (``Z``) or
    all without (UTC either way); ``None`` when they are not dates."""
    text = column.cast(pa.string())
    for date_type in (_MS, pa.timestamp("ms", tz="UTC")):
        try:
            return text.cast(date_type)
        except pa.ArrowInvalid:
            continue
    return None


def _refused(parsed: Parsed, table: pa.Table, column: str) -> BillError:
    """A column of a Parquet batch that cannot be read as what it must hold, named by the
    first value that is not, with the words the text parser uses."""
    date = column in parsed.header.dates
    values = _written(table.column(column)).to_pylist()
    verdict = _verdicts(sorted({v for v in values if v}), parsed._date_type if date
                        else pa.float64())
    at = next((i for i, v in enumerate(values) if v and verdict[v] is None), 0)
    return BillError(f"{parsed.name}: row {parsed.rows + 2 + at}: "
                     f"{_unreadable(column, values[at], date)}")


def _unreadable(column: str, value: str, date: bool) -> str:
    """The words for a value that is not what its column holds (one wording, every reader)."""
    if date:
        return f"{column} is not a date ({value!r}, expected YYYY-MM-DD HH:MM:SS)"
    return f"{column} is not a number ({value!r})"


def _written(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A typed column as text, as a person would write it (dates without a zone)."""
    if pa.types.is_timestamp(column.type):
        ms = numpy_of(column.cast(pa.timestamp("ms", tz=column.type.tz)), np.int64, NAT)
        text = np.datetime_as_string(ms.astype("datetime64[ms]"), unit="s")
        return pa.chunked_array([pa.array([None if t == "NaT" else t.replace("T", " ")
                                           for t in text.tolist()], pa.string())])
    if pa.types.is_map(column.type):
        return _map_text(column)
    return column.cast(pa.string())


def _text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Any column as dictionary-encoded text, blanks for nulls (a map as its tag text)."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(pa.string())
    elif pa.types.is_map(column.type):
        column = _map_text(column)
    elif not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = column.cast(pa.string())
    return column.fill_null("").dictionary_encode()


#: How CUR 2.0's ``resource_tags`` map is written as one text: ``key US value RS key US ...``
#: (AWS tag keys and values cannot hold these control characters).
TAG_PAIR, TAG_SEPARATOR = "\x1f", "\x1e"


def _map_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A map<string, string> column as one text a row (see :data:`TAG_PAIR`)."""
    import pyarrow.compute as pc

    out = []
    for chunk in column.chunks:
        pairs = pc.binary_join_element_wise(chunk.keys.cast(pa.string()),
                                            chunk.items.cast(pa.string()).fill_null(""),
                                            TAG_PAIR)
        lists = pa.ListArray.from_arrays(chunk.offsets, pairs)
        out.append(pc.binary_join(lists, TAG_SEPARATOR))
    return pa.chunked_array(out, pa.string())


# --- pieces of text -------------------------------------------------------------------------

@dataclass(frozen=True)
class _TooLong:
    """In place of a piece: the line that starts it is longer than ``limit`` bytes."""

    limit: int

    @property
    def words(self) -> str:
        return (f"a line longer than {self.limit / (1 << 20):g} MB (not a billing file's; "
                f"set {MAX_LINE_ENV} to read longer lines)")


class _Pieces:
    """The CSV text in pieces of about ``size`` bytes, each ending at a line end, read (and
    inflated) by a thread of its own while the caller parses the previous pieces.

    Each piece is a ``memoryview`` of a buffer that the caller hands back with :meth:`release`
    once done with it, so that the few buffers in flight are filled again and again. A line
    longer than ``limit`` bytes ends the text with a :class:`_TooLong` in place of a piece.
    Line ends are ``\\n`` (``\\r\\n`` included), or ``\\r`` in a file that uses only those.
    """

    def __init__(self, opened: Opened, size: int, bar, limit: int) -> None:
        self.name = opened.name
        self._stream, self.size, self._bar, self._limit = opened.stream, size, bar, limit
        self._piece = max(1, min(size, PIECE_BYTES))
        self._newline = b"\n"
        self._queue: queue.Queue = queue.Queue(maxsize=QUEUED)
        self._free: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="costlib-read", daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        try:
            carry = b""
            end = first = False
            while not end and not self._stop.is_set():
                buffer = self._buffer(len(carry))
                buffer[: len(carry)] = carry
                filled, target = len(carry), self.size
                while True:
                    filled, end = self._fill(buffer, filled, target)
                    if not first:
                        first = True
                        self._newline = _line_end(buffer, filled)
                    cut = filled if end else buffer.rfind(self._newline, 0, filled) + 1
                    if cut or end:
                        break
                    if filled > self._limit:
                        self._put(_TooLong(self._limit))
                        self._put(None)
                        return
                    larger = bytearray(min(2 * len(buffer), self._limit + 2 * self._piece + 1))
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
        size = max(self.size, carry) + 2 * self._piece
        while True:
            try:
                buffer = self._free.get_nowait()
            except queue.Empty:
                return bytearray(size)
            if len(buffer) >= size:
                return buffer

    def _fill(self, buffer: bytearray, filled: int, target: int) -> tuple[int, bool]:
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

    def __iter__(self) -> Iterator[memoryview | _TooLong]:
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
            return
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


def _line_end(buffer: bytearray, filled: int) -> bytes:
    """``\\r`` for a file whose first line ends with a lone carriage return, else ``\\n``."""
    r = buffer.find(b"\r", 0, filled)
    n = buffer.find(b"\n", 0, filled)
    return b"\r" if r >= 0 and (n < 0 or n > r + 1) and r + 1 < filled else b"\n"


def _chain(*iterators):
    for iterator in iterators:
        yield from iterator


def _progress_bar(opened: Opened, progress: bool | None):
    """A tqdm bar over the bytes of CSV text, shown after a second of reading."""
    if progress is False or not opened.size:
        return contextlib.nullcontext()
    if progress is None and not _interactive():
        return contextlib.nullcontext()
    tqdm = bar_class()
    named = parse_name(opened.name)
    what = f"{named.account} {named.month}" if named.month else os.path.basename(opened.name)
    return tqdm(total=opened.size, desc=f"reading {what}", unit="B", unit_scale=True,
                unit_divisor=1024, delay=1.0, leave=False, dynamic_ncols=True)


def bar_class():
    """tqdm's bar for here: the notebook's widget where a kernel has ipywidgets, else text
    (``tqdm.auto`` warns in a kernel without ipywidgets, into a lesson's stored output)."""
    if "ipykernel" in sys.modules and _has_widgets():
        from tqdm.notebook import tqdm
    else:
        from tqdm import tqdm
    return tqdm


def _interactive() -> bool:
    return "ipykernel" in sys.modules or bool(getattr(sys.stderr, "isatty", lambda: False)())


def _has_widgets() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


# --- the header -------------------------------------------------------------------------------

def _header(name: str, first: memoryview, cost: str | None) -> tuple[Header, bytes]:
    data = bytes(first[: 1 << 16])
    ends = [i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0]
    end = min(ends) if ends else -1
    if end < 0:
        data, end = bytes(first), len(first)
    if data[end : end + 2] == b"\r\n":
        end += 1
    line = data[: end + 1]
    try:
        text = line.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        raise BillError(f"{name}: not a billing file (not UTF-8 text)") from None
    try:
        names = next(csv.reader([text]), [])
    except csv.Error as err:
        raise BillError(f"{name}: not a well-formed CSV file ({first_line(err)})") from None
    # (the rest is copied, once: a piece's text is looked up from its start in _check_lines)
    return header(name, names, cost), bytes(first[len(line):])


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


# --- converting and checking ------------------------------------------------------------------

class _Bad(Exception):
    """A problem in a piece, at data row ``row`` of it (from 1); ``structure`` when pyarrow
    could not split the text into rows (then a cut inside a quoted value may be to blame)."""

    def __init__(self, row: int, words: str, structure: bool = False,
                 offset: int | None = None) -> None:
        super().__init__(words)
        self.row, self.words, self.structure = row, words, structure
        self.offset = offset  #: where the row's line starts in the piece, when known


def _csv(data, columns: Sequence[str], types: dict, nulls: Sequence[str] = ("",),
         invalid: Callable | None = None) -> pa.Table:
    """``data`` parsed by pyarrow; ``invalid``: the handler of lines it cannot split (pyarrow's
    ``invalid_row_handler``: ``"skip"`` goes on), else the first refuses the whole text."""
    return pcsv.read_csv(
        pa.py_buffer(data),
        read_options=pcsv.ReadOptions(column_names=list(columns), use_threads=False,
                                      block_size=max(1 << 20, len(data) + 1)),
        parse_options=pcsv.ParseOptions(newlines_in_values=True, invalid_row_handler=invalid),
        convert_options=pcsv.ConvertOptions(
            column_types=types, include_columns=list(types), null_values=list(nulls),
            strings_can_be_null=False, quoted_strings_can_be_null=True, check_utf8=False,
            timestamp_parsers=DATE_FORMATS))


def _check_utf8(data, columns: Sequence[str]) -> None:
    """Refuse a piece that is not UTF-8, naming the row of the first bad byte."""
    buffer = pa.py_buffer(data)
    whole = pa.Array.from_buffers(
        pa.string(), 1, [None, pa.py_buffer(np.array([0, len(buffer)], np.int32)), buffer])
    try:
        whole.validate(full=True)
    except pa.ArrowInvalid:
        text = bytes(data)
        try:
            text.decode("utf-8")
        except UnicodeDecodeError as err:
            before = text[: text.rfind(b"\n", 0, err.start) + 1]
            words = "not UTF-8 text (a file saved in another encoding?)"
            raise _Bad(_rows_before(before, columns) + 1, words, offset=len(before)) from None


def _check_lines(data, columns: Sequence[str], limit: int) -> None:
    """Refuse a piece holding a line longer than ``limit`` bytes, naming its row. A window of
    ``limit // 2`` bytes is searched for a line end at a time: on billing text each search
    stops within a line, so the check costs next to nothing."""
    text = data.obj if isinstance(data, memoryview) else data  # (pieces start at 0)
    size, step = len(data), max(limit // 2, 1)
    for start in range(0, size - step + 1, step):
        if text.find(b"\n", start, start + step) >= 0 or text.find(b"\r", start,
                                                                      start + step) >= 0:
            continue
        begin = max(text.rfind(b"\n", 0, start), text.rfind(b"\r", 0, start)) + 1
        ends = [i for i in (text.find(b"\n", start, size), text.find(b"\r", start, size))
                if i >= 0]
        if (min(ends) if ends else size) - begin > limit:
            raise _Bad(_rows_before(data[:begin], columns) + 1, _TooLong(limit).words,
                       offset=begin)


def _rows_before(data, columns: Sequence[str]) -> int:
    """How many rows the text holds (for naming the row after it)."""
    if not bytes(data).strip():
        return 0
    skipped = []  # lines pyarrow cannot split are rows too

    def count(row) -> str:
        skipped.append(row)
        return "skip"

    try:
        return _csv(data, columns, {columns[0]: pa.string()}, invalid=count).num_rows + len(
            skipped)
    except pa.ArrowInvalid:
        return 0


_ROW = re.compile(r"Row #(\d+)")
_FIELDS = re.compile(r"Expected (\d+) columns, got (\d+)")


def _structure(message: str) -> _Bad:
    row = _ROW.search(message)
    fields = _FIELDS.search(message)
    detail = (f"expected {fields[1]} fields, found {fields[2]}" if fields
              else message.removeprefix("CSV parse error: ").split(":")[0])
    return _Bad(int(row[1]) if row else 1, f"not a well-formed CSV line ({detail})",
                structure=True)


def _bad_values(table: pa.Table, header: Header, date_type: pa.DataType) -> _Bad:
    """The first bad value of a piece that the typed parse refused or found wrong, in file
    order (then column order), from ``table``: its checked columns as written."""
    found = _first_bad_value(table, header, date_type)
    if found is None:  # pyarrow refused something the checks do not see
        return _Bad(1, "not a well-formed billing file (a value pyarrow cannot read)")
    return found


def _first_bad_value(table: pa.Table, header: Header, date_type: pa.DataType) -> _Bad | None:
    """:func:`_bad_values`, or ``None`` when every value of ``table`` is good."""
    checked = header.checked
    kinds = table.column("RecordType").to_pylist()
    control = np.array([k in CONTROL_RECORD_TYPES for k in kinds], bool)
    found: list[tuple[int, int, str]] = []
    for position, column in enumerate(checked):
        values = table.column(column).to_pylist()
        date = column in header.dates
        verdict = _verdicts(sorted({v for v in values if v}), date_type if date else pa.float64())
        for i, value in enumerate(values):
            words = None
            if not value:
                if column == header.cost_source and not control[i]:
                    words = f"{column} is blank"
            elif date:
                stamp = verdict[value]
                if stamp is None:
                    words = _unreadable(column, value, date)
                elif not FIRST_DATE <= stamp < END_DATE:
                    words = (f"{column} is out of range ({value!r}: dates are read from "
                             f"{FIRST_YEAR} to {END_YEAR - 1})")
            elif verdict[value] is None or not np.isfinite(verdict[value]):
                words = _unreadable(column, value, date)
            if words:
                found.append((i, position, words))
                break
    if not found:
        return None
    row, _, words = min(found)
    return _Bad(row + 1, words)


def _verdicts(values: list[str], kind: pa.DataType) -> dict[str, object]:
    """Each value read as ``kind`` by the same converter as the typed parse (``None``: refused),
    in halves until the refused ones are found."""
    out: dict[str, object] = {}

    def read(part: list[str]) -> None:
        if not part:
            return
        text = b"".join(b'"' + v.encode().replace(b'"', b'""') + b'"\n' for v in part)
        try:
            column = _csv(text, ["v"], {"v": kind}).column("v")
        except pa.ArrowInvalid:
            if len(part) == 1:
                out[part[0]] = None
                return
            read(part[: len(part) // 2])
            read(part[len(part) // 2 :])
            return
        if pa.types.is_timestamp(kind):
            stamps = numpy_of(column, np.int64, NAT).astype("datetime64[ms]")
            out.update(zip(part, stamps, strict=True))
        else:
            out.update(zip(part, numpy_of(column, np.float64, np.nan).tolist(), strict=True))

    read(values)
    return out


def _units(cost: np.ndarray, written: Callable[[], list[str | None]] | None) -> np.ndarray:
    """A cost column in exact units: from the float where that is exact, from the decimal as
    written (``written()``) where it is not (see :data:`costlib.money.EXACT_FLOAT_DOLLARS`)."""
    filled = np.nan_to_num(cost, nan=0.0)
    large = np.abs(filled) >= money.EXACT_FLOAT_DOLLARS
    if not large.any():
        return np.rint(filled * money.UNIT).astype(np.int64)
    if written is None:  # (a typed file: the float is the value)
        return money.units(filled)
    exact = written()
    return money.exact_units([money.of_decimal(exact[i]) if big else round(v * money.UNIT)
                              for i, (v, big) in enumerate(zip(filled.tolist(), large.tolist(),
                                                               strict=True))])


def _amortized(header: Header, strings: dict, numbers: dict, control: np.ndarray,
               written: Callable[[str], list[str | None]] | None) -> np.ndarray:
    """A chunk's amortized cost in exact units, row by row (:data:`AMORTIZED_COST`); a row
    whose type needs a column the file lacks, or leaves blank, is refused (:class:`_Bad`)."""
    values, codes = strings["RecordType"]
    types = np.asarray(values, dtype=object)[codes] if len(values) else np.full(
        len(control), "", dtype=object)

    def units(column: str) -> np.ndarray:
        return _units(numbers[column], written and (lambda: written(column)))

    total = units(AMORTIZED_BASE)
    native = dict(zip(header.columns, header.file_columns, strict=True))
    for kind, parts in AMORTIZED_COST.items():
        rows = (types == kind) & ~control
        if not rows.any():
            continue
        amount = np.zeros(int(rows.sum()), np.int64)
        for part in parts:
            column = part.lstrip("-")
            name = native.get(column) or header.format.columns[column][0]
            blank = ~np.isfinite(numbers[column][rows]) if column in numbers else None
            if blank is None or blank.any():
                row = int(np.flatnonzero(rows)[0 if blank is None else int(np.argmax(blank))])
                raise _Bad(row + 1, f"{name} is {'blank' if blank is not None else 'missing'}"
                           f" on a {kind} row: the amortized cost of one is made of it")
            amount += -units(column)[rows] if part.startswith("-") else units(column)[rows]
        total[rows] = amount
    if "ReservationARN" in strings:
        arns, arn_codes = strings["ReservationARN"]
        has_arn = (np.array([bool(a) for a in arns], bool)[arn_codes] if len(arns)
                   else np.zeros(len(control), bool))
        total[(types == "Fee") & has_arn & ~control] = 0
    return total


def _ends_in_a_value(chunk: Chunk, last: str) -> bool:
    """Whether the chunk's last row ends inside a quoted value of the last column (the piece
    was cut at a line end inside it): its parsed value then ends with that line end."""
    if not chunk.rows or last not in chunk.texts:  # (a number or date holds no line end)
        return False
    values, codes = chunk.texts[last]
    return bool(values) and values[codes[-1]].endswith(("\n", "\r"))


def _codes(column: pa.ChunkedArray, nulls: Sequence[str] = ("",)
           ) -> tuple[list[str], np.ndarray]:
    """A dictionary column as (distinct values, int64 codes); texts meaning "no value"
    (FOCUS's ``NULL``) read as blanks."""
    values: list[str] = []
    codes = []
    for piece in column.chunks:
        base = len(values)
        values += ["" if v is None or v in nulls else v for v in piece.dictionary.to_pylist()]
        indices = numpy_of(piece.indices, np.int32, 0).astype(np.int64)
        codes.append(indices + base if base else indices)
    return values, (np.concatenate(codes) if codes else np.zeros(0, np.int64))


def numpy_of(array: pa.ChunkedArray | pa.Array, dtype, blank) -> np.ndarray:
    """A fixed-width arrow column as numpy, missing values as ``blank``, read from its buffers
    (pyarrow's own ``to_numpy`` imports pandas the first time, which reading must not wait
    for)."""
    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    out = []
    for chunk in chunks:
        validity, data = chunk.buffers()[:2]
        n, at = len(chunk), chunk.offset
        values = (np.frombuffer(data, dtype, count=at + n)[at:].copy() if n
                  else np.zeros(0, dtype))
        if chunk.null_count:
            bits = np.unpackbits(np.frombuffer(validity, np.uint8), bitorder="little")
            values[~bits[at : at + n].astype(bool)] = blank
        out.append(values)
    return np.concatenate(out) if len(out) != 1 else out[0]


def _ms(day: np.datetime64) -> int:
    return int(day.astype("datetime64[ms]").astype(np.int64))


def _month_bounds(month: str) -> tuple[int, int]:
    """The instants (int64 ns) a charge row of ``month`` may start or end between."""
    start = np.datetime64(month, "M")
    lo = (start.astype("datetime64[ns]") - MONTH_MARGIN).astype(np.int64)
    hi = ((start + 1).astype("datetime64[ns]") + MONTH_MARGIN).astype(np.int64)
    return int(lo), int(hi)
