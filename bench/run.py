"""How fast, and in how much memory, a month's bill is answered: costlib against the others.

    python bench/run.py                       # 100k rows: a quick try (about a minute)
    python bench/run.py --sizes 100k,2m       # the month the targets are set on
    python bench/run.py --sizes 10m --keep /tmp/bills   # 10 million rows: disk and minutes

Makes synthetic months with ``costlib.sample.make_bill`` (in a temporary folder, never
committed; ``--keep DIR`` keeps them there for the next run), then does the same job (the
month's blended total, the total per user, per day and user) five ways, each in a fresh process
of its own, ``--repeat`` times, interleaved:

1. ``costlib report BILL --json`` (the streaming reader);
2. the contest's plain ``csv`` module way (``bench/jobs.py csv``);
3. ``pandas.read_csv`` on the zip with default options;
4. DuckDB on the CSV extracted from the zip (the extraction counted);
5. the floor: inflating the CSV member with ``zlib`` and throwing it away.

Each run's wall time is taken around the process, its peak resident memory from the kernel
(``os.wait4``). The table shows the best wall time of the repeats and the largest peak, rows per
second, and the ratios the targets are about. Before the table, the approaches' month totals
(and per-user totals) are checked to agree to the cent. Needs ``duckdb`` for approach 4
(``pip install -e ".[bench]"``); an approach whose module is missing is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JOBS = Path(__file__).resolve().parent / "jobs.py"
MONTH = "2026-03"
SIZES = {"100k": 100_000, "2m": 2_000_000, "10m": 10_000_000}
APPROACHES = ("costlib", "csv", "pandas", "duckdb", "floor")
TARGET_RSS_MB = 300


def command(approach: str, bill: Path) -> list[str]:
    if approach == "costlib":
        return [sys.executable, "-m", "costlib.cli", "report", str(bill), "--json"]
    return [sys.executable, str(JOBS), approach, str(bill)]


def make_month(rows: int, folder: Path) -> tuple[Path, int]:
    """A zipped synthetic month of about ``rows`` data rows, made in a process of its own (the
    generator holds the whole CSV in memory: gigabytes for 10 million rows)."""
    script = f"""
import json, math, sys, zipfile
sys.path.insert(0, {str(ROOT)!r})
from costlib.files import bill_name
from costlib.sample import SAMPLE_ACCOUNT, make_bill, write_bill
probe = make_bill({MONTH!r}, resources=24, seed=7).count(b"\\n") - 1
resources = max(1, math.ceil({rows} * 24 / probe))
path = {str(folder)!r} + "/" + bill_name(SAMPLE_ACCOUNT, {MONTH!r})
write_bill(path, month={MONTH!r}, resources=resources, seed=7)
with zipfile.ZipFile(path) as archive:
    info = archive.infolist()[0]
    with archive.open(info) as member:
        count = sum(block.count(b"\\n") for block in iter(lambda: member.read(1 << 24), b"")) - 1
print(json.dumps({{"path": path, "rows": count, "csv_bytes": info.file_size,
                  "zip_bytes": info.compress_size}}))
"""
    folder.mkdir(parents=True, exist_ok=True)
    made = json.loads(subprocess.run([sys.executable, "-c", script], check=True,
                                     capture_output=True, text=True).stdout)
    (folder / "made.json").write_text(json.dumps(made))
    return Path(made["path"]), made["rows"]


def month(size: str, keep: Path | None, scratch: Path) -> tuple[Path, int, dict]:
    folder = (keep or scratch) / size
    made_file = folder / "made.json"
    if made_file.exists():
        made = json.loads(made_file.read_text())
        if Path(made["path"]).exists():
            return Path(made["path"]), made["rows"], made
    print(f"making the {size} month in {folder} ...", file=sys.stderr, flush=True)
    path, rows = make_month(SIZES[size], folder)
    return path, rows, json.loads(made_file.read_text())


def run_once(argv: list[str], root: Path = ROOT) -> tuple[float, float, float, str, str]:
    """Wall seconds, CPU seconds (user + system), peak RSS in MB, stdout and stderr of one
    fresh process (running the costlib of the checkout ``root``)."""
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=root)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if process.returncode:
        raise RuntimeError(f"{' '.join(argv)} failed ({process.returncode}):\n{stderr}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, stdout, stderr


def answer(approach: str, stdout: str) -> dict:
    """The approach's month total and users, as dollars."""
    data = json.loads(stdout)
    if approach == "costlib":
        return {"total": data["blended_total"], "users": data["users"]}
    return data


def agree(answers: dict[str, dict]) -> list[str]:
    """The disagreements to the cent between the approaches' totals and per-user totals."""
    problems = []
    if not answers:  # (only floors ran: nothing to compare)
        return problems
    base_name, base = next(iter(answers.items()))
    for name, other in answers.items():
        if round(other["total"], 2) != round(base["total"], 2):
            problems.append(f"{name} total {other['total']:.2f} != {base_name} "
                            f"{base['total']:.2f}")
        for user in set(base["users"]) | set(other["users"]):
            a, b = base["users"].get(user, 0.0), other["users"].get(user, 0.0)
            if abs(a - b) >= 0.005:
                problems.append(f"{name} {user!r} {b:.2f} != {base_name} {a:.2f}")
    return problems


