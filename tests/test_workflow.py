"""The workflow end to end (quick profile), its config validation, and the cluster profile."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from astrocore import reference, store

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ["mgd_parity", "mgd_gradient_quality", "mgd_vs_backprop", "mgd_sweep", "regime_detection",
           "rhythmic_schematic", "rhythmic_multiregime", "reservoir_adaptation", "rhythmic_inference",
           "smart_perturbations", "smart_gradient_quality", "smart_scaling", "smart_schematic",
           "hardware_reservoir",
           "hardware_mgd", "hardware_mgd_effects", "hardware_energy"]
TABLE_COLUMNS = {
    "mgd_vs_backprop": ["dataset", "method", "n_params", "seeds", "test_accuracy_mean", "test_accuracy_std",
                        "cost_evaluations", "wall_seconds"],
    "regime_detection": ["system", "graph", "method", "seeds", "accuracy_all_steps_mean", "accuracy_all_steps_std",
                         "accuracy_outside_transitions_mean", "accuracy_outside_transitions_std",
                         "detection_delay_mean", "detection_delay_std"],
    "reservoir_adaptation": ["system", "context", "trained", "model", "variant", "seeds", "forecasts", "vpt_mean",
                             "vpt_std", "vpt_units", "climate_distance_mean", "climate_distance_std", "selected"],
    "hardware_reservoir": ["bits", "phase_noise", "seeds", "regime_accuracy_mean", "regime_accuracy_std", "forecasts",
                           "vpt_mean", "vpt_std"],
    "hardware_mgd": ["training", "weight_bits", "noise", "seeds", "test_accuracy_mean", "test_accuracy_std"],
    "hardware_mgd_effects": ["effect", "level", "training", "seeds", "test_accuracy_mean", "test_accuracy_std"],
    "smart_perturbations": ["dataset", "direction", "seeds", "evals_to_90_median", "evals_to_bp_minus_1_median",
                            "final_test_accuracy_mean", "wall_seconds_median"],
    "hardware_energy": ["preset", "method", "per_inference_pj", "per_training_step_pj"],
}


def snakemake(*args, cwd):
    return subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), *args],
                          cwd=cwd, capture_output=True, text=True)


@pytest.mark.workflow
@pytest.mark.parametrize("name", FIGURES)
def test_quick_workflow_makes_every_figure_and_table(quick_dir, name):
    for path in (f"figures/{name}.png", f"figures/{name}.pdf", f"figures/tables/{name}.csv",
                 f"figures/tables/{name}.md"):
        assert (quick_dir / path).stat().st_size > 0, path
    table = pd.read_csv(quick_dir / f"figures/tables/{name}.csv")
    assert len(table) > 0
    if name in TABLE_COLUMNS:
        assert list(table.columns) == TABLE_COLUMNS[name]


@pytest.mark.workflow
@pytest.mark.parametrize("name", sorted(reference.TABLES))
def test_quick_tables_hold_their_reference_and_a_moved_reference_fails(quick_dir, name):
    """The quick run's chaotic statistics lie within tolerance of tests/references/quick/; moving any one
    reference value 1 % beyond its tolerance from the measured value makes the same check fail."""
    table = pd.read_csv(quick_dir / f"figures/tables/{name}.csv")
    assert "within tolerance" in reference.check(table, name, "quick")
    ref = reference.read_reference(name, "quick")
    result = reference.compare(table, ref, name)
    assert len(result) == len(ref)
    keys = reference._key(ref, reference.TABLES[name].keys)
    for i, row in result.iterrows():
        assert keys[i] == row.key and ref.statistic[i] == row.statistic, "compare keeps the reference's row order"
        moved = ref.copy()
        moved.loc[i, "reference"] = row.measured + 1.01 * row.tolerance
        result = reference.compare(table, moved, name)
        assert (~result.within).sum() == 1, f"{name}: moving row {i} beyond its tolerance went unnoticed"


@pytest.mark.parametrize("notebook", ["rhythmic_regimes_figures", "rhythmic_schematic_figures",
                                      "rhythmic_multiregime_figures", "rhythmic_adaptation_figures",
                                      "rhythmic_inference_figures", "hardware_reservoir_figures"])
def test_reservoir_figure_notebooks_check_their_tables(notebook):
    """Each notebook with chaotic numbers checks them against the quick reference when nbval runs it, and
    only cells whose numbers such a check covers skip nbval's text comparison."""
    path = ROOT / "notebooks" / f"{notebook}.ipynb"
    assert _parameters(path)["reference"] == _quick_config()["reference"] == "quick"
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    checks = [c for c in cells if "references.check(" in "".join(c["source"])]
    assert checks and all("nbval-ignore-output" not in c.get("metadata", {}).get("tags", []) for c in checks)


