"""Many files at once (``costlib.scan``, ``costlib report F1 F2 ...``): one file, a process
pool, a Dask ``LocalCluster`` and a real ``dask scheduler`` with ``dask worker`` processes
reading moto's S3 server give the same answer to the unit, and it is the sum of the months."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import costlib
from conftest import run_cli, s3_bucket
from costlib import money
from costlib.files import bill_name
from costlib.scanning import Scan, billing_files, combine, scan

distributed = pytest.importorskip("distributed")

ACCOUNTS = ("210987654321", "321098765432", "432109876543")
MONTHS = ("2025-10", "2025-11", "2025-12", "2026-01")
PACIFIC = "America/Los_Angeles"
DASK = Path(sys.executable).with_name("dask")


@pytest.fixture(scope="module")
def months(tmp_path_factory) -> list[Path]:
    """Four months of three accounts, with seeds no other test reads (60 to 71)."""
    from costlib.sample import write_bill

    folder = tmp_path_factory.mktemp("months")
    return [write_bill(folder / bill_name(account, month), month=month, resources=4,
                       seed=60 + 4 * a + m)
            for a, account in enumerate(ACCOUNTS) for m, month in enumerate(MONTHS)]


def cells(s: costlib.Spend) -> dict[tuple[str, str], int]:
    """Exact units per (day, user), zero cells left out."""
    days = [str(d) for d in s.days] + ["undated"]
    return {(days[d], s.users[u]): int(s.table[d, u])
            for d, u in zip(*np.nonzero(s.table), strict=True)}


def added(spends: list[costlib.Spend]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for s in spends:
        for key, value in cells(s).items():
            out[key] = out.get(key, 0) + value
    return out


def json_units(answer: dict) -> tuple[int, dict, dict]:
    """A ``--json`` answer's total, users and daily as exact units (the amounts are under
    $100,000, where a float's dollars convert back to units exactly)."""
    def units(x: float) -> int:
        return int(money.units(np.array([x]))[0])

    users = {u: units(v) for u, v in answer["users"].items() if v}
    daily = {(d, u): units(v) for d, row in answer["daily"].items() for u, v in row.items() if v}
    return units(answer["blended_total"]), users, daily


def sum_of(answers: list[dict]) -> tuple[int, dict, dict]:
    total, users, daily = 0, {}, {}
    for answer in answers:
        t, u, d = json_units(answer)
        total += t
        for key, value in u.items():
            users[key] = users.get(key, 0) + value
        for key, value in d.items():
            daily[key] = daily.get(key, 0) + value
    return total, users, daily


# --- the library --------------------------------------------------------------------------------

@pytest.mark.parametrize("question", [{}, {"tz": PACIFIC, "spread": True},
                                      {"tag": list(costlib.LAMBDA_TAGS), "start": "2025-11-15",
                                       "end": "2026-01-02 06:00"}])
def test_a_scan_is_the_sum_of_its_months_to_the_unit(months, question):
    whole = scan(months, tag=question.get("tag"), jobs=1)
    singles = [costlib.read_condensed(p, question.get("tag")) for p in months]
    a = costlib.spend(whole, **question)
    b = [costlib.spend(s, **question) for s in singles]
    assert a.total_units == sum(s.total_units for s in b)
    assert cells(a) == added(b)
    assert a.users_add_up
    # the day x user table spans the days of the files, no more
    assert a.days[0] == min(s.days[0] for s in b) and a.days[-1] == max(s.days[-1] for s in b)
    assert len(a.days) == (a.days[-1] - a.days[0]).astype(int) + 1
    assert whole.line_items == sum(s.line_items for s in singles)
    assert len(whole.items) < sum(len(s.items) for s in singles)  # the undated credits merge
    assert len(whole.controls) == sum(len(s.controls) for s in singles)


def test_a_pool_answers_as_one_process_does(months):
    serial, pooled = scan(months, jobs=1), scan(months, jobs=2)
    for question in ({}, {"tz": PACIFIC, "spread": True}):
        a, b = costlib.spend(serial, **question), costlib.spend(pooled, **question)
        assert cells(a) == cells(b) and a.total_units == b.total_units
    assert costlib.report(serial).as_dict() == costlib.report(pooled).as_dict()
    assert [f.name for f in pooled.files] == [str(p) for p in months]  # in the order given


