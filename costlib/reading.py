"""From a billing file to answers' raw material: the tidy table, or its exact condensed sums.

Both readers take their rows from the one parser (:mod:`costlib.parsing`), so they accept and
refuse the same files with the same words:

- :func:`read` puts every row and column into one tidy table (``bill.items``), total rows apart
  (``bill.controls``): what the lessons and the notebooks look at;
- :func:`read_condensed` sums the charge rows of each chunk per distinct combination of the
  columns the questions need, in bounded memory: what ``costlib report`` and the Lambda use.

    >>> import costlib
    >>> whole = read(costlib.sample_path())
    >>> whole.account, whole.month, whole.kind
    ('012345678901', '2026-02', 'dbr')
    >>> bill = read_condensed(costlib.sample_path(), tag="user:Owner")
    >>> bill.line_items == len(whole.items) > len(bill.items)   # fewer rows, the same items
    True
    >>> costlib.report(bill).as_dict() == costlib.report(whole).as_dict()
    True
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

import numpy as np

from . import money
from .errors import BillError
from .files import parse_name
from .layout import Bill, tag_matches
from .parsing import (
    CHUNK_BYTES,
    NAT,
    TAG_PAIR,
    TAG_SEPARATOR,
    Chunk,
    Header,
    Parsed,
    numpy_of,
    parse,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["KEY_COLUMNS", "CondensedBill", "read", "read_condensed"]

#: The columns a condensed bill keeps (when the file has them) besides the tags and the cost.
KEY_COLUMNS = ("InvoiceID", "PayerAccountId", "LinkedAccountId", "RecordType", "ProductName",
               "UsageStartDate", "UsageEndDate", "Provider")
BATCH_ROWS = 1 << 16  #: rows summed per key at a time
_HOUR = 3600 * 10**9


def read(source: str | os.PathLike | IO, *, cost: str | None = None) -> Bill:
    """Read a month's billing file: a ``.csv.zip``, a ``.csv``, an open file or ``s3://b/k``.

    Every row and column, typed: ids and tags as text (``""`` when blank), costs and quantities
    as floats, dates as UTC ``datetime64`` (``NaT`` when blank); ``bill.units`` holds the cost
    column in exact units of 1e-10 dollars. ``cost`` is the cost basis (``"blended"``,
    ``"unblended"``, ``"billed"``, ...: see :data:`costlib.layout.COST_COLUMNS`); by default
    the detailed bill's blended cost, a CUR's unblended cost, a FOCUS export's billed cost.

    >>> import costlib
    >>> bill = read(costlib.sample_path())
    >>> len(bill.items), len(bill.controls), bill.invoice_id
    (9009, 5, '86752602')

    See also :func:`read_condensed` (the same file in bounded memory).
    """
    _refuse_tables(source, "costlib.read()")
    with parse(source, progress=False, cost=cost) as parsed:
        header = parsed.header
        texts = [c for c in header.columns if c not in header.numbers + header.dates]
        parts: dict[str, list] = {c: [] for c in header.columns}
        units, control = [], []
        for chunk in parsed:
            for column in texts:
                values, codes = chunk.texts[column]
                parts[column].append(np.asarray(values, dtype=object)[codes] if len(values)
                                     else np.full(chunk.rows, "", dtype=object))
            for column in header.numbers:
                parts[column].append(chunk.numbers[column])
            for column in header.dates:
                parts[column].append(chunk.instants[column])
            units.append(chunk.units)
            control.append(chunk.control)

    control = np.concatenate(control)
    cost_units = money.concat(units)
    columns = {c: np.concatenate(parts[c]) for c in header.columns}
    if header.cost not in columns:  # a cost worked out per row (amortized) is a column too
        columns[header.cost] = money.to_dollars(cost_units)
    tags = _expand_tags(header, columns, None)
    columns = typed(header, columns)
    items, controls = ({c: v[rows] for c, v in columns.items()} for rows in (~control, control))
    return _bill(Bill, parsed, items, controls, items=frame_of(items),
                 controls=frame_of(controls), units=money.fit(cost_units[~control]),
                 control_units=money.fit(cost_units[control]), tag_columns=tags)


def _expand_tags(header: Header, columns: dict[str, np.ndarray],
                 keep: Sequence[str] | None) -> tuple[str, ...]:
    """Add a column per tag to ``columns`` (in place) where the file writes every tag in one
    column (FOCUS ``Tags`` as JSON, CUR 2.0's ``resource_tags`` map): the tags ``keep``
    resolves to, or all; each text is decoded once however many rows share it. The tags."""
    if not header.tag_text:
        return header.tags
    texts = columns[header.tag_text]
    distinct, codes = np.unique(texts.astype(str), return_inverse=True)
    decoded = [_decode_tags(header, text) for text in distinct.tolist()]
    every = sorted({key for tags in decoded for key in tags})
    chosen = every if keep is None else [t for t in every if any(
        tag_matches(t, k) for k in keep)]
    for tag in chosen:
        if tag in columns:  # (a tag named like a column of the file keeps the column)
            continue
        values = np.array([tags.get(tag, "") for tags in decoded] + [""], dtype=object)
        columns[tag] = values[codes] if len(codes) else values[:0]
    return tuple(every)


def _decode_tags(header: Header, text: str) -> dict[str, str]:
    """One row's tags from its tag text."""
    if not text:
        return {}
    if header.format.kind == "focus" and TAG_PAIR not in text:  # (JSON, not a Parquet map)
        import json

        try:
            tags = json.loads(text)
        except ValueError:
            raise BillError(f"{header.name}: {header.tag_text} is not JSON "
                            f"({text[:60]!r})") from None
        if not isinstance(tags, dict):
            raise BillError(f"{header.name}: {header.tag_text} is not a JSON object "
                            f"({text[:60]!r})")
        return {str(k): "" if v is None else str(v) for k, v in tags.items()}
    pairs = (pair.partition(TAG_PAIR) for pair in text.split(TAG_SEPARATOR))
    return {key: value for key, _, value in pairs}


def _refuse_tables(source, what: str) -> None:
    """A friendly ``TypeError`` for the usual slip: a table passed where a path belongs."""
    pandas = sys.modules.get("pandas")  # (a DataFrame means that pandas is loaded)
    kinds = tuple(getattr(pandas, k, None) for k in ("DataFrame", "Series"))
    if any(k is not None and isinstance(source, k) for k in kinds):
        raise TypeError(f"{what} takes a path, an s3:// URL or an open file, not a DataFrame; "
                        "the DataFrame is already read")


def typed(header: Header, columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Columns as :meth:`costlib.Bill.column` gives them: dates (int64 nanoseconds) as
    ``datetime64[ns]``, numbers as ``float64``, text as it is (``object``)."""
    return {c: np.asarray(v, np.int64).view("datetime64[ns]") if c in header.dates
            else np.asarray(v, np.float64) if c in header.numbers else v
            for c, v in columns.items()}


def frame_of(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """The tidy table of columns as :func:`typed` gives them: text as ``str``, numbers as
    floats, dates as UTC."""
    import pandas as pd

    data = {}
    for column, values in columns.items():
        if values.dtype.kind == "M":
            data[column] = utc_datetimes(values)
        elif values.dtype.kind == "f":
            data[column] = pd.Series(values, dtype="float64")
        else:
            data[column] = pd.Series(values, dtype="str")
    return pd.DataFrame(data, columns=list(data))


def utc_datetimes(ns: np.ndarray) -> pd.Series:
    """UTC times from ``datetime64[ns]`` or int64 nanoseconds."""
    import pandas as pd

    ns = np.asarray(ns)
    if ns.dtype.kind != "M":
        ns = ns.astype(np.int64).view("datetime64[ns]")
    return pd.Series(ns.astype("datetime64[ns]")).dt.tz_localize("UTC")


def _bill(kind: type[Bill], parsed: Parsed, charges: dict[str, np.ndarray],
          totals: dict[str, np.ndarray], **fields) -> Bill:
    """The bill, what the file says of itself found in the columns ``charges`` and ``totals``
    (of the charge and total rows, as :func:`typed` gives them)."""
    from_name = parse_name(parsed.name)
    table = charges if len(next(iter(charges.values()), ())) else totals
    return kind(name=parsed.name,
                account=from_name.account or _first(table, totals, "PayerAccountId"),
                month=parsed.month, kind=parsed.kind,
                invoice_id=_first(table, totals, "InvoiceID"),
                cost_column=parsed.header.cost, cost_basis=parsed.header.basis, **fields)


def _first(items: dict[str, np.ndarray], controls: dict[str, np.ndarray], column: str
           ) -> str | None:
    """The first non-blank value of ``column`` among the charge rows, else the total rows."""
    for table in (items, controls):
        if column in table:
            values = table[column]
            values = values[values != ""]
            if len(values):
                return str(values[0])
    return None


# --- condensed ------------------------------------------------------------------------------

class _Table:
    """``items`` or ``controls`` of a condensed bill: the DataFrame given, or else made from
    the bill's numpy columns the first time it is asked for (the answers compute on the numpy
    columns, so ``costlib report`` never needs pandas)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name, self.arrays = f"_{name}", "arrays" if name == "items" else "control_arrays"

    def __get__(self, bill, owner=None):
        if bill is None:
            return self
        table = bill.__dict__.get(self.name)
        if table is None:
            table = bill.__dict__[self.name] = frame_of(getattr(bill, self.arrays))
            bill.__dict__[f"{self.name}_made"] = True  # (the arrays stay the answers' source)
        return table

    def __set__(self, bill, table) -> None:
        bill.__dict__[self.name] = table


@dataclass(frozen=True, eq=False)
class CondensedBill(Bill):
    """A :class:`~costlib.Bill` whose charge rows are summed per distinct combination of the
    columns kept: ``rows[i]`` line items of the file make up ``items.iloc[i]``, whose exact
    cost is ``units[i]``.

    ``tags`` still lists every tag column of the file, kept or not, so that asking for a tag
    the file does not have is refused with the same words. ``arrays`` and ``control_arrays``
    hold the columns as :meth:`~costlib.Bill.column` gives them; ``items`` and ``controls``
    are made from them when first used (``None`` given: made from the arrays).
    """

    file_tags: tuple[str, ...] = ()
    rows: np.ndarray | None = None
    arrays: dict[str, np.ndarray] | None = None
    control_arrays: dict[str, np.ndarray] | None = None

    items = _Table()
    controls = _Table()

    @property
    def tags(self) -> list[str]:
        """The tag columns of the file (``user:...`` and ``aws:...``), in file order."""
        return list(self.file_tags)

    @property
    def line_items(self) -> int:
        """How many charge rows the file holds."""
        return int(self.rows.sum()) if self.rows is not None else len(self.cost_units)

    @property
    def columns(self) -> list[str]:
        return list(self.arrays) if self._from_arrays("items") else super().columns

    def column(self, name: str) -> np.ndarray:
        return self.arrays[name] if self._from_arrays("items") else super().column(name)

    def control_column(self, name: str) -> np.ndarray:
        if self._from_arrays("controls"):
            return self.control_arrays[name]
        return super().control_column(name)

    def _from_arrays(self, table: str) -> bool:
        """Whether the answers read ``table`` from the numpy columns: no DataFrame was given."""
        arrays = self.arrays if table == "items" else self.control_arrays
        return arrays is not None and (self.__dict__.get(f"_{table}") is None
                                       or self.__dict__.get(f"_{table}_made", False))

    def _rows(self, keep: np.ndarray) -> CondensedBill:
        rows = None if self.rows is None else self.rows[keep]
        if not self._from_arrays("items"):
            return dataclasses.replace(super()._rows(keep), rows=rows)
        controls = None if self._from_arrays("controls") else self.controls
        return dataclasses.replace(self, items=None, controls=controls,
                                   arrays={c: v[keep] for c, v in self.arrays.items()},
                                   units=self.cost_units[keep], rows=rows)

    def __repr__(self) -> str:
        invoice = self.invoice_id or "no invoice id"
        return (f"<CondensedBill {os.path.basename(self.name)}: {self.kind}, {self.month}, "
                f"{self.line_items:,} charge rows in {len(self.cost_units):,} sums, "
                f"{len(self.control_cost_units)} control rows, invoice {invoice}>")


def read_condensed(source, tag: str | Sequence[str] | None = None, *,
                   cost: str | None = None, progress: bool | None = None,
                   chunk_bytes: int = CHUNK_BYTES) -> CondensedBill:
    """Read a month's billing file in bounded memory, its charges summed per distinct key.

    ``source`` is what :func:`read` takes. ``tag`` names the tag columns to keep (one, or a
    fallback chain, as :func:`costlib.spend` takes it); ``None`` keeps them all (fewer tags,
    fewer distinct keys, less memory). ``cost`` is the cost basis, as :func:`read` takes it.
    ``progress`` shows a progress bar when the read takes more than a moment: ``None`` in a
    terminal or a notebook, ``True`` always, ``False`` never.

    The invoice check, spend per user and per day, windows, zones and spreading answer on it
    exactly as on :func:`read`'s table. Rows lasting more than an hour (tax, fees) are kept one
    by one: spreading them over their hours is exact per row, not per sum.
    """
    from . import fastpath

    _refuse_tables(source, "read_condensed()")
    keep = None if tag is None else (tag,) if isinstance(tag, str) else tuple(tag)
    options = dict(columns=None if keep is None else [*KEY_COLUMNS, *keep],
                   chunk_bytes=chunk_bytes, progress=progress, cost=cost)
    compiled = fastpath.usable(source)
    with parse(source, **options) as parsed:
        condenser = _Condenser.of(parsed.header, keep)
        done = fastpath.condense(parsed, condenser) if compiled else None
        if done is None:
            for chunk in parsed:
                condenser.take(chunk)
    if done is False:  # handed over: the one parser reads it all again, and answers or refuses
        with parse(source, **options) as parsed:
            condenser = _Condenser.of(parsed.header, keep)
            for chunk in parsed:
                condenser.take(chunk)
    return condenser.bill(parsed)


class _Condenser:
    """Sums a file's charge rows per key, a batch at a time, and sums the sums again now and
    then so that memory stays bounded; keeps the total rows whole."""

    def __init__(self, header: Header, keys: list[str], tags: Sequence[str] | None) -> None:
        self.header, self.keys, self.tags = header, keys, tags
        self.codes = {c: _Codes() for c in keys}
        self.parts: list[tuple[list[np.ndarray], np.ndarray, np.ndarray]] = []
        self.singles: list[tuple[list[np.ndarray], np.ndarray]] = []
        self.batch: list[tuple[list[np.ndarray], np.ndarray, np.ndarray]] = []
        self.batched = self.pending = self.reduced = 0
        self.controls: dict[str, list] = {c: [] for c in header.columns}
        self.control_units: list[np.ndarray] = []

    @classmethod
    def of(cls, header: Header, keep: Sequence[str] | None) -> _Condenser:
        """The condenser of a file with ``header``, keeping the tags ``keep`` (``None``: all)."""
        wanted = header.tags if keep is None else [
            t for t in header.tags if any(tag_matches(t, k) for k in keep)]
        return cls(header, [c for c in header.columns if c in KEY_COLUMNS or c in wanted
                            or c == header.tag_text], keep)

    def load(self, sums: list[tuple], singles: list[tuple]) -> None:
        """Take charge rows summed elsewhere (the compiled path, :mod:`costlib.fastpath`):
        ``(key values, sign, units, rows)`` in the order the keys first appear in the file,
        and the rows lasting over an hour as ``(key values, units)`` in file order; key values
        as :attr:`keys` hold them (text, or int64 nanoseconds)."""

        def codes(rows: list[tuple]) -> list[np.ndarray]:
            return [self.codes[c].map([row[0][i] for row in rows])
                    for i, c in enumerate(self.keys)]

        if sums:
            signs = np.array([s[1] for s in sums], np.int64)
            self.parts = [(codes(sums) + [signs], np.array([s[2] for s in sums], np.int64),
                           np.array([s[3] for s in sums], np.int64))]
        if singles:
            self.singles = [(codes(singles), np.array([s[1] for s in singles], np.int64))]

    def take(self, chunk: Chunk) -> None:
        codes = {}
        for column in self.keys:
            if column in chunk.instants:
                local, uniques = factorize(chunk.instants[column])
                codes[column] = self.codes[column].map(uniques)[local]
            else:
                values, local = chunk.texts[column]
                codes[column] = self.codes[column].map(values)[local]
        control = chunk.control
        if control.any():
            at = np.flatnonzero(control)
            self._keep_controls(chunk, at)
        charge = ~control if control.any() else slice(None)
        units = chunk.units[charge]
        keys = [codes[c][charge] for c in self.keys]
        long = self._lasting(chunk.instants, charge)
        if long is not None and long.any():  # kept one by one: see read_condensed
            self.singles.append(([k[long] for k in keys], units[long]))
            keys, units = [k[~long] for k in keys], units[~long]
        self._add(keys, units, np.ones(len(units), np.int64))

    def _keep_controls(self, chunk: Chunk, at: np.ndarray) -> None:
        header = self.header
        texts = [c for c in header.columns if c not in header.numbers + header.dates]
        for column, values in chunk.strings(texts, at).items():
            self.controls[column].append(np.asarray(values, dtype=object))
        for column in header.numbers:
            self.controls[column].append(chunk.numbers[column][at])
        for column in header.dates:
            self.controls[column].append(chunk.instants[column][at])
        self.control_units.append(chunk.units[at])

    def _lasting(self, instants: dict[str, np.ndarray], charge) -> np.ndarray | None:
        """The charge rows that last more than an hour (see :func:`lasting`)."""
        if "UsageStartDate" not in instants or "UsageEndDate" not in instants:
            return None
        return lasting(instants["UsageStartDate"][charge], instants["UsageEndDate"][charge])

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
            sign = (units < 0).astype(np.int64)  # credits apart from charges of the same key
            self.parts.append(sum_per_key(keys + [sign], units, counts))
            self.pending += len(self.parts[-1][1])
            if self.pending > max(BATCH_ROWS, 2 * self.reduced):
                self._combine()

    def _combine(self) -> None:
        if len(self.parts) > 1:
            keys = [np.concatenate(k) for k in zip(*(p[0] for p in self.parts), strict=True)]
            units = np.concatenate([p[1] for p in self.parts])
            counts = np.concatenate([p[2] for p in self.parts])
            self.parts = [sum_per_key(keys, units, counts)]
        self.pending = self.reduced = len(self.parts[0][1]) if self.parts else 0

    def bill(self, parsed: Parsed) -> CondensedBill:
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
            units = money.concat([units, *(one[1] for one in self.singles)])
            counts = np.concatenate([counts, np.ones(len(units) - len(counts), np.int64)])
        units = money.fit(np.asarray(units))
        header = self.header
        columns = {}
        for column, codes in zip(self.keys, keys, strict=True):
            values = np.asarray(self.codes[column].values,
                                dtype=np.int64 if column in header.dates else object)
            columns[column] = values[codes] if len(values) else values[:0]
        file_tags = _expand_tags(header, columns, self.tags)
        columns[header.cost] = money.to_dollars(units)
        order = [c for c in header.columns if c in columns]
        items = typed(header, {c: columns[c] for c in [*order, *(
            c for c in columns if c not in order)]})
        controls = {c: np.concatenate(v) if v else np.zeros(
            0, np.int64 if c in header.dates else object) for c, v in self.controls.items()}
        control_units = money.concat(self.control_units)
        if header.cost not in controls:  # (a cost worked out per row: as read() adds it)
            controls[header.cost] = money.to_dollars(control_units)
        controls = typed(header, controls)
        return _bill(CondensedBill, parsed, items, controls, items=None, controls=None,
                     arrays=items, control_arrays=controls, units=units,
                     control_units=control_units, file_tags=file_tags, rows=counts)


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


def lasting(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Which rows (start and end in int64 nanoseconds) last more than an hour. Condensing
    keeps them one by one: ``spend(spread=True)`` splits each into hourly pieces whose units
    add up exactly, the odd units going to the first hours, and the pieces of a sum are not
    the sums of the pieces."""
    return (start != NAT) & (end != NAT) & (end - start > _HOUR)


def sum_per_key(keys: list[np.ndarray], units: np.ndarray, counts: np.ndarray
            ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Sum ``units`` and ``counts`` per distinct row of ``keys`` (numbers from 0), exactly,
    the sums in the order in which their keys first appear."""
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
    sums = money.sum_by(group, units, groups)
    totals = np.zeros(groups, np.int64)
    np.add.at(totals, group, counts)
    return [key[first] for key in keys], sums, totals


def _renumber(values: np.ndarray) -> tuple[np.ndarray, int]:
    """``values`` numbered from 0 in the order they first appear, and how many there are."""
    codes, uniques = factorize(values)
    return codes, len(uniques)


def factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct values) of an int64 array, numbered in the order of first appearance."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = np.ascontiguousarray(values, np.int64)
    array = pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])
    encoded = pc.dictionary_encode(array)
    return (numpy_of(encoded.indices, np.int32, 0).astype(np.int64),
            numpy_of(encoded.dictionary, np.int64, 0))


def factorize_text(values: np.ndarray) -> tuple[np.ndarray, list]:
    """(codes, distinct values) of a text column, numbered in the order of first appearance
    (without pandas: a dictionary does 2 million values in a fifth of a second)."""
    numbers: dict = {}
    codes = np.fromiter((numbers.setdefault(v, len(numbers)) for v in values.tolist()),
                        np.int64, len(values))
    return codes, list(numbers)