WALL_CLOCK_TABLES = {"hardware_mgd_figures": 2, "mgd_vs_backprop_figures": 1, "smart_figures": 1}


def test_only_reservoir_notebooks_skip_output_comparison():
    """nbval stays strict for every deterministic notebook (MGD, smart perturbations, hardware MGD, energy),
    except the cells that show tables with wall-clock seconds, volatile by nature."""
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        tagged = [c for c in json.loads(path.read_text())["cells"]
                  if "nbval-ignore-output" in c.get("metadata", {}).get("tags", [])]
        if path.stem.startswith(("rhythmic_", "hardware_reservoir_")):
            continue
        assert len(tagged) == WALL_CLOCK_TABLES.get(path.stem, 0), path.name


@pytest.mark.workflow
def test_same_machine_rerun_is_bit_identical(quick_dir, tmp_path):
    """Level one of reproducibility: the same notebook, parameters and locked packages on the same machine give
    the same data, bit for bit (a chaotic reservoir run included), provenance times aside."""
    import numpy as np  # noqa: PLC0415

    first = quick_dir / "data/rhythmic_inference/system-thomas.nc"
    again = tmp_path / "again.nc"
    result = subprocess.run([sys.executable, "-m", "papermill", "--no-progress-bar", "-k", "python3", "--cwd",
                             str(ROOT / "notebooks"), "-p", "out", str(again),
                             str(ROOT / "notebooks/rhythmic_inference_run.ipynb"), str(tmp_path / "log.ipynb")],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    a, b = store.read_dataset(first), store.read_dataset(again)
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.data_vars:
        assert np.array_equal(a[name].values, b[name].values, equal_nan=True), name


@pytest.mark.workflow
def test_quick_data_files_carry_provenance(quick_dir):
    files = sorted((quick_dir / "data").rglob("*.nc"))
    assert len(files) >= 20
    for path in files:
        ds = store.read_dataset(path)
        for key in store.PROVENANCE_KEYS:
            assert key in ds.attrs, f"{path} lacks {key}"
        assert ds.attrs["config_hash"] != "none" and ds.attrs["backend"] == "numpy"


@pytest.mark.workflow
def test_png_files_carry_no_volatile_metadata(quick_dir):
    data = (quick_dir / "figures/mgd_parity.png").read_bytes()
    assert b"Software" not in data and b"matplotlib version" not in data


@pytest.mark.workflow
def test_executed_notebooks_are_kept_as_logs(quick_dir):
    logs = sorted((quick_dir / "logs").rglob("*.ipynb"))
    assert any("mgd_parity_run" in str(p) for p in logs)


@pytest.mark.parametrize("override, message", [
    ({"mgd_parity": {"learning_rate": 0.1}}, "learning_rate"),
    ({"mgd_parity": {"eta": -1.0}}, "eta"),
    ({"mgd_parity": {"modes": ["fourier"]}}, "fourier"),
    ({"mgd_sweep": {"tau_theta": [0]}}, "tau_theta"),
    ({"mgd_sweep": {"target_accuracy": float("nan")}}, "mgd_sweep.target_accuracy"),
    ({"mgd_parity": {"steps": 100, "eval_every": 500}}, "mgd_parity.eval_every = 500 must be at most"),
])
def test_bad_config_stops_with_a_message_naming_it(tmp_path, override, message):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(override))
    result = snakemake("--dry-run", "--configfile", str(bad), cwd=tmp_path)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr


def test_malformed_config_file_is_rejected(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("mgd_parity: [unclosed\n")
    result = snakemake("--dry-run", "--configfile", str(bad), cwd=tmp_path)
    assert result.returncode != 0
    assert "Config file is not valid JSON or YAML" in result.stdout + result.stderr
    # snakemake reads a --configfile before the Snakefile runs, without a line; `make figures`
    # checks it first, naming the file and the line
    check = subprocess.run([sys.executable, "-m", "astrocore.config", "check", str(bad)], cwd=tmp_path,
                           capture_output=True, text=True)
    assert check.returncode == 1
    assert f"{bad}, line 2, column 1: YAML syntax error" in check.stderr, check.stderr


def test_the_shipped_configs_pass_the_config_check():
    from astrocore import config as workflow_config  # noqa: PLC0415

    for name in ("default", "quick"):
        merged = workflow_config.check_files(ROOT / "config" / f"{name}.yaml")
        assert merged["mgd_parity"]["steps"] == {"default": 200000, "quick": 8192}[name]
    # merged as snakemake merges a --configfile over the Snakefile's configfile
    from snakemake.utils import update_config  # noqa: PLC0415

    expected = yaml.safe_load((ROOT / "config/default.yaml").read_text())
    update_config(expected, yaml.safe_load((ROOT / "config/quick.yaml").read_text()))
    assert workflow_config.check_files(ROOT / "config" / "quick.yaml") == expected


@pytest.mark.parametrize("text, where, message", [
    ("mgd_parity:\n  steps: 100\n  bits: [2, 3\n", "line 4, column 1", "YAML syntax error"),
    ("mgd_parity:\n\tsteps: 100\n", "line 2", "YAML syntax error"),
    ("mgd_parity:\n  steps: 1\n  steps: 2\n", "line 3", "duplicate key mgd_parity.steps (first given at line 2)"),
    ("- 1\n", "line 1", "must be a mapping"),
    ("mgd_sweep:\n  target_accuracy: .nan\n", "line 2", "mgd_sweep.target_accuracy: nan is not allowed"),
    ("hardware_mgd:\n  noise: [0.0, .inf]\n", "line 2", "hardware_mgd.noise[1]: inf is not allowed"),
    ("mgd_parity:\n  steps: 1000000000000\n", "line 2", "mgd_parity.steps: 1000000000000 is greater than the maximum"),
    ("mgd_parity:\n  steps: 10**12\n", "line 2", "mgd_parity.steps: '10**12' is not of type 'integer'"),
    ("mgd_parity:\n  steps: 1.0e+5\n", "line 2", "mgd_parity.steps: 100000.0 is not of type 'integer'"),
    ("mgd_parity:\n  steps: 100\n  eval_every: 500\n", "line 3",
     "mgd_parity.eval_every = 500 must be at most mgd_parity.steps = 100"),
    ("smart_scaling:\n  draws: -3\n", "line 2", "smart_scaling.draws: -3 is less than the minimum of 1"),
    ("mgd_parity:\n  learning_rate: 0.1\n", "line 2", "mgd_parity.learning_rate: unknown key"),
    ("rhythmic_systems:\n  thomas:\n    standardise: 'no'\n", "line 3", "allowed: true or false"),
    ("rhythmic_regimes:\n  std_window: 9000\n", "line 2",
     "rhythmic_regimes.std_window = 9000 must be less than rhythmic_regimes.t_end = 7500"),
    ("hardware_reservoir:\n  switch_times: [500, 300]\n", "line 2", "hardware_reservoir.switch_times = [500, 300] "
     "must be increasing"),
    ("rhythmic_inference:\n  thomas:\n    washout: 5000\n", "line 3", "rhythmic_inference.thomas.washout = 5000"),
    ("rhythmic_systems:\n  thomas:\n    lyap_t_renorm: 5000.0\n", "line 3", "must be at most "
     "rhythmic_systems.thomas.lyap_t_total"),
    ("rhythmic_adaptation:\n  val_horizon: 5000\n", "line 2", "must be at most rhythmic_systems.horizon = 800"),
    ("mgd_sweep:\n  tau_theta: [1, 200000]\n", "line 2", "mgd_sweep.tau_theta[1] = 200000: one window costs"),
    ("mgd_vs_backprop:\n  datasets: [parity]\n", "line 2", "mgd_vs_backprop.sizes has no entry for dataset 'parity'"),
    ("smart_perturbations:\n  directions: [backprop, walsh_code]\n", "line 2", "smart_perturbations.directions[1]"),
    ("hardware_mgd:\n  eval_points: 5000\n  steps: 100\n", "line 2", "hardware_mgd.eval_points = 5000"),
])
def test_config_check_names_the_file_the_line_and_the_key(tmp_path, text, where, message):
    """Every config problem (YAML syntax, a non-finite number, a bound, a type, an unknown key, a
    relation between fields) is reported with the file, the line and the key path."""
    from astrocore import config as workflow_config  # noqa: PLC0415

    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(workflow_config.ConfigError) as err:
        workflow_config.check_files(bad)
    assert f"{bad}, {where}" in str(err.value) and message in str(err.value), str(err.value)


def test_config_check_reports_every_problem_at_once(tmp_path):
    from astrocore import config as workflow_config  # noqa: PLC0415

    bad = tmp_path / "bad.yaml"
    bad.write_text("mgd_parity:\n  eta: .nan\n  steps: 0\nbogus: 1\n")
    with pytest.raises(workflow_config.ConfigError, match=r"\(3 problems\)") as err:
        workflow_config.check_files(bad)
    lines = str(err.value).splitlines()[1:]
    assert [line.split(": ")[0].strip() for line in lines] == [f"{bad}, line {n}" for n in (2, 3, 4)]


def test_a_value_from_the_default_config_is_located_there(tmp_path):
    """A relation broken by an override names the line of the default value it conflicts with."""
    from astrocore import config as workflow_config  # noqa: PLC0415

    bad = tmp_path / "bad.yaml"
    bad.write_text("rhythmic_regimes:\n  t_end: 1000\n")
    with pytest.raises(workflow_config.ConfigError) as err:
        workflow_config.check_files(bad)
    assert "config/default.yaml, line " in str(err.value) and "rhythmic_regimes.snapshot_times" in str(err.value)


def test_slurm_profile_dry_run(tmp_path):
    result = snakemake("--workflow-profile", str(ROOT / "profiles" / "slurm"), "--dry-run",
                       "--configfile", str(ROOT / "config" / "quick.yaml"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "mgd_parity_run" in result.stdout


def _parameters(notebook: Path) -> dict:
    cells = json.loads(notebook.read_text())["cells"]
    (cell,) = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    tree = ast.parse("".join(cell["source"]))
    values = {}
    for node in tree.body:
        try:
            values[node.targets[0].id] = ast.literal_eval(node.value)
        except ValueError:
            values[node.targets[0].id] = None  # an expression (e.g. a comprehension)
    return values


def _quick_config() -> dict:
    config = yaml.safe_load((ROOT / "config/default.yaml").read_text())
    for block, values in yaml.safe_load((ROOT / "config/quick.yaml").read_text()).items():
        if isinstance(values, dict):
            config[block].update(values)
        else:
            config[block] = values
    return config


@pytest.mark.parametrize("notebook, block, swept", [
    ("mgd_parity_run", "mgd_parity", {"bits", "modes"}),
    ("mgd_gradient_run", "mgd_gradient", {"modes"}),
    ("mgd_vs_backprop_run", "mgd_vs_backprop", {"datasets", "methods", "sizes"}),
    ("mgd_sweep_run", "mgd_sweep", {"tau_theta", "eta", "target_accuracy"}),
    ("rhythmic_regimes_run", "rhythmic_regimes", {"cases", "warmup", "transition", "std_window", "norm_window",
                                                  "smooth_window", "persist"}),
    ("rhythmic_systems_run", "rhythmic_systems", {"systems", "thomas", "lorenz"}),
    ("rhythmic_adaptation_run", "rhythmic_adaptation", {"models"}),
    ("rhythmic_inference_run", "rhythmic_inference", {"systems", "thomas", "lorenz"}),
    ("smart_run", "smart_perturbations", {"datasets", "directions", "sizes", "eta", "evaluations", "target_accuracy",
                                          "bp_margin"}),
    ("smart_gradient_run", "smart_gradient", {"directions"}),
    ("smart_scaling_run", "smart_scaling", {"widths", "directions"}),
    ("hardware_reservoir_run", "hardware_reservoir", {"bits"}),
    ("hardware_mgd_run", "hardware_mgd", {"weight_bits", "noise", "noise_kind", "effects", "weight_clip", "presets",
                                               "preset_amplitudes"}),
    ("hardware_mgd_deploy", "hardware_mgd", {"weight_bits", "noise", "noise_kind", "effects", "weight_clip", "presets",
                                               "preset_amplitudes"}),
    ("hardware_energy", "hardware_energy", set()),
])
def test_notebook_defaults_are_the_quick_profile(notebook, block, swept):
    """A notebook run with its own defaults reproduces the quick workflow's point."""
    params = _parameters(ROOT / "notebooks" / f"{notebook}.ipynb")
    config = _quick_config()[block]
    for key, value in config.items():
        if key not in swept:
            assert params[key] == value, f"{notebook}: {key} = {params[key]!r}, quick config {value!r}"
