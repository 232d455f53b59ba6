"""Run one contest notebook isolated, under limits: bubblewrap where the machine has it.

The grader (:mod:`costlib.contest.grade`) calls :func:`run_notebook`. With bubblewrap
(``bwrap``, a Debian package) each run gets new mount, PID, network, IPC and UTS namespaces:

- a fresh scratch folder (a ``tmpfs`` of ``Limits.disk`` bytes) as its only writable place;
  its own copies of the notebook and the bill, read-only, under ``/scratch/in``;
- no view of the submissions, the results, other runs, the grader's home, environment or
  processes: only the interpreter, its packages and costlib (read-only), ``/usr``, ``/proc``
  of its own namespace and ``/dev``. In the by-hand track only the hand-in module of costlib
  (:mod:`costlib.contest` and its task table) and the practice bill are there; in the
  with-costlib track the whole package but the contest's answer key, grader and sandbox;
- no network (a namespace with loopback only);
- limits set by the runner on itself before the kernel starts: CPU time, address space, file
  size, processes (and threads), no core files; when the grader runs as root the run also
  switches to an unprivileged user of its own (``UID_BASE`` and up) with no capabilities;
- when the run ends, its PID namespace ends with it: every process it started is gone, a
  ``setsid`` double-forked daemon included; the wall-time limit kills the whole namespace.

Inside, ``python -P sandbox.py`` (this file, bound read-only) executes the notebook with
nbclient, every cell even after one fails (as nbgrader does), then asks the kernel for the
answers its variables hold. It reports on its standard output, one JSON line per change; the
notebook's own output goes to a file in the scratch folder, and the grader keeps only a few
kilobytes of either. Without bubblewrap (``--no-sandbox``) the same runner runs as a plain
process: the limits hold, the isolation does not.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

GIB, MIB = 2**30, 2**20
#: The grader's variables a run keeps; every other one is dropped (secrets, tokens, homes).
KEEP_ENV = ("PATH", "SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT")
#: Set in every run, whatever the grading machine says: scores never depend on its zone.
FIXED_ENV = {"TZ": "UTC", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "LANGUAGE": "",
             "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUTF8": "1",
             "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
             "MKL_NUM_THREADS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
             "JUPYTER_PLATFORM_DIRS": "1", "USER": "contestant", "LOGNAME": "contestant"}
STATUS_LINE = 24 * MIB  #: the longest status line read (it carries the answers files)
LOG_CHARS = 4000  #: the most of a run's output kept, for the instructor's log
TEXT_CHARS = 300  #: the most of an error message kept
ANSWERS_BYTES = 10 * MIB  #: an answers file bigger than this is not read
UID_BASE = 64000  #: runs switch to UID_BASE + slot when the grader is root
TRACKS = ("by-hand", "with-costlib")
SCRATCH = "/scratch"  #: the run's writable folder, inside the sandbox
RUNNER = "/runner/sandbox.py"


@dataclass(frozen=True)
class Limits:
    """What one notebook may use: seconds of wall and CPU time, bytes of memory (per
    process), of one file, of everything written (the scratch folder), and processes."""

    wall: float = 600.0
    cpu: int = 600
    memory: int = 4 * GIB
    files: int = 256 * MIB
    disk: int = 512 * MIB
    processes: int = 128

    def describe(self, unset: tuple[str, ...] = ()) -> str:
        """``wall 600 s, CPU 600 s, memory 4 GiB, ...`` (limits not set are left out)."""
        parts = [f"wall {self.wall:g} s"]
        for name, text in (("cpu", f"CPU {self.cpu} s"), ("memory", f"memory "
                           f"{_size(self.memory)}"), ("processes", f"processes "
                           f"{self.processes}"), ("disk", f"disk {_size(self.disk)}")):
            if name not in unset:
                parts.append(text)
        return ", ".join(parts)


@dataclass(frozen=True)
class Isolation:
    """What this machine gives each run: ``kind`` is ``bwrap`` or ``none``; ``reason`` says
    why there is no sandbox; ``root`` whether runs switch to an unprivileged user."""

    kind: str
    tool: str = ""
    version: str = ""
    root: bool = False
    reason: str = ""

    def describe(self) -> str:
        """One paragraph for ``costlib grade --check`` and the leaderboard."""
        if self.kind != "bwrap":
            return (f"no sandbox: {self.reason}. Notebooks would run as plain processes under "
                    "the limits only: they could read your files, reach the network and touch "
                    "other runs. Install bubblewrap (apt-get install bubblewrap), or grade with "
                    "--no-sandbox in a throwaway container.")
        who = (f"as an unprivileged user of its own (uid {UID_BASE}+), no capabilities"
               if self.root else "in a user namespace, as you, no capabilities")
        return (f"bubblewrap {self.version} ({self.tool}): each notebook runs {who}; own mount, "
                "PID, network (loopback only), IPC and UTS namespaces; a private scratch tmpfs "
                "with read-only copies of its notebook and the bill; no view of the "
                "submissions, the results, other runs, your home, environment or processes; "
                "every process it starts ends with its run.")


@dataclass(frozen=True)
class CellError:
    """A code cell that raised: its 1-based number, the exception, the nbgrader grade id."""

    cell: int
    message: str
    grade_id: str = ""


@dataclass(frozen=True)
class Run:
    """How one notebook's run ended.

    ``status`` is ``finished`` (every cell ran; some may have raised, see ``errors``),
    ``wall`` or ``cpu`` (a limit stopped it), ``died`` (the kernel died), ``unreadable`` (not
    a notebook) or ``failed`` (the run itself went wrong). ``message`` names the cause in a
    few words, ``cell`` is the 1-based code cell it stopped in. ``answers`` and
    ``collected`` are the texts of the answers file :func:`costlib.contest.submit` wrote and
    of the answers found in the kernel's variables after the last cell. ``seconds`` and
    ``log`` are for the instructor's log only: they change from run to run.
    """

    status: str
    message: str = ""
    cell: int | None = None
    unset: tuple[str, ...] = ()
    seconds: float = 0.0
    log: str = field(default="", repr=False)
    errors: tuple[CellError, ...] = ()
    answers: str | None = field(default=None, repr=False)
    collected: str | None = field(default=None, repr=False)


# ------------------------------------------------------------------------ the isolation


@lru_cache(maxsize=1)
def isolation() -> Isolation:
    """The sandbox this machine gives, found by starting a tiny one (once per process)."""
    if not sys.platform.startswith("linux"):
        return Isolation("none", reason=f"bubblewrap runs on Linux only, not {sys.platform}")
    tool = shutil.which("bwrap")
    if tool is None:
        return Isolation("none", reason="bubblewrap (bwrap) is not installed")
    try:
        version = subprocess.run([tool, "--version"], capture_output=True, text=True,
                                 timeout=30).stdout.split()[-1]
    except (OSError, IndexError, subprocess.SubprocessError):
        version = "?"
    found = Isolation("bwrap", tool, version, root=os.geteuid() == 0)
    become = (f"os.setgroups([]); os.setgid({UID_BASE}); os.setuid({UID_BASE}); "
              if found.root else "")  # as a run: its user must read Python and costlib
    probe = [*_bwrap_args(found, _view("by-hand"), {}), sys.executable, "-P", "-c",
             f"import os; {become}import nbclient, ipykernel, costlib.contest"]
    env = {"PATH": os.environ.get("PATH", ""),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL, env=env)
    except (OSError, subprocess.SubprocessError) as err:
        return Isolation("none", reason=f"bwrap cannot start ({err})")
    if done.returncode != 0:
        why = _clip(done.stderr or f"exit code {done.returncode}", 200)
        return Isolation("none", reason=f"bwrap cannot make a sandbox here ({why})")
    return found


def _view(track: str | None) -> list[tuple[str, str, str]]:
    """What of the machine a run sees, as ``(how, source, target)`` mounts, in order."""
    mounts: list[tuple[str, str, str]] = [("ro-bind", "/usr", "/usr")]
    for top in ("/bin", "/lib", "/lib32", "/lib64", "/sbin"):
        if os.path.islink(top):
            mounts.append(("symlink", os.readlink(top), top))
        elif os.path.isdir(top):
            mounts.append(("ro-bind", top, top))
    for etc in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
                "/etc/alternatives", "/etc/fonts"):
        if os.path.exists(etc):
            mounts.append(("ro-bind", etc, etc))
    places = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, sys.exec_prefix,
                                            os.path.dirname(os.path.realpath(sys.executable)))}
    places |= {os.path.realpath(p) for p in sys.path if p and os.path.isdir(p)
               and "site-packages" in p}
    for place in sorted(places):
        if not place.startswith("/usr/"):
            mounts.append(("ro-bind", place, place))
    if os.path.dirname(sys.executable) != os.path.dirname(os.path.realpath(sys.executable)):
        venv = str(Path(sys.executable).parent.parent)  # a venv: its bin/python links out
        mounts.append(("ro-bind", venv, venv))
    package = Path(__file__).resolve().parents[1]  # costlib/
    contest = package / "contest"
    hand_in = [contest / "__init__.py", contest / "tasks.py"]
    if track == "with-costlib":
        mounts.append(("ro-bind", str(package), str(package)))
        mounts.append(("tmpfs", "", str(contest)))
    elif track is not None:  # by-hand: the hand-in module, the practice bill, nothing else
        mounts += [("tmpfs", "", str(package)), ("dir", "", str(contest))]
        hand_in += [package / "__init__.py", package / "data"]
    if track is not None:
        mounts += [("ro-bind", str(p), str(p)) for p in hand_in]
    return mounts


def _bwrap_args(found: Isolation, view: list[tuple[str, str, str]], binds: dict[str, str],
                disk: int = 64 * MIB) -> list[str]:
    """The ``bwrap`` command line, up to the command itself."""
    args = [found.tool, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "contest"]
    if found.root:  # no user namespace: the runner switches to an unprivileged user itself
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args += ["--unshare-user"]
    made: dict[str, bool] = {"/": False}
    for how, source, target in view:
        args += _parents(target, made)
        if how == "symlink":
            args += ["--symlink", source, target]
        elif how in ("tmpfs", "dir"):
            args += ["--perms", "0755", f"--{how}", target]
        else:
            args += [f"--{how}", source, target]
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(16 * MIB), "--tmpfs", "/dev/shm",
             "--perms", "1777", "--size", str(disk), "--tmpfs", SCRATCH]
    if "/tmp" not in made:  # (a checkout or venv under /tmp is mounted there: TMPDIR then)
        args += ["--symlink", f"{SCRATCH}/tmp", "/tmp"]
    made[SCRATCH] = True
    for target, source in binds.items():
        args += [*_parents(target, made), "--ro-bind", source, target]
    for how, _, target in view:  # nothing but the scratch folder is writable
        if how == "tmpfs":
            args += ["--remount-ro", target]
    return args + ["--remount-ro", "/", "--chdir", "/"]


def _parents(target: str, made: dict[str, bool]) -> list[str]:
    """``--dir`` for each folder above ``target`` not there yet, readable by the run's user
    (bwrap makes them private to root otherwise). ``made``: path -> whether it is a mount."""
    args = []
    for parent in map(str, reversed(Path(target).parents)):
        inside_mount = any(parent.startswith(m + "/") for m, mount in made.items() if mount)
        if parent not in made and not inside_mount:
            args += ["--perms", "0755", "--dir", parent]
            made[parent] = False
    made[target] = True
    return args


# -------------------------------------------------------------------------- one run


_uid_lock = threading.Lock()
_uids_taken: set[int] = set()
_running: dict[int, subprocess.Popen] = {}
_running_lock = threading.Lock()
_stopped = threading.Event()  #: set by stop_all(): no run starts until allow_runs()


def run_notebook(notebook: Path, scratch: Path, variables: dict[str, str],
                 limits: Limits | None = None, *, sandbox: bool = True,
                 track: str = "by-hand") -> Run:
    """Execute a copy of ``notebook`` under ``limits``, isolated when ``sandbox`` (see the
    module doc); ``scratch`` is the grader's folder for this run (deleted by the caller).

    ``variables`` (``COSTLIB_*``) are added to the stripped environment; paths in them under
    ``scratch/in`` are rewritten to where the run sees them. Never raises for anything the
    notebook does.
    """
    limits = limits or Limits()
    found = isolation() if sandbox else Isolation("none", reason="--no-sandbox")
    if sandbox and found.kind != "bwrap":
        raise RuntimeError(found.describe())
    inside = Path(SCRATCH) if sandbox else scratch / "run"
    given = scratch / "in"
    given.mkdir(parents=True, exist_ok=True)
    copy = given / "notebook.ipynb"
    shutil.copyfile(notebook, copy)
    _kernelspec(given / "jupyter")
    _font_cache(given / "fonts")
    here = str(inside / "in") if sandbox else str(given)
    env = {k: v for k, v in os.environ.items() if k.upper() in KEEP_ENV}
    home = inside / "home"
    env.update(FIXED_ENV, HOME=str(home), TMPDIR=str(inside / "tmp"),
               JUPYTER_PATH=f"{here}/jupyter", JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
               JUPYTER_DATA_DIR=str(home / ".local"), JUPYTER_RUNTIME_DIR=str(inside / "rt"),
               IPYTHONDIR=str(home / ".ipython"), MPLCONFIGDIR=str(home / ".matplotlib"),
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    env.update({k: v.replace(str(given), here) for k, v in variables.items()})
    command = [sys.executable, "-P", RUNNER if sandbox else str(Path(__file__).resolve()),
               "--scratch", str(inside), "--notebook", f"{here}/notebook.ipynb",
               "--cpu", str(limits.cpu), "--memory", str(limits.memory),
               "--files", str(limits.files), "--processes", str(limits.processes),
               "--cell-timeout", str(max(1, int(limits.wall)))]
    uid = None
    if sandbox:
        uid = _take_uid() if found.root else None
        if uid is not None:
            command += ["--uid", str(uid)]
            os.chmod(scratch, 0o755)
            for path in given.rglob("*"):
                os.chmod(path, 0o755 if path.is_dir() else 0o644)
            os.chmod(given, 0o755)
        passwd = scratch / "passwd"
        passwd.write_text(f"contestant:x:{uid or os.getuid()}:{uid or os.getgid()}::"
                          f"{home}:/bin/sh\n")
        os.chmod(passwd, 0o644)
        binds = {f"{SCRATCH}/in": str(given), RUNNER: str(Path(__file__).resolve()),
                 "/etc/passwd": str(passwd)}
        command = _bwrap_args(found, _view(track), binds, limits.disk) + command
    else:
        inside.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        state, log_text, timed_out, code = _execute(command, env, limits)
    finally:
        if uid is not None:
            with _uid_lock:
                _uids_taken.discard(uid)
    seconds = time.monotonic() - started
    unset = tuple(state.get("unset", ()))
    cell = state.get("cell")
    errors = tuple(CellError(int(e.get("cell", 0)), _clip(str(e.get("message", ""))),
                             str(e.get("grade_id", ""))) for e in state.get("errors", ())
                   if isinstance(e, dict))
    texts = {k: state[k] for k in ("answers", "collected") if isinstance(state.get(k), str)}
    if timed_out:
        return Run("wall", f"the wall-time limit ({limits.wall:g} s)", cell, unset, seconds,
                   log_text, errors, **texts)
    if state.get("status") in ("finished", "wall", "cpu", "died", "unreadable", "failed"):
        return Run(state["status"], _clip(str(state.get("message", ""))), cell, unset,
                   seconds, log_text, errors, **texts)
    return Run("failed", f"the run failed{_how(code)} before it could say why", cell, unset,
               seconds, log_text, errors, **texts)


def stop_all() -> None:
    """Kill every run in progress and start no other (Ctrl-C): each one's whole sandbox goes
    with it. :func:`allow_runs` lets runs start again."""
    with _running_lock:
        _stopped.set()
        procs = list(_running.values())
    for proc in procs:
        _kill(proc, None)


def allow_runs() -> None:
    """Let runs start again after :func:`stop_all` (a new grading)."""
    _stopped.clear()


def _take_uid() -> int:
    with _uid_lock:
        uid = next(u for u in range(UID_BASE, UID_BASE + 1024) if u not in _uids_taken)
        _uids_taken.add(uid)
        return uid


def _execute(command: list[str], env: dict[str, str], limits: Limits):
    """Start the runner, read its status lines (bounded), kill it at the wall-time limit."""
    state: dict = {}
    tail: collections.deque[str] = collections.deque(maxlen=40)
    with _running_lock:  # a run starting while stop_all() kills the others would escape it
        if _stopped.is_set():
            return {"status": "failed", "message": "grading was stopped (Ctrl-C)"}, "", False, None
        proc = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True, cwd="/")
        _running[proc.pid] = proc

    def read() -> None:
        line = b""
        while chunk := proc.stdout.read1(65536):
            line += chunk
            *done, line = line.split(b"\n")
            for text in done:
                _status_line(text, state, tail)
            if len(line) > STATUS_LINE:
                line = b""
        _status_line(line, state, tail)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        proc.wait(timeout=limits.wall)
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        _kill(proc, state.get("kernel_pgid"))
        _running.pop(proc.pid, None)
    reader.join(timeout=30)
    log_text = "\n".join(tail) + ("\n" + state["log"] if isinstance(state.get("log"), str)
                                  else "")
    return state, log_text[-LOG_CHARS:], timed_out, proc.returncode


def _status_line(text: bytes, state: dict, tail) -> None:
    if not text.strip():
        return
    try:
        update = json.loads(text)
    except (ValueError, RecursionError):
        tail.append(_clip(text.decode("utf-8", "replace"), 400))
        return
    if isinstance(update, dict):
        state.update(update)


def _kill(proc: subprocess.Popen, kernel_pgid) -> None:
    """Kill the run's process group (with bwrap: its whole namespace) and the kernel's."""
    if os.name != "posix":  # Windows (no sandbox there): the whole tree under the runner
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)], capture_output=True,
                       check=False)
        proc.kill()
    groups = [proc.pid] + ([kernel_pgid] if isinstance(kernel_pgid, int) else [])
    for group in groups if os.name == "posix" else ():
        try:
            os.killpg(group, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    proc.wait()


def _kernelspec(folder: Path) -> None:
    """A ``python3`` kernel that is this very Python, found first through ``JUPYTER_PATH``
    (an installed ``python3`` kernelspec may name another interpreter)."""
    spec = folder / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps(
        {"argv": argv, "display_name": "Python 3 (ipykernel)", "language": "python"}))


def _font_cache(folder: Path) -> None:
    """Copy the grader's matplotlib font list, so no notebook spends seconds rebuilding it."""
    cache = Path(os.environ.get("MPLCONFIGDIR") or Path.home() / ".cache" / "matplotlib")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        fonts = sorted(cache.glob("fontlist-*.json"))
    except OSError:
        return
    for path in fonts:
        try:
            shutil.copyfile(path, folder / path.name)
        except OSError:
            pass


