"""Many billing files at once (accounts x months): each condensed where it is read, the
condensed sums combined exactly, on one core, a process pool or a Dask cluster.

Each file is read by :func:`~costlib.read_condensed` in the process that reads it (a Dask
worker reads ``s3://`` itself, in ranges: only the path travels there, only the sums come
back); :func:`combine` then adds the integer units per distinct key. Integer sums do not care
about order, so one file, a pool and a cluster give the same answer to the unit.

    >>> import costlib
    >>> bills = scan([costlib.sample_path()], jobs=1)
    >>> bills.accounts, bills.months, bills.files[0].invoice.matches
    (['012345678901'], ['2026-02'], True)
    >>> one = costlib.read_condensed(costlib.sample_path())
    >>> twice = combine([one, one])                  # the same month twice: twice the units
    >>> costlib.spend(twice).total_units == 2 * costlib.spend(one).total_units
    True
"""

from __future__ import annotations

import contextlib
import glob
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from . import money
from .buckets import (
    PART_ENDINGS,
    Listed,
    bills,
    folder_listing,
    parts_of,
    report_months,
    s3_listing,
)
from .errors import BillError, BillNotFoundError, CostlibError, OptionError
from .files import is_manifest, manifest_parts, parse_name
from .invoice import InvoiceCheck, check_invoice
from .layout import first_line
from .parsing import NAT
from .reading import (
    CondensedBill,
    factorize,
    lasting,
    read_condensed,
    sum_per_key,
    utc_datetimes,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FileAnswer", "Refused", "Scan", "billing_files", "combine", "condense", "default_jobs",
           "dask_client", "scan"]

#: condensed files held before they are added into the running sum (memory stays bounded)
PENDING = 8


@dataclass(frozen=True)
class FileAnswer:
    """One file of a scan: what its name says, its charges and its own invoice check."""

    name: str
    account: str | None
    month: str | None
    kind: str
    line_items: int
    invoice: InvoiceCheck

    @property
    def charges_units(self) -> int:
        """The file's charges (blended), in exact units."""
        return self.invoice.charges_units

    def as_dict(self) -> dict:
        """The JSON form: file, account, month, kind, rows, total and the invoice check."""
        return {"file": os.path.basename(self.name), "path": self.name,
                "account": self.account, "month": self.month, "kind": self.kind,
                "line_items": self.line_items, "total": money.dollars(self.charges_units),
                "invoice": self.invoice.as_dict()}


@dataclass(frozen=True)
class Refused:
    """A file a scan could not read (with ``keep_going``), and the one line saying why."""

    name: str
    reason: str


@dataclass(frozen=True, eq=False)
class Scan(CondensedBill):
    """Many files condensed into one bill: :func:`costlib.spend`, :func:`costlib.report` and
    the plots take it as they take one month; ``files`` holds each file's own answer (in the
    order given), ``refused`` the files left out with ``keep_going``."""

    files: tuple[FileAnswer, ...] = ()
    refused: tuple[Refused, ...] = ()

    @property
    def accounts(self) -> list[str]:
        """The accounts of the files (from their names, else their payer column), sorted."""
        return sorted({f.account for f in self.files if f.account})

    @property
    def months(self) -> list[str]:
        """The months of the files, sorted."""
        return sorted({f.month for f in self.files if f.month})

    @property
    def invoice_check(self) -> InvoiceCheck:
        """The files' own invoice checks added up: it matches when every file matches."""
        return combined_check(self.files)

    def __repr__(self) -> str:
        return (f"<Scan of {len(self.files)} files: {len(self.accounts)} accounts, "
                f"{len(self.months)} months, {self.line_items:,} charge rows in "
                f"{len(self.items):,} sums, {len(self.refused)} refused>")


