"""The ``costlib`` command: argument parsing only; every answer comes from the library."""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import json
import os
import sys
import threading
from collections.abc import Sequence

from .errors import CostlibError
from .files import sample_path

# (numpy loads with .layout, after run() has told it how many threads to start: nothing here
# imports it at import time)


def _parser() -> argparse.ArgumentParser:
    from .layout import COST_COLUMNS, DEFAULT_TAG

    parser = argparse.ArgumentParser(
        prog="costlib", description="Read AWS detailed billing files and answer questions.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    rep = commands.add_parser("report", help="invoice check, spend per user and per day",
                              description="Check a month's bill against its invoice and show "
                              "spend per user and per day. With no BILL, the bundled sample.")
    rep.add_argument("bill", nargs="*", metavar="BILL",
                     help="a .csv.zip, .csv or s3://bucket/key (default: the bundled sample); "
                     "several, folders, globs and s3://bucket/prefix/ give one answer over "
                     "every billing file, accounts and months")
    rep.add_argument("--tag", action="append", metavar="TAG",
                     help=f"tag naming the user (default {DEFAULT_TAG}); repeat for a fallback "
                     "chain: --tag user:Owner --tag user:Project")
    rep.add_argument("--tz", default="UTC", metavar="ZONE",
                     help="time zone of the days and of --start/--end (default UTC), "
                     "e.g. America/Los_Angeles")
    rep.add_argument("--start", metavar="WHEN", help="window start (date or date-time, in --tz)")
    rep.add_argument("--end", metavar="WHEN", help="window end, excluded (in --tz)")
    rep.add_argument("--invoice", metavar="AMOUNT|ID=AMOUNT|FILE",
                     help="invoice amount (ID=AMOUNT: the charges of one invoice id), or the "
                     "monthly aws-billing-csv invoice report")
    rep.add_argument("--cost", choices=list(COST_COLUMNS), metavar="BASIS",
                     help="cost basis: " + ", ".join(COST_COLUMNS) + " (default: blended for a "
                     "detailed bill, unblended for a CUR, billed for FOCUS)")
    rep.add_argument("--provider", metavar="NAME",
                     help="only this provider's charges, in a FOCUS file of several (AWS, "
                     "Microsoft, ...); without it every provider is summed")
    rep.add_argument("--spread", action="store_true",
                     help="spread rows lasting several hours (tax, fees) over their hours")
    rep.add_argument("--plot", metavar="PNG", help="save the per-user daily plot as a PNG")
    rep.add_argument("--json", action="store_true", help="print one JSON object")
    rep.add_argument("--quiet", "-q", action="store_true",
                     help="no progress bar (it shows only in a terminal, on long reads)")
    rep.add_argument("--jobs", "-j", type=int, metavar="N",
                     help="files read at once by a pool of processes (default: half the "
                     "cores, as each file is read on two)")
    rep.add_argument("--dask", metavar="local[:N]|ADDRESS",
                     help="read the files on Dask: a LocalCluster of N processes (default: half "
                     "the cores), or the "
                     "scheduler at ADDRESS (tcp://HOST:PORT)")
    rep.add_argument("--keep-going", action="store_true",
                     help="with several files: answer for the files that can be read and "
                     "list the others")

    grd = commands.add_parser("grade", help="score a folder of contest submissions",
                              description="Run each submission (notebook or answers file) on "
                              "BILL, score it against costlib's own answers, and write a "
                              "leaderboard and feedback. Grading runs contestants' code.")
    from .contest.options import add_arguments  # (argparse only: the grader loads when it runs)

    add_arguments(grd)

    tgs = commands.add_parser("tags", help="a file's tag keys and the spend each covers",
                              description="List the tag keys of a billing file, with the share "
                              "of the spend that carries each (tag coverage).")
    tgs.add_argument("bill", nargs="?", metavar="BILL", help="a billing file (default: the "
                     "bundled sample)")
    tgs.add_argument("--cost", choices=list(COST_COLUMNS), metavar="BASIS",
                     help="cost basis (default: the format's)")
    tgs.add_argument("--json", action="store_true", help="print one JSON object")

    smp = commands.add_parser("sample", help="write the synthetic sample bills",
                              description="Write the synthetic sample bills into DIR.")
    smp.add_argument("directory", nargs="?", default="samples", metavar="DIR",
                     help="folder to write into (default: ./samples)")
    commands.add_parser("info", help="costlib's version and the reader in use",
                        description="Print costlib's version and which reader sums a detailed "
                        "bill: compiled (costlib._reduce) or pyarrow, and why.")
    ntf = commands.add_parser("notify", help="the costnotify morning email",
                              description="Build (and send) the morning email with yesterday's "
                              "burn. With no --config and no --bill: the bundled sample and a "
                              "demo configuration.")
    ntf.add_argument("--config", metavar="FILE", help="configuration (JSON or YAML, local or s3://)")
    ntf.add_argument("--bill", metavar="BILL", help="a billing file instead of the bucket")
    ntf.add_argument("--day", metavar="DAY", help="the day to report (default: days_back ago)")
    ntf.add_argument("--dry-run", action="store_true", help="print the email instead of sending")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; bad input exits 2 with one line on stderr."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "report":
            return _report(args)
        if args.command == "tags":
            return _tags(args)
        if args.command == "grade":
            from .contest.grade import cli_main as grade_main

            return grade_main(args)
        if args.command == "info":
            return _info()
        if args.command == "notify":
            from .notify.morning import cli_main

            return cli_main(args)
        return _sample(args)
    except BrokenPipeError:  # `costlib report | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (CostlibError, OSError) as err:  # OSError: the output cannot be written (a full
        print(f"costlib: error: {err}", file=sys.stderr)  # disk, a closed terminal)
        return 2


