"""The notebooks' edit loop in one command: sync each pair, execute it, remake the starters.

    python tools/refresh_notebooks.py                      # every lesson and solution
    python tools/refresh_notebooks.py notebooks/03-*.py    # just these (.py or .ipynb)
    python tools/refresh_notebooks.py --from-ipynb solutions/01-by-hand.ipynb

For each notebook: read the ``py:percent`` script (the source you edit), give the cells
stable ids and the plain ``python3`` kernelspec, run it top to bottom in a fresh kernel of this
Python in the notebook's folder, then write both files through jupytext with the settings of
``jupytext.toml``, so that the pair agrees cell for cell. Finally ``tools/make_starters.py``
remakes ``contest/``. After editing the ``.ipynb`` in Jupyter without jupytext, pass
``--from-ipynb`` to take its cells instead; a newer ``.ipynb`` holding other cells stops the
run until ``--from-ipynb`` or ``--force`` says which side wins.

The kernel gets the environment the stored outputs must show: the bundled sample bill and no
contest or S3 settings (``COSTLIB_*`` unset), no AWS credentials, answers written to a
scratch file, and this checkout's ``costlib`` first on the path. Timings are printed: every
notebook must run in under 30 seconds.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ipykernel.kernelspec
import jupytext
import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from jupytext.config import load_jupytext_config
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_starters  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("notebooks", "solutions")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
BUDGET = 30.0  # seconds per notebook
#: Removed from the kernel's environment: they would change what the notebooks show.
UNSET = re.compile(r"^(COSTLIB_.*|AWS_.*|MPLBACKEND)$")


class _ThisPython(KernelSpecManager):
    """``python3`` is the Python running this script (as ``nbval --nbval-current-env``)."""

    def get_kernel_spec(self, kernel_name):
        if kernel_name == KERNELSPEC["name"]:
            return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES,
                                          **ipykernel.kernelspec.get_kernel_dict())
        return super().get_kernel_spec(kernel_name)


def pairs(paths: list[str]) -> list[Path]:
    """The ``.py`` halves of the notebooks named (default: all of them), in order."""
    if not paths:
        return sorted(p for folder in FOLDERS for p in (ROOT / folder).glob("[0-9][0-9]-*.py"))
    found = []
    for name in paths:
        path = Path(name).resolve()
        if path.suffix not in (".py", ".ipynb") or path.parent.name not in FOLDERS:
            raise SystemExit(f"refresh_notebooks: {name} is not a notebook in "
                             f"{' or '.join(FOLDERS)}/")
        found.append(path.with_suffix(".py"))
    return found


def coalesce_streams(outputs: list) -> list:
    """Join consecutive ``stdout`` (``stderr``) pieces: the kernel splits a cell's prints into
    messages by timing, so the stored form would change from run to run (nbval joins them
    the same way before comparing)."""
    joined: list = []
    for output in outputs:
        previous = joined[-1] if joined else None
        if (output.output_type == "stream" and previous is not None
                and previous.output_type == "stream" and previous.name == output.name):
            previous.text += output.text
        else:
            joined.append(output)
    return joined


def clean_environment(answers: Path) -> None:
    for key in [k for k in os.environ if UNSET.match(k)]:
        del os.environ[key]
    os.environ["COSTLIB_ANSWERS"] = str(answers)
    # this checkout's costlib, whether or not it is installed (pip install -e . makes it so)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))])
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"


def _sources(nb) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source) for cell in nb.cells]


def refresh(script: Path, *, from_ipynb: bool, execute: bool, force: bool = False) -> float:
    """Sync, execute and write one pair; return the seconds the execution took."""
    ipynb = script.with_suffix(".ipynb")
    config = load_jupytext_config(str(script))
    source = ipynb if from_ipynb else script
    if not source.exists():
        raise SystemExit(f"refresh_notebooks: {source.relative_to(ROOT)} does not exist")
    nb = jupytext.read(source, config=config)
    if not from_ipynb and not force and ipynb.exists():
        edited = jupytext.read(ipynb, config=config)
        if (_sources(edited) != _sources(nb)
                and ipynb.stat().st_mtime > script.stat().st_mtime):
            raise SystemExit(
                f"refresh_notebooks: {ipynb.relative_to(ROOT)} is newer than its script and "
                "holds other cells (edited in Jupyter without jupytext?): rerun with "
                "--from-ipynb to keep those edits, or --force to take the script's cells")
    if from_ipynb and script.exists():
        # keep the script's header, cells from the notebook
        nb.metadata = jupytext.read(script, config=config).metadata
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"{script.stem[:2]}-{i:02d}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    seconds = 0.0
    if execute:
        km = KernelManager(kernel_name=KERNELSPEC["name"], kernel_spec_manager=_ThisPython())
        client = NotebookClient(nb, km=km, timeout=120, allow_errors=False,
                                record_timing=False,
                                resources={"metadata": {"path": str(script.parent)}})
        start = time.perf_counter()
        client.execute(stderr=subprocess.DEVNULL)  # the kernel's own log, not cell output
        seconds = time.perf_counter() - start
        nb.metadata["kernelspec"] = dict(KERNELSPEC)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = coalesce_streams(cell.outputs)
    nbformat.validate(nb)
    jupytext.write(nb, ipynb, config=config)
    jupytext.write(nb, script, fmt="py:percent", config=config)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="notebooks (.py or .ipynb); default: all")
    parser.add_argument("--from-ipynb", action="store_true",
                        help="take the cells from the .ipynb (edited in Jupyter), not the .py")
    parser.add_argument("--force", action="store_true",
                        help="take the script's cells even when the .ipynb was edited later")
    parser.add_argument("--no-execute", action="store_true",
                        help="sync the pairs only (stored outputs are dropped)")
    args = parser.parse_args(argv)
    slow = []
    with tempfile.TemporaryDirectory() as scratch:
        clean_environment(Path(scratch) / "answers.json")
        for script in pairs(args.paths):
            seconds = refresh(script, from_ipynb=args.from_ipynb, execute=not args.no_execute,
                              force=args.force)
            name = script.relative_to(ROOT).with_suffix(".ipynb")
            print(f"{name}  {seconds:5.1f} s")
            if seconds > BUDGET:
                slow.append(str(name))
    for path in make_starters.write():
        print(f"wrote {path.relative_to(ROOT)}")
    if slow:
        print(f"over the {BUDGET:.0f} s budget: {', '.join(slow)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
