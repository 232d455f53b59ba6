"""costlib's compiled reader beside its peers, in paired, interleaved runs.

    python bench/peers.py --keep /tmp/bills                  # the 2M month, 7 rounds
    python bench/peers.py --sizes 2m,10m --rounds 5 --keep /tmp/bills
    python bench/peers.py --stages --keep /tmp/bills         # where costlib's time goes

The same job as ``bench/run.py`` (the month's blended total, per user, per UTC day and user),
each way in a fresh process, every way once a round, in a new order each round (so a noisy
neighbour hurts all alike):

=================  ========================================================================
``costlib``        ``costlib report BILL --json``, the compiled reader (``costlib._reduce``)
``costlib-off``    the same with ``COSTLIB_COMPILED=0``: the pyarrow path
``floor``          inflating with ``zlib`` and nothing else (``bench/jobs.py floor``)
``isal-floor``     inflating with ISA-L and checking the CRC, into one reused 256 KiB buffer
``polars-chunks``  polars ``read_csv`` on 16 MB chunks streamed from the zip
``polars-scan``    polars ``scan_csv`` (streaming) on the CSV extracted beforehand (not counted)
``duckdb-isal``    DuckDB on the CSV extracted with ISA-L (counted), the cost column typed
=================  ========================================================================

Each figure is the median over the rounds; each ratio the median of the ratios taken round by
round against the zlib floor (and against ``costlib``), which holds when the machine's speed
drifts. Before the table, every way's total and per-user totals are checked against costlib's
to the cent (the script exits 1 if they disagree). Needs ``pip install -e ".[bench]"``
(DuckDB, polars); a way whose module is missing is left out.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import JOBS, ROOT, answer, month, run_once, say_agreement  # noqa: E402

WAYS = ("costlib", "costlib-off", "floor", "isal-floor", "polars-chunks", "polars-scan",
        "duckdb-isal")
NEEDS = {"polars-chunks": "polars", "polars-scan": "polars", "duckdb-isal": "duckdb",
         "isal-floor": "isal"}


def command(way: str, bill: Path, extracted: Path) -> tuple[list[str], dict]:
    """The argv and the extra environment of one way."""
    if way in ("costlib", "costlib-off"):
        env = {"COSTLIB_COMPILED": "0" if way == "costlib-off" else "1"}
        return [sys.executable, "-m", "costlib.cli", "report", str(bill), "--json"], env
    target = extracted if way == "polars-scan" else bill
    return [sys.executable, str(JOBS), way, str(target)], {}


def available(way: str) -> bool:
    needs = NEEDS.get(way)
    return needs is None or subprocess.run([sys.executable, "-c", f"import {needs}"],
                                           capture_output=True).returncode == 0


def extract(bill: Path, folder: Path) -> Path:
    """The bill's CSV, extracted once for ``polars-scan``."""
    import shutil
    import zipfile

    out = folder / (bill.name.removesuffix(".zip"))
    if not out.exists():
        with zipfile.ZipFile(bill) as archive, archive.open(archive.infolist()[0]) as raw, \
                open(out, "wb") as file:
            shutil.copyfileobj(raw, file, 1 << 20)
    return out


def bench(size: str, ways: list[str], rounds: int, keep: Path | None, scratch: Path) -> bool:
    bill, rows, made = month(size, keep, scratch)
    extracted = extract(bill, bill.parent)
    print(f"\n{size}: {rows:,} rows, {made['csv_bytes'] / 2**20:,.0f} MiB of CSV in a "
          f"{made['zip_bytes'] / 2**20:,.0f} MiB zip; {rounds} rounds", flush=True)
    runs: dict[str, list[tuple[float, float, float]]] = {w: [] for w in ways}
    answers: dict[str, dict] = {}
    order = list(ways)
    for round_ in range(rounds):
        random.Random(round_).shuffle(order)
        for way in order:
            argv, env = command(way, bill, extracted)
            saved = {k: os.environ.get(k) for k in env}
            os.environ.update(env)
            try:
                wall, cpu, peak, stdout, _ = run_once(argv)
            finally:
                for k, v in saved.items():
                    os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
            runs[way].append((wall, cpu, peak))
            if round_ == 0 and "floor" not in way:
                answers[way] = answer("costlib" if way.startswith("costlib") else way, stdout)
            print(f"  round {round_ + 1} {way:14} {wall:6.2f} s {cpu:6.2f} CPU s {peak:6.0f} MiB",
                  file=sys.stderr, flush=True)
    problems = say_agreement(answers)

    def paired(way: str, base: str) -> float:
        return statistics.median(a[0] / b[0] for a, b in zip(runs[way], runs[base],
                                                               strict=True))

    print(f"  {'way':14} {'wall s':>7} {'CPU s':>6} {'peak MiB':>9} {'x floor':>8} "
          f"{'x costlib':>10}   (medians; ratios paired round by round)")
    for way in ways:
        wall = statistics.median(r[0] for r in runs[way])
        cpu = statistics.median(r[1] for r in runs[way])
        peak = max(r[2] for r in runs[way])
        floor = f"{paired(way, 'floor'):8.2f}" if "floor" in runs else ""
        mine = f"{paired(way, 'costlib'):10.2f}" if "costlib" in runs else ""
        print(f"  {way:14} {wall:7.2f} {cpu:6.2f} {peak:9.0f} {floor} {mine}")
    return not problems