def _clip(text: str, chars: int = TEXT_CHARS) -> str:
    """One line of printable text, at most ``chars`` long."""
    line = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return line if len(line) <= chars else line[: chars - 3] + "..."


def _size(n: int) -> str:
    for unit, size in (("GiB", GIB), ("MiB", MIB)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} bytes"


def _how(code) -> str:
    """`` (SIGKILL)`` or `` (exit code 3)``: how a process ended, for a message."""
    if code is not None and code < 0:
        try:
            return f" ({signal.Signals(-code).name})"
        except ValueError:
            return f" (signal {-code})"
    return f" (exit code {code})" if code is not None else ""


# ----------------------------------------------------------------------- inside the runner


def _set_limits(cpu: int, memory: int, files: int, processes: int) -> list[str]:
    """Limit this process (and so the kernel it starts); the names of the limits not set."""
    try:
        import resource
    except ImportError:
        return ["cpu", "memory", "files", "processes"]
    unset = []
    wanted = [("cpu", "RLIMIT_CPU", cpu, cpu + 5), ("memory", "RLIMIT_AS", memory, memory),
              ("files", "RLIMIT_FSIZE", files, files), ("core", "RLIMIT_CORE", 0, 0),
              ("processes", "RLIMIT_NPROC", processes, processes)]
    for name, which, soft, hard in wanted:
        try:
            kind = getattr(resource, which)
            _, old_hard = resource.getrlimit(kind)
            if old_hard != resource.RLIM_INFINITY:
                soft, hard = min(soft, old_hard), min(hard, old_hard)
            resource.setrlimit(kind, (soft, hard))
        except (AttributeError, ValueError, OSError):
            unset.append(name)
    return unset


