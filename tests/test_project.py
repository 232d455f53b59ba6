"""The project keeps its promises: README quickstart == CI, conda and pip agree, no real data."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

from conftest import ROOT


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    quickstart = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```\n(.+?)\n```", quickstart)


def test_readme_quickstart_is_two_commands_and_ci_runs_the_test_one():
    run, test = readme_commands()
    assert "costlib report" in run
    assert "pytest" in test
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test in ci_lines


def _requirement(spec: str) -> tuple[str, str]:
    name, version = re.match(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?\s*(.*)", spec).groups()
    return name.lower(), version.replace(" ", "")


def test_environment_yml_lists_what_pyproject_needs():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = dict(_requirement(s) for s in project["dependencies"]
                  + sum((extras[name] for name in extras if name != "bench"), []))
    conda = {}
    text = (ROOT / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        match = re.match(r"\s+- ([A-Za-z][^\s#:]*)\s*$", line)
        if match:
            name, version = _requirement(match.group(1))
            conda[name] = version
    for name, version in wanted.items():
        assert name in conda, f"{name} is in pyproject.toml but not in environment.yml"
        assert conda[name] == version, f"{name}: pyproject {version!r}, conda {conda[name]!r}"
    extra = set(conda) - set(wanted) - {"python", "pip", "flask", "flask-cors"}
    assert not extra, f"in environment.yml but not pyproject.toml: {extra}"


def test_gitignore_guards_real_bills():
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "billingdata/x.csv.zip",
         "123456789012-aws-billing-detailed-line-items-with-resources-and-tags-2017-02.csv.zip",
         "123456789012-aws-billing-csv-2017-02.csv",
         "cur/ocean/20260201-20260301/a1/ocean-00001.csv.gz",
         "cur/ocean/20260201-20260301/ocean-Manifest.json",
         "exports/x/data/BILLING_PERIOD=2026-02/x-00001.snappy.parquet"],
        cwd=ROOT, capture_output=True, text=True)
    assert len(ignored.stdout.split()) == 6


def test_no_tracked_file_holds_an_access_key():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True,
                             text=True).stdout.split()
    key = re.compile(rb"(?<![A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")
    leaks = [f for f in tracked if (ROOT / f).is_file() and key.search((ROOT / f).read_bytes())]
    assert leaks == []


def test_readme_example_and_docstring_examples_run():
    import doctest
    import importlib
    import pkgutil

    import costlib

    failed, _ = doctest.testfile(str(ROOT / "README.md"), module_relative=False)
    assert failed == 0
    tried = doctest.testmod(costlib).attempted
    for module in pkgutil.walk_packages(costlib.__path__, "costlib."):  # the wings too
        mod = importlib.import_module(module.name)
        result = doctest.testmod(mod, extraglobs={"sample_path": costlib.sample_path})
        assert result.failed == 0, module.name
        tried += result.attempted
    assert tried >= 5


def test_importing_costlib_loads_neither_pandas_nor_matplotlib():
    """``import costlib`` is quick (pandas and matplotlib load where they are used), every
    public name resolves, and a function keeps its name when the module it lives in is imported
    by its own name later."""
    script = """
import sys
import costlib
assert not {"pandas", "matplotlib"} & set(sys.modules), "eager imports"
assert costlib.money.UNIT == 10**10  # the package's modules load on first use too
import costlib.reading, costlib.spending, costlib.reporting
for name in costlib.__all__:
    assert getattr(costlib, name) is not None, name
assert callable(costlib.read) and callable(costlib.spend) and callable(costlib.report)
assert set(costlib.__all__) <= set(dir(costlib))
try:
    costlib.no_such_name
except AttributeError:
    pass
else:
    raise AssertionError("costlib.no_such_name resolved")
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr


def test_the_command_sets_numpy_threads_before_numpy_loads():
    """``costlib report`` does no linear algebra: ``run()`` caps numpy's BLAS threads (which
    would otherwise spin on the reading cores), which works only if numpy is not loaded yet
    when the command's module is imported."""
    script = """
import os, sys
from costlib.cli import run
assert "numpy" not in sys.modules, "costlib.cli imports numpy"
sys.argv = ["costlib", "report", "--json", "-q"]
os.environ.pop("OPENBLAS_NUM_THREADS", None)
import costlib.cli as cli
def main(argv):
    print(os.environ.get("OPENBLAS_NUM_THREADS"), "numpy" in sys.modules, file=sys.stderr)
    return 0
cli.main = main
run()
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr.strip() == "1 False", done.stderr


def _hub_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    hub = text.split("### On a JupyterHub", 1)[1].split("\n### ", 1)[0]
    (block,) = re.findall(r"```\n(.+?)\n\s*```", hub, re.DOTALL)
    return [line.strip().removeprefix("cd costnotify && ") for line in block.splitlines()]


def test_readme_hub_route_installs_nothing_over_the_image_and_ci_runs_it():
    commands = _hub_commands()
    assert not any("--user -e" in c or "pip install --user" in c for c in commands)
    assert any("ipykernel install --user --name costlib" in c for c in commands)
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    for command in commands:
        assert command.replace(".venv", ".venv-hub") in ci_lines, command


def test_ci_runs_the_package_tests_again_under_pandas_2_2_after_the_readme_command():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "pandas>=2.2,<4" in [s.split("#")[0].strip() for s in project["dependencies"]]
    _run, test = readme_commands()
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    again = [i for i, line in enumerate(ci_lines) if '"pandas==2.2.*"' in line
             and "pytest" in line and not line.lstrip().startswith("#")]
    assert again and again[0] > ci_lines.index(test)