STAGES = """
import os, sys, time, zipfile
t0 = time.perf_counter()
import numpy, pyarrow  # noqa
t1 = time.perf_counter()
import costlib.cli, costlib.reading, costlib.reporting, costlib.fastpath, costlib._reduce  # noqa
t2 = time.perf_counter()
sys.path.insert(0, {jobs!r})
import costlib
from jobs import _isal_pieces
from costlib.fastpath import make_reducer
from costlib.parsing import parse
from costlib.reading import _Condenser, read_condensed
bill = {bill!r}
t = time.perf_counter()
size = sum(len(p) for p in _isal_pieces(bill))
inflate = time.perf_counter() - t
with zipfile.ZipFile(bill) as archive:
    text = archive.read(archive.infolist()[0])
read = {{}}
for way in ("1", "0"):
    os.environ["COSTLIB_COMPILED"] = way
    t, c = time.perf_counter(), time.process_time()
    bill_read = read_condensed(bill, "user:Owner", progress=False)
    read[way] = (bill_read, time.perf_counter() - t, time.process_time() - c)
with parse(bill, columns=["user:Owner"]) as parsed:
    header = parsed.header
keys = _Condenser.of(header, ["user:Owner"]).keys
pieces, start = [], text.index(b"\\n") + 1
while start < len(text):
    end = min(start + (4 << 20), len(text))
    if end < len(text):
        end = text.rfind(b"\\n", start, end) + 1
    pieces.append(memoryview(text)[start:end])
    start = end
make_reducer(header, keys, 1 << 20).feed(pieces[0])  # (warm)
reducer = make_reducer(header, keys, 1 << 20)
t = time.perf_counter()
for piece in pieces:
    reducer.feed(piece)
feed = time.perf_counter() - t
t = time.perf_counter()
sums = reducer.sums()
out = time.perf_counter() - t
t = time.perf_counter()
costlib.report(read["1"][0]).as_dict()
answer = time.perf_counter() - t
gib = 2**30
print(f"  importing numpy and pyarrow        {{t1 - t0:6.2f}} s")
print(f"  importing costlib's modules        {{t2 - t1:6.2f}} s")
print(f"  ISA-L inflate + CRC, alone         {{inflate:6.2f}} s  {{size / inflate / gib:.2f}} "
      "GiB/s")
print(f"  the reducer alone (text in memory) {{feed:6.2f}} s  {{len(text) / feed / gib:.2f}} GiB/s")
print(f"  the sums out to Python             {{out:6.2f}} s  {{len(sums['sums']):,}} sums")
print(f"  read_condensed, compiled           {{read['1'][1]:6.2f}} s  {{read['1'][2]:5.2f}} CPU s")
print(f"  read_condensed, pyarrow            {{read['0'][1]:6.2f}} s  {{read['0'][2]:5.2f}} CPU s")
print(f"  the report's answers               {{answer:6.2f}} s")
"""


def stages(size: str, keep: Path | None, scratch: Path) -> None:
    """Where costlib's time goes, stage by stage, in one fresh process (one thread each)."""
    bill, rows, _ = month(size, keep, scratch)
    print(f"\n{size}: stages ({rows:,} rows)")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1",
           "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    script = STAGES.format(jobs=str(JOBS.parent), bill=str(bill))
    subprocess.run([sys.executable, "-c", script], check=True, env=env, cwd=ROOT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2m", help="comma-separated, of 100k, 2m, 10m")
    parser.add_argument("--ways", default=",".join(WAYS), help="comma-separated (default: all)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds (default 7)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="make the months here, keep them")
    parser.add_argument("--stages", action="store_true", help="only the per-stage breakdown")
    args = parser.parse_args(argv)
    ways = [w for w in args.ways.split(",") if w]
    unknown = [w for w in ways if w not in WAYS]
    if unknown:
        parser.error(f"unknown ways: {', '.join(unknown)}")
    missing = [w for w in ways if not available(w)]
    if missing:
        print(f"left out (module missing): {', '.join(missing)}", file=sys.stderr)
    ways = [w for w in ways if w not in missing]
    ok = True
    with tempfile.TemporaryDirectory(prefix="costlib-peers-") as scratch:
        for size in args.sizes.split(","):
            if args.stages:
                stages(size.strip(), args.keep, Path(scratch))
            else:
                ok &= bench(size.strip(), ways, args.rounds, args.keep, Path(scratch))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