def test_each_file_keeps_its_own_answer_and_invoice_check(months):
    whole = scan(months, jobs=1)
    assert isinstance(whole, Scan) and whole.accounts == list(ACCOUNTS)
    assert whole.months == list(MONTHS)
    for answer, path in zip(whole.files, months, strict=True):
        single = costlib.report(costlib.read_condensed(path))
        assert (answer.account, answer.month, answer.kind) == (single.bill.account,
                                                               single.bill.month, "dbr")
        assert answer.charges_units == single.spend.total_units
        assert answer.invoice == single.invoice
    check = costlib.check_invoice(whole)
    assert check.matches and check.total_units == sum(f.invoice.total_units
                                                       for f in whole.files)
    with pytest.raises(costlib.OptionError, match="each is checked against its own"):
        costlib.check_invoice(whole, 1234.56)


def test_combining_is_a_sum_of_sums_in_any_order(months):
    bills = [costlib.read_condensed(p) for p in months]
    flat = combine(bills)
    nested = combine([combine(bills[7:]), combine(bills[:3][::-1]), combine(bills[3:7])])
    for question in ({}, {"tz": PACIFIC, "spread": True}):
        a, b = costlib.spend(flat, **question), costlib.spend(nested, **question)
        assert cells(a) == cells(b)
    assert flat.line_items == nested.line_items
    assert money.total(flat.control_units) == money.total(nested.control_units)


def test_folders_globs_and_invoice_reports(months, tmp_path):
    folder = months[0].parent
    assert billing_files([folder]) == sorted(str(p) for p in months)
    assert billing_files([str(folder / "210987654321-*")]) == [str(p) for p in months[:4]]
    (folder / "210987654321-aws-billing-csv-2025-10.csv").write_text("not read\n")
    try:
        assert len(billing_files([folder])) == len(months)  # invoice reports are left out
    finally:
        (folder / "210987654321-aws-billing-csv-2025-10.csv").unlink()
    with pytest.raises(costlib.BillNotFoundError, match="no billing files in this folder"):
        billing_files([tmp_path])
    with pytest.raises(costlib.BillNotFoundError, match="matches no file"):
        billing_files([str(tmp_path / "*.zip")])


def test_a_bad_file_stops_the_scan_naming_it_or_is_listed_with_keep_going(months, tmp_path):
    bad = tmp_path / bill_name("543210987654", "2026-01")
    bad.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(costlib.BillError, match=f"^{bad}: not a readable zip file"):
        scan([*months[:2], bad, months[2]], jobs=2)
    kept = scan([*months[:2], bad, months[2]], jobs=2, keep_going=True)
    assert [r.name for r in kept.refused] == [str(bad)] and len(kept.files) == 3
    assert costlib.spend(kept).total_units == sum(
        costlib.spend(costlib.read_condensed(p)).total_units for p in months[:3])


# --- the command --------------------------------------------------------------------------------

def test_one_file_alone_is_reported_as_before(months):
    done = run_cli("report", str(months[0]), "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert "files" not in answer and answer["file"] == months[0].name
    assert answer == costlib.report(costlib.read_condensed(months[0])).as_dict()


def test_many_files_answer_the_sum_of_the_single_reports(months):
    chosen = [months[0], months[5], months[10], months[11]]  # three accounts, four months
    done = run_cli("report", *map(str, chosen), "--json", "--jobs", "2")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    singles = [json.loads(run_cli("report", str(p), "--json").stdout) for p in chosen]
    assert json_units(answer) == sum_of(singles)
    assert answer["accounts"] == list(ACCOUNTS) and answer["months"] == list(MONTHS)
    assert [f["file"] for f in answer["files"]] == [p.name for p in chosen]
    assert [f["invoice"]["matches"] for f in answer["files"]] == [True] * 4
    text = run_cli("report", str(months[0].parent), "--jobs", "2").stdout
    assert "Charges per month and account" in text
    assert all(a in text for a in ACCOUNTS) and "Invoice check per file" in text


def test_the_command_names_the_bad_file_and_keeps_going_when_asked(months, tmp_path):
    bad = tmp_path / bill_name("543210987654", "2026-01").removesuffix(".zip")
    bad.write_text("RecordType,UsageStartDate,BlendedCost\nLineItem,2026-01-03 00:00:00,x\n")
    done = run_cli("report", str(months[0]), str(bad), str(months[1]))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and str(bad) in done.stderr
    assert "Traceback" not in done.stderr
    kept = run_cli("report", str(months[0]), str(bad), str(months[1]), "--json", "--keep-going")
    assert kept.returncode == 0, kept.stderr
    answer = json.loads(kept.stdout)
    assert [r["file"] for r in answer["refused"]] == [str(bad)]
    assert "is not a number" in answer["refused"][0]["error"]
    assert len(answer["files"]) == 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_scheduler_that_is_not_there_is_an_error_not_a_serial_run(months):
    address = f"tcp://127.0.0.1:{free_port()}"
    done = run_cli("report", *map(str, months[:2]), "--dask", address, "--json")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"costlib: error: --dask {address}: no Dask scheduler")
    assert done.stderr.count("\n") == 1


