"""Grade a folder of contest submissions on a bill the contestants never saw.

    costlib grade --check
    costlib grade SUBMISSIONS_DIR --bill BILL [--invoice AMOUNT|FILE] [--out RESULTS_DIR]
                  [--only NAME...] [--no-sandbox] [--wall/--cpu/--memory/--disk/--processes]

A submission is a notebook (``.ipynb``), executed in bubblewrap's sandbox under limits
(:mod:`costlib.contest.sandbox`) with the instructor's bill, window and invoice swapped in
through ``COSTLIB_*``, every cell even after one fails; or an answers file (``.json``) written
by :func:`costlib.contest.submit`, scored as it is. A notebook's answers are those ``submit``
wrote, else those its variables held after the last cell; a failing check cell costs its task.
Every task is scored with :func:`costlib.contest.answers.differences` against
:func:`costlib.contest.answers.expected` on that bill, points from
:data:`costlib.contest.TASKS`; the notebook's ``metadata.costlib.track`` says what it may
import (:data:`~costlib.contest.sandbox.TRACKS`).

Feedback names a typical mistake where the answers it gives on the same bill, computed with
costlib (spend binned by ``UsageEndDate``, total rows counted as charges, UnBlendedCost,
untagged spend dropped, a fixed UTC offset, the practice month's answers), are those handed
in; ``leaderboard.md`` says which mistakes the bill cannot tell apart. Only the grader writes
the results, each file whole, merged with the rows already in ``--out``; the same folder and
bill give the same files, only ``grading.log`` holds times.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import dataclasses
import datetime as dt
import hashlib
import importlib.util
import io
import itertools
import json
import os
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from .. import contest, money
from ..errors import CostlibError
from ..files import read_s3, sample_path
from ..reading import Bill, read
from ..spending import UNTAGGED, spend
from ..timezones import PACIFIC
from .answers import differences, expected
from .options import add_arguments
from .sandbox import (
    FIXED_ENV,
    GIB,
    TRACKS,
    Limits,
    Run,
    _clip,
    _size,
    allow_runs,
    isolation,
    run_notebook,
    stop_all,
)

KINDS = (".ipynb", ".json")
MAX_NOTEBOOK = 50 * 2**20  #: bytes; a bigger hand-in is not run
MAX_ANSWERS = 10 * 2**20  #: bytes; answers files are a few kilobytes
SHOWN = 5  #: differences listed per task in the feedback
TOTAL_POINTS = sum(t.points for t in contest.TASKS)


class GradeError(CostlibError, ValueError):
    """Grading cannot start: no such folder, nothing to grade, results cannot be written."""


@dataclass(frozen=True)
class Mistake:
    """A typical mistake: what to tell the contestant, and the answers it gives on this bill."""

    family: str
    message: str
    answers: dict


@dataclass
class Result:
    """One submission graded: its track, points per task key, the total, the feedback text
    (Markdown)."""

    submission: str
    points: dict[str, int]
    feedback: str
    run: Run | None = field(default=None, repr=False)
    track: str = "by-hand"

    @property
    def score(self) -> int:
        return sum(self.points.values())


@dataclass(frozen=True)
class _Setting:
    bill: Bill
    bill_path: Path
    invoice: str | None
    invoice_file: Path | None
    window: tuple[str, str]
    right: dict
    mistakes: tuple[Mistake, ...]
    limits: Limits
    sandbox: bool = True
    isolation: str = ""
    blind: tuple[str, ...] = ()


def grade(submissions: str | os.PathLike, bill: str | os.PathLike, *, invoice: str | None = None,
          window: tuple[str, str] | None = None, out: str | os.PathLike = "results",
          limits: Limits | None = None, jobs: int | None = None,
          progress: Callable[[str], None] | None = print, sandbox: bool = True,
          only: list[str] | None = None) -> list[Result]:
    """Grade every ``.ipynb`` and ``.json`` under ``submissions`` (or the ``only`` ones) on
    ``bill``; write ``leaderboard.csv``, ``leaderboard.md``, ``feedback/*.md``,
    ``grading.json`` and ``grading.log`` into ``out``, keeping the rows of submissions not
    graded this time; return this grading's results, best first.

    Notebooks run in bubblewrap's sandbox (:mod:`costlib.contest.sandbox`); without it grading
    refuses to start unless ``sandbox=False`` (``--no-sandbox``), which the leaderboard
    records. ``invoice`` and ``window`` default to ``contest.invoice()`` and
    ``contest.window(bill)``. Raises :class:`GradeError` (or another :class:`CostlibError`
    for a bad bill or invoice) when grading cannot start; never for anything a submission
    does. Ctrl-C stops the runs, writes the results of those done, and raises
    ``KeyboardInterrupt`` again.
    """
    folder, results_dir = Path(submissions), Path(out)
    if not folder.is_dir():
        raise GradeError(f"{folder}: no such folder of submissions")
    found, skipped = find_submissions(folder, skip=results_dir)
    if only:
        unknown = [name for name in only if name not in found]
        if unknown:
            raise GradeError(f"{unknown[0]}: no such hand-in in {folder} (names are paths "
                             "relative to the folder, e.g. class-b/ann.ipynb)")
        found = [name for name in found if name in set(only)]
    if not found:
        raise GradeError(f"{folder}: nothing to grade (hand-ins are .ipynb notebooks or .json "
                         "answers files)")
    notebooks = any(name.lower().endswith(".ipynb") for name in found)
    missing = [m for m in ("nbclient", "ipykernel") if importlib.util.find_spec(m) is None]
    if missing and notebooks:
        raise GradeError(f"running notebooks needs {' and '.join(missing)}: "
                         f"pip install {' '.join(missing)}")
    found_isolation = isolation()
    if sandbox and notebooks and found_isolation.kind != "bwrap":
        raise GradeError(f"no sandbox for the notebooks: {found_isolation.reason}; install "
                         "bubblewrap (apt-get install bubblewrap), or grade in a throwaway "
                         "container with --no-sandbox")
    say = progress or (lambda _: None)
    limits = limits or Limits()
    described = (f"bubblewrap {found_isolation.version}" if sandbox else
                 "none (--no-sandbox: notebooks ran as plain processes)")
    with tempfile.TemporaryDirectory(prefix="costlib-grade-") as tmp:
        setting = dataclasses.replace(_setting(Path(tmp), bill, invoice, window, limits),
                                      sandbox=sandbox, isolation=described)
        unset = _limits_unset(limits)
        if unset:
            say(f"warning: this system cannot set the {' and '.join(unset)} limits; "
                "notebooks run under the wall-time limit only")
        if not sandbox and notebooks:
            say("warning: --no-sandbox: notebooks run as plain processes, as you")
        for name, reason in skipped:
            say(f"skipped  {name}: {reason}")
        say(f"grading {len(found)} submissions on {setting.bill_path.name}")
        if setting.blind:
            say("this bill cannot tell apart: " + "; ".join(setting.blind))
        workers = max(1, jobs or min(os.cpu_count() or 1, 8))
        results, interrupted = _grade_all(folder, found, setting, Path(tmp), workers, say)
    results.sort(key=lambda r: (-r.score, r.submission))
    _write_results(results, results_dir, setting, skipped)
    say(f"results in {results_dir / 'leaderboard.md'}")
    if interrupted:
        raise KeyboardInterrupt(f"{len(results)} of {len(found)} graded before Ctrl-C; their "
                                f"results are in {results_dir}")
    return results


def _grade_all(folder: Path, found: list[str], setting: _Setting, tmp: Path, workers: int,
               say: Callable[[str], None]) -> tuple[list[Result], bool]:
    """Every hand-in graded, ``workers`` at a time; on Ctrl-C the runs are stopped and only
    the results finished before it are kept."""
    stopping = threading.Event()

    def one(item: tuple[int, str]) -> Result | None:
        index, name = item
        if stopping.is_set():
            return None
        result = _grade_one(folder / name, name, setting, tmp / f"s{index}")
        if stopping.is_set():
            return None
        run = result.run
        say(f"{result.score:>3}/{TOTAL_POINTS}  {name}"
            + (f"  ({run.status}, {run.seconds:.1f} s)" if run else ""))
        return result

    allow_runs()
    pool = concurrent.futures.ThreadPoolExecutor(workers)
    futures = []
    try:
        futures += [pool.submit(one, item) for item in enumerate(found)]
        concurrent.futures.wait(futures)
    except KeyboardInterrupt:
        stopping.set()
        stop_all()
        pool.shutdown(wait=True, cancel_futures=True)
        done = [f.result() for f in futures if f.done() and not f.cancelled()]
        return [r for r in done if r is not None], True
    pool.shutdown()
    return [r for r in (f.result() for f in futures) if r is not None], False


def find_submissions(folder: Path, skip: Path | None = None
                     ) -> tuple[list[str], list[tuple[str, str]]]:
    """The hand-ins under ``folder`` as sorted relative paths (``/``-separated), and every
    other file left out with the reason: hidden ones (``.ipynb_checkpoints``), symbolic
    links (never followed: they may point anywhere), other kinds of files. The results folder
    ``skip`` is left out silently."""
    skip_dir = skip.resolve() if skip is not None else None
    names, skipped = [], []
    for top, dirs, files in os.walk(folder):
        here = Path(top)
        for name in list(dirs):
            path = here / name
            rel = path.relative_to(folder).as_posix()
            if skip_dir is not None and path.resolve() == skip_dir:
                dirs.remove(name)
            elif path.is_symlink():
                dirs.remove(name)
                skipped.append((rel + "/", "a symbolic link to a folder (not followed)"))
        for name in files:
            path = here / name
            rel = path.relative_to(folder)
            reason = _skip_reason(path, rel)
            if reason:
                skipped.append((rel.as_posix(), reason))
            else:
                names.append(rel.as_posix())
    return sorted(names), sorted(skipped)


def _skip_reason(path: Path, rel: Path) -> str:
    """Why a file is not a hand-in, or ``""`` when it is one."""
    if path.is_symlink():
        return "a symbolic link (not followed: it may point anywhere)"
    if any(part == "__MACOSX" for part in rel.parts):
        return "macOS archive metadata"
    if any(part.startswith(".") for part in rel.parts):
        return "hidden (a name starting with a dot, such as .ipynb_checkpoints)"
    if not path.is_file():
        return "not a regular file"
    if path.suffix.lower() not in KINDS:
        return "not a notebook (.ipynb) or an answers file (.json)"
    return ""


def cli_main(args: argparse.Namespace) -> int:
    """``costlib grade``: grade, print one line per submission; 0 once grading finished,
    whatever the scores; 130 after Ctrl-C (with the results done so far written).

    Reads the arguments :func:`add_arguments` defines; those an older parser lacks take
    their defaults.
    """
    if getattr(args, "check", False):
        return check()
    if not args.submissions or not args.bill:
        raise GradeError("grade needs SUBMISSIONS_DIR and --bill BILL (or --check)")
    limits = Limits()
    for name, scale in (("wall", 1), ("cpu", 1), ("memory", GIB), ("disk", 2**20),
                        ("processes", 1)):
        value = getattr(args, name, None)
        if value is not None:
            if value <= 0:
                raise GradeError(f"--{name} must be more than 0, not {value}")
            limits = dataclasses.replace(limits, **{name: type(getattr(limits, name))(
                value * scale)})
    window = getattr(args, "window", None)
    if isinstance(window, str):
        window = tuple(p.strip() for p in window.split(","))
        if len(window) != 2 or not all(window):
            raise GradeError(f"--window must be START,END, not {args.window!r}")
    try:
        grade(args.submissions, args.bill, invoice=args.invoice, window=window, out=args.out,
              limits=limits, jobs=getattr(args, "jobs", None),
              sandbox=not getattr(args, "no_sandbox", False), only=getattr(args, "only", None))
    except KeyboardInterrupt as stop:
        print(f"costlib: interrupted: {str(stop) or 'nothing graded yet'}", file=sys.stderr)
        return 130
    return 0


def check() -> int:
    """``costlib grade --check``: print the isolation notebooks get here; 0 with a sandbox,
    1 without one."""
    found = isolation()
    print(found.describe())
    print(f"Every run: TZ={FIXED_ENV['TZ']}, LC_ALL={FIXED_ENV['LC_ALL']}, limits "
          f"{Limits().describe()} (change them with --wall, --cpu, --memory, --disk, "
          "--processes).")
    return 0 if found.kind == "bwrap" else 1


def main(argv: list[str] | None = None) -> int:
    """``python -m costlib.contest.grade``: the ``grade`` command with every option."""
    parser = argparse.ArgumentParser(prog="python -m costlib.contest.grade",
                                     description="Grade a folder of contest submissions.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return cli_main(args)
    except BrokenPipeError:  # `... --check | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (CostlibError, OSError) as err:
        print(f"costlib: error: {err}", file=sys.stderr)
        return 2


# ------------------------------------------------------------------------- the setting


def _setting(tmp: Path, bill: str | os.PathLike, invoice: str | None,
             window: tuple[str, str] | None, limits: Limits) -> _Setting:
    """The bill copied here (once, from S3 too), costlib's answers and the mistakes' ones."""
    bill_path = _local(tmp / "bill", os.fspath(bill))
    invoice = invoice if invoice is not None else contest.invoice()
    invoice_file = None
    if invoice and (invoice.startswith("s3://") or os.path.isfile(invoice)):
        invoice_file = _local(tmp / "invoice", invoice)
        invoice = str(invoice_file)
    the_bill = read(bill_path)
    try:
        window = tuple(window) if window is not None else contest.window(bill_path)
    except contest.AnswerError as err:
        raise GradeError(str(err)) from None
    right = expected(the_bill, window, invoice)
    mistakes = tuple(_mistakes(the_bill, right, window, invoice))
    return _Setting(the_bill, bill_path, invoice, invoice_file, window, right, mistakes, limits,
                    blind=_blind(mistakes, right))


def _local(folder: Path, source: str) -> Path:
    """A local copy of a bill or invoice file, keeping its name (it tells the month)."""
    folder.mkdir(parents=True, exist_ok=True)
    if source.startswith("s3://"):
        target = folder / source.rstrip("/").rsplit("/", 1)[-1]
        target.write_bytes(read_s3(source))
        return target
    path = Path(source)
    if not path.is_file():
        read(path)  # raises the one clear error for a missing or unreadable file
        raise GradeError(f"{source}: not a file")
    target = folder / path.name
    shutil.copyfile(path, target)
    return target


def _limits_unset(limits: Limits) -> list[str]:
    try:
        import resource  # noqa: F401
    except ImportError:
        return ["CPU-time", "memory"]
    return []


# ---------------------------------------------------------------------- typical mistakes


def _mistakes(bill: Bill, right: dict, window: tuple[str, str], invoice) -> list[Mistake]:
    """Each typical mistake with the answers it gives on ``bill``, computed with costlib."""
    found = []
    ends = dataclasses.replace(bill, items=bill.items.assign(
        UsageStartDate=bill.items["UsageEndDate"]))
    by_end = expected(ends, window, invoice)
    found.append(Mistake("end", "Your days are shifted by one hour: did you bin by "
                         "UsageEndDate? A row's cost belongs to the hour (and day) of its "
                         "UsageStartDate; binned by its end, every day loses its 23:00 hour "
                         "to the next.",
                         {k: by_end[k] for k in ("daily", "window_total", "window_users",
                                                 "pacific_daily")}))
    found += _total_row_mistakes(bill, right)
    if bill.cost_column == "BlendedCost" and "UnBlendedCost" in bill.items:
        unblended = expected(dataclasses.replace(bill, items=bill.items.assign(
            BlendedCost=bill.items["UnBlendedCost"])), window, invoice)
        found.append(Mistake("unblended", "Your amounts are UnBlendedCost: the contest asks "
                             "for BlendedCost, what each account pays at the family's "
                             "averaged rates.", {k: unblended[k] for k in (
                                 "blended_total", "users", "daily", "window_total",
                                 "window_users", "pacific_daily")}))
    untagged = right["users"].get(UNTAGGED, 0.0)
    if untagged:
        inside = right["window_users"].get(UNTAGGED, 0.0)
        found.append(Mistake("untagged", 'Untagged spend is missing: rows without a user:Owner '
                             'value count under "(untagged)". A user left out counts as $0, so '
                             "the users no longer add up to the total.", {
                                 "users": _without_untagged(right["users"]),
                                 "users_equal_total": False,
                                 "daily": {d: _without_untagged(u)
                                           for d, u in right["daily"].items()},
                                 "window_users": _without_untagged(right["window_users"]),
                                 "window_total": right["window_total"] - inside}))
    found += _offset_mistakes(bill)
    if right["rows"] != len(bill.items):
        found.append(Mistake("rows", "The total rows are data records too: count every record "
                             "after the header.", {"rows": len(bill.items)}))
    found.append(Mistake("rows", "You counted the header line: rows is the number of records "
                         "after it.", {"rows": right["rows"] + 1}))
    practice = _practice_answers()
    if practice is not None and practice["month"] != right["month"]:
        found.append(Mistake("practice", f"These are the practice month's answers "
                             f"({practice['month']}), not this bill's: did you type in numbers "
                             "or a file name from the practice month? Open the bill with "
                             "contest.bill_path() and compute everything from it.", practice))
    return found


def _total_row_mistakes(bill: Bill, right: dict) -> list[Mistake]:
    """Totals that add in some kinds of total rows, smallest combinations first."""
    if not len(bill.controls) or "RecordType" not in bill.controls:
        return []
    amounts = money.units(bill.controls[bill.cost_column].fillna(0).to_numpy())
    kinds: dict[str, int] = {}
    for kind, amount in zip(bill.controls["RecordType"], amounts, strict=True):
        kinds[str(kind)] = kinds.get(str(kind), 0) + int(amount)
    total = money.units([right["blended_total"]])[0]
    untagged = right["users"].get(UNTAGGED, 0.0)
    found = []
    for size in range(1, len(kinds) + 1):
        for combo in itertools.combinations(sorted(kinds), size):
            extra = sum(kinds[k] for k in combo)
            if not extra:
                continue
            times = (total + extra) / total if total else 0
            how = (f"counts the bill {'twice' if round(times) == 2 else f'{round(times)} times'}"
                   if times > 1.5 and abs(times - round(times)) < 0.05 else "counts total rows")
            found.append(Mistake("total rows", f"Your total {how}: it adds in the total rows "
                                 f"({', '.join(combo)}), which repeat the sum of the charges. "
                                 "Sum the charge rows only; leave out every total and rounding "
                                 "row.", {"blended_total": money.dollars(total + extra),
                                          "users": {**right["users"], UNTAGGED:
                                                    untagged + money.dollars(extra)}}))
    return found


def _offset_mistakes(bill: Bill) -> list[Mistake]:
    """Pacific days with a fixed offset, or none at all."""
    first, switch = _dst_switch(bill)
    to = "daylight time (UTC-7)" if first == -8 else "standard time (UTC-8)"
    when = (f"Seattle switches to {to} on {switch}" if switch else
            "Seattle is on UTC-7 in summer, UTC-8 in winter")
    fixed = ("Your Pacific days use a fixed {}, but {}: the offset depends on the date (PST "
             "UTC-8; PDT UTC-7 from the second Sunday of March to the first Sunday of November).")
    found = []
    for zone, label, message in (
            ("Etc/GMT+8", "UTC-8", fixed.format("UTC-8", when)),
            ("Etc/GMT+7", "UTC-7", fixed.format("UTC-7", when)),
            ("UTC", "UTC", "Your Pacific days are UTC days: move each time to Seattle time "
             "(UTC-8, or UTC-7 in summer) before taking its day.")):
        days = spend(bill, tz=zone).daily.sum(axis=1)
        found.append(Mistake(f"offset {label}", message,
                             contest.validate({"pacific_daily": days})))
    return found


def _dst_switch(bill: Bill) -> tuple[int, str | None]:
    """Seattle's UTC offset (hours) on the bill's first Pacific day, and the day it changes."""
    starts = bill.items["UsageStartDate"].dropna()
    if not len(starts):
        return -8, None
    pacific = ZoneInfo(PACIFIC)
    day, last = (t.tz_convert(pacific).date() for t in (starts.min(), starts.max()))

    def offset(day: dt.date) -> int:
        return dt.datetime.combine(day, dt.time(12), pacific).utcoffset() // dt.timedelta(hours=1)

    first = offset(day)
    while day < last:
        day += dt.timedelta(days=1)
        if offset(day) != first:
            return first, day.isoformat()
    return first, None


def _without_untagged(users: dict) -> dict:
    return {u: v for u, v in users.items() if u != UNTAGGED}


_practice_cache: list[dict | None] = []


def _practice_answers() -> dict | None:
    """The bundled practice month's right answers, as a contestant saw them (no COSTLIB_*)."""
    if not _practice_cache:
        saved = {k: os.environ.pop(k) for k in contest.ENV_VARS if k in os.environ}
        try:
            path = sample_path()
            _practice_cache.append(expected(path, contest.window(path), None))
        except CostlibError:
            _practice_cache.append(None)
        finally:
            os.environ.update(saved)
    return _practice_cache[0]


# --------------------------------------------------------------------------- one hand-in


def _grade_one(path: Path, name: str, setting: _Setting, scratch: Path) -> Result:
    """Run (a notebook) and score one hand-in; whatever happens, a result with a reason."""
    run, track, notes = None, "by-hand", []
    try:
        if path.suffix.lower() == ".json":
            answers_file, where, source = path, name, "file"
        else:
            track, note = _track(path)
            notes += [note] if note else []
            run = _run(path, setting, scratch, track)
            answers_file, where, source = _answers_of(run, scratch)
        points, text = _score(name, answers_file, where, run, setting, source, notes)
    except Exception as err:  # the grader's own failure on this hand-in stops no other
        points = {t.key: 0 for t in contest.TASKS}
        text = _feedback(name, setting, run, False, {}, {}, [
            f"The grader could not score this submission ({type(err).__name__}: "
            f"{_clip(str(err), 200)}). Tell your instructor."])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Result(name, points, text, run, track)


def _track(path: Path) -> tuple[str, str]:
    """The track a notebook declares (``metadata.costlib.track``), by-hand when it declares
    none; and a note when it declares something else."""
    try:
        if path.stat().st_size > MAX_NOTEBOOK:
            return "by-hand", ""
        meta = json.loads(path.read_bytes()).get("metadata", {}).get("costlib", {})
        track = meta.get("track") if isinstance(meta, dict) else None
    except (OSError, ValueError, RecursionError, AttributeError):
        return "by-hand", ""
    if track is None or track in TRACKS:
        return track or "by-hand", ""
    return "by-hand", (f"Your notebook's metadata names the track {_clip(str(track), 40)!r}; "
                       f"the tracks are {' and '.join(TRACKS)}: graded as by-hand.")


def _run(path: Path, setting: _Setting, scratch: Path, track: str) -> Run:
    if path.stat().st_size > MAX_NOTEBOOK:
        return Run("unreadable", f"too large to run ({path.stat().st_size / 2**20:.0f} MiB; "
                   f"the limit is {MAX_NOTEBOOK >> 20} MiB)")
    data = scratch / "in" / "data"
    data.mkdir(parents=True)
    bill = data / setting.bill_path.name
    shutil.copyfile(setting.bill_path, bill)  # a copy each, read-only in the sandbox
    invoice = setting.invoice or ""
    if setting.invoice_file is not None:
        invoice = str(data / setting.invoice_file.name)
        shutil.copyfile(setting.invoice_file, invoice)
    variables = {contest.BILL_ENV: str(bill), contest.WINDOW_ENV: ",".join(setting.window),
                 contest.INVOICE_ENV: invoice}
    return run_notebook(path, scratch, variables, setting.limits, sandbox=setting.sandbox,
                        track=track)


def _answers_of(run: Run, scratch: Path) -> tuple[Path, str, str]:
    """Where the run's answers are: the file ``contest.submit`` wrote, else the answers its
    variables held after the last cell (``collected``)."""
    answers_file = scratch / "answers.json"
    if run.answers is not None:
        answers_file.write_text(run.answers, encoding="utf-8")
        return answers_file, "answers.json", "submit"
    if run.collected is not None:
        answers_file.write_text(run.collected, encoding="utf-8")
        return answers_file, "the answers in your variables", "collected"
    return answers_file, "answers.json", "none"


def _score(name: str, answers_file: Path, where: str, run: Run | None, setting: _Setting,
           source: str = "file", notes: list[str] | None = None) -> tuple[dict[str, int], str]:
    """Points per task and the feedback for the answers a hand-in left (if any)."""
    notes = list(notes or [])
    answers, problems, record, handed_in = {}, {}, {}, False
    wrote = answers_file.is_file()
    if wrote:
        try:
            if answers_file.stat().st_size > MAX_ANSWERS:
                raise contest.AnswerError(f"{where}: too large for an answers file")
            answers, problems = contest.load(answers_file)
            record = json.loads(answers_file.read_text(encoding="utf-8"))
            if source == "collected":  # the shapes the kernel's values failed, by name
                found = record.get("problems")
                problems.update({str(k): str(v) for k, v in found.items()}
                                if isinstance(found, dict) else {})
                source = source if answers else "none"
            handed_in = source != "none"
        except Exception as err:  # anything at all may be in a file a contestant made
            message = str(err).replace(str(answers_file), where)
            notes.append(f"Your answers file cannot be scored: {_clip(message)}. Write it "
                         "with one call of contest.submit(...).")
            answers, problems = {}, {}
    graded = setting.bill_path.name
    handed = record.get("bill") if isinstance(record, dict) else None
    if isinstance(handed, str) and handed != graded:
        notes.append(f"Your answers were computed on {_clip(handed, 120)}, not on the bill you "
                     f"were graded on ({graded})"
                     + (": does your notebook set COSTLIB_BILL (%env)?" if run else "."))
    unknown = [n for n in problems if n not in contest.ANSWERS]
    if unknown:
        notes.append("Ignored: " + "; ".join(_clip(problems[n], 120) for n in unknown[:3]))
    diffs = differences(answers, setting.right)
    missing = ": not answered"
    for key, lines in diffs.items():  # an answer of the wrong shape: say why, not "missing"
        diffs[key] = [_clip(problems[p[: -len(missing)]]) if p.endswith(missing)
                      and p[: -len(missing)] in problems else p for p in lines]
    failed = _failed_checks(run) if handed_in else {}
    for key, cell in failed.items():
        number = next(t.number for t in contest.TASKS if t.key == key)
        notes.append(f"The checks of task {number} failed (code cell {cell}): that task "
                     "scores 0, as in nbgrader.")
    points = {t.key: t.points if handed_in and not diffs[t.key] and t.key not in failed else 0
              for t in contest.TASKS}
    text = _feedback(name, setting, run, handed_in, diffs, _diagnose(answers, setting), notes,
                     source, failed)
    return points, text


def _failed_checks(run: Run | None) -> dict[str, int]:
    """Task key -> the code cell of its checks (nbgrader's ``<task>-tests``) that raised."""
    keys = {t.key for t in contest.TASKS}
    failed: dict[str, int] = {}
    for error in run.errors if run is not None else ():
        key = error.grade_id.removesuffix("-tests")
        if error.grade_id.endswith("-tests") and key in keys:
            failed.setdefault(key, error.cell)
    return failed


def _diagnose(answers: dict, setting: _Setting) -> dict[str, list[str]]:
    """Message -> task keys, for each mistake that explains a task's wrong answers: every
    answer of the task it changes on this bill was handed in with its value (a bare yes/no
    alone proves nothing). Where mistakes of several families explain a task alike, those
    that would also have changed an answer handed in right elsewhere are dropped."""
    right = setting.right
    changes = [(m, _changed(m, right)) for m in setting.mistakes]
    found: dict[str, list[str]] = {}
    for task in contest.TASKS:
        candidates = []
        for mistake, changed in changes:
            given = [n for n in changed if n in answers and contest.TASK_OF[n] == task.key]
            if given and all(_same(n, answers[n], mistake.answers[n], right) for n in given) \
                    and not all(contest.ANSWERS[n].shape.startswith("yes/no") for n in given):
                candidates.append((mistake, changed))
        if len({m.family for m, _ in candidates}) > 1:
            plausible = [(m, c) for m, c in candidates if not any(
                n in answers and _same(n, answers[n], right[n], right) for n in c)]
            candidates = plausible or candidates
        families = set()
        for mistake, _ in candidates:
            if mistake.family not in families:
                families.add(mistake.family)
                found.setdefault(mistake.message, []).append(task.key)
    return found


def _changed(mistake: Mistake, right: dict) -> list[str]:
    """The answers a mistake changes on this bill."""
    return [n for n, v in mistake.answers.items()
            if n in contest.ANSWERS and not _same(n, v, right[n], right)]


#: What each family of mistakes is, and the kind of bill that shows it.
FAMILIES = {
    "end": ("binning by UsageEndDate", "a bill whose hours cost different amounts"),
    "total rows": ("counting total rows as charges", "a bill with total rows"),
    "untagged": ("dropping untagged spend", "a bill with untagged spend"),
    "unblended": ("summing UnblendedCost instead of BlendedCost",
                  "a consolidated bill whose blended rates differ from the unblended ones"),
    "offset UTC-8": ("a fixed UTC-8 for Seattle",
                     "a month with a daylight-saving switch: March or November"),
    "offset UTC-7": ("a fixed UTC-7 for Seattle", "a month on standard time"),
    "offset UTC": ("UTC days for Seattle", "a bill with spend near midnight"),
    "rows": ("miscounting rows", "a bill with total rows"),
    "practice": ("the practice month's answers", "a month other than the practice month"),
}


def _blind(mistakes: tuple[Mistake, ...], right: dict) -> tuple[str, ...]:
    """What this bill cannot tell apart: mistakes that give the right answers, and pairs of
    mistakes that give the same ones; each with the kind of bill that would tell."""
    notes, seen = [], set()
    changes = [(m, _changed(m, right)) for m in mistakes]
    for family in dict.fromkeys(m.family for m in mistakes):
        what, better = FAMILIES.get(family, (family, "another bill"))
        if not any(changed for m, changed in changes if m.family == family):
            seen.add(family)
            notes.append(f"{what} from the right answers (try {better})")
    for i, (a, changed_a) in enumerate(changes):
        for b, changed_b in changes[i + 1:]:
            pair = tuple(sorted((a.family, b.family)))
            if (a.family == b.family or pair in seen or not changed_a
                    or set(changed_a) != set(changed_b)):
                continue
            if all(_same(n, a.answers[n], b.answers[n], right) for n in changed_a):
                seen.add(pair)
                notes.append(f"{FAMILIES.get(a.family, (a.family,))[0]} from "
                             f"{FAMILIES.get(b.family, (b.family,))[0]} (the same answers)")
    return tuple(notes)


def _same(name: str, got, want, right: dict) -> bool:
    """Whether two values of one answer score alike (to the cent, missing users as $0)."""
    task = contest.TASK_OF[name]
    return not differences({**right, name: got}, {**right, name: want})[task]


# -------------------------------------------------------------------------- the feedback


def _feedback(name: str, setting: _Setting, run: Run | None, handed_in: bool, diffs: dict,
              diagnoses: dict[str, list[str]], notes: list[str], source: str = "file",
              failed: dict[str, int] | None = None) -> str:
    """The contestant's feedback: score, how the run went, the likely mistakes, a table of
    the tasks, and what was wrong in each."""
    failed = failed or {}
    points = {t.key: t.points if handed_in and not diffs[t.key] and t.key not in failed else 0
              for t in contest.TASKS}
    start, end = setting.window
    invoice = ("the bill's own total rows" if not setting.invoice else
               setting.invoice_file.name if setting.invoice_file else setting.invoice)
    lines = [f"# {_md(name)}: {sum(points.values())} of {TOTAL_POINTS} points", "",
             f"Graded on `{setting.bill_path.name}`; window {start} to {end} (UTC); invoice: "
             f"{_md(invoice)}.", ""]
    if run is not None:
        lines += [_run_line(run, source, setting.limits), ""]
    lines += [f"- {_md(note)}" for note in notes] + ([""] if notes else [])
    if diagnoses:
        lines += ["## Likely mistakes", ""]
        number = {t.key: t.number for t in contest.TASKS}
        lines += [f"- {_md(message)} (task{'s' if len(keys) > 1 else ''} "
                  f"{', '.join(number[k] for k in keys)})" for message, keys in diagnoses.items()]
        lines.append("")
    lines += ["| task | points | result |", "| --- | --- | --- |"]
    for task in contest.TASKS:
        problems = diffs.get(task.key, [])
        result = "right" if handed_in and not problems else (
            "not answered" if not handed_in or _unanswered(problems) else "wrong")
        if task.key in failed:
            result += ", checks failed"
        lines.append(f"| {task.number}. {task.title} | {points[task.key]} / {task.points} "
                     f"| {result} |")
    for task in contest.TASKS:
        problems = diffs.get(task.key, [])
        if not handed_in or not problems or _unanswered(problems):
            continue
        lines += ["", f"## {task.number}. {task.title}", ""]
        lines += [f"- `{_md(p)}`" for p in problems[:SHOWN]]
        if len(problems) > SHOWN:
            lines.append(f"- ... and {len(problems) - SHOWN} more")
    return "\n".join(lines) + "\n"


def _unanswered(problems: list[str]) -> bool:
    return all(p.endswith(": not answered") for p in problems)


def _run_line(run: Run, source: str, limits: Limits) -> str:
    """How the notebook's run went, in a sentence or two, with the limits it ran under."""
    cause = run.message
    where = f" in code cell {run.cell}" if run.cell else ""
    if cause.startswith("MemoryError") and "memory" not in run.unset:
        cause += f" (over the memory limit, {_size(limits.memory)})"
    unfinished = {
        "wall": f"Your notebook was stopped by {cause}{where}",
        "cpu": f"Your notebook was stopped by {cause}{where}",
        "died": f"Your notebook's kernel died{where} ({cause}"
                + (": out of memory?)" if cause in ("SIGKILL", "SIGSEGV") else ")"),
        "failed": f"Your notebook could not be run ({cause})",
    }
    handed = {"submit": "", "collected": " It never handed in with contest.submit(...): the "
              "answers its variables held after the last cell are scored.",
              "none": ""}.get(source, "")
    if run.status == "finished" and run.errors:
        count = len(run.errors)
        text = (f"Every cell of your notebook was run; {count} raised an error, the first"
                f"{where}: {cause}.{handed}")
        if source == "none":
            text += (" Nothing was handed in. Run it top to bottom (Kernel > Restart Kernel "
                     "and Run All Cells) before you hand it in.")
    elif run.status == "finished":
        text = ("Your notebook ran to the end." + handed if source != "none" else
                "Your notebook ran to the end but never called contest.submit(...): nothing "
                "was handed in.")
    elif run.status == "unreadable":
        text = f"This file is {cause}: nothing to run."
    else:
        text = unfinished.get(run.status, f"Your notebook did not finish ({cause})")
        text += (". The answers it handed in before that are scored." if source == "submit"
                 else ", before its last cell (contest.submit(...)): nothing was handed in.")
        if run.status in ("wall", "cpu"):
            text += " An endless loop, or far too slow?"
    limits_text = f"limits: {limits.describe(run.unset)}"
    if run.unset:
        limits_text += f"; not set on this system: {', '.join(run.unset)}"
    return f"{_md(text)} ({limits_text})"


def _md(text: str) -> str:
    """Contestant-made text, safe on one line of Markdown (and in a table cell)."""
    return _clip(str(text), 400).replace("|", "\\|").replace("`", "'")


# ------------------------------------------------------------------------------ results


STATE = "grading.json"  #: every row of the leaderboard, kept between gradings


def feedback_file(submission: str) -> str:
    """The feedback's file name for a submission: a safe slug of its name and a hash of it,
    so that names of any length and character (and ``a/b`` beside ``a-b``) each get their
    own short file."""
    digest = hashlib.sha256(submission.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", submission).strip("-.")[:60] or "hand-in"
    return f"{slug}-{digest}.md"


def _write_results(results: list[Result], out: Path, setting: _Setting,
                   skipped: list[tuple[str, str]] = ()) -> None:
    """Merge this grading's results into ``out``: one feedback file each, the leaderboard
    (CSV and Markdown) of every submission graded there so far, the state and the log; each
    file written whole, then moved into place."""
    try:
        feedback = out / "feedback"
        feedback.mkdir(parents=True, exist_ok=True)
        rows = _load_state(out)
        for result in results:
            _write_atomic(feedback / feedback_file(result.submission), result.feedback)
            rows[result.submission] = {
                "track": result.track, "points": result.points, "score": result.score,
                "feedback": feedback_file(result.submission), "bill": setting.bill_path.name,
                "isolation": setting.isolation}
        order = sorted(rows, key=lambda n: (-rows[n]["score"], n))
        _write_atomic(out / STATE, json.dumps({"submissions": {n: rows[n] for n in order}},
                                              indent=1, ensure_ascii=False) + "\n")
        keys = [t.key for t in contest.TASKS]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["submission", "track", *keys, "score"])
        writer.writerows([_cell(n), rows[n]["track"], *(rows[n]["points"][k] for k in keys),
                          rows[n]["score"]] for n in order)
        _write_atomic(out / "leaderboard.csv", buffer.getvalue())
        _write_atomic(out / "leaderboard.md", _leaderboard_md(rows, order, setting, skipped))
        log = [f"{r.submission}: {r.score}/{TOTAL_POINTS}"
               + (f" {r.run.status} in {r.run.seconds:.1f} s\n{_indent(r.run.log)}"
                  if r.run else "") for r in sorted(results, key=lambda r: r.submission)]
        log += [f"skipped {name}: {reason}" for name, reason in skipped]
        _write_atomic(out / "grading.log", "\n".join(log) + "\n")
    except OSError as err:
        raise GradeError(f"cannot write the results to {out}: {err}") from None


def _load_state(out: Path) -> dict[str, dict]:
    """The rows of earlier gradings into ``out`` (none when there is no readable state)."""
    try:
        rows = json.loads((out / STATE).read_text(encoding="utf-8"))["submissions"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    keys = {t.key for t in contest.TASKS}
    return {n: r for n, r in rows.items() if isinstance(r, dict)
            and set(r.get("points", {})) == keys and isinstance(r.get("score"), int)}


def _leaderboard_md(rows: dict[str, dict], order: list[str], setting: _Setting,
                    skipped) -> str:
    keys = [t.key for t in contest.TASKS]
    start, end = setting.window
    points = ", ".join(f"{t.key} {t.points}" for t in contest.TASKS)
    md = ["# Leaderboard", "", f"Graded on `{setting.bill_path.name}`, window {start} to "
          f"{end} (UTC); isolation: {setting.isolation}. Points per task: {points}; "
          f"{TOTAL_POINTS} in all. The by-hand and with-costlib tracks are ranked apart.", ""]
    md += ["| " + " | ".join(["submission", "track", *keys, "score"]) + " |",
           "|" + " --- |" * (len(keys) + 3)]
    md += ["| " + " | ".join([_md(n), rows[n]["track"], *(str(rows[n]["points"][k])
                                                             for k in keys),
                              str(rows[n]["score"])]) + " |" for n in order]
    other = sorted({(r["bill"], r["isolation"]) for r in rows.values()}
                   - {(setting.bill_path.name, setting.isolation)})
    if other:
        md += ["", "Rows kept from earlier gradings: "
               + "; ".join(f"`{_md(bill)}` (isolation: {_md(how)})" for bill, how in other)]
    if setting.blind:
        md += ["", "This bill cannot tell apart: " + "; ".join(setting.blind) + "."]
    if skipped:
        md += ["", "## Not graded", ""] + [f"- `{_md(n)}`: {r}" for n, r in skipped]
    return "\n".join(md) + "\n"


def _cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _write_atomic(path: Path, text: str) -> None:
    part = path.with_name(f".{path.name}.part")
    part.write_text(text, encoding="utf-8")
    os.replace(part, path)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.strip().splitlines()[-20:])


if __name__ == "__main__":
    sys.exit(main())
