"""What hostile bills cost: exit code, the one line said, and peak memory, on both paths.

    python bench/hostile.py            # about a minute; files in a temporary folder

Makes the files of issue 10's "done when" (a zip bomb of NULs, 20 GiB inflated from about
20 MB; a 200 MB line; rows summing past $922 million; a row dated 9999-12-31; a stray row dated
1970 among 3,000 users) and hands each to ``costlib report --json`` and to ``costlib.read``,
each in a fresh process; prints the exit code, the first line on stderr (or the total) and the
peak resident memory the kernel counted (``os.wait4``). The limit aimed at is 500 MB.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = ("InvoiceID,PayerAccountId,LinkedAccountId,RecordType,RecordId,ProductName,"
          "UsageStartDate,UsageEndDate,UsageQuantity,BlendedCost,user:Owner")
NAME = "012345678901-aws-billing-detailed-line-items-with-resources-and-tags-2026-03.csv"


def row(start="2026-03-02 10:00:00", cost="0.50000000", owner="alice", rid=1) -> str:
    return (f'"Estimated","012345678901","012345678901","LineItem","{rid}","Amazon S3",'
            f'"{start}","2026-03-02 11:00:00","1","{cost}","{owner}"')


def zip64_bomb(path: Path, gib: int) -> None:
    """``gib`` GiB of NULs in a zip64 member, honest about its size, without inflating it."""
    block = 1 << 20
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
    one = squeeze.compress(bytes(block)) + squeeze.flush(zlib.Z_FULL_FLUSH)
    tail = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    size, packed = gib << 30, len(one) * (gib << 10) + len(tail)
    name = b"bill.csv"
    extra = struct.pack("<2H2Q", 1, 16, size, packed)
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 45, 0, 8, 0, 0, 0, 0xFFFFFFFF,
                        0xFFFFFFFF, len(name), len(extra)) + name + extra
    with path.open("wb") as out:
        out.write(local)
        for _ in range(gib << 10):
            out.write(one)
        out.write(tail)
        at = out.tell()
        extra = struct.pack("<2H3Q", 1, 24, size, packed, 0)
        central = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 45, 45, 0, 8, 0, 0, 0, 0xFFFFFFFF,
                              0xFFFFFFFF, len(name), len(extra), 0, 0, 0, 0, 0) + name + extra
        out.write(central)
        end64 = out.tell()
        out.write(struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, 1, 1,
                              len(central), at))
        out.write(struct.pack("<4sLQL", b"PK\x06\x07", 0, end64, 1))
        out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central),
                              0xFFFFFFFF, 0))


def make(folder: Path) -> dict[str, Path]:
    files = {}
    bomb = folder / (NAME + ".zip")
    zip64_bomb(bomb, 20)
    files["zip bomb: 20 GiB of NULs"] = bomb
    line = folder / "line" / NAME
    line.parent.mkdir()
    with line.open("w") as out:
        out.write(HEADER + "\n" + row() + "\n")
        head, tail = row(owner="|").split("|")
        out.write(head)
        for _ in range(200):  # (written a megabyte at a time: this process stays small)
            out.write("x" * (1 << 20))
        out.write(tail + "\n" + row() + "\n")
    files["one 200 MB line"] = line
    for label, rows in {
        "rows summing past $922M": [row(cost="920000000.12345678"),
                                    row(cost="10000000.00000001", owner="bob")],
        "a row dated 9999-12-31": [row(), row(start="9999-12-31 00:00:00")],
        "1970 among 3,000 users": [row(owner=f"user{i}", rid=i) for i in range(3000)]
        + [row(start="1970-01-01 00:00:00")],
    }.items():
        path = folder / label.split()[1] / NAME
        path.parent.mkdir(exist_ok=True)
        path.write_text("\n".join([HEADER, *rows]) + "\n")
        files[label] = path
    return files


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        files = make(Path(scratch))
        print(f"{'file':<26} {'path':<16} {'exit':>4} {'peak MB':>8} {'s':>6}  said")
        for label, path in files.items():
            for way, command in {
                "costlib report": [sys.executable, "-m", "costlib.cli", "report", str(path),
                                   "--json", "--quiet"],
                "costlib.read": [sys.executable, "-c", "import sys, costlib\ntry:\n bill = "
                                 f"costlib.read({str(path)!r})\nexcept costlib.CostlibError as e:"
                                 "\n print(e, file=sys.stderr); sys.exit(2)\nprint("
                                 "costlib.spend(bill).total)"],
            }.items():
                code, said, peak, seconds = measure(command)
                said = said.replace(scratch, "").replace(NAME, "BILL")
                print(f"{label:<26} {way:<16} {code:>4} {peak:>8.0f} {seconds:>6.1f}  "
                      f"{said[:110]}")


def measure(command: list[str]) -> tuple[int, str, float, float]:
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        child = subprocess.Popen(command, stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        text = err.read().decode(errors="replace").strip()
        said = text.splitlines()[-1] if text else out.read().decode().strip()[:80]
    return os.waitstatus_to_exitcode(status), said, usage.ru_maxrss / 1024, seconds


if __name__ == "__main__":
    main()
