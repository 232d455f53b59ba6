"""``costlib report s3://...`` on a month in a bucket, against another checkout, paired.

    python bench/s3.py --keep /tmp/bills                       # the 2M month, 7 rounds
    python bench/s3.py --keep /tmp/bills --base /tmp/before    # a checkout to compare with
    python bench/s3.py --latency-ms 0 --mbps 0                 # loopback as it is

The month lives in a bucket of moto's S3 server (a process of its own on loopback). Between
the readers and the server sits a small TCP relay that makes loopback behave like S3 seen from
a Lambda in the bucket's region: each response's first byte waits ``--latency-ms`` (default
30 ms), and each connection moves at most ``--mbps`` megabytes a second (default 90). Each
round runs ``costlib report s3://copydbr/KEY --json`` from this checkout, and from ``--base``
if given, each a fresh process, in a new order each round; the answers are checked to agree.
Figures are medians over the rounds, ratios the median of the ratios taken round by round.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import (  # noqa: E402
    ROOT,
    answer,
    free_port,
    month,
    run_once,
    say_agreement,
    start_moto,
)

BUCKET = "copydbr"


def start_relay(target: int, latency: float, rate: float) -> int:
    """A TCP relay to ``target`` on a thread of its own: the server's answer to each request
    is held ``latency`` seconds before its first byte, then sent at ``rate`` bytes a second
    (0: no limit). Its port."""
    port = free_port()

    async def pipe(reader, writer, asked: asyncio.Event | None, waits: bool) -> None:
        try:
            while data := await reader.read(1 << 16):
                if waits and asked is not None and asked.is_set():
                    asked.clear()  # the first bytes of an answer
                    await asyncio.sleep(latency)
                elif not waits and asked is not None:
                    asked.set()  # a request went out
                writer.write(data)
                await writer.drain()
                if waits and rate:
                    await asyncio.sleep(len(data) / rate)
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def handle(client_reader, client_writer) -> None:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target)
        asked = asyncio.Event()
        await asyncio.gather(pipe(client_reader, server_writer, asked, False),
                             pipe(server_reader, client_writer, asked, True))

    ready = threading.Event()

    def serve() -> None:
        async def main() -> None:
            server = await asyncio.start_server(handle, "127.0.0.1", port)
            ready.set()
            async with server:
                await server.serve_forever()

        asyncio.run(main())

    threading.Thread(target=serve, daemon=True).start()
    ready.wait(30)
    return port


def upload(bill: Path, port: int, env: dict) -> str:
    import boto3

    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}",
                      aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                      region_name=env["AWS_DEFAULT_REGION"])
    s3.create_bucket(Bucket=BUCKET)
    s3.upload_file(str(bill), BUCKET, bill.name)
    return f"s3://{BUCKET}/{bill.name}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1].strip())
    parser.add_argument("--size", default="2m", help="100k, 2m or 10m (default 2m)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="make the month here, keep it")
    parser.add_argument("--base", type=Path, help="a checkout to compare with")
    parser.add_argument("--latency-ms", type=float, default=30.0)
    parser.add_argument("--mbps", type=float, default=90.0, help="megabytes a second; 0: any")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        bill, rows, _ = month(args.size, args.keep, Path(scratch))
        server, port = start_moto()
        try:
            # moto takes any credentials: these are placeholders, never real keys
            env = {**os.environ, "AWS_ACCESS_KEY_ID": "placeholder-for-moto",
                   "AWS_SECRET_ACCESS_KEY": "placeholder-for-moto",
                   "AWS_DEFAULT_REGION": "us-east-1"}
            url = upload(bill, port, env)
            relay = start_relay(port, args.latency_ms / 1000, args.mbps * 1e6)
            env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{relay}"
            checkouts = {"this": ROOT, **({"base": args.base.resolve()} if args.base else {})}
            print(f"{args.size}: {rows:,} rows, {bill.stat().st_size / 2**20:.0f} MiB zip in a "
                  f"bucket; {args.latency_ms:g} ms to the first byte, "
                  f"{args.mbps:g} MB/s a connection; {args.rounds} rounds")
            times: dict[str, list[tuple[float, float, float]]] = {k: [] for k in checkouts}
            answers = {}
            os.environ.update(env)  # (run_once passes the environment on)
            for r in range(args.rounds):
                order = list(checkouts)
                random.shuffle(order)
                for name in order:
                    wall, cpu, peak, out, _ = run_once(
                        [sys.executable, "-m", "costlib.cli", "report", url, "--json", "-q"],
                        checkouts[name])
                    answers[name] = answer("costlib", out)
                    times[name].append((wall, cpu, peak))
                    print(f"  round {r + 1} {name:<5} {wall:6.2f} s {cpu:6.2f} CPU s "
                          f"{peak:6.0f} MiB")
            problems = say_agreement(answers)
            print(f"  {'':<5} {'wall s':>7} {'CPU s':>6} {'peak MiB':>9}  (medians)")
            for name, runs in times.items():
                print(f"  {name:<5} {statistics.median(t[0] for t in runs):7.2f} "
                      f"{statistics.median(t[1] for t in runs):6.2f} "
                      f"{max(t[2] for t in runs):9.0f}")
            if "base" in times:
                ratio = statistics.median(a[0] / b[0] for a, b in zip(
                    times["this"], times["base"], strict=True))
                print(f"  this / base, wall, paired: {ratio:.2f}")
        finally:
            server.kill()
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