def say_agreement(answers: dict[str, dict], indent: str = "  ") -> list[str]:
    """Print whether the approaches' answers agree to the cent, and each disagreement."""
    problems = agree(answers)
    print(f"{indent}answers agree to the cent ({', '.join(answers)}): "
          f"{'yes' if not problems else 'NO'}")
    for problem in problems:
        print(f"{indent}  {problem}")
    return problems


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen, int]:
    """moto's S3 + SES server in a process of its own on a free loopback port (its memory not
    counted), once it answers; the caller kills it."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                               str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            return server, port
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise SystemExit("moto's server did not start")


def available(approach: str) -> bool:
    needs = {"pandas": "pandas", "duckdb": "duckdb"}.get(approach)
    if needs is None:
        return True
    probe = subprocess.run([sys.executable, "-c", f"import {needs}"], capture_output=True)
    return probe.returncode == 0


def bench(size: str, approaches: list[str], repeat: int, keep: Path | None,
          scratch: Path) -> dict:
    bill, rows, made = month(size, keep, scratch)
    print(f"\n{size}: {rows:,} rows, {made['csv_bytes'] / 2**20:,.0f} MB of CSV in a "
          f"{made['zip_bytes'] / 2**20:,.0f} MB zip", flush=True)
    walls: dict[str, list[float]] = {a: [] for a in approaches}
    cpus: dict[str, list[float]] = {a: [] for a in approaches}
    peaks: dict[str, float] = dict.fromkeys(approaches, 0.0)
    answers: dict[str, dict] = {}
    for round_ in range(repeat):
        for approach in approaches:
            wall, cpu, peak, stdout, _ = run_once(command(approach, bill))
            walls[approach].append(wall)
            cpus[approach].append(cpu)
            peaks[approach] = max(peaks[approach], peak)
            if approach != "floor" and round_ == 0:
                answers[approach] = answer(approach, stdout)
            print(f"  {approach:8} run {round_ + 1}: {wall:7.2f} s  {cpu:6.2f} CPU s  "
                  f"{peak:7.0f} MB",
                  file=sys.stderr, flush=True)
    problems = say_agreement(answers)
    best = {a: min(w) for a, w in walls.items()}
    cpu = {a: cpus[a][walls[a].index(best[a])] for a in approaches}  # of the fastest run
    print(f"  {'approach':10} {'wall s':>8} {'CPU s':>7} {'rows/s':>12} {'peak MB':>9}"
          f"   (best of {repeat})")
    for approach in approaches:
        print(f"  {approach:10} {best[approach]:8.2f} {cpu[approach]:7.2f} "
              f"{rows / best[approach]:12,.0f} {peaks[approach]:9.0f}")
    ratios = {}
    if "costlib" in best:
        c = best["costlib"]
        for other, label in (("floor", "costlib / floor (target <= 2.0)"),
                             ("csv", "csv / costlib (target >= 3)"),
                             ("pandas", "pandas / costlib"),
                             ("duckdb", "duckdb / costlib (target > 1)")):
            if other in best:
                ratio = c / best[other] if other == "floor" else best[other] / c
                ratios[other] = ratio
                print(f"  {label:34} {ratio:6.2f}")
        print(f"  costlib peak RSS {peaks['costlib']:.0f} MB (target <= {TARGET_RSS_MB})")
    return {"size": size, "rows": rows, "best": best, "cpu": cpu, "peak_mb": peaks,
            "ratios": ratios,
            "agree": not problems, "python": sys.version.split()[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100k",
                        help=f"comma-separated, of {', '.join(SIZES)} (default 100k)")
    parser.add_argument("--approaches", default=",".join(APPROACHES),
                        help=f"comma-separated, of {', '.join(APPROACHES)} (default: all)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (default 3)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="make the months here and keep them (default: a temporary folder)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    args = parser.parse_args(argv)
    sizes = [s.strip().lower() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown size {unknown[0]!r} (use {', '.join(SIZES)})")
    approaches = [a.strip() for a in args.approaches.split(",") if a.strip()]
    missing = [a for a in approaches if a not in APPROACHES]
    if missing:
        parser.error(f"unknown approach {missing[0]!r} (use {', '.join(APPROACHES)})")
    skipped = [a for a in approaches if not available(a)]
    for approach in skipped:
        print(f"skipping {approach}: its module is not installed", file=sys.stderr)
    approaches = [a for a in approaches if a not in skipped]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; "
          f"{', '.join(approaches)}; best of {args.repeat}")
    scratch = Path(tempfile.mkdtemp(prefix="costlib-bench-"))
    try:
        results = [bench(size, approaches, args.repeat, args.keep, scratch) for size in sizes]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0 if all(r["agree"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
