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
