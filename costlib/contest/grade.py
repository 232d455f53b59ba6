"""Grade a folder of contest submissions on a bill the contestants never saw.

    costlib grade SUBMISSIONS_DIR --bill BILL [--invoice AMOUNT|FILE] [--out RESULTS_DIR]

A submission is a notebook (``.ipynb``), executed in a process of its own under limits
(:mod:`costlib.contest.sandbox`) with the instructor's bill, window and invoice swapped in through
``COSTLIB_*``, or an answers file (``.json``) written by :func:`costlib.contest.submit`,
scored as it is. Every task is scored with :func:`costlib.contest.answers.differences` against
:func:`costlib.contest.answers.expected` on that bill, points from :data:`costlib.contest.TASKS`.

Feedback names the typical mistakes by computing, with costlib, the answers each mistake gives
on the same bill (spend binned by ``UsageEndDate``, total rows counted as charges, untagged
spend dropped, a fixed UTC offset, the practice month's answers) and comparing them with what
was handed in. Results are the same files every time for the same folder and bill; only
``grading.log`` holds times.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import dataclasses
import datetime as dt
import importlib.util
import io
import itertools
import json
import os
import shutil
import tempfile
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
from .sandbox import GIB, Limits, Run, _clip, run_notebook

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
    """One submission graded: points per task key, the total, the feedback text (Markdown)."""

    submission: str
    points: dict[str, int]
    feedback: str
    run: Run | None = field(default=None, repr=False)

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


def grade(submissions: str | os.PathLike, bill: str | os.PathLike, *, invoice: str | None = None,
          window: tuple[str, str] | None = None, out: str | os.PathLike = "results",
          limits: Limits | None = None, jobs: int | None = None,
          progress: Callable[[str], None] | None = print) -> list[Result]:
    """Grade every ``.ipynb`` and ``.json`` under ``submissions`` on ``bill``; write
    ``leaderboard.csv``, ``leaderboard.md``, ``feedback/<submission>.md`` and ``grading.log``
    into ``out``; return the results, best first.

    ``invoice`` and ``window`` default to ``contest.invoice()`` and ``contest.window(bill)``
    (the ``COSTLIB_*`` variables, else the bill's own totals and the 8th-15th of its month).
    Raises :class:`GradeError` (or another :class:`CostlibError` for a bad bill or invoice)
    when grading cannot start; never for anything a submission does.
    """
    folder, results_dir = Path(submissions), Path(out)
    if not folder.is_dir():
        raise GradeError(f"{folder}: no such folder of submissions")
    found = find_submissions(folder, skip=results_dir)
    if not found:
        raise GradeError(f"{folder}: nothing to grade (hand-ins are .ipynb notebooks or .json "
                         "answers files)")
    missing = [m for m in ("nbclient", "ipykernel") if importlib.util.find_spec(m) is None]
    if missing and any(name.lower().endswith(".ipynb") for name in found):
        raise GradeError(f"running notebooks needs {' and '.join(missing)}: "
                         f"pip install {' '.join(missing)}")
    say = progress or (lambda _: None)
    limits = limits or Limits()
    with tempfile.TemporaryDirectory(prefix="costlib-grade-") as tmp:
        setting = _setting(Path(tmp), bill, invoice, window, limits)
        unset = _limits_unset(limits)
        if unset:
            say(f"warning: this system cannot set the {' and '.join(unset)} limits; "
                "notebooks run under the wall-time limit only")
        say(f"grading {len(found)} submissions on {setting.bill_path.name}")
        workers = max(1, jobs or min(os.cpu_count() or 1, 8))

        def one(item: tuple[int, str]) -> Result:
            index, name = item
            result = _grade_one(folder / name, name, setting, Path(tmp) / f"s{index}")
            run = result.run
            say(f"{result.score:>3}/{TOTAL_POINTS}  {name}"
                + (f"  ({run.status}, {run.seconds:.1f} s)" if run else ""))
            return result

        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(one, enumerate(found)))
    results.sort(key=lambda r: (-r.score, r.submission))
    _write_results(results, results_dir, setting)
    say(f"results in {results_dir / 'leaderboard.md'}")
    return results


def find_submissions(folder: Path, skip: Path | None = None) -> list[str]:
    """The hand-ins under ``folder`` as sorted relative paths (``/``-separated); hidden
    folders (``.ipynb_checkpoints``) and the results folder ``skip`` are left out."""
    skip_dir = skip.resolve() if skip is not None else None
    names = []
    for path in folder.rglob("*"):
        rel = path.relative_to(folder)
        if any(part.startswith(".") or part == "__MACOSX" for part in rel.parts):
            continue
        if skip_dir is not None and skip_dir in path.resolve().parents:
            continue
        if path.suffix.lower() in KINDS and path.is_file():
            names.append(rel.as_posix())
    return sorted(names)


def cli_main(args: argparse.Namespace) -> int:
    """``costlib grade``: grade, print one line per submission; 0 once grading finished.

    Reads ``submissions``, ``bill``, ``invoice`` and ``out`` from ``args``, and, when the
    parser has them, ``window`` (``"START,END"``), ``wall`` and ``cpu`` (seconds), ``memory``
    (GiB) and ``jobs``.
    """
    limits = Limits()
    for name, scale in (("wall", 1), ("cpu", 1), ("memory", GIB)):
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
    grade(args.submissions, args.bill, invoice=args.invoice, window=window, out=args.out,
          limits=limits, jobs=getattr(args, "jobs", None))
    return 0


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
    window = tuple(window) if window is not None else contest.window(bill_path)
    right = expected(the_bill, window, invoice)
    mistakes = tuple(_mistakes(the_bill, right, window, invoice))
    return _Setting(the_bill, bill_path, invoice, invoice_file, window, right, mistakes, limits)


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
    run = None
    try:
        if path.suffix.lower() == ".json":
            answers_file, where = path, name
        else:
            run = _run(path, setting, scratch)
            answers_file, where = scratch / "answers.json", "answers.json"
        points, text = _score(name, answers_file, where, run, setting, scratch)
    except Exception as err:  # the grader's own failure on this hand-in stops no other
        points = {t.key: 0 for t in contest.TASKS}
        text = _feedback(name, setting, run, False, {}, {}, [
            f"The grader could not score this submission ({type(err).__name__}: "
            f"{_clip(str(err), 200)}). Tell your instructor."])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Result(name, points, text, run)


def _run(path: Path, setting: _Setting, scratch: Path) -> Run:
    if path.stat().st_size > MAX_NOTEBOOK:
        return Run("unreadable", f"too large to run ({path.stat().st_size / 2**20:.0f} MiB; "
                   f"the limit is {MAX_NOTEBOOK >> 20} MiB)")
    data = scratch / "data"
    data.mkdir(parents=True)
    bill = data / setting.bill_path.name
    shutil.copyfile(setting.bill_path, bill)  # a copy each: a notebook may change its own
    invoice = setting.invoice or ""
    if setting.invoice_file is not None:
        invoice = str(data / setting.invoice_file.name)
        shutil.copyfile(setting.invoice_file, invoice)
    variables = {contest.BILL_ENV: str(bill), contest.WINDOW_ENV: ",".join(setting.window),
                 contest.INVOICE_ENV: invoice,
                 contest.ANSWERS_ENV: str(scratch / "answers.json")}
    return run_notebook(path, scratch, variables, setting.limits)


def _score(name: str, answers_file: Path, where: str, run: Run | None, setting: _Setting,
           scratch: Path) -> tuple[dict[str, int], str]:
    """Points per task and the feedback for the answers file a hand-in left (if any)."""
    notes: list[str] = []
    answers, problems, record, handed_in = {}, {}, {}, False
    wrote = answers_file.is_file()
    if wrote:
        try:
            if answers_file.stat().st_size > MAX_ANSWERS:
                raise contest.AnswerError(f"{where}: too large for an answers file")
            answers, problems = contest.load(answers_file)
            record = json.loads(answers_file.read_text(encoding="utf-8"))
            handed_in = True
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
    points = {t.key: t.points if handed_in and not diffs[t.key] else 0 for t in contest.TASKS}
    text = _feedback(name, setting, run, handed_in, diffs, _diagnose(answers, setting), notes,
                     wrote, scratch)
    return points, text


def _diagnose(answers: dict, setting: _Setting) -> dict[str, list[str]]:
    """Message -> task keys, for each mistake whose answers equal a wrong answer handed in
    (one mistake per family and answer: the simplest that fits)."""
    right = setting.right
    found: dict[str, list[str]] = {}
    for name, got in answers.items():
        if name not in contest.ANSWERS or _same(name, got, right[name], right):
            continue
        families = set()
        for mistake in setting.mistakes:
            if name not in mistake.answers or mistake.family in families:
                continue
            wrong = mistake.answers[name]
            if not _same(name, wrong, right[name], right) and _same(name, got, wrong, right):
                families.add(mistake.family)
                keys = found.setdefault(mistake.message, [])
                if contest.TASK_OF[name] not in keys:
                    keys.append(contest.TASK_OF[name])
    order = [t.key for t in contest.TASKS]
    return {m: sorted(keys, key=order.index) for m, keys in found.items()}


def _same(name: str, got, want, right: dict) -> bool:
    """Whether two values of one answer score alike (to the cent, missing users as $0)."""
    task = contest.TASK_OF[name]
    return not differences({**right, name: got}, {**right, name: want})[task]


# -------------------------------------------------------------------------- the feedback


def _feedback(name: str, setting: _Setting, run: Run | None, handed_in: bool, diffs: dict,
              diagnoses: dict[str, list[str]], notes: list[str], wrote: bool = False,
              scratch: Path | None = None) -> str:
    """The contestant's feedback: score, how the run went, the likely mistakes, a table of
    the tasks, and what was wrong in each."""
    points = {t.key: t.points if handed_in and not diffs[t.key] else 0 for t in contest.TASKS}
    start, end = setting.window
    invoice = ("the bill's own total rows" if not setting.invoice else
               setting.invoice_file.name if setting.invoice_file else setting.invoice)
    lines = [f"# {_md(name)}: {sum(points.values())} of {TOTAL_POINTS} points", "",
             f"Graded on `{setting.bill_path.name}`; window {start} to {end} (UTC); invoice: "
             f"{_md(invoice)}.", ""]
    if run is not None:
        lines += [_run_line(run, wrote, setting.limits, scratch), ""]
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


def _run_line(run: Run, wrote: bool, limits: Limits, scratch: Path | None) -> str:
    """How the notebook's run went, in a sentence or two, with the limits it ran under."""
    cause = run.message.replace(str(scratch), "<scratch>") if scratch else run.message
    where = f" in code cell {run.cell}" if run.cell else ""
    if run.status == "error" and cause.startswith("MemoryError"):
        cause += f" (over the memory limit, {limits.describe(run.unset).split('memory ')[-1]})"
    unfinished = {
        "error": f"Your notebook stopped{where} with {cause}",
        "wall": f"Your notebook was stopped by {cause}{where}",
        "cpu": f"Your notebook was stopped by {cause}{where}",
        "died": f"Your notebook's kernel died{where} ({cause}"
                + (": out of memory?)" if cause in ("SIGKILL", "SIGSEGV") else ")"),
        "failed": f"Your notebook could not be run ({cause})",
    }
    if run.status == "finished":
        text = ("Your notebook ran to the end." if wrote else "Your notebook ran to the end "
                "but never called contest.submit(...): nothing was handed in.")
    elif run.status == "unreadable":
        text = f"This file is {cause}: nothing to run."
    else:
        text = unfinished.get(run.status, f"Your notebook did not finish ({cause})")
        text += (". The answers it handed in before that are scored." if wrote else
                 ", before its last cell (contest.submit(...)): nothing was handed in.")
        if run.status == "error" and not wrote and not cause.startswith("MemoryError"):
            text += (" Run it top to bottom (Kernel > Restart Kernel and Run All Cells) "
                     "before you hand it in.")
        elif run.status in ("wall", "cpu"):
            text += " An endless loop, or far too slow?"
    limits_text = f"limits: {limits.describe(run.unset)}"
    if run.unset:
        limits_text += f"; not set on this system: {', '.join(run.unset)}"
    return f"{_md(text)} ({limits_text})"


def _md(text: str) -> str:
    """Contestant-made text, safe on one line of Markdown (and in a table cell)."""
    return _clip(str(text), 400).replace("|", "\\|").replace("`", "'")


# ------------------------------------------------------------------------------ results


def _write_results(results: list[Result], out: Path, setting: _Setting) -> None:
    """The leaderboard as CSV and Markdown, one feedback file per submission, and the log."""
    try:
        feedback = out / "feedback"
        feedback.mkdir(parents=True, exist_ok=True)
        keys = [t.key for t in contest.TASKS]
        rows = [[r.submission, *(r.points[k] for k in keys), r.score] for r in results]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["submission", *keys, "score"])
        writer.writerows(rows)
        (out / "leaderboard.csv").write_text(buffer.getvalue(), encoding="utf-8")
        start, end = setting.window
        points = ", ".join(f"{t.key} {t.points}" for t in contest.TASKS)
        md = ["# Leaderboard", "", f"Graded on `{setting.bill_path.name}`, window {start} to "
              f"{end} (UTC). Points per task: {points}; {TOTAL_POINTS} in all.", ""]
        md += ["| " + " | ".join(["submission", *keys, "score"]) + " |",
               "|" + " --- |" * (len(keys) + 2)]
        md += ["| " + " | ".join([_md(row[0]), *map(str, row[1:])]) + " |" for row in rows]
        (out / "leaderboard.md").write_text("\n".join(md) + "\n", encoding="utf-8")
        wanted = set()
        for result in results:
            target = feedback / f"{result.submission}.md"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(result.feedback, encoding="utf-8")
            wanted.add(target.resolve())
        for old in feedback.rglob("*.md"):  # feedback of hand-ins no longer in the folder
            if old.resolve() not in wanted:
                old.unlink()
        log = [f"{r.submission}: {r.score}/{TOTAL_POINTS}"
               + (f" {r.run.status} in {r.run.seconds:.1f} s\n{_indent(r.run.log)}"
                  if r.run else "") for r in sorted(results, key=lambda r: r.submission)]
        (out / "grading.log").write_text("\n".join(log) + "\n", encoding="utf-8")
    except OSError as err:
        raise GradeError(f"cannot write the results to {out}: {err}") from None


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.strip().splitlines()[-20:])

