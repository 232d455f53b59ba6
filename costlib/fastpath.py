"""The compiled path: a detailed bill's charge rows summed per key in C, or not at all.

:func:`costlib.read_condensed` hands a plain detailed bill (``.csv``, ``.csv.zip``, ``.csv.gz``
with the DBR header) to :mod:`costlib._reduce`, which reads the text pieces of the one parser's
reader thread in a single pass, without the GIL, and sums each key exactly in integer units. Two
threads take the pieces as they come (the second at a lower priority, so that on two cores it
only uses what the inflating thread and the first leave), each into a table of its own; the
tables are put together in file order at the end.
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

import contextlib
import os
import stat
import threading
from collections.abc import Sequence

import numpy as np

from .layout import CLOUDCHECKR_RECORD_TYPES, CONTROL_RECORD_TYPES, FIRST_YEAR
from .parsing import Header, Parsed, _Bad, _month_bounds, _TooLong

ENV = "COSTLIB_COMPILED"  #: ``0`` turns the compiled path off
#: Threads reading pieces, each into a table of its own (the file's inflating thread makes one
#: more): two where there are two cores or more.
THREADS = 2 if len(os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity")
                   else range(os.cpu_count() or 1)) >= 2 else 1
HELPER_NICENESS = 10  #: how much lower the second reading thread's priority is
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
    reading = _Reading(parsed, reducer)
    reading.run(0, until_settled=True)  # (the first pieces tell the month and the file's kind)
    # (daemon, and stopped and joined whatever happens here: a KeyboardInterrupt left it
    # blocked for ever on the reader thread's queue once the file was closed)
    helper = threading.Thread(target=reading.help, name="costlib-reduce", daemon=True)
    try:
        if THREADS > 1 and not reading.problem:
            helper.start()
    except RuntimeError:  # (no thread to be had: one reads it all)
        pass
    try:
        reading.run(0)
    except BaseException:
        reading.problem = reading.problem or "interrupted"
        raise
    finally:
        if helper.is_alive():
            helper.join()
    if reading.problem:
        return reading.problem
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
    cloudcheckr = bool(reading.aws) or any(counts[t] for t in CLOUDCHECKR_RECORD_TYPES)
    parsed.settle(got["rows"], "cloudcheckr" if cloudcheckr else "dbr", reading.month)
    condenser.load(got["sums"], got["singles"])
    return True


class _Reading:
    """The pieces of one file fed to one reducer by one thread or two, each piece into the
    feeding thread's own table, numbered in file order; the first problem stops both."""

    def __init__(self, parsed: Parsed, reducer) -> None:
        self.parsed, self.reducer = parsed, reducer
        self.pieces, self.taking = parsed.pieces(), threading.Lock()
        self.number = 0
        self.month = parsed.month
        self.bounds = _month_bounds(self.month) if self.month else None
        self.aws: bool | None = None  # the first piece's RecordId tells a CloudCheckr copy
        self.problem: str | None = None

    def run(self, work: int, until_settled: bool = False) -> None:
        """Feed pieces into table ``work`` until none is left (or, ``until_settled``, until
        the month and the file's kind are known), or a problem is found."""
        while not self.problem and not (until_settled and self.settled):
            try:
                with self.taking:
                    piece, number = next(self.pieces, None), self.number
                    self.number += 1
                if piece is None:
                    return
                if isinstance(piece, _TooLong):
                    self.problem = "a line too long"
                    return
                seen = self.reducer.feed(piece, self.bounds is None, number, work)
                self.parsed.release(piece)
            except Exception as err:  # (a stream that fails: the one parser says it, in its words)
                self.problem = self.problem or f"the stream failed ({type(err).__name__})"
                return
            if isinstance(seen, str):
                self.problem = self.problem or seen
                return
            self._check(seen)

    def help(self) -> None:
        """:meth:`run` into table 1, at a lower priority: on two cores the thread inflating the
        file and the first reducer come first, this one takes what time they leave."""
        with contextlib.suppress(AttributeError, OSError):  # (Linux only: per thread)
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HELPER_NICENESS)
        self.run(1)

    @property
    def settled(self) -> bool:
        return self.aws is not None and self.bounds is not None

    def _check(self, seen: dict) -> None:
        """The month (from the first rows, where the file's name does not say it), and every
        row's dates near it."""
        if self.aws is None:
            self.aws = seen["aws"]
        if self.bounds is None:
            if not seen["months"]:
                return
            self.month = _month(max(sorted(seen["months"].items()), key=lambda mc: mc[1])[0])
            self.bounds = _month_bounds(self.month)
        lo, hi = self.bounds
        if (seen["min_start"] < lo or seen["max_start"] > hi or seen["min_end"] < lo
                or seen["max_end"] > hi):
            self.problem = self.problem or "a date far from the month"


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
    return _reduce.Reducer(roles, types, limit)


def _month(index: int) -> str:
    """A month counted from January of :data:`~costlib.layout.FIRST_YEAR`, as ``YYYY-MM``."""
    return f"{FIRST_YEAR + index // 12:04d}-{index % 12 + 1:02d}"
