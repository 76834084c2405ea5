"""Workflow faults (issue 10, defects 1 and 7): a hostile target, a checkout path with a quote and
a space, and a snakemake run killed with -9 in the middle of a job."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from astrocore import config as workflow_config
from astrocore import store

ROOT = Path(__file__).resolve().parents[2]
ODD = "astro's checkout (copy)"  # a quote and spaces: every path below it must survive the shell


def _snakemake(*args, cwd, python=sys.executable, **kw):
    return subprocess.run([str(python), "-m", "snakemake", *args], cwd=cwd, capture_output=True, text=True,
                          env=dict(os.environ, ASTROCORE_PROGRESS="0"), **kw)


@pytest.mark.parametrize("target", [
    "figures/tables/bench_mgd_batchx$(touch INJECTED).csv",
    "figures/tables/bench_mgd_batch1;touch INJECTED;.csv",
    "figures/tables/bench_mgd_batch`touch INJECTED`.csv",
    "data/mgd_parity/bits-2_mode-code$(touch INJECTED).nc",
    "figures/tables/bench_$(touch INJECTED).csv",
])
def test_a_hostile_target_is_refused_and_runs_nothing(tmp_path, target):
    """A wildcard holding a shell command matches no rule (every wildcard is constrained), so
    snakemake refuses the target before running anything: no file INJECTED appears. Before the
    fix the first target ran `touch INJECTED` through rules/bench.smk."""
    result = _snakemake(target, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
                        "--cores", "1", "--configfile", str(ROOT / "config" / "quick.yaml"), cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "No rule to produce" in output and target in output, output[-2000:]
    assert not (tmp_path / "INJECTED").exists()
    assert not list(tmp_path.rglob("*INJECTED*"))


def test_every_wildcard_of_every_rule_is_constrained():
    """Each wildcard in each rule's output, generated from the registry or written by hand
    (rules/optional.smk), has a constraint, global or the rule's own: snakemake's own rules, read
    through its API (no job runs), where snakemake writes every constraint into the pattern."""
    import re  # noqa: PLC0415

    from snakemake.api import SnakemakeApi  # noqa: PLC0415
    from snakemake.io import get_wildcard_names  # noqa: PLC0415
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings, StorageSettings  # noqa: PLC0415

    seen = set()
    with SnakemakeApi(OutputSettings(quiet=None)) as api:
        workflow = api.workflow(snakefile=ROOT / "Snakefile", workdir=ROOT,
                                config_settings=ConfigSettings(configfiles=[ROOT / "config" / "quick.yaml"]),
                                resource_settings=ResourceSettings(cores=1), storage_settings=StorageSettings())
        for rule in workflow._workflow.rules:
            for output in rule.output:
                seen |= get_wildcard_names(str(output))
                bare = re.findall(r"\{(\w+)\}", str(output))
                assert not bare, f"rule {rule.name}: {{{bare[0]}}} has no constraint ({output})"
    assert {"batch", "point", "bits", "mode", "system", "context", "name"} <= seen


def test_every_shell_value_is_quoted_in_the_rules():
    """No rule puts a wildcard, param, input, output or log into its shell command unquoted."""
    import re  # noqa: PLC0415

    for path in sorted((ROOT / "rules").glob("*.smk")):
        for field in re.findall(r"\{((?:wildcards|params|input|output|log)(?:\.\w+)?(?::\w+)?)\}", path.read_text()):
            if field.startswith("params.cmd"):  # built by papermill_command, which quotes every part
                continue
            assert field.endswith(":q"), f"{path.name}: {{{field}}} reaches the shell unquoted"


@pytest.fixture
def fake_python(tmp_path):
    """An executable under a path with a quote and spaces that prints the arguments it got, as JSON."""
    home = tmp_path / ODD / ".venv" / "bin"
    home.mkdir(parents=True)
    script = home / "python"
    script.write_text(f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n")
    script.chmod(0o755)
    return script


def test_papermill_command_survives_a_checkout_path_with_a_quote_and_a_space(tmp_path, fake_python):
    """The command the Snakefile builds for papermill, with the python, the notebooks and the log
    under a path holding a quote and spaces, and parameters holding quotes: shlex splits it back
    into the intended words, and a real shell passes exactly those words to the program."""
    notebooks = tmp_path / ODD / "notebooks"
    log = tmp_path / ODD / "logs" / "it's.ipynb"
    parameters = {"out": str(tmp_path / ODD / "data" / "x.nc"), "label": "a 'quoted' \"word\" $(touch INJECTED)",
                  "sizes": [64, 32, 10]}
    command = workflow_config.papermill_command(fake_python, notebooks, "mgd_parity_run.ipynb", parameters, 2)
    command += " " + workflow_config.quote(log)  # as the rules append {log:q}
    words = shlex.split(command)
    assert words[:4] == ["OMP_NUM_THREADS=2", "OPENBLAS_NUM_THREADS=2", "MKL_NUM_THREADS=2", "ASTROCORE_PROGRESS=0"]
    argv = words[4:]
    assert argv[0] == str(fake_python)
    assert argv[1:] == ["-m", "astrocore.workflow.run_notebook", "--no-progress-bar", "-k", "python3",
                        "--cwd", str(notebooks), "-y", json.dumps(parameters), str(notebooks / "mgd_parity_run.ipynb"),
                        str(log)]
    assert json.loads(argv[argv.index("-y") + 1]) == parameters
    ran = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == argv[1:]
    assert not (tmp_path / "INJECTED").exists()


def test_papermill_command_is_exactly_this_for_ordinary_paths():
    """Quoting is always single quotes, so an ordinary checkout's command (and snakemake's record of
    it) is this text, whatever the path: a path needing no quotes does not change it."""
    command = workflow_config.papermill_command("/x/.venv/bin/python", "/x/notebooks", "a.ipynb", {"k": "v"}, 1)
    assert command == ("OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 ASTROCORE_PROGRESS=0 "
                       "'/x/.venv/bin/python' -m astrocore.workflow.run_notebook --no-progress-bar -k python3 --cwd '/x/notebooks' "
                       "-y '{\"k\": \"v\"}' '/x/notebooks/a.ipynb'")


# ---------------------------------------------------------------------------------------- kill -9
TARGET = "data/smart_gradient/direction-code.nc"  # a quick-profile job of a few seconds


def _checkout_copy(where: Path) -> Path:
    """A checkout under a path with a quote and spaces: the workflow files copied, the library, the
    notebooks and the environment linked."""
    copy = where / ODD
    copy.mkdir(parents=True)
    for name in ("Makefile", "Snakefile", "pyproject.toml", "requirements-lock.txt"):
        shutil.copy2(ROOT / name, copy / name)
    for name in ("rules", "config", "profiles"):
        shutil.copytree(ROOT / name, copy / name)
    for name in ("astrocore", "notebooks", ".venv"):
        (copy / name).symlink_to(ROOT / name, target_is_directory=True)
    return copy


def _wait_for(predicate, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _locks(checkout: Path) -> list[Path]:
    locks = checkout / ".snakemake" / "locks"
    return sorted(locks.iterdir()) if locks.is_dir() else []


@pytest.mark.workflow
@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "python").exists(), reason="needs the project's .venv")
def test_a_run_killed_with_minus_9_resumes_with_the_same_make_command(tmp_path):
    """kill -9 of snakemake in the middle of a quick-profile job leaves its lock, and a plain rerun
    stops on it (LockException); `make figures` (the README's one command) removes the stale lock,
    since no snakemake works in the directory any more, reruns the incomplete job and writes a valid
    file. While snakemake runs, the same recovery leaves its lock alone. The checkout path holds a
    quote and spaces, so the job's papermill command is quoted end to end too."""
    checkout = _checkout_copy(tmp_path)
    python = checkout / ".venv" / "bin" / "python"  # sys.executable of the run: also under the odd path
    config = ["--configfile", "config/quick.yaml"]
    run = subprocess.Popen([str(python), "-m", "snakemake", TARGET, "--cores", "1", *config], cwd=checkout,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                           env=dict(os.environ, ASTROCORE_PROGRESS="0"))
    try:
        log = checkout / "logs" / "smart_gradient_run" / "direction-code.ipynb"
        _wait_for(lambda: _locks(checkout) and any(checkout.glob(".snakemake/incomplete/*")), 120,
                  "the job to start")
        # the recovery never touches the lock of a live run
        live = subprocess.run([str(python), "-m", "astrocore.config", "unlock-stale", *config], cwd=checkout,
                              capture_output=True, text=True)
        assert live.returncode == 0, live.stderr
        assert "may be running" in live.stdout and str(run.pid) in live.stdout, live.stdout
        assert _locks(checkout)
        assert run.poll() is None, "the job finished before it could be killed"
        os.kill(run.pid, signal.SIGKILL)  # the fault: snakemake killed in the middle of its job
        run.wait(timeout=30)
    finally:
        try:  # then the job it left behind (its process group: the processes this test started)
            os.killpg(run.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert _locks(checkout), "kill -9 should have left snakemake's lock behind"
    assert not (checkout / TARGET).exists() or any(checkout.glob(".snakemake/incomplete/*"))

    plain = _snakemake(TARGET, "--cores", "1", *config, cwd=checkout, python=python)
    assert plain.returncode != 0 and "LockException" in plain.stdout + plain.stderr, plain.stdout + plain.stderr

    make = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", "figures",
                           "CONFIG=config/quick.yaml", f"TARGETS={TARGET}", "CORES=1"], cwd=checkout,
                          capture_output=True, text=True, timeout=600, env=dict(os.environ, ASTROCORE_PROGRESS="0"))
    output = make.stdout + make.stderr
    assert make.returncode == 0, output[-4000:]
    assert "removed the stale lock" in output
    assert "config ok" in output
    ds = store.read_dataset(checkout / TARGET)
    assert len(ds.data_vars) > 0
    assert not _locks(checkout)
    assert not any(checkout.glob(".snakemake/incomplete/*"))
    assert log.exists()


def test_unlock_stale_without_a_lock_does_nothing(tmp_path):
    assert workflow_config.unlock_stale(tmp_path) == "no snakemake lock"
    assert workflow_config.stale_lock(tmp_path) is False


def test_a_lock_with_no_snakemake_running_is_stale(tmp_path):
    locks = tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.output.lock").write_text("data/x.nc\n")
    assert workflow_config.stale_lock(tmp_path) is True
