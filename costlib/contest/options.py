"""The ``grade`` command's options, apart from the grader so that ``costlib`` starts without
loading it (argparse only)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``grade`` command's arguments (``costlib grade`` and ``python -m
    costlib.contest.grade``)."""
    parser.add_argument("submissions", nargs="?", metavar="SUBMISSIONS_DIR")
    parser.add_argument("--bill", metavar="BILL",
                        help="the bill to grade on (one the contestants never saw)")
    parser.add_argument("--invoice", metavar="AMOUNT|FILE",
                        help="invoice amount or report, for a bill without total rows")
    parser.add_argument("--out", default="results", metavar="RESULTS_DIR",
                        help="where the leaderboard and feedback go (default: ./results); "
                        "rows of submissions not graded this time are kept")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="grade these hand-ins only (paths relative to SUBMISSIONS_DIR)")
    parser.add_argument("--window", metavar="START,END",
                        help="bonus window, UTC, end excluded (default: COSTLIB_WINDOW, else "
                        "the 8th 06:00 to the 15th 18:00 of the bill's month)")
    for name, kind, meta, text in (
            ("wall", float, "SECONDS", "wall-time limit per notebook (default 600)"),
            ("cpu", int, "SECONDS", "CPU-time limit per notebook (default 600)"),
            ("memory", float, "GIB", "memory limit per process (default 4)"),
            ("disk", float, "MIB", "what a notebook may write, in all (default 512)"),
            ("processes", int, "N", "processes and threads per notebook (default 128)"),
            ("jobs", int, "N", "notebooks at once (default: one per core, at most 8)")):
        parser.add_argument(f"--{name}", type=kind, metavar=meta, help=text)
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run notebooks without bubblewrap's sandbox (only inside a "
                        "throwaway container; the leaderboard says so)")
    parser.add_argument("--check", action="store_true",
                        help="say what isolation this machine gives notebooks, and exit")
