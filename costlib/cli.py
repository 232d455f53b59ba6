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
from .layout import DEFAULT_TAG


def _parser() -> argparse.ArgumentParser:
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
    rep.add_argument("--invoice", metavar="AMOUNT|FILE",
                     help="invoice amount, or the monthly aws-billing-csv invoice report")
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
    grd.add_argument("submissions", metavar="SUBMISSIONS_DIR")
    grd.add_argument("--bill", required=True, metavar="BILL",
                     help="the bill to grade on (one the contestants never saw)")
    grd.add_argument("--invoice", metavar="AMOUNT|FILE",
                     help="invoice amount or report, for a bill without total rows")
    grd.add_argument("--out", default="results", metavar="RESULTS_DIR",
                     help="where the leaderboard and feedback go (default: ./results)")
    grd.add_argument("--window", metavar="START,END",
                     help="bonus window, UTC, end excluded (default: COSTLIB_WINDOW, else the "
                     "8th 06:00 to the 15th 18:00 of the bill's month)")
    grd.add_argument("--wall", type=float, metavar="SECONDS",
                     help="wall-time limit per notebook (default 600)")
    grd.add_argument("--cpu", type=int, metavar="SECONDS",
                     help="CPU-time limit per notebook (default 600)")
    grd.add_argument("--memory", type=float, metavar="GIB",
                     help="memory limit per notebook (default 4)")
    grd.add_argument("--jobs", type=int, metavar="N",
                     help="notebooks at once (default: one per core, at most 8)")

    smp = commands.add_parser("sample", help="write the synthetic sample bills",
                              description="Write the synthetic sample bills into DIR.")
    smp.add_argument("directory", nargs="?", default="samples", metavar="DIR",
                     help="folder to write into (default: ./samples)")
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
        if args.command == "grade":
            from .grade import cli_main as grade_main

            return grade_main(args)
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
    from .reading import read_condensed
    from .scanning import one_file

    # pandas, which the answers need, loads on the other core while the file is being read.
    threading.Thread(target=_preload, args=("pandas",), daemon=True).start()
    # Streamed: memory bounded by the distinct (day, user, product, ...) keys, not the rows.
    # The read makes no reference cycles worth the collector's sweeps: it is paused meanwhile.
    # (Many files: each file's cycles are swept as usual, or memory would grow file by file.)
    many = bool(args.dask or len(args.bill) > 1 or (args.bill and one_file(args.bill) is None))
    collecting = gc.isenabled()
    if not many:
        gc.disable()
    try:
        bill = _report_bill(args) if many else read_condensed(
            args.bill[0] if args.bill else sample_path(), tag=args.tag or [DEFAULT_TAG],
            progress=False if args.quiet else None)
    finally:
        if collecting:
            gc.enable()
    from .reporting import report

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


def _report_bill(args: argparse.Namespace):
    """Many files (or any on Dask): :func:`costlib.scan` over them."""
    from .scanning import dask_client, scan

    options = dict(tag=args.tag or [DEFAULT_TAG], jobs=args.jobs, keep_going=args.keep_going,
                   progress=False if args.quiet else None)
    if not args.dask:
        return scan(args.bill or [sample_path()], **options)
    with dask_client(args.dask) as client:
        return scan(args.bill or [sample_path()], client=client, **options)


def _preload(module: str) -> None:
    try:
        importlib.import_module(module, __package__)
    except Exception:  # raised again, and reported, where the module is used
        pass


def _sample(args: argparse.Namespace) -> int:
    from .sample import write_samples

    for path in write_samples(args.directory):
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
