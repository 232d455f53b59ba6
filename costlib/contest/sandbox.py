"""Run one contest notebook in a process of its own, under limits, in a scratch folder.

The grader (:mod:`costlib.contest.grade`) calls :func:`run_notebook`. It starts
``python -P -m costlib.contest.sandbox ...`` in a new session, with a stripped environment (no
``AWS_*`` variables or other secrets; ``HOME``, ``TMPDIR`` and Jupyter's folders in the
scratch folder). That process first limits itself with :mod:`resource` (CPU time, address
space, file size, no core files), then executes the notebook with nbclient; the kernel it
starts inherits the limits. It writes what happened to a small JSON status file. The grader
kills the runner's and the kernel's process groups when the wall-time limit is up.

The limits are set by the runner on itself rather than in a ``preexec_fn``: the grader runs
notebooks from several threads at once, where ``preexec_fn`` may deadlock. Where the system
has no :mod:`resource` module (Windows) the notebook still runs, under the wall-time limit
only, and :attr:`Run.unset` names the limits that were not set.

This keeps honest mistakes from hurting the grading. It is no jail: the code runs as the
grading user and can read what that user can read and reach the network. Grade in a container
or a throwaway account for that (see ``contest/README.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

GIB = 2**30
#: Variables a Python kernel needs from the grader's environment; every other one is dropped.
KEEP_ENV = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONPATH", "VIRTUAL_ENV",
            "CONDA_PREFIX", "SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT")
STATUS_BYTES = 64 * 1024  #: the most of a status file the grader reads
TEXT_CHARS = 300  #: the most of an error message kept


@dataclass(frozen=True)
class Limits:
    """What one notebook may use: seconds of wall and CPU time, bytes of memory and file."""

    wall: float = 600.0
    cpu: int = 600
    memory: int = 4 * GIB
    files: int = 256 * 2**20

    def describe(self, unset: tuple[str, ...] = ()) -> str:
        """``wall 600 s, CPU 600 s, memory 4 GiB`` (limits not set are left out)."""
        parts = [f"wall {self.wall:g} s"]
        if "cpu" not in unset:
            parts.append(f"CPU {self.cpu} s")
        if "memory" not in unset:
            parts.append(f"memory {_size(self.memory)}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Run:
    """How one notebook's run ended.

    ``status`` is ``finished``, ``error`` (a cell raised), ``wall`` or ``cpu`` (a limit
    stopped it), ``died`` (the kernel died), ``unreadable`` (not a notebook) or ``failed``
    (the run itself went wrong). ``message`` names the cause in a few words (the exception,
    the limit, the kernel's exit signal; empty when finished), ``cell`` is the 1-based code
    cell it stopped in. ``seconds`` and ``log`` are for the instructor's log only: they change
    from run to run.
    """

    status: str
    message: str = ""
    cell: int | None = None
    unset: tuple[str, ...] = ()
    seconds: float = 0.0
    log: str = field(default="", repr=False)


def clean_env(scratch: Path, variables: dict[str, str]) -> dict[str, str]:
    """The environment a notebook runs in: a few system variables, homes in ``scratch``,
    one thread per numeric library, a fixed hash seed, and ``variables`` on top."""
    env = {k: v for k, v in os.environ.items() if k.upper() in KEEP_ENV}
    home, tmp, jupyter = scratch / "home", scratch / "tmp", scratch / "jupyter"
    package_root = str(Path(__file__).resolve().parents[2])  # the grader's own costlib
    env.update(
        HOME=str(home), USERPROFILE=str(home), TMPDIR=str(tmp), TEMP=str(tmp), TMP=str(tmp),
        JUPYTER_PATH=str(jupyter), JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
        JUPYTER_DATA_DIR=str(home / ".local" / "share" / "jupyter"),
        JUPYTER_RUNTIME_DIR=str(scratch / "runtime"), JUPYTER_PLATFORM_DIRS="1",
        IPYTHONDIR=str(home / ".ipython"), MPLCONFIGDIR=str(home / ".matplotlib"),
        MPLBACKEND="Agg", PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1",
        PYTHONPATH=os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p),
        OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    env.update(variables)
    return env


def run_notebook(notebook: Path, scratch: Path, variables: dict[str, str],
                 limits: Limits | None = None) -> Run:
    """Execute a copy of ``notebook`` in ``scratch/work`` under ``limits``; see the module doc.

    ``variables`` (the ``COSTLIB_*`` settings) are added to the stripped environment.
    Never raises for anything the notebook does.
    """
    limits = limits or Limits()
    work, status = scratch / "work", scratch / "status.json"
    for folder in ("home", "tmp", "runtime", "work"):
        (scratch / folder).mkdir(parents=True, exist_ok=True)
    copy = work / notebook.name
    shutil.copyfile(notebook, copy)
    _kernelspec(scratch / "jupyter")
    _font_cache(scratch / "home" / ".matplotlib")
    command = [sys.executable, "-P", "-m", "costlib.contest.sandbox", "--cpu", str(limits.cpu),
               "--memory", str(limits.memory), "--files", str(limits.files),
               "--cell-timeout", str(max(1, int(limits.wall))), str(copy), str(status)]
    started = time.monotonic()
    log_path = scratch / "runner.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, cwd=work, env=clean_env(scratch, variables),
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                **_new_group())
        try:
            proc.wait(timeout=limits.wall)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        state = _read_status(status)
        if timed_out or proc.returncode != 0 or os.name == "posix":  # leave nothing running
            _kill(proc, state.get("kernel_pgid"))
    seconds = time.monotonic() - started
    log_text = _tail(log_path)
    unset = tuple(state.get("unset", ()))
    cell = state.get("cell")
    if timed_out:
        return Run("wall", f"the wall-time limit ({limits.wall:g} s)", cell, unset, seconds,
                   log_text)
    if state.get("status") in ("finished", "error", "wall", "cpu", "died", "unreadable"):
        return Run(state["status"], _clip(str(state.get("message", ""))), cell, unset,
                   seconds, log_text)
    return Run("failed", f"the run failed{_how(proc.returncode)} before it could say why",
               cell, unset, seconds, log_text)


def _new_group() -> dict:
    if os.name == "posix":
        return {"start_new_session": True}
    return {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}


def _kill(proc: subprocess.Popen, kernel_pgid) -> None:
    """Kill the runner, the kernel and whatever they started (their process groups)."""
    if os.name == "posix":
        groups = [proc.pid] + ([kernel_pgid] if isinstance(kernel_pgid, int) else [])
        for group in groups:
            try:
                os.killpg(group, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    else:  # Windows: the whole tree under the runner
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)],
                       capture_output=True, check=False)
        proc.kill()
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
    try:
        fonts = sorted(cache.glob("fontlist-*.json"))
    except OSError:
        return
    folder.mkdir(parents=True, exist_ok=True)
    for path in fonts:
        try:
            shutil.copyfile(path, folder / path.name)
        except OSError:
            pass


def _read_status(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            state = json.loads(f.read(STATUS_BYTES))
    except (OSError, ValueError, RecursionError):
        return {}
    return state if isinstance(state, dict) else {}


def _tail(path: Path, chars: int = 2000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - chars))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _clip(text: str, chars: int = TEXT_CHARS) -> str:
    """One line of printable text, at most ``chars`` long."""
    line = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return line if len(line) <= chars else line[: chars - 3] + "..."


def _size(n: int) -> str:
    for unit, size in (("GiB", GIB), ("MiB", 2**20)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} bytes"


# ----------------------------------------------------------------------- inside the runner


def _set_limits(cpu: int, memory: int, files: int) -> list[str]:
    """Limit this process (and so the kernel it starts); the names of the limits not set."""
    try:
        import resource
    except ImportError:
        return ["cpu", "memory", "files"]
    unset = []
    wanted = [("cpu", "RLIMIT_CPU", cpu, cpu + 5), ("memory", "RLIMIT_AS", memory, memory),
              ("files", "RLIMIT_FSIZE", files, files), ("core", "RLIMIT_CORE", 0, 0)]
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


def _runner(argv: list[str]) -> int:
    """``python -m costlib.contest.sandbox``: limit this process, execute the notebook, say how it
    ended in the status file. Always exits 0 once the status file is written."""
    parser = argparse.ArgumentParser(prog="python -m costlib.contest.sandbox")
    parser.add_argument("--cpu", type=int, required=True)
    parser.add_argument("--memory", type=int, required=True)
    parser.add_argument("--files", type=int, required=True)
    parser.add_argument("--cell-timeout", type=int, required=True)
    parser.add_argument("notebook", type=Path)
    parser.add_argument("status", type=Path)
    args = parser.parse_args(argv)
    state: dict = {"unset": _set_limits(args.cpu, args.memory, args.files)}

    def save(**changes) -> None:
        state.update(changes)
        part = args.status.with_suffix(".part")
        part.write_text(json.dumps(state))
        os.replace(part, args.status)

    save(status="starting")
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    try:
        nb = nbformat.read(args.notebook, as_version=4)
        cells = [c for c in nb.cells if c.get("cell_type") == "code"]
    except Exception as err:  # any way a file can fail to be a notebook
        save(status="unreadable", message=f"not a Jupyter notebook ({_clip(str(err), 120)})")
        return 0
    number = {id(c): i for i, c in enumerate(cells, 1)}
    for cell in cells:
        cell.outputs, cell.execution_count = [], None
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    kernel: dict = {}

    def started(**_) -> None:
        kernel["process"] = getattr(client.km.provisioner, "process", None)
        save(kernel_pgid=getattr(client.km.provisioner, "pgid", None))

    def executing(cell, **_) -> None:
        save(cell=number.get(id(cell)))

    class OutputsDropped(NotebookClient):
        """nbclient's client keeping no outputs: printing gigabytes costs the grader nothing."""

        def output(self, outs, msg, display_id, cell_index):
            return None

    from traitlets.config import Config

    config = Config()
    sockets = args.status.parent / "runtime" / "k"
    if os.name == "posix" and len(str(sockets)) < 90:  # socket files rather than TCP ports
        config.KernelManager.transport, config.KernelManager.ip = "ipc", str(sockets)
    client = OutputsDropped(
        nb, config=config, kernel_name="python3", timeout=args.cell_timeout, startup_timeout=120,
        allow_errors=False, shutdown_kernel="immediate", record_timing=False,
        resources={"metadata": {"path": str(args.notebook.parent)}},
        on_notebook_start=started, on_cell_execute=executing)
    try:
        client.execute()
    except CellExecutionError as err:  # scratch paths out first: the feedback stays the same
        evalue = (err.evalue or "").replace(str(args.status.parent), "<scratch>")
        save(status="error", message=f"{err.ename}: {_clip(evalue)}" if evalue else err.ename)
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
        save(status="finished", message="")
    return 0


def _exit_code(kernel: dict):
    process = kernel.get("process")
    try:
        return process.wait(timeout=5) if process is not None else None
    except Exception:
        return None


def _how(code) -> str:
    """`` (SIGKILL)`` or `` (exit code 3)``: how a process ended, for a message."""
    if code is not None and code < 0:
        try:
            return f" ({signal.Signals(-code).name})"
        except ValueError:
            return f" (signal {-code})"
    return f" (exit code {code})" if code is not None else ""


if __name__ == "__main__":
    sys.exit(_runner(sys.argv[1:]))