# --- Dask ---------------------------------------------------------------------------------------

def test_a_local_cluster_answers_as_one_process_does(months):
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        on_dask = scan(months, client=client)
    serial = scan(months, jobs=1)
    assert costlib.report(on_dask, tz=PACIFIC).as_dict() == costlib.report(
        serial, tz=PACIFIC).as_dict()
    assert [f.name for f in on_dask.files] == [str(p) for p in months]


@pytest.fixture
def cluster(aws_env):
    """A ``dask scheduler`` and two ``dask worker`` processes on loopback (no nanny: a worker
    killed stays dead), with the AWS settings of the S3 server; yields (address, workers)."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, **aws_env, "OPENBLAS_NUM_THREADS": "1"}
    started = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port",
                                 str(port), "--no-dashboard"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(2):
            started.append(subprocess.Popen(
                [str(DASK), "worker", address, "--nthreads", "1", "--no-nanny",
                 "--no-dashboard", "--host", "127.0.0.1"], env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address, started[1:]
    finally:
        for process in reversed(started):
            if process.poll() is None:
                process.terminate()
        for process in started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_a_real_cluster_reads_s3_and_answers_as_one_process(months, cluster):
    address, _ = cluster
    with s3_bucket("scan-bills") as s3:
        for path in months:
            s3.upload_file(str(path), "scan-bills", f"dbr/{path.name}")
        chosen = [f"s3://scan-bills/dbr/{months[i].name}" for i in (1, 4, 8, 11)]
        here = run_cli("report", *chosen, "--json", "--jobs", "1")
        there = run_cli("report", *chosen, "--json", "--dask", address)
        assert here.returncode == 0 and there.returncode == 0, here.stderr + there.stderr
        a, b = json.loads(here.stdout), json.loads(there.stdout)
        singles = [json.loads(run_cli("report", url, "--json").stdout) for url in chosen]
        assert json_units(a) == json_units(b) == sum_of(singles)
        assert a["users"] == b["users"] and a["daily"] == b["daily"]
        every = run_cli("report", "s3://scan-bills/dbr/", "--json", "--dask", address)
        assert every.returncode == 0, every.stderr
        assert json_units(json.loads(every.stdout)) == json_units(
            costlib.report(scan(months, jobs=1)).as_dict())


def test_a_worker_killed_mid_run_still_gives_the_same_answer(months, cluster):
    from distributed import Client

    address, workers = cluster
    with s3_bucket("scan-kill") as s3:
        for path in months:
            s3.upload_file(str(path), "scan-kill", path.name)
        urls = [f"s3://scan-kill/{p.name}" for p in months]
        with Client(address) as client:
            def kill_when_busy() -> None:
                """Kill the first worker once both are reading (or after 30 s)."""
                until = time.monotonic() + 30
                while time.monotonic() < until:
                    if sum(1 for tasks in client.processing().values() if tasks) == 2:
                        break
                    time.sleep(0.02)
                os.kill(workers[0].pid, signal.SIGKILL)

            killer = threading.Thread(target=kill_when_busy)
            killer.start()
            on_dask = scan(urls, client=client)
            killer.join()
        assert workers[0].wait(timeout=20) == -signal.SIGKILL
    serial = scan(months, jobs=1)
    for question in ({}, {"tz": PACIFIC, "spread": True}):
        a, b = costlib.spend(on_dask, **question), costlib.spend(serial, **question)
        assert cells(a) == cells(b) and a.total_units == b.total_units
