"""Hostile contestants: one grading of correct notebooks mixed with notebooks that attack the
bill, their neighbours, the grader, the submissions, the results, the grader's secrets and the
network, on a month nobody practised on. Every honest notebook keeps full marks, every hostile
one scores nothing, and no secret reaches a file under ``--out``.

The attacks are really attempted, bounded (a few hundred processes, a gigabyte of disk at
most, walks of ``/tmp`` a few folders deep, nothing outside this grading's own processes and
files) and run only inside bubblewrap's sandbox: without ``bwrap`` these tests are skipped.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from submissions import make

from conftest import ROOT
from costlib.files import bill_name
from costlib.sample import write_bill

pytestmark = pytest.mark.skipif(
    shutil.which("bwrap") is None,
    reason="bubblewrap (bwrap) is not installed: hostile notebooks run only in its sandbox "
           "(apt-get install bubblewrap)")

SUBMISSIONS = ROOT / "tests" / "submissions"
SECRET = "costlib-test-secret-" + hashlib.sha256(str(os.getpid()).encode()).hexdigest()[:16]
DAEMON_MARK = "HOSTILE-DAEMON-" + SECRET[-8:]

#: name -> (track, code cells); the port of the test's listener is filled in as {port}
HOSTILE: dict[str, tuple[str | None, list[str]]] = {
    # the two lines that used to win, and the answer key imported by its new name
    "answer-key.ipynb": (None, [
        "from costlib import contest",
        "from costlib.contest.answers import expected\n\ncontest.submit(**expected())",
        "contest.submit(**contest.expected())",
        "import costlib.contest.grade as grade\n\ncontest.submit(**grade.expected())"]),
    "answer-key-costlib.ipynb": ("with-costlib", [
        "from costlib import contest\nfrom costlib.contest.answers import expected\n\n"
        "contest.submit(**expected())"]),
    # sorted first: it runs before the honest notebooks, whose bill it tries to change
    "0-corrupts-bill.ipynb": (None, [
        "import glob\nimport os\nimport shutil\n\nfrom costlib import contest\n\n"
        "bill = contest.bill_path()\n"
        "practice = os.path.join(os.path.dirname(contest.__file__), '..', 'data', "
        "contest.PRACTICE_BILL)\n"
        "targets = [bill] + glob.glob(os.path.join(os.path.dirname(bill), '..', '..', 'bill', "
        "'*'))\n"
        "for target in targets:\n    try:\n        shutil.copyfile(practice, target)\n"
        "    except OSError as err:\n        print(target, err)"]),
    # kills every process of this grading it can see, for a few seconds
    "kills-neighbours.ipynb": (None, [
        "import os\nimport signal\nimport time\n\nfrom costlib import contest\n\n"
        "here = os.path.dirname(os.path.dirname(os.path.abspath(contest.answers_path())))\n"
        "mine, killed = {os.getpid(), os.getppid()}, set()\n"
        "deadline = time.monotonic() + 8\n"
        "while time.monotonic() < deadline:\n"
        "    for pid in [int(p) for p in os.listdir('/proc') if p.isdigit()]:\n"
        "        try:\n"
        "            with open(f'/proc/{pid}/environ', 'rb') as f:\n"
        "                env = f.read()\n"
        "        except OSError:\n"
        "            continue\n"
        "        if pid not in mine | killed and b'COSTLIB_ANSWERS=' + here.encode() in env:\n"
        "            try:\n"
        "                os.kill(pid, signal.SIGKILL)\n"
        "                killed.add(pid)\n"
        "            except OSError:\n"
        "                pass\n"
        "    time.sleep(0.2)\n"
        "print('killed', len(killed))"]),
    # the grader itself: the process that holds the secret in its environment
    "kills-grader.ipynb": (None, [
        "import os\nimport signal\n\n"
        "for pid in [int(p) for p in os.listdir('/proc') if p.isdigit()]:\n"
        "    try:\n"
        "        with open(f'/proc/{pid}/environ', 'rb') as f:\n"
        f"            if b'COSTLIB_TEST_SECRET={SECRET}' in f.read():\n"
        "                os.kill(pid, signal.SIGKILL)\n"
        "    except OSError:\n"
        "        pass"]),
    # overwrites the other hand-ins and plants an answers file beside them
    "hostile-tampers.ipynb": (None, [
        "import os\n\n"
        "for top, dirs, files in os.walk('/tmp'):\n"
        "    if top.count(os.sep) > 8:\n"
        "        dirs[:] = []\n"
        "    elif 'hostile-tampers.ipynb' in files and top != os.getcwd():\n"
        "        for name in files + ['planted.json']:\n"
        "            if name.endswith(('.ipynb', '.json')) and name != 'hostile-tampers.ipynb':\n"
        "                try:\n"
        "                    with open(os.path.join(top, name), 'w') as f:\n"
        "                        f.write('{}')\n"
        "                except OSError:\n"
        "                    pass"]),
    # a detached daemon that rewrites the leaderboard and its feedback once they exist
    "hostile-daemon.ipynb": (None, [
        "import os\nimport sys\n\n"
        "code = '''\nimport os, time\ndeadline = time.monotonic() + 90\n"
        "while time.monotonic() < deadline:\n"
        "    for top, dirs, files in os.walk('/tmp'):\n"
        "        if top.count(os.sep) > 8:\n            dirs[:] = []\n"
        "        elif 'leaderboard.csv' in files and 'feedback' in dirs:\n"
        "            with open(os.path.join(top, 'leaderboard.csv'), 'a') as f:\n"
        "                f.write('hostile-daemon.ipynb,1,2,2,1,1,1,8\\\\n')\n"
        "            raise SystemExit\n"
        "    time.sleep(1)\n'''\n"
        "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        f"        os.execv(sys.executable, [sys.executable, '-c', code, '{DAEMON_MARK}'])\n"
        "    os._exit(0)\nos.wait()"]),
    # the grader's environment and home, raised in an error the feedback quotes
    "steals-secrets.ipynb": (None, [
        "import glob\nimport os\n\nfound = []\n"
        "for path in glob.glob('/proc/[0-9]*/environ'):\n"
        "    try:\n        with open(path, 'rb') as f:\n"
        "            items = f.read().split(b'\\0')\n"
        "    except OSError:\n        continue\n"
        "    found += [i.decode('utf-8', 'replace') for i in items\n"
        "              if i.startswith((b'HOME=', b'COSTLIB_TEST_SECRET='))]\n"
        "for item in list(found):\n"
        "    if item.startswith('HOME='):\n"
        "        try:\n"
        "            with open(os.path.join(item[5:], '.aws', 'credentials')) as f:\n"
        "                found.append(f.read())\n"
        "        except OSError:\n            pass\n"
        "raise RuntimeError(' '.join(s for s in found if 'secret' in s.lower()) or 'none found')"]),
    "opens-sockets.ipynb": (None, [
        "import socket\n\n"
        "with socket.create_connection(('127.0.0.1', {port}), timeout=5) as s:\n"
        "    s.sendall(b'hello from a notebook')"]),
    "forks-hundreds.ipynb": (None, [
        "import subprocess\n\nprocs = []\ntry:\n    for _ in range(400):\n"
        "        procs.append(subprocess.Popen(['sleep', '30']))\nfinally:\n"
        "    for p in procs:\n        p.kill()\n        p.wait()\n"
        "    print('started', len(procs))"]),
    "fills-disk.ipynb": (None, [
        "for i in range(64):  # 1 GiB in files of 16 MiB\n"
        "    with open(f'junk-{i}', 'wb') as f:\n        f.write(bytes(2**24))"]),
}
HONEST = {"correct.ipynb": 8, "zz-correct-last.ipynb": 8, "02-with-costlib.ipynb": 8}


def _notebook(track: str | None, cells: list[str], port: int) -> str:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python",
                                 "name": "python3"}
    if track:
        nb.metadata["costlib"] = {"track": track}
    nb.cells = [nbformat.v4.new_code_cell(c.replace("{port}", str(port))) for c in cells]
    return nbformat.writes(nb)


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def _processes_with(mark: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and mark.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def contest_day(tmp_path_factory):
    """One grading, by the command, of the honest and hostile hand-ins together."""
    base = tmp_path_factory.mktemp("hostile")
    bill = write_bill(base / "bills" / bill_name("012345678901", "2026-03"), month="2026-03",
                      kind="dbr", seed=7)
    home = base / "home"
    (home / ".aws").mkdir(parents=True)
    credentials = home / ".aws" / "credentials"
    credentials.write_text(f"[default]\naws_secret_access_key = {SECRET}\n")
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    folder = base / "hand-ins"
    folder.mkdir()
    for name in ("correct.ipynb", "zz-correct-last.ipynb"):
        shutil.copy(SUBMISSIONS / "correct.ipynb", folder / name)
    (folder / "02-with-costlib.ipynb").write_text(nbformat.writes(make.handed_in_notebook(
        ROOT / "solutions" / "02-with-costlib.ipynb")), encoding="utf-8")
    for name, (track, cells) in HOSTILE.items():
        (folder / name).write_text(_notebook(track, cells, port), encoding="utf-8")
    (folder / "leak.ipynb").symlink_to(credentials)
    before = _digests(folder)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COSTLIB_", "AWS_"))}
    env.update(HOME=str(home), COSTLIB_TEST_SECRET=SECRET, MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]))
    out = base / "out"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "costlib.cli", "grade", str(folder), "--bill", str(bill),
             "--out", str(out), "--wall", "90", "--cpu", "30", "--memory", "1.5", "--jobs", "2"],
            env=env, cwd=base, capture_output=True, text=True, timeout=900)
        listener.setblocking(False)
        try:
            connection, _ = listener.accept()
            connection.close()
            connected = True
        except BlockingIOError:
            connected = False
        left = _processes_with(DAEMON_MARK)
    finally:
        listener.close()
        for pid in _processes_with(DAEMON_MARK):  # (only ever ours: the mark is this run's)
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    with open(out / "leaderboard.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return {"done": done, "out": out, "folder": folder, "before": before, "rows": rows,
            "connected": connected, "left": left}


def _score(day, name: str) -> int:
    table = {row[0]: row for row in day["rows"][1:]}
    return int(table[name][-1])


def _feedback(day, name: str) -> str:
    text = "\n".join(p.read_text(encoding="utf-8") for p in (day["out"] / "feedback").glob("*.md")
                     if p.read_text(encoding="utf-8").startswith(f"# {name}:"))
    assert text, name
    return text


def test_the_grading_finishes_and_exits_0(contest_day):
    assert contest_day["done"].returncode == 0, contest_day["done"].stderr[-2000:]


@pytest.mark.parametrize("name", sorted(HONEST))
def test_every_honest_notebook_keeps_full_marks(contest_day, name):
    assert _score(contest_day, name) == HONEST[name], _feedback(contest_day, name)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_every_hostile_notebook_scores_nothing(contest_day, name):
    assert _score(contest_day, name) == 0, _feedback(contest_day, name)


def test_no_secret_reaches_any_file_under_out(contest_day):
    for path in contest_day["out"].rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(encoding="utf-8", errors="replace"), path
    assert SECRET not in contest_day["done"].stdout + contest_day["done"].stderr


def test_a_symlinked_hand_in_is_skipped_with_the_reason(contest_day):
    assert "leak.ipynb" not in [row[0] for row in contest_day["rows"]]
    listing = (contest_day["out"] / "leaderboard.md").read_text(encoding="utf-8")
    assert "leak.ipynb" in listing and "symbolic link" in listing


def test_the_submissions_folder_is_left_as_it_was(contest_day):
    assert _digests(contest_day["folder"]) == contest_day["before"]


def test_no_detached_daemon_outlives_its_run(contest_day):
    assert contest_day["left"] == []
    assert _score(contest_day, "hostile-daemon.ipynb") == 0
    assert len(contest_day["rows"]) == 1 + len(HONEST) + len(HOSTILE)


def test_no_notebook_reaches_the_network(contest_day):
    assert not contest_day["connected"]


def test_a_fork_bomb_is_stopped_by_the_process_limit(contest_day):
    feedback = _feedback(contest_day, "forks-hundreds.ipynb")
    assert "Resource temporarily unavailable" in feedback or "BlockingIOError" in feedback


def test_a_disk_filler_is_stopped_by_the_disk_limit(contest_day):
    assert "No space left on device" in _feedback(contest_day, "fills-disk.ipynb")