def scan(paths: str | os.PathLike | Iterable[str | os.PathLike],
         tag: str | Sequence[str] | None = None, *, cost: str | None = None,
         jobs: int | None = None, client=None, keep_going: bool = False,
         progress: bool | None = None) -> Scan:
    """Read many billing files (files, folders, globs, ``s3://bucket/prefix/``) into one bill.

    ``tag`` is what :func:`costlib.read_condensed` keeps, ``cost`` the cost basis it sums
    (every file must have it: files of different bases are not added). A manifest
    (``...-Manifest.json``) stands for the parts of its month. The files are read in a process
    pool of ``jobs`` processes (default: half the cores, :func:`default_jobs`, as each read
    keeps two cores busy; ``1``: here, one after the other), or on
    a Dask cluster when ``client`` (a ``dask.distributed.Client``) is given. A file that cannot
    be read stops the scan with one line naming it (:class:`~costlib.BillError`), or with
    ``keep_going`` is left out and listed in ``refused``. ``progress``: one bar over the files,
    as :func:`costlib.read_condensed` takes it.
    """
    names = billing_files(paths)
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise OptionError(f"jobs must be a whole number of at least 1, not {jobs!r}")
    keep = None if tag is None else (tag,) if isinstance(tag, str) else tuple(tag)
    if client is not None:
        results = _on_dask(client, names, keep, cost)
    elif len(names) == 1 or (jobs or default_jobs()) == 1:
        results = ((i, condense(name, keep, cost)) for i, name in enumerate(names))
    else:
        results = _on_pool(min(jobs or default_jobs(), len(names)), names, keep, cost)
    answers: dict[int, FileAnswer] = {}
    refused: dict[int, Refused] = {}
    total, pending = None, []
    with contextlib.closing(results), _bar(len(names), progress) as bar:
        for i, piece in results:
            bar.update(1)
            if isinstance(piece, Refused):
                if not keep_going:
                    raise BillError(piece.reason)
                refused[i] = piece
                continue
            bill, answers[i] = piece
            if pending and bill.cost_basis != pending[0].cost_basis or total is not None and \
                    bill.cost_basis != total.cost_basis:
                raise OptionError(f"{bill.name}: its cost is {bill.cost_basis}, the files "
                                  "before it another; give --cost to sum one basis")
            pending.append(bill)
            if len(pending) >= PENDING:
                total, pending = combine([total, *pending] if total else pending), []
    if not answers:
        raise BillError(f"none of the {len(names)} files could be read"
                        + (f"; {refused[min(refused)].reason}" if refused else ""))
    total = combine([total, *pending] if total else pending)
    files = tuple(answers[i] for i in sorted(answers))
    return _scan(total, files, tuple(refused[i] for i in sorted(refused)))


