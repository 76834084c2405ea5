"""Test-session plumbing shared by tests/ and the nbval notebook checks.

The quick workflow (config/quick.yaml) runs once per session, lazily, into a
scratch directory, the first time a workflow test or a notebook needs it.
``ASTROCORE_WORKDIR`` then points there, so notebooks executed by nbval read
the quick data and write their figures there, never into the committed
figures/. Set ASTROCORE_WORKDIR yourself to reuse an existing quick run, and
ASTROCORE_QUICK_TARGETS (snakemake targets, space-separated) to make only part
of it (`make test-second-path` makes the reservoir figures only).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
os.environ.setdefault("ASTROCORE_PROGRESS", "0")

_quick = {}


def quick_workflow(config) -> Path:
    """Run the quick workflow once per session and return its directory."""
    if "dir" in _quick:
        return _quick["dir"]
    preset = os.environ.get("ASTROCORE_WORKDIR")
    if preset:
        _quick["dir"] = Path(preset)
        return _quick["dir"]
    workdir = config._tmp_path_factory.mktemp("quick_workflow")
    log = workdir / "snakemake.log"
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
               "--directory", str(workdir), "--configfile", str(ROOT / "config" / "quick.yaml"),
               "--cores", str(os.cpu_count() or 1), *os.environ.get("ASTROCORE_QUICK_TARGETS", "").split()]
    with open(log, "w") as handle:
        result = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, cwd=workdir)
    if result.returncode:
        tail = "\n".join(log.read_text().splitlines()[-60:])
        raise RuntimeError(f"quick workflow failed (exit {result.returncode}); log {log}:\n{tail}")
    os.environ["ASTROCORE_WORKDIR"] = str(workdir)
    _quick["dir"] = workdir
    return workdir


def _is_notebook(item) -> bool:
    return str(getattr(item, "fspath", "")).endswith(".ipynb")


def pytest_collection_modifyitems(config, items):
    """Unit tests first, then the workflow tests, then the notebooks."""
    items.sort(key=lambda item: 2 if _is_notebook(item) else 1 if item.get_closest_marker("workflow") else 0)


def pytest_runtest_setup(item):
    if _is_notebook(item):
        quick_workflow(item.config)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed notebook cell's report shows what the cell wrote to stderr (nbval names only the field)."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed and _is_notebook(item):
        stderr = "".join(out.get("text", "") for out in getattr(item, "test_outputs", None) or ()
                         if out.get("output_type") == "stream" and out.get("name") == "stderr")
        if stderr:
            report.sections.append(("stderr of the cell", stderr))


@pytest.fixture(scope="session")
def quick_dir(request) -> Path:
    """Directory of the session's quick workflow run."""
    return quick_workflow(request.config)
