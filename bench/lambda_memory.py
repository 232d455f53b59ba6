"""Peak memory of the Lambda's path on a month of about a million rows (the limit is 512 MB).

    python bench/lambda_memory.py [--rows 1000000] [--tracemalloc]

Makes a synthetic open month with ``costlib.sample.make_bill`` (never committed: it lives in a
temporary folder and in the S3 server's memory), puts it in a bucket on moto's S3 + SES server
(a separate process on loopback, so its memory is not counted), then runs
``costlib.notify.lambda_handler.handler`` in a fresh process and prints that process's peak resident
set size (``resource.getrusage``), which is what Lambda's memory limit applies to. With
``--tracemalloc`` it also prints the peak of Python's own allocations (slower).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a clone without installing
sys.path.insert(0, str(ROOT / "bench"))
from run import start_moto  # noqa: E402 (bench/ is not a package)

BUCKET = "copydbr"
MONTH = "2026-03"
DAYS = 28
DAY = "2026-03-20"
SENDER = "costnotify@example.org"
LIMIT_MB = 512


def make_month(rows: int, folder: Path) -> tuple[Path, int]:
    """Zip a synthetic open month with about ``rows`` line items; return it and its row count."""
    from costlib.files import bill_name
    from costlib.sample import SAMPLE_ACCOUNT, make_bill

    probe = make_bill(MONTH, closed=False, days=DAYS, resources=24, seed=7).count(b"\n") - 1
    resources = max(1, math.ceil(rows * 24 / probe))
    data = make_bill(MONTH, closed=False, days=DAYS, resources=resources, seed=7)
    count = data.count(b"\n") - 1
    path = folder / bill_name(SAMPLE_ACCOUNT, MONTH)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(path.name.removesuffix(".zip"), data)
    return path, count


def peak_rss_mb() -> float:
    """This process's peak resident set size. Linux's ``ru_maxrss`` keeps the high-water mark
    of the process before ``exec`` (here, the parent holding the generated month), so the
    kernel's per-image ``VmHWM`` is read when there is one."""
    import resource

    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(tracing: bool) -> dict:
    """Run in a fresh process: the handler, then its peak RSS (and tracemalloc peak)."""
    if tracing:
        import tracemalloc

        tracemalloc.start()
    from costlib.notify.lambda_handler import handler

    base = peak_rss_mb()
    start = time.perf_counter()
    result = handler({"day": DAY, "time": "2026-03-21T15:00:00Z"})
    seconds = time.perf_counter() - start
    out = {"status": result["status"], "subjects": result.get("subjects"),
           "errors": result.get("errors"), "read": result.get("read"),
           "seconds": round(seconds, 1), "rss_after_imports_mb": round(base, 1),
           "peak_rss_mb": round(peak_rss_mb(), 1)}
    if tracing:
        out["tracemalloc_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--tracemalloc", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.tracemalloc)))
        return 0

    server, port = start_moto()
    endpoint = f"http://127.0.0.1:{port}"
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "placeholder-for-moto",
           "AWS_SECRET_ACCESS_KEY": "placeholder-for-moto"}
    try:
        os.environ.update({k: env[k] for k in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION",
                                               "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")})
        import boto3

        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        boto3.client("sesv2").create_email_identity(EmailIdentity=SENDER)
        with tempfile.TemporaryDirectory() as folder:
            t = time.perf_counter()
            path, rows = make_month(args.rows, Path(folder))
            print(f"made {path.name}: {rows:,} rows, {path.stat().st_size / 2**20:.1f} MB "
                  f"zipped, in {time.perf_counter() - t:.0f} s")
            s3.upload_file(str(path), BUCKET, path.name)
        config = {"account": "012345678901", "name": "ocean-lab", "bucket": BUCKET,
                  "sender": SENDER, "recipients": ["bench@example.org"],
                  "tag": ["user:Owner", "user:Project"],
                  "grants": [{"name": "Argo", "amount": 5000, "start": "2026-01-01",
                              "end": "2026-12-31", "tags": ["chen.wei"]}]}
        s3.put_object(Bucket=BUCKET, Key="config.json", Body=json.dumps(config).encode())
        env["COSTNOTIFY_CONFIG"] = f"s3://{BUCKET}/config.json"
        cmd = [sys.executable, __file__, "--child"]
        if args.tracemalloc:
            cmd.append("--tracemalloc")
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
        if done.returncode:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        result = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        server.terminate()
        server.wait()
    print(json.dumps(result, indent=1, ensure_ascii=False))
    peak = result["peak_rss_mb"]
    verdict = "fits" if peak <= LIMIT_MB else "does NOT fit"
    print(f"peak RSS {peak:.0f} MB for {rows:,} rows: {verdict} in a {LIMIT_MB} MB Lambda")
    return 0


if __name__ == "__main__":
    sys.exit(main())