def default_jobs() -> int:
    """Files read at once by default: half the cores, as one file's read keeps about two cores
    busy (an inflating thread and two parsing threads); on two cores, one at a time."""
    return max(1, (os.cpu_count() or 1) // 2)


def condense(name: str, tag: Sequence[str] | None = None, cost: str | None = None
             ) -> tuple[CondensedBill, FileAnswer] | Refused:
    """One file, condensed and checked against its own invoice, where it is read (a pool's
    process, a Dask worker); a file that cannot be read gives a :class:`Refused`."""
    try:
        bill = read_condensed(name, tag, cost=cost, progress=False)
        if bill.kind == "invoice-report":
            raise BillError(f"{name}: a monthly invoice report, not a detailed bill: added to "
                            "the detailed bills it would count the month twice")
        answer = FileAnswer(name=name, account=bill.account, month=bill.month, kind=bill.kind,
                            line_items=bill.line_items, invoice=check_invoice(bill))
    except CostlibError as err:
        return Refused(name, first_line(err))
    finally:
        _give_back_memory()
    return bill, answer


def _give_back_memory() -> None:
    """Return the freed memory of a file read to the system, so that a process reading file
    after file keeps the peak of one file (without it the peak creeps up, file by file)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):  # glibc only
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)


def combine(bills: Sequence[CondensedBill]) -> CondensedBill:
    """The condensed bills as one: units and row counts summed exactly per distinct key (the
    kept columns and the sign), rows lasting over an hour kept one by one (as
    :func:`costlib.read_condensed` keeps them), total rows put one after the other.

    A sum of sums: ``combine([combine(a), combine(b)])`` is ``combine(a + b)``, whatever the
    order of the bills; the metadata are the first bill's.
    """
    import pandas as pd

    bills = list(bills)
    if len(bills) == 1:
        return bills[0]
    first = bills[0]
    cost = first.cost_column
    columns: list[str] = []
    for bill in bills:
        columns += [c for c in bill.items.columns
                    if c != bill.cost_column and c not in columns]
    dates = [c for c in columns if any(c in b.items.columns and str(b.items[c].dtype)
                                       .startswith("datetime64") for b in bills)]
    keys = []
    for column in columns:
        if column in dates:
            values = np.concatenate([_instants(b.items, column) for b in bills])
            codes, uniques = factorize(values)
        else:
            values = np.concatenate([b.items[column].to_numpy(object) if column in b.items
                                     else np.full(len(b.items), "", object) for b in bills])
            codes, uniques = pd.factorize(values)
        keys.append((codes.astype(np.int64), uniques))
    units = money.concat([b.cost_units for b in bills])
    counts = np.concatenate([b.rows if getattr(b, "rows", None) is not None
                             else np.ones(len(b.items), np.int64) for b in bills])
    long = np.zeros(len(units), bool)
    if "UsageStartDate" in dates and "UsageEndDate" in dates:
        start = np.concatenate([_instants(b.items, "UsageStartDate") for b in bills])
        end = np.concatenate([_instants(b.items, "UsageEndDate") for b in bills])
        long = lasting(start, end)
    codes = [k[0] for k in keys]
    sign = np.asarray(units < 0, bool).astype(np.int64)  # credits apart from charges
    short = ~long
    summed, sums, rows = sum_per_key([c[short] for c in codes] + [sign[short]], units[short],
                                 counts[short])
    picked = [np.concatenate([s, c[long]]) for s, c in zip(summed[:-1], codes, strict=True)]
    units = money.fit(np.asarray(np.concatenate([sums, units[long]])))
    rows = np.concatenate([rows, counts[long]])
    items = {}
    for column, (_, uniques), at in zip(columns, keys, picked, strict=True):
        if column in dates:
            items[column] = utc_datetimes(np.asarray(uniques, np.int64)[at])
        else:
            items[column] = pd.Series(np.asarray(uniques, object)[at], dtype="str")
    items[cost] = pd.Series(money.to_dollars(units), dtype="float64")
    order = [c for c in first.items.columns if c in items]
    order += [c for c in items if c not in order]
    controls = pd.concat([b.controls for b in bills], ignore_index=True)
    for column in controls.columns:
        if str(controls[column].dtype) in ("str", "object", "string"):
            controls[column] = controls[column].fillna("").astype("str")
    control_units = money.concat([b.control_cost_units for b in bills])
    file_tags: list[str] = []
    for bill in bills:
        file_tags += [t for t in bill.tags if t not in file_tags]
    return CondensedBill(items=pd.DataFrame(items)[order], controls=controls, name=first.name,
                         account=first.account, month=first.month, kind=first.kind,
                         invoice_id=first.invoice_id, cost_column=cost,
                         cost_basis=first.cost_basis, units=units,
                         control_units=control_units, file_tags=tuple(file_tags), rows=rows)


def combined_check(files: Sequence[FileAnswer]) -> InvoiceCheck:
    """The invoice check of many files: their charges and invoice totals added up exactly;
    it matches when every file matches its own invoice, and says which files do not."""
    charges = sum(f.charges_units for f in files)
    explanation = [f"{_label(f)}: {f.invoice.status}" + (
        f" ({f.invoice.explanation[0]})" if f.invoice.explanation and not f.invoice.matches
        else "") for f in files if not f.invoice.matches]
    checked = [f for f in files if f.invoice.total_units is not None]
    matching = sum(1 for f in files if f.invoice.matches)
    words = f"{matching} of {len(files)} files match their own invoice to the cent"
    if len(checked) < len(files):
        return InvoiceCheck(charges=money.dollars(charges), total=None, difference=None,
                            matches=None, status="no invoice for every file", source="none",
                            explanation=[words, *explanation], charges_units=charges)
    total = sum(f.invoice.total_units for f in files)
    matches = matching == len(files)
    return InvoiceCheck(charges=money.dollars(charges), total=money.dollars(total),
                        difference=money.dollars(total - charges), matches=matches,
                        status="matches" if matches else "mismatch",
                        source=f"the {len(files)} files' own invoices",
                        explanation=[words, *explanation], charges_units=charges,
                        total_units=total)


def _label(answer: FileAnswer) -> str:
    if answer.account or answer.month:
        return f"{answer.month} {answer.account}"
    return os.path.basename(answer.name)


def _scan(bill: CondensedBill, files: tuple[FileAnswer, ...],
          refused: tuple[Refused, ...]) -> Scan:
    def one(values: set) -> str | None:
        return values.pop() if len(values) == 1 else None

    kinds = {f.kind for f in files}
    return Scan(items=bill.items, controls=bill.controls, name=f"{len(files)} billing files",
                account=one({f.account for f in files}), month=one({f.month for f in files}),
                kind=kinds.pop() if len(kinds) == 1 else "mixed",
                invoice_id=one({bill.invoice_id} if len(files) == 1 else set()),
                cost_column=bill.cost_column, cost_basis=bill.cost_basis, units=bill.units,
                control_units=bill.control_units, file_tags=bill.file_tags, rows=bill.rows,
                files=files, refused=refused)


def _instants(items: pd.DataFrame, column: str) -> np.ndarray:
    """A date column as int64 nanoseconds (:data:`~costlib.parsing.NAT` when blank)."""
    if column not in items:
        return np.full(len(items), NAT, np.int64)
    return items[column].to_numpy("datetime64[ns]").view(np.int64)


# --- where the files are read -----------------------------------------------------------------

def _on_pool(jobs: int, names: list[str], keep, cost) -> Iterator[tuple[int, object]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # spawn: the workers are this process's own children (reaped, their CPU and memory
    # accounted to it) and never a fork of a process that runs threads
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=context) as pool:
        futures = {pool.submit(condense, name, keep, cost): i for i, name in enumerate(names)}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            for future in futures:
                future.cancel()


def _on_dask(client, names: list[str], keep, cost) -> Iterator[tuple[int, object]]:
    from distributed import as_completed

    futures = client.map(condense, names, tag=keep, cost=cost, pure=False)
    index = {future.key: i for i, future in enumerate(futures)}
    try:
        for future, piece in as_completed(futures, with_results=True):
            yield index[future.key], piece
    finally:
        client.cancel(futures)


@contextlib.contextmanager
def dask_client(address: str) -> Iterator[object]:
    """A ``dask.distributed.Client`` for ``local``, ``local:N`` (a ``LocalCluster`` of N
    processes, default half the cores) or a scheduler's address (``tcp://HOST:PORT``, a Dask
    Gateway cluster's); one that does not answer is an :class:`~costlib.OptionError`."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise OptionError("--dask needs Dask: pip install 'costlib[dask]'") from None
    with contextlib.ExitStack() as stack:
        if address == "local" or address.startswith("local:"):
            count = address.partition(":")[2]
            if count and not (count.isdigit() and int(count) >= 1):
                raise OptionError(f"--dask {address}: say local or local:N (N workers)")
            workers = int(count) if count else default_jobs()
            cluster = stack.enter_context(LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                dashboard_address=None, silence_logs=40))
            client = stack.enter_context(Client(cluster))
        else:
            try:
                client = stack.enter_context(Client(address, timeout="10s"))
            except (OSError, TimeoutError, ValueError) as err:
                raise OptionError(f"--dask {address}: no Dask scheduler answers there "
                                  f"({first_line(err)})") from None
        yield client


