"""The compiled path: a detailed bill's charge rows summed per key in C, or not at all.

:func:`costlib.read_condensed` hands a plain detailed bill (``.csv``, ``.csv.zip``, ``.csv.gz``
with the DBR header) to :mod:`costlib._reduce`, which reads the text pieces of the one parser's
reader thread in a single pass, without the GIL, and sums each key exactly in integer units.
It accepts only what it can prove well formed: on anything else (a number or date not written
plainly, a byte that is not UTF-8, an unknown record type, a line too long, a date far from the
month, a sum past int64, ...) the file is read again from its start through the one parser
(:mod:`costlib.parsing`), which gives the answer or the canonical error. The total rows the
reducer meets are parsed by the one parser too. So the answers are the same, to the unit, and
so are the refusals, word for word (``tests/test_fastpath.py`` checks both ways agree).

``COSTLIB_COMPILED=0`` turns the path off; without a C compiler at install time it is not
built. :func:`status` says which path is in use, and why (``costlib info``).

    >>> in_use, why = status()
    >>> isinstance(in_use, bool) and bool(why)
    True
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

import numpy as np

from .layout import CLOUDCHECKR_RECORD_TYPES, CONTROL_RECORD_TYPES, FIRST_YEAR
from .parsing import Header, Parsed, _Bad, _month_bounds, _TooLong

ENV = "COSTLIB_COMPILED"  #: ``0`` turns the compiled path off
#: Reading threads: with 2, each piece from :data:`SPLIT_BYTES` on is read in two halves at
#: once. Only from 4 cores on: on 2, the inflating thread and pandas loading for the answers keep
#: the second core busy, and two halves measured no faster than one (bench/README.md).
THREADS = 2 if len(os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity")
                   else range(os.cpu_count() or 1)) >= 4 else 1
SPLIT_BYTES = 1 << 18
#: The record types of charge rows the compiled path knows; any other hands over.
CHARGE_TYPES = ("LineItem", *sorted(CLOUDCHECKR_RECORD_TYPES))
#: How the last file offered went: ``"compiled"``, ``"handed over: <why>"`` or ``"not for this
#: path"`` (for the tests and ``costlib info``; one process reads one file at a time here).
last = ""


def status() -> tuple[bool, str]:
    """Whether the compiled path is in use, and why (or why not)."""
    if os.environ.get(ENV, "").strip() == "0":
        return False, f"turned off by {ENV}=0"
    try:
        from . import _reduce  # noqa: F401
    except ImportError as err:
        return False, f"costlib._reduce is not built: {err}"
    return True, f"costlib._reduce is built; {ENV}=0 turns it off"


def usable(source) -> bool:
    """Whether ``source`` may go the compiled way: an ``s3://`` URL or a regular file (which
    can be read again from its start should the compiled path hand it over; a pipe cannot),
    the extension built and not turned off."""
    if not isinstance(source, str | os.PathLike):
        return False
    text = os.fspath(source)
    if not text.startswith("s3://"):
        try:
            if not stat.S_ISREG(os.stat(text).st_mode):
                return False
        except OSError:  # (missing, refused: the one parser says so, in its words)
            return False
    return status()[0]


def condense(parsed: Parsed, condenser) -> bool | None:
    """Sum the charge rows of ``parsed`` (its header read, no chunk taken) into ``condenser``
    (a :class:`costlib.reading._Condenser`) with the compiled reducer.

    ``True``: done. ``False``: handed over, the caller reads the file again through the one
    parser. ``None``: not a file for this path, the caller iterates ``parsed`` as usual.
    """
    global last
    last, done = "not for this path", _condense(parsed, condenser)
    if done is not True and done is not None:
        last = f"handed over: {done}"
    elif done:
        last = "compiled"
    return None if done is None else done is True


def _condense(parsed: Parsed, condenser) -> bool | str | None:
    """:func:`condense`, saying why it hands over (a ``str``) instead of ``False``."""
    header = parsed.header
    if type(parsed) is not Parsed or header.format is not None or header.kind is not None:
        return None
    reducer = make_reducer(header, condenser.keys, parsed.limit)
    if reducer is None:
        return None
    month = parsed.month
    bounds = _month_bounds(month) if month else None
    aws = None  # the first chunk's RecordId tells a CloudCheckr copy (as in the one parser)
    try:
        for piece in parsed.pieces():
            if isinstance(piece, _TooLong):
                return "a line too long"
            seen = reducer.feed(piece, bounds is None)
            parsed.release(piece)
            if isinstance(seen, str):
                return seen
            if aws is None:
                aws = seen["aws"]
            if bounds is None:
                if not seen["months"]:
                    continue
                month = _month(max(sorted(seen["months"].items()), key=lambda mc: mc[1])[0])
                bounds = _month_bounds(month)
            lo, hi = bounds
            if (seen["min_start"] < lo or seen["max_start"] > hi or seen["min_end"] < lo
                    or seen["max_end"] > hi):
                return "a date far from the month"
    except Exception as err:  # (a stream that fails: the one parser says it, in its words)
        return f"the stream failed ({type(err).__name__})"
    got = reducer.sums()
    if isinstance(got, str):
        return got
    if not got["rows"]:
        return "no rows"
    counts = dict(zip(TYPES, got["types"], strict=True))
    if got["controls"]:
        try:
            chunk = parsed._convert(got["controls"], parsed.texts)
        except _Bad as bad:
            return f"a total row the one parser refuses ({bad.words})"
        if not chunk.control.all() or chunk.rows != sum(
                counts[t] for t in CONTROL_RECORD_TYPES):
            return "total rows read otherwise by the one parser"
        condenser._keep_controls(chunk, np.arange(chunk.rows))
    cloudcheckr = bool(aws) or any(counts[t] for t in CLOUDCHECKR_RECORD_TYPES)
    parsed.settle(got["rows"], "cloudcheckr" if cloudcheckr else "dbr", month)
    condenser.load(got["sums"], got["singles"])
    return True


#: The record types the reducer knows, charges then totals, in the order ``sums()`` counts them.
TYPES = (*CHARGE_TYPES, *sorted(CONTROL_RECORD_TYPES))


def make_reducer(header: Header, keys: Sequence[str], limit: int):
    """A :class:`costlib._reduce.Reducer` for a detailed bill with ``header``, summing per
    ``keys`` (text or date columns), refusing lines past ``limit`` bytes; ``None`` when a key
    is a number column (not for this path)."""
    from . import _reduce

    roles = []
    for column in header.columns:
        role = 0
        if column in keys:
            if column in header.numbers:
                return None
            role |= _reduce.KEY
        if column == "RecordType":
            role |= _reduce.RTYPE
        if column == "RecordId":
            role |= _reduce.RID
        if column in header.numbers:
            role |= _reduce.NUM | (_reduce.COST if column == header.cost else 0)
        if column in header.dates:
            role |= _reduce.DATE | {"UsageStartDate": _reduce.START,
                                    "UsageEndDate": _reduce.END}.get(column, 0)
        roles.append(role)
    types = [(t.encode(), t in CONTROL_RECORD_TYPES) for t in TYPES]
    return _reduce.Reducer(roles, types, limit, THREADS, SPLIT_BYTES)


def _month(index: int) -> str:
    """A month counted from January of :data:`~costlib.layout.FIRST_YEAR`, as ``YYYY-MM``."""
    return f"{FIRST_YEAR + index // 12:04d}-{index % 12 + 1:02d}"