def _report(args: argparse.Namespace) -> int:
    from .layout import DEFAULT_TAG
    from .reading import read_condensed
    from .reporting import report
    from .scanning import one_file

    # Streamed: memory bounded by the distinct (day, user, product, ...) keys, not the rows.
    # The read makes no reference cycles worth the collector's sweeps: it is paused meanwhile.
    # (Many files: each file's cycles are swept as usual, or memory would grow file by file.)
    many = bool(args.dask or len(args.bill) > 1 or (args.bill and one_file(args.bill) is None))
    if many or args.start or args.end or args.plot:
        # The answers are numpy; these need pandas too (a window's dates, a plot, a table of
        # many files), which loads on the other core while the file is being read. (Only
        # once the answers' modules are imported above: a module two threads import at once
        # can be seen half made, zoneinfo's list of folders still empty, say.)
        threading.Thread(target=_preload, args=("pandas",), daemon=True).start()
    collecting = gc.isenabled()
    if not many:
        gc.disable()
    try:
        bill = _report_bill(args) if many else read_condensed(
            args.bill[0] if args.bill else sample_path(), args.tag or [DEFAULT_TAG],
            cost=args.cost, progress=False if args.quiet else None)
    finally:
        if collecting:
            gc.enable()
    if args.provider:
        bill = bill.only("Provider", args.provider)
    result = report(bill, tag=args.tag, tz=args.tz, start=args.start,
                    end=args.end, invoice=args.invoice, spread=args.spread)
    if args.plot:
        from .plot import save_plot

        save_plot(result.spend, args.plot)
    if args.json:
        print(json.dumps(result.as_dict(), indent=1, ensure_ascii=False))
    else:
        print(result)
        if args.plot:
            print(f"\nplot saved to {args.plot}")
    return 0


def _tags(args: argparse.Namespace) -> int:
    from .reading import read_condensed
    from .reporting import tag_coverage

    bill = read_condensed(args.bill or sample_path(), cost=args.cost, progress=False)
    coverage = tag_coverage(bill)
    if args.json:
        print(json.dumps(coverage, indent=1, ensure_ascii=False))
    else:
        from .layout import printable

        print(f"{os.path.basename(bill.name)}: {len(coverage['tags'])} tag keys, "
              f"{coverage['cost']} cost {coverage['total']:,.2f}")
        for key, share in coverage["tags"].items():
            print(f"  {printable(key):<40} {100 * share['share']:6.1f}%  "
                  f"{share['values']:>6,} values")
    return 0


def _report_bill(args: argparse.Namespace):
    """Many files (or any on Dask): :func:`costlib.scan` over them."""
    from .layout import DEFAULT_TAG
    from .scanning import dask_client, scan

    options = dict(tag=args.tag or [DEFAULT_TAG], cost=args.cost, jobs=args.jobs,
                   keep_going=args.keep_going, progress=False if args.quiet else None)
    if not args.dask:
        return scan(args.bill or [sample_path()], **options)
    with dask_client(args.dask) as client:
        return scan(args.bill or [sample_path()], client=client, **options)


def _preload(module: str) -> None:
    try:
        importlib.import_module(module, __package__)
    except Exception:  # raised again, and reported, where the module is used
        pass


def _info() -> int:
    from importlib.metadata import PackageNotFoundError, version

    from .fastpath import status

    try:
        release = version("costlib")
    except PackageNotFoundError:  # (run from a checkout that is not installed)
        release = "not installed"
    compiled, why = status()
    print(f"costlib {release}")
    print(f"reader: {'compiled' if compiled else 'pyarrow'} ({why})")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from .sample import write_formats, write_samples

    for path in [*write_samples(args.directory), *write_formats(args.directory)]:
        print(path)
    return 0


def run() -> None:
    """The ``costlib`` command: :func:`main`, then exit with its code."""
    argv = sys.argv[1:]
    report = argv[:1] == ["report"]  # (the command comes first: there are no global options)
    if report:  # numpy reads this when it loads: no linear algebra here, and its BLAS threads
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # would spin on the reading cores
    code = main(argv)
    if report:
        # Tearing pandas, numpy and pyarrow down in order takes a good part of a small
        # report's time, and nothing is left to finish once the output is out.
        try:
            sys.stdout.flush()
        except BrokenPipeError:  # the reader left: nothing is wrong
            pass
        except OSError as err:
            print(f"costlib: error: {err}", file=sys.stderr)
            code = code or 2
        with contextlib.suppress(OSError):
            sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