#: Run in the kernel after the notebook's last cell: the answers its variables hold.
COLLECT = """\
def _costlib_collect(path):
    import json
    from costlib import contest
    names = get_ipython().user_ns
    found = {n: names[n] for n in contest.ANSWERS if n in names}
    clean, problems = contest.validate(found, strict=False)
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"format": contest.FORMAT, "answers": clean, "problems": problems}, f)
_costlib_collect(PATH)
"""


def _runner(argv: list[str]) -> int:
    """``python -P sandbox.py``: drop privileges, limit this process, execute every cell of
    the notebook, collect the answers; say how it went on stdout. Exits 0 once it has."""
    parser = argparse.ArgumentParser(prog="sandbox.py")
    for name in ("--cpu", "--memory", "--files", "--processes", "--cell-timeout", "--uid"):
        parser.add_argument(name, type=int, required=name != "--uid")
    parser.add_argument("--scratch", type=Path, required=True)
    parser.add_argument("--notebook", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.uid is not None:  # root in the sandbox: become nobody in particular, for good
        os.setgroups([])
        os.setgid(args.uid)
        os.setuid(args.uid)
    state: dict = {"unset": _set_limits(args.cpu, args.memory, args.files, args.processes)}
    status = os.fdopen(os.dup(1), "w", encoding="utf-8")
    scratch = args.scratch
    for folder in ("home/.matplotlib", "tmp", "rt", "work", "out"):
        (scratch / folder).mkdir(parents=True, exist_ok=True)
    output = os.open(scratch / "output.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(output, 1)  # the kernel inherits these: its raw output goes to the scratch file
    os.dup2(output, 2)
    for font in (args.notebook.parent / "fonts").glob("*.json"):
        shutil.copyfile(font, scratch / "home" / ".matplotlib" / font.name)

    def save(**changes) -> None:
        state.update(changes)
        status.write(json.dumps(changes) + "\n")
        status.flush()

    save(status="starting", unset=state["unset"])
    answers, collected = scratch / "out" / "answers.json", scratch / "out" / "collected.json"
    os.environ["COSTLIB_ANSWERS"] = str(answers)
    try:
        _execute_notebook(args, save, collected)
    except Exception as err:  # the runner's own failure: say it, in the feedback's words
        save(status="failed", message=f"{type(err).__name__}: {_clip(str(err), 200)}")
    finally:
        save(answers=_read_text(answers), collected=_read_text(collected),
             log=_tail_of(scratch / "output.log"))
    return 0


def _execute_notebook(args, save, collected: Path) -> None:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from traitlets.config import Config

    try:
        nb = nbformat.read(args.notebook, as_version=4)
        cells = [c for c in nb.cells if c.get("cell_type") == "code"]
    except Exception as err:  # any way a file can fail to be a notebook
        save(status="unreadable", message=f"not a Jupyter notebook ({_clip(str(err), 120)})")
        return
    number = {id(c): i for i, c in enumerate(cells, 1)}
    for cell in cells:
        cell.outputs, cell.execution_count = [], None
    nb.cells.append(nbformat.v4.new_code_cell(COLLECT.replace("PATH", repr(str(collected)))))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    kernel: dict = {}
    errors: list[dict] = []

    def started(**_) -> None:
        kernel["process"] = getattr(client.km.provisioner, "process", None)
        save(kernel_pgid=getattr(client.km.provisioner, "pgid", None))

    def executing(cell, **_) -> None:
        if id(cell) in number:
            save(cell=number[id(cell)])

    def executed(cell, execute_reply, **_) -> None:
        content = (execute_reply or {}).get("content", {})
        if id(cell) in number and content.get("status") == "error":
            ename, evalue = str(content.get("ename", "")), str(content.get("evalue", ""))
            grade_id = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id", "")
            errors.append({"cell": number[id(cell)], "grade_id": str(grade_id),
                           "message": f"{ename}: {_clip(evalue)}" if evalue else ename})
            save(errors=errors)

    class OutputsDropped(NotebookClient):
        """nbclient's client keeping no outputs: printing gigabytes costs the grader nothing."""

        def output(self, outs, msg, display_id, cell_index):
            return None

    config = Config()
    sockets = args.scratch / "rt" / "k"
    if os.name == "posix" and len(str(sockets)) < 90:  # socket files rather than TCP ports
        config.KernelManager.transport, config.KernelManager.ip = "ipc", str(sockets)
    client = OutputsDropped(
        nb, config=config, kernel_name="python3", timeout=args.cell_timeout, startup_timeout=120,
        allow_errors=True, shutdown_kernel="immediate", record_timing=False,
        resources={"metadata": {"path": str(args.scratch / "work")}},
        on_notebook_start=started, on_cell_execute=executing, on_cell_executed=executed)
    try:
        client.execute()
    except CellTimeoutError:
        save(status="wall", message=f"the wall-time limit ({args.cell_timeout} s)")
    except DeadKernelError:
        code = _exit_code(kernel)
        if code is not None and code == -getattr(signal, "SIGXCPU", 0):
            save(status="cpu", message=f"the CPU-time limit ({args.cpu} s)")
        else:
            save(status="died", message=_how(code).strip(" ()") or "no exit code")
    except Exception as err:  # the kernel did not start, a zmq failure, ...
        save(status="failed", message=f"{type(err).__name__}: {_clip(str(err), 200)}")
    else:
        first = errors[0] if errors else {}
        save(status="finished", message=first.get("message", ""), cell=first.get("cell"))


def _read_text(path: Path) -> str | None:
    try:
        with open(path, "rb") as f:
            data = f.read(ANSWERS_BYTES + 1)
    except OSError:
        return None
    return data.decode("utf-8", "replace") if len(data) <= ANSWERS_BYTES else ""


def _tail_of(path: Path, chars: int = LOG_CHARS) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - chars))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _exit_code(kernel: dict):
    process = kernel.get("process")
    try:
        return process.wait(timeout=5) if process is not None else None
    except Exception:
        return None


if __name__ == "__main__":
    sys.exit(_runner(sys.argv[1:]))
