"""Catalogue cases: the workflow's config and targets (issue 10, defects 1 and 7).

Each case drives the workflow as a user does, in a scratch directory, and turns a
failure into ``ValueError(<what was printed>)``, so ``names`` checks what the user
read:

- field errors through snakemake itself (``snakemake -n --configfile bad.yaml``): the
  Snakefile's check must name the file, the line and the key path;
- file-level errors (YAML syntax, a file that is not a mapping) through what
  ``make figures`` runs: the config check first (``python -m astrocore.config check``,
  where the checkout has it), then snakemake, which reports such files before the
  Snakefile runs and without a line;
- the injection target through a real run (``--cores 1``): refused, and no file
  ``INJECTED`` written; a run that writes it returns (``silent``).

The checkout driven is the one astrocore is imported from (``python -m
tests.reliability.classify`` with another checkout first on PYTHONPATH measures that
one), else the one holding these tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .case import Case


def _root() -> Path:
    try:
        import astrocore  # noqa: PLC0415

        root = Path(astrocore.__file__).resolve().parent.parent
        if (root / "Snakefile").is_file():
            return root
    except ImportError:
        pass
    return Path(__file__).resolve().parents[2]


def _env(root: Path) -> dict:
    env = dict(os.environ, ASTROCORE_PROGRESS="0")
    env["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def _run(command, cwd, root):
    return subprocess.run(command, cwd=cwd, env=_env(root), capture_output=True, text=True, timeout=120)


def _snakemake(root: Path, workdir: Path, *args, targets=()) -> list[str]:
    # targets first: --configfile takes every word after it
    return [sys.executable, "-m", "snakemake", *targets, "--snakefile", str(root / "Snakefile"),
            "--directory", str(workdir), *args]


def _fail(result, what):
    output = (result.stdout or "") + (result.stderr or "")
    raise ValueError(f"{what} stopped (exit {result.returncode}):\n{output[-4000:]}")


def snakemake_dry_run(text: str, name: str = "bad.yaml", targets=()):
    """``snakemake -n --configfile <text written to name>``: ValueError with its output if it stops."""
    root = _root()
    with tempfile.TemporaryDirectory(prefix="astrocore-config-case-") as tmp:
        bad = Path(tmp) / name
        bad.write_text(text)
        result = _run(_snakemake(root, Path(tmp), "-n", "--configfile", str(bad), targets=targets), tmp, root)
        if result.returncode:
            _fail(result, "snakemake")
        return "snakemake accepted the config"


def make_figures_dry_run(text: str, name: str = "bad.yaml"):
    """What ``make figures CONFIG=<file>`` runs, dry: the config check (where the checkout has it),
    then ``snakemake -n``; ValueError with the output of the first that stops."""
    root = _root()
    with tempfile.TemporaryDirectory(prefix="astrocore-config-case-") as tmp:
        bad = Path(tmp) / name
        bad.write_text(text)
        if (root / "astrocore" / "config.py").is_file():
            result = _run([sys.executable, "-m", "astrocore.config", "check", str(bad)], tmp, root)
            if result.returncode:
                _fail(result, "the config check")
        result = _run(_snakemake(root, Path(tmp), "-n", "--configfile", str(bad)), tmp, root)
        if result.returncode:
            _fail(result, "snakemake")
        return "make figures would run"


HOSTILE_TARGET = "figures/tables/bench_mgd_batchx$(touch INJECTED).csv"


def injection_target(target: str = HOSTILE_TARGET):
    """A real run (``--cores 1``, quick profile) of a target whose wildcard holds a shell command."""
    root = _root()
    with tempfile.TemporaryDirectory(prefix="astrocore-injection-case-") as tmp:
        result = _run(_snakemake(root, Path(tmp), "--cores", "1", "--configfile", str(root / "config" / "quick.yaml"),
                                 targets=[target]), tmp, root)
        if (Path(tmp) / "INJECTED").exists():
            return "the wildcard's shell command ran: INJECTED was written"
        if result.returncode:
            _fail(result, "snakemake")
        return "snakemake made the target"


def _case(id, call, names, defect=7, **kw):
    return Case(id=f"config/{id}", call=call, names=names, exc=(ValueError,), defect=defect, timeout=90.0, **kw)


CASES = [
    # defect 1: a wildcard reaching the shell
    _case("injection-through-a-wildcard", injection_target, ("No rule to produce", "bench_mgd_batchx"), defect=1),
    _case("injection-through-a-wildcard-backticks",
          lambda: injection_target("figures/tables/bench_mgd_batchx`touch INJECTED`.csv"),
          ("No rule to produce", "bench_mgd_batchx`touch"), defect=1),
    # defect 7: the file itself
    _case("yaml-syntax-error", lambda: make_figures_dry_run("mgd_parity:\n  steps: 100\n  bits: [2, 3\n"),
          ("bad.yaml", "line 4")),
    _case("yaml-tab-indentation", lambda: make_figures_dry_run("mgd_parity:\n\tsteps: 100\n"),
          ("bad.yaml", "line 2")),
    _case("yaml-not-a-mapping", lambda: make_figures_dry_run("- mgd_parity\n- steps\n"), ("bad.yaml", "line 1")),
    _case("yaml-duplicate-key", lambda: snakemake_dry_run("mgd_parity:\n  steps: 100\n  steps: 1000\n"),
          ("bad.yaml", "line 3", "mgd_parity.steps")),
    # defect 7: values the schema let through
    _case("nan-target-accuracy", lambda: snakemake_dry_run("mgd_sweep:\n  target_accuracy: .nan\n"),
          ("bad.yaml", "line 2", "mgd_sweep.target_accuracy", "finite")),
    _case("inf-learning-rate", lambda: snakemake_dry_run("mgd_parity:\n  eta: .inf\n"),
          ("bad.yaml", "line 2", "mgd_parity.eta", "finite")),
    _case("nan-in-a-list", lambda: snakemake_dry_run("hardware_reservoir:\n  x0: [10.0, .nan, 1.0]\n"),
          ("bad.yaml", "line 2", "hardware_reservoir.x0[1]")),
    _case("steps-10-to-the-12", lambda: snakemake_dry_run("mgd_parity:\n  steps: 1000000000000\n"),
          ("bad.yaml", "line 2", "mgd_parity.steps", "1000000000")),
    _case("steps-written-as-a-power", lambda: snakemake_dry_run("mgd_parity:\n  steps: 10**12\n"),
          ("bad.yaml", "line 2", "mgd_parity.steps", "integer")),
    _case("float-count", lambda: snakemake_dry_run("hardware_mgd:\n  steps: 1.5e+4\n"),
          ("bad.yaml", "line 2", "hardware_mgd.steps", "integer")),
    _case("eval-every-beyond-steps", lambda: snakemake_dry_run("mgd_parity:\n  steps: 100\n  eval_every: 500\n"),
          ("bad.yaml", "line 3", "mgd_parity.eval_every", "mgd_parity.steps")),
    _case("wrong-type-string-for-bool",
          lambda: snakemake_dry_run("rhythmic_systems:\n  thomas:\n    standardise: 'no'\n"),
          ("bad.yaml", "line 3", "rhythmic_systems.thomas.standardise")),
    _case("unknown-key", lambda: snakemake_dry_run("mgd_parity:\n  learning_rate: 0.1\n"),
          ("bad.yaml", "line 2", "mgd_parity.learning_rate")),
    _case("negative-count", lambda: snakemake_dry_run("smart_scaling:\n  draws: -3\n"),
          ("bad.yaml", "line 2", "smart_scaling.draws")),
    _case("switch-times-beyond-the-series", lambda: snakemake_dry_run("rhythmic_regimes:\n  t_end: 1000\n"),
          ("rhythmic_regimes.switch_times", "rhythmic_regimes.t_end")),
    _case("window-longer-than-the-series",
          lambda: snakemake_dry_run("rhythmic_inference:\n  thomas:\n    washout: 5000\n"),
          ("bad.yaml", "line 3", "rhythmic_inference.thomas.washout", "steps")),
    _case("validation-horizon-beyond-the-windows",
          lambda: snakemake_dry_run("rhythmic_adaptation:\n  val_horizon: 5000\n"),
          ("bad.yaml", "line 2", "rhythmic_adaptation.val_horizon", "rhythmic_systems.horizon")),
    _case("dataset-without-sizes", lambda: snakemake_dry_run("mgd_vs_backprop:\n  datasets: [digits, parity]\n"),
          ("bad.yaml", "line 2", "mgd_vs_backprop.sizes", "parity")),
]
