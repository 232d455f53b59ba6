"""Many months of many accounts: one process, a process pool, a Dask LocalCluster, DuckDB.

    python bench/scan.py                                   # 12 months x 3 accounts, 2M rows a month
    python bench/scan.py --rows 300k --repeat 1            # a quick try
    python bench/scan.py --keep /tmp/scan-bench            # keep the 36 files for the next run

Makes ``--months`` synthetic months (from 2025-01) for each of three accounts with
``costlib.sample.make_bill`` (each account's file a third of ``--rows``), then does the same job
over all of them (the blended total, the total per user, per UTC day and user) four ways, each
in a fresh process, ``--repeat`` times, interleaved:

1. ``costlib report DIR --json --jobs 1`` (one process, the files one after the other);
2. ``costlib report DIR --json --jobs 2`` (a pool of two processes);
3. ``costlib report DIR --json --dask local:2`` (a Dask LocalCluster of two worker processes);
4. DuckDB on the CSVs extracted from the zips (the extraction counted), one query over them all.

Wall time is taken around each process; CPU time (user + system) and peak memory (the largest
single process: the client or one worker) from the kernel (``os.wait4``). Before the table, the
totals and per-user totals are checked to agree to the cent. ``--workers`` also reports each
Dask worker's own peak memory (a LocalCluster of two, asked after the scan).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import ROOT, available, run_once, say_agreement  # noqa: E402 (bench/ is not a package)

ACCOUNTS = ("111111111111", "222222222222", "333333333333")
APPROACHES = ("serial", "jobs2", "dask2", "duckdb")
TOTAL_ROWS = ("AccountTotal", "Rounding", "InvoiceTotal", "StatementTotal", "CBRounding",
              "EstimatedDisclaimer")


def command(approach: str, folder: Path) -> list[str]:
    report = [sys.executable, "-m", "costlib.cli", "report", str(folder), "--json", "--quiet"]
    return {"serial": [*report, "--jobs", "1"], "jobs2": [*report, "--jobs", "2"],
            "dask2": [*report, "--dask", "local:2"],
            "duckdb": [sys.executable, __file__, "--duckdb", str(folder)]}[approach]


def _one(args: tuple[str, str, int, int]) -> str:
    path, month, resources, seed = args
    from costlib.sample import write_bill

    write_bill(path, month=month, resources=resources, seed=seed)
    return path


def make_months(folder: Path, months: int, rows: int) -> list[Path]:
    """``months`` x 3 zipped months, each account's a third of ``rows`` rows (made once)."""
    from costlib.files import bill_name
    from costlib.sample import make_bill

    probe = make_bill("2025-03", resources=24, seed=7).count(b"\n") - 1
    per_file = -(-rows // len(ACCOUNTS))
    resources = max(1, -(-per_file * 24 // probe))
    names = [f"2025-{m:02d}" if m <= 12 else f"{2025 + (m - 1) // 12}-{(m - 1) % 12 + 1:02d}"
             for m in range(1, months + 1)]
    jobs = [(str(folder / bill_name(a, month)), month, resources, 100 + 20 * i + m)
            for i, a in enumerate(ACCOUNTS) for m, month in enumerate(names)]
    missing = [j for j in jobs if not Path(j[0]).exists()]
    if missing:
        print(f"making {len(missing)} months in {folder} ...", file=sys.stderr, flush=True)
        folder.mkdir(parents=True, exist_ok=True)
        with ProcessPoolExecutor(2) as pool:
            list(pool.map(_one, missing))
    return [Path(j[0]) for j in jobs]


def duckdb_sql(folder: str) -> dict:
    """DuckDB (every core) over the CSVs extracted from the zips; the extraction counted."""
    import os
    import shutil
    import zipfile

    import duckdb

    with tempfile.TemporaryDirectory(prefix="costlib-scan-bench-") as scratch:
        csvs = []
        for path in sorted(Path(folder).glob("*.csv.zip")):
            extracted = os.path.join(scratch, path.name[: -len(".zip")])
            with zipfile.ZipFile(path) as archive, open(extracted, "wb") as out:
                (member,) = [n for n in archive.namelist() if n.lower().endswith(".csv")]
                with archive.open(member) as raw:
                    shutil.copyfileobj(raw, out, 1 << 20)
            csvs.append(extracted)
        skip = ", ".join(f"'{t}'" for t in TOTAL_ROWS)
        groups = duckdb.sql(f"""
            SELECT substr(UsageStartDate, 1, 10) AS day,
                   coalesce(nullif("user:Owner", ''), '(untagged)') AS user,
                   sum(CAST(BlendedCost AS DOUBLE)) AS cost
            FROM read_csv({csvs!r}, header = true, all_varchar = true, union_by_name = true)
            WHERE RecordType NOT IN ({skip})
            GROUP BY ALL""").fetchall()
    users: dict[str, float] = {}
    for _, user, cost in groups:
        users[user] = users.get(user, 0.0) + cost
    return {"total": sum(cost for *_, cost in groups), "users": users}


def worker_peaks(folder: Path) -> list[float]:
    """Each worker's peak memory (MB) in a LocalCluster of two after scanning ``folder``."""
    import resource

    from distributed import Client, LocalCluster

    import costlib

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        costlib.scan(folder, "user:Owner", client=client)
        peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return sorted(peaks.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="2m", help="rows a month, all accounts (default 2m)")
    parser.add_argument("--months", type=int, default=12, help="months (default 12)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (default 3)")
    parser.add_argument("--approaches", default=",".join(APPROACHES),
                        help=f"comma-separated, of {', '.join(APPROACHES)}")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="make the files here, keep them")
    parser.add_argument("--workers", action="store_true", help="each Dask worker's peak too")
    parser.add_argument("--duckdb", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.duckdb:
        print(json.dumps(duckdb_sql(args.duckdb)))
        return 0
    text = args.rows.lower()
    rows = int(float(text[:-1]) * {"k": 1e3, "m": 1e6}[text[-1]]) if text[-1] in "km" \
        else int(text)
    approaches = [a for a in args.approaches.split(",") if a != "duckdb" or available("duckdb")]
    with tempfile.TemporaryDirectory(prefix="costlib-scan-") as scratch:
        folder = args.keep or Path(scratch)
        files = make_months(folder, args.months, rows)
        sizes = sum(p.stat().st_size for p in files)
        print(f"{len(files)} files ({args.months} months x {len(ACCOUNTS)} accounts), "
              f"{sizes / 2**20:,.0f} MB of zips, about {rows:,} rows a month")
        walls: dict[str, list[float]] = {a: [] for a in approaches}
        cpus: dict[str, list[float]] = {a: [] for a in approaches}
        peaks = dict.fromkeys(approaches, 0.0)
        answers = {}
        for round_ in range(args.repeat):
            for approach in approaches:
                wall, cpu, peak, stdout, _ = run_once(command(approach, folder))
                walls[approach].append(wall)
                cpus[approach].append(cpu)
                peaks[approach] = max(peaks[approach], peak)
                data = json.loads(stdout)
                answers[approach] = ({"total": data["blended_total"], "users": data["users"]}
                                     if "blended_total" in data else data)
                print(f"  {approach:8} run {round_ + 1}: {wall:7.2f} s  {cpu:6.2f} CPU s  "
                      f"{peak:7.0f} MB", file=sys.stderr, flush=True)
        problems = say_agreement(answers, indent="")
        print(f"{'approach':10} {'wall s':>8} {'CPU s':>7} {'peak MB':>9}   (median of "
              f"{args.repeat})")
        for approach in approaches:
            order = sorted(range(args.repeat), key=lambda i: walls[approach][i])
            mid = order[len(order) // 2]
            print(f"{approach:10} {walls[approach][mid]:8.2f} {cpus[approach][mid]:7.2f} "
                  f"{peaks[approach]:9.0f}")
        if args.workers:
            print(f"Dask workers' peak MB: {worker_peaks(folder)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