# --- which files ------------------------------------------------------------------------------

def billing_files(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[str]:
    """The files named by ``paths``: files as given, folders (searched through) and
    ``s3://bucket/prefix/`` for the detailed bills named as AWS names them
    (:data:`costlib.files.NAME_PATTERN`; invoice reports left out), globs as they match."""
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    found: list[str] = []
    for path in paths:
        text = os.fspath(path)
        if is_manifest(text):
            found += manifest_parts(text)
        elif text.startswith("s3://"):
            found += [text] if _is_file_url(text) else _s3_bills(text)
        elif os.path.isdir(text):
            found += _in_listing(folder_listing(text), os.path.join(text, ""),
                                 f"{text}: no billing files in this folder")
        elif glob.has_magic(text):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise BillNotFoundError(f"{text}: matches no file")
            for match in matches:
                found += billing_files([match]) if os.path.isdir(match) else [match]
        else:
            found.append(text)
    if not found:
        raise OptionError("no billing files given")
    return list(dict.fromkeys(found))


def one_file(paths: Sequence[str]) -> str | None:
    """The path when ``paths`` names a single file as it is (no folder, glob, prefix or
    manifest)."""
    if len(paths) != 1:
        return None
    text = os.fspath(paths[0])
    if is_manifest(text):
        return None
    if text.startswith("s3://"):
        return text if _is_file_url(text) else None
    return None if os.path.isdir(text) or glob.has_magic(text) else text


def _is_file_url(url: str) -> bool:
    """An ``s3://`` URL of one object rather than a prefix: a billing file's name, or a name
    with a file's extension."""
    if url.endswith("/"):
        return False
    name = url.rsplit("/", 1)[-1].lower()
    return bool(parse_name(name).month) or name.endswith(PART_ENDINGS)


def _s3_bills(url: str) -> list[str]:
    from .files import _s3_errors, s3_client

    bucket, _, prefix = url[len("s3://"):].partition("/")
    if not bucket:
        raise BillError(f"{url}: an S3 URL needs a bucket (s3://bucket/prefix/)")
    with _s3_errors(url, bucket):
        listing = list(s3_listing(s3_client(), bucket, prefix))
    return _in_listing(listing, f"s3://{bucket}/", f"{url}: no billing files under this prefix")


def _in_listing(listing: list[Listed], root: str, none: str) -> list[str]:
    """The files to read of a folder or prefix: every detailed bill (by AWS's names), the
    parts of each month of a report (by its manifest or ``BILLING_PERIOD=`` folder), or else,
    for a folder of parts, every data file in it."""
    paths = [month.url for month in bills(listing, root).values()]
    for month in report_months(listing, root).values():
        paths += [p for path in month.paths
                  for p in (manifest_parts(path) if is_manifest(path) else [path])]
    paths = sorted(paths) or parts_of(listing, root)
    if not paths:
        raise BillNotFoundError(f"{none} (named <account>-aws-billing-detailed-line-items-..., "
                                "or a report's parts: .csv.gz, .parquet, ...)")
    return paths


def _bar(files: int, progress: bool | None):
    """One bar over the files (``progress`` as :func:`costlib.read_condensed` takes it)."""
    from .parsing import _interactive, bar_class

    if progress is False or files < 2 or (progress is None and not _interactive()):
        return _NoBar()
    return bar_class()(total=files, desc="reading", unit="file", delay=1.0, leave=False,
                dynamic_ncols=True)


class _NoBar(contextlib.nullcontext):
    def __enter__(self):
        return self

    def update(self, n: int = 1) -> None:
        pass
