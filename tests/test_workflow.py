"""The workflow end to end (quick profile), its config validation, the cluster profile, and the
experiment registry the rules are generated from (config/experiments.yaml): parameters, sweeps,
library dependencies, schema enums and report captions."""

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from astrocore import config as workflow_config
from astrocore import reference, store
from astrocore.workflow import imports, parameter_names, registry

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = registry.Registry.load(ROOT / "config" / "experiments.yaml")
FIGURES = list(REGISTRY.figures())  # every figure the registry declares (figures/<name>.png, its table)
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
    "integration_online": ["system", "reservoir", "n_nodes", "learner", "label_every", "hardware", "seeds",
                           "nrmse_mean", "nrmse_std", "recovery_steps_median", "not_settled_fraction", "post_switch_nrmse",
                           "labels_used",
                           "cost_evaluations", "energy_per_update_j", "best_setting"],
    "integration_phase_control": ["system", "hardware", "context", "trained", "method", "window", "label_every", "seeds",
                                  "forecasts", "vpt_mean", "vpt_std", "vpt_units", "climate_distance_mean",
                                  "climate_distance_std", "labels_used", "cost_evaluations", "setting",
                                  "vpt_fraction"],
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


RESERVOIR_FIGURE_NOTEBOOKS = [r.notebook for r in REGISTRY.figure_rules() if "reference" in parameter_names(r.notebook)]


def test_the_reservoir_figure_notebooks_are_the_ones_with_a_reference():
    assert {Path(n).stem for n in RESERVOIR_FIGURE_NOTEBOOKS} == {
        "rhythmic_regimes_figures", "rhythmic_schematic_figures", "rhythmic_multiregime_figures",
        "rhythmic_adaptation_figures", "rhythmic_inference_figures", "hardware_reservoir_figures",
        "integration_online_figures", "integration_phase_figures"}


@pytest.mark.parametrize("notebook", RESERVOIR_FIGURE_NOTEBOOKS)
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
        if path.stem.startswith(("rhythmic_", "hardware_reservoir_", "integration_")):  # chaotic: reference tables
            continue
        assert len(tagged) == WALL_CLOCK_TABLES.get(path.stem, 0), path.name


@pytest.mark.workflow
def test_same_machine_rerun_is_bit_identical(quick_dir, tmp_path):
    """Level one of reproducibility: the same notebook, parameters and locked packages on the same machine give
    the same data, bit for bit (a chaotic reservoir run included), provenance times aside."""
    import numpy as np  # noqa: PLC0415

    first = quick_dir / "data/rhythmic_inference/system-thomas.nc"
    again = tmp_path / "again.nc"
    result = subprocess.run([sys.executable, "-m", "astrocore.workflow.run_notebook", "--no-progress-bar", "-k",
                             "python3", "--cwd",
                             str(ROOT / "notebooks"), "-p", "out", str(again),
                             str(ROOT / "notebooks/rhythmic_inference_run.ipynb"), str(tmp_path / "log.ipynb")],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    a, b = store.read_dataset(first), store.read_dataset(again)
    assert set(a.data_vars) == set(b.data_vars)
    for name in a.data_vars:
        assert np.array_equal(a[name].values, b[name].values, equal_nan=True), name


def test_run_notebook_is_papermill_without_the_iri_format_checker(tmp_path):
    """The rules' papermill (astrocore.workflow.run_notebook) injects the parameters and executes the
    notebook as papermill does, and never imports rfc3987_syntax (nor lark, its grammar engine)."""
    source = {"cells": [
        {"cell_type": "code", "execution_count": None, "metadata": {"tags": ["parameters"]}, "outputs": [],
         "source": ["x = 1"]},
        {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": ["print(x * 7)"]}],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5}
    notebook, executed = tmp_path / "in.ipynb", tmp_path / "out.ipynb"
    notebook.write_text(json.dumps(source))
    script = ("import sys\nfrom astrocore.workflow import run_notebook\ntry:\n    run_notebook.main(sys.argv[1:])\n"
              "except SystemExit as stop:\n    assert not stop.code, stop.code\n"
              "print(sys.modules['rfc3987_syntax'], 'lark' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script, "--no-progress-bar", "-k", "python3", "-y", '{"x": 6}',
                             str(notebook), str(executed)], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "None False"
    cells = json.loads(executed.read_text())["cells"]
    assert "x = 6" in "".join(cells[1]["source"])      # papermill's injected-parameters cell
    assert "".join(cells[-1]["outputs"][0]["text"]) == "42\n"


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


def _point_of_defaults(rule, defaults: dict) -> dict | None:
    """The sweep point a notebook run with its own defaults computes (None: a default that is no point)."""
    point = {}
    for axis in rule.sweep:
        value = defaults.get(axis.wildcard)
        if axis.hook or value is None:
            return None
        point[axis.wildcard] = axis.spell(value)
    return point


@pytest.mark.parametrize("rule", REGISTRY.runs(), ids=lambda r: r.name)
def test_notebook_defaults_are_the_quick_profile(rule):
    """A notebook run with its own defaults reproduces the quick workflow's point: every parameter the
    rule takes from the config (by name, or derived from the point) has the quick config's value as
    the notebook's default. Which parameters those are is the registry's, not a list kept here."""
    defaults = _parameters(rule.notebook_path)
    config = CONFIGS["quick"]  # merged as snakemake merges it (nested blocks key by key)
    point = _point_of_defaults(rule, defaults)
    derived = point is not None
    if point is None:  # e.g. hardware_mgd_run (the point is a HardwareModel): the config's own first point
        point = rule.points(config)[0]
    inputs = {name: REGISTRY.read_files(rule, name, config, point) for name, _ in rule.reads}
    sources = rule.sources(config, point, inputs, "out.nc")
    compared = {**sources["config"], **({k: v for k, v in sources["derive"].items()
                                         if not isinstance(dict(rule.derive)[k], dict)} if derived else {})}
    assert compared
    for key, value in compared.items():
        assert defaults[key] == value, f"{rule.notebook}: {key} = {defaults[key]!r}, quick config {value!r}"


# ---------------------------------------------------------------------------------------- the registry
CONFIGS = {name: workflow_config.check_files(ROOT / "config" / f"{name}.yaml") for name in ("default", "quick")}


@pytest.mark.parametrize("profile", CONFIGS)
def test_the_registry_holds_for_both_profiles(profile):
    """Every registered notebook exists, every rule it reads is registered, and for every point of the
    profile every parameter of the notebook has a source (Registry.check, which the Snakefile runs)."""
    REGISTRY.check(CONFIGS[profile])


@pytest.mark.parametrize("profile", CONFIGS)
@pytest.mark.parametrize("rule", list(REGISTRY.rules.values()), ids=lambda r: r.name)
def test_every_job_passes_every_parameter_of_its_notebook(rule, profile):
    """What papermill passes is the notebook's parameters cell, name for name, for every point: so the
    notebook's run_config hashes the full configuration and no value falls back to the notebook's quick
    default in a default-profile run. Names listed as not_parameters are defects of the notebook."""
    config = CONFIGS[profile]
    names = set(parameter_names(rule.notebook))
    assert set(rule.not_parameters) <= names
    points = rule.points(config)
    assert points
    for point in points:
        inputs = {name: REGISTRY.read_files(rule, name, config, point) for name, _ in rule.reads}
        parameters = REGISTRY.job_parameters(rule, config, point, inputs, "data/out.nc")
        assert set(parameters) == names - set(rule.not_parameters), (rule.name, point)
        assert all(v is not None for k, v in parameters.items() if k in registry.PATHS or k == "out")


def test_the_only_name_in_a_parameters_cell_that_is_no_parameter_is_listed():
    """not_parameters: a name the notebook's parameters cell defines but the workflow cannot pass (a
    helper of a default value). Each one must go from its notebook; this test names them."""
    listed = {r.name: set(r.not_parameters) for r in REGISTRY.rules.values() if r.not_parameters}
    assert listed == {"hardware_mgd_deploy": {"grid"}} or listed == {}, listed


@pytest.mark.parametrize("profile", CONFIGS)
def test_every_config_key_reaches_a_notebook(profile):
    """No dead key: each key of each experiment's block is passed by name to one of its notebooks, swept,
    derived or looked up (so the schema, the config and the notebooks cannot drift apart unnoticed)."""
    config = CONFIGS[profile]
    used = {name: set() for name in REGISTRY.experiments}
    for rule in REGISTRY.rules.values():
        block = config[rule.experiment]
        used[rule.experiment] |= {a.over.split(".")[0] for a in rule.sweep if a.over and not a.over.startswith("config.")}
        used[rule.experiment] |= {d.split(".")[0] for _, d in rule.derive if isinstance(d, str) and "{" not in d[:1]}
        used[rule.experiment] |= {key for a in rule.sweep if a.hook for key in registry.HOOK_KEYS[a.hook]}
        used[rule.experiment] |= {key for _, d in rule.derive if isinstance(d, dict) for key in registry.HOOK_KEYS[d["hook"]]}
        for axis in rule.sweep:  # a sub-block named by a wildcard ({system}): every name the axis allows
            if any(path.startswith(f"{{{axis.wildcard}}}") for path in rule.lookup + tuple(
                    d for _, d in rule.derive if isinstance(d, str)) + tuple(a.over or "" for a in rule.sweep)):
                used[rule.experiment] |= set(axis.names)
        for point in rule.points(config):
            inputs = {name: REGISTRY.read_files(rule, name, config, point) for name, _ in rule.reads}
            sources = rule.sources(config, point, inputs, "out.nc")
            used[rule.experiment] |= set(sources["config"]) & set(block)
            used[rule.experiment] |= {registry._fill(path, point).split(".")[0]
                                      for path in rule.lookup + tuple(d for _, d in rule.derive if isinstance(d, str))}
    for experiment, keys in used.items():
        assert set(config[experiment]) <= keys, f"{experiment}: no notebook takes {set(config[experiment]) - keys}"
    assert set(config) - {"reference"} == set(REGISTRY.experiments)


def test_the_registry_declares_each_output_once_and_the_paths_follow_it():
    outputs = [path for rule in REGISTRY.rules.values() for path in rule.outputs]
    assert len(outputs) == len(set(outputs))
    rule = REGISTRY.rules["mgd_parity_run"]
    assert rule.outputs == ["data/mgd_parity/bits-{bits}_mode-{mode}.nc"]
    assert rule.log == "logs/mgd_parity_run/bits-{bits}_mode-{mode}.ipynb"
    assert REGISTRY.rules["mgd_gradient_figure"].outputs == registry.figure_files("mgd_gradient_quality")
    assert REGISTRY.rules["mgd_gradient_figure"].log == "logs/mgd_gradient_figure.ipynb"
    quick = CONFIGS["quick"]
    assert REGISTRY.rules["mgd_sweep_run"].files(quick) == [
        f"data/mgd_sweep/tau_theta-{t}_eta-{e}.nc" for t in (1, 10) for e in ("0.001", "0.003")]
    assert REGISTRY.rules["rhythmic_systems_context"].files(quick) == [
        f"data/rhythmic_systems/system-thomas_context-{c}.nc" for c in ("0.18", "0.22", "0.29")]
    assert REGISTRY.read_files(REGISTRY.rules["rhythmic_schematic_figure"], "inputs", quick, {}) == [
        "data/rhythmic_regimes/case-authors.nc"]


def test_a_rule_s_priority_is_its_longest_chain_of_declared_runtimes():
    """Against every chain written out: each path from a rule through the rules that read it, to a
    rule nothing reads, summing the declared runtimes; the priority is the longest. The reservoir
    chain that ends in the phase controller (its jobs the study's longest) outranks the many short
    jobs of the online and hardware sweeps."""
    rules = REGISTRY.rules
    readers = {name: [other for other, spec in rules.items()
                      if any(name in reads.rules for _, reads in spec.reads)] for name in rules}

    def chains(name):
        if not readers[name]:
            return [[name]]
        return [[name, *rest] for reader in readers[name] for rest in chains(reader)]

    def runtime(name):
        return dict(rules[name].resources).get("runtime", 0)

    for name, spec in rules.items():
        assert REGISTRY.priority(spec) == max(sum(map(runtime, chain)) for chain in chains(name)), name
    first = [rules[n] for n in ("rhythmic_systems_train", "rhythmic_systems_context", "rhythmic_adaptation_run",
                                "integration_phase_run")]
    for later in ("integration_online_run", "hardware_mgd_run", "smart_run"):
        assert all(REGISTRY.priority(r) > REGISTRY.priority(rules[later]) for r in first), later


def test_a_registry_error_names_the_rule_and_the_parameter(tmp_path):
    data = yaml.safe_load((ROOT / "config" / "experiments.yaml").read_text())
    del data["mgd_sweep"]["runs"]["mgd_sweep_run"]["sweep"]["eta"]  # eta now comes from the block: a list
    data["mgd_sweep"]["runs"]["mgd_sweep_run"]["point"] = "tau_theta-{tau_theta}"
    data["smart_gradient"]["runs"]["smart_gradient_run"]["derive"] = {"nonsense": "batch"}
    broken = registry.Registry(data, REGISTRY.schema, "broken.yaml")
    with pytest.raises(registry.RegistryError) as err:
        broken.check(CONFIGS["quick"])
    assert "rule smart_gradient_run: notebooks/smart_gradient_run.ipynb has no parameter nonsense" in str(err.value)
    data = yaml.safe_load((ROOT / "config" / "experiments.yaml").read_text())
    data["mgd_parity"]["runs"]["mgd_parity_run"]["sweep"]["colour"] = "colours"
    with pytest.raises(registry.RegistryError, match="sweep 'colour' over 'colours'"):
        registry.Registry(data, REGISTRY.schema)
    with pytest.raises(registry.RegistryError, match="mgd_parity.runs.mgd_parity_run: Additional properties"):
        registry.Registry({"mgd_parity": {"runs": {"mgd_parity_run": {"swep": {}}}}}, REGISTRY.schema)


def test_a_notebook_parameter_without_a_source_stops_the_registry_check():
    config = {**CONFIGS["quick"], "mgd_parity": {k: v for k, v in CONFIGS["quick"]["mgd_parity"].items()
                                                  if k != "eval_every"}}
    with pytest.raises(registry.RegistryError, match=r"rule mgd_parity_run: the parameter\(s\) eval_every"):
        REGISTRY.check(config)


@pytest.mark.parametrize("profile", CONFIGS)
def test_every_wildcard_constraint_refuses_a_shell_command(profile):
    """Each wildcard of each generated rule is constrained (an integer, a number, a schema name or a
    config point), and no constraint matches a value holding a shell command."""
    config = CONFIGS[profile]
    for rule in REGISTRY.rules.values():
        constraints = REGISTRY.constraints(rule, config)
        for path in rule.outputs:
            for wildcard in re.findall(r"\{(\w+)\}", path):
                assert wildcard in constraints, (rule.name, wildcard)
        for wildcard, pattern in constraints.items():
            for point in rule.points(config):
                assert re.fullmatch(pattern, point[wildcard]), (rule.name, point)
            for hostile in ("code$(touch INJECTED)", "1;touch INJECTED", "`touch INJECTED`", "a b", "x'y"):
                assert not re.fullmatch(pattern, hostile), (rule.name, wildcard, hostile)


def test_hardware_mgd_points_are_hardware_models():
    """The registry's hardware_mgd points (its one computed sweep) are HardwareModels the library builds,
    and every effect the schema allows sets fields of HardwareModel."""
    from astrocore.hardware import HardwareModel, model_from  # noqa: PLC0415

    fields = set(HardwareModel().flat())
    for config in CONFIGS.values():
        block = config["hardware_mgd"]
        points = registry.hardware_mgd_points(block, config)
        deployed = registry.hardware_mgd_deployed(block, config, {})
        assert len(points) == len(deployed) - len(block["presets"]) + len(block["presets"]) * len(
            block["preset_amplitudes"])
        for point in [*points.values(), *deployed]:
            model_from(point["hardware"])
    effects = REGISTRY.schema["properties"]["hardware_mgd"]["properties"]["effects"]["properties"]
    for effect in effects:
        assert set(registry._hardware_effect_model(effect, 1)) <= fields, effect
    for kind, names in registry.NOISE_KINDS.items():
        assert set(names) <= fields, kind


# ---------------------------------------------------------------------------------------- schema enums
def _enums(node, path=()):
    if isinstance(node, dict):
        if "enum" in node:
            yield path, node
        for key, value in node.items():
            yield from _enums(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _enums(value, (*path, i))


def _constant(dotted: str):
    import importlib  # noqa: PLC0415

    module, _, name = dotted.rpartition(".")
    value = getattr(importlib.import_module(module), name)
    return list(value.keys() if isinstance(value, dict) else value)


def test_schema_enums_come_from_the_library():
    """Every list of names in config/schema.yaml equals the library constant(s) it names (x-library),
    less x-except, plus x-also: a name added to or removed from the library shows here."""
    enums = list(_enums(REGISTRY.schema))
    assert len(enums) >= 15
    for path, node in enums:
        assert "x-library" in node, f"{'.'.join(map(str, path))}: an enum without x-library (its library constant)"
        sources = node["x-library"] if isinstance(node["x-library"], list) else [node["x-library"]]
        library = [name for source in sources for name in _constant(source)]
        assert set(node.get("x-except", [])) <= set(library), path
        expected = (set(library) - set(node.get("x-except", []))) | set(node.get("x-also", []))
        assert set(node["enum"]) - {None} == expected, f"{'.'.join(map(str, path))}: {node['enum']} against {expected}"


def test_mgd_modes_in_the_schema_are_the_library_s():
    from astrocore import mgd  # noqa: PLC0415

    assert REGISTRY.schema["definitions"]["mode"]["enum"] == list(mgd.MULTIPLEXING)


# ---------------------------------------------------------------------------------------- library modules
def _package(tmp_path: Path) -> Path:
    """A checkout with a small astrocore: a notebook imports a; a imports .b lazily; c is imported by nothing."""
    pkg = tmp_path / "astrocore"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""root"""\n')
    (pkg / "a.py").write_text("import numpy\n\ndef f():\n    from .sub import b\n    return b\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "b.py").write_text("from .. import d\nfrom ..sub import e as _e\n")
    for name in ("c", "d"):
        (pkg / f"{name}.py").write_text("")
    (pkg / "sub" / "e.py").write_text("")
    notebook = tmp_path / "notebooks" / "n.ipynb"
    notebook.parent.mkdir()
    cells = [{"cell_type": "code", "metadata": {}, "source": ["%matplotlib inline\n", "!ls\n", "from astrocore import a\n"]},
             {"cell_type": "markdown", "metadata": {}, "source": "import astrocore.c"}]
    notebook.write_text(json.dumps({"cells": cells}))
    return notebook


def test_a_notebook_depends_on_the_modules_it_imports_transitively(tmp_path):
    notebook = _package(tmp_path)
    found = imports.notebook_modules(notebook, root=tmp_path)
    assert list(found) == ["astrocore", "astrocore.a", "astrocore.d", "astrocore.sub", "astrocore.sub.b",
                           "astrocore.sub.e"]
    assert all(path.is_file() for path in found.values())
    assert "astrocore.c" not in found  # imported in a markdown cell only


def test_every_rule_depends_on_the_library_modules_of_its_notebook():
    """The rules take the library modules as inputs; the MGD trainer reaches no reservoir rule and the
    reservoir kernels reach no MGD rule; no notebook depends on the workflow's own machinery."""
    reservoir = str(ROOT / "astrocore" / "reservoir" / "esn.py")
    mgd = str(imports.module_file("astrocore.mgd"))
    for rule in REGISTRY.rules.values():
        files = rule.library(ROOT)
        assert str(ROOT / "astrocore" / "__init__.py") in files
        assert not any("workflow/registry" in f or "workflow/imports" in f for f in files), rule.name
        if rule.name in ("rhythmic_regimes_run", "rhythmic_adaptation_run", "rhythmic_inference_run",
                         "hardware_reservoir_run"):
            assert reservoir in files and mgd not in files, rule.name
        if rule.experiment.startswith(("mgd_", "smart_")) and rule.kind == "run":
            assert mgd in files and reservoir not in files, rule.name


def _dry_run_jobs(checkout: Path, *args) -> set[str]:
    result = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--rerun-triggers", "mtime", "--cores", "1",
                             "--configfile", "config/quick.yaml", *args], cwd=checkout, capture_output=True,
                            text=True)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    if "Nothing to be done" in result.stdout + result.stderr:
        return set()
    stats = (result.stdout + result.stderr).split("Job stats:", 1)[1].split("total", 1)[0]
    return {line.split()[0] for line in stats.splitlines()[3:] if line.strip()} - {"all"}


@pytest.fixture(scope="module")
def finished_checkout(tmp_path_factory):
    """A copy of the checkout whose quick-profile outputs all exist and are newer than every input (made
    with touch: no job runs), so a dry run says what an edit makes out of date."""
    checkout = tmp_path_factory.mktemp("checkout")
    for name in ("Snakefile",):
        shutil.copy2(ROOT / name, checkout / name)
    for name in ("rules", "config", "astrocore", "notebooks"):
        shutil.copytree(ROOT / name, checkout / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    stamp = max(p.stat().st_mtime for p in checkout.rglob("*") if p.is_file()) + 10
    config = CONFIGS["quick"]
    for rule in REGISTRY.rules.values():
        for path in rule.files(config):
            (checkout / path).parent.mkdir(parents=True, exist_ok=True)
            (checkout / path).touch()
            os.utime(checkout / path, (stamp, stamp))
    return checkout, stamp


def _touch(path: Path, stamp: float):
    os.utime(path, (stamp, stamp))


def test_editing_a_kernel_makes_exactly_the_results_that_use_it_out_of_date(finished_checkout):
    """Touch astrocore/reservoir/esn.py: the reservoir runs and their figures are out of date, no MGD or
    smart-perturbation job. Touch the MGD trainer: the reverse. Touch the workflow's registry code or
    a module no notebook imports: nothing."""
    checkout, stamp = finished_checkout
    assert _dry_run_jobs(checkout) == set()
    esn = checkout / "astrocore" / "reservoir" / "esn.py"
    _touch(esn, stamp + 20)
    stale = _dry_run_jobs(checkout)
    _touch(esn, stamp - 5)
    assert {"rhythmic_regimes_run", "rhythmic_adaptation_run", "rhythmic_inference_run", "hardware_reservoir_run",
            "rhythmic_regimes_figure", "rhythmic_adaptation_figure", "hardware_reservoir_figure"} <= stale
    assert not any(name.startswith(("mgd_", "smart_", "hardware_mgd", "hardware_energy")) for name in stale), stale
    for name in stale:  # and each of them for a reason: its notebook imports esn, or reads what such a run wrote
        rule = REGISTRY.rules[name]
        assert str(ROOT / "astrocore/reservoir/esn.py") in rule.library(ROOT) or rule.kind == "figure", name

    trainer = Path(str(imports.module_file("astrocore.mgd", checkout)))
    _touch(trainer, stamp + 20)
    stale = _dry_run_jobs(checkout)
    _touch(trainer, stamp - 5)
    assert {"mgd_parity_run", "mgd_sweep_run", "smart_run", "hardware_mgd_run", "mgd_parity_figure"} <= stale
    assert not any(name.startswith("rhythmic_") or name.startswith("hardware_reservoir") for name in stale), stale

    for unused in ("astrocore/workflow/registry.py", "astrocore/bench/__init__.py", "astrocore/config.py"):
        _touch(checkout / unused, stamp + 20)
        assert _dry_run_jobs(checkout) == set(), unused
        _touch(checkout / unused, stamp - 5)


# ---------------------------------------------------------------------------------------- report captions
@pytest.mark.parametrize("rule", REGISTRY.figure_rules(), ids=lambda r: r.name)
def test_every_figure_has_a_caption_from_its_notebook(rule):
    """The caption of a figure in `snakemake --report` is its notebook's question and verdict, in
    reStructuredText that docutils renders without a warning."""
    from docutils.core import publish_parts  # noqa: PLC0415

    question, verdict = registry.question_and_verdict(rule.notebook_path)
    title = question.splitlines()[0].lstrip("# ").strip()
    text = registry.caption(rule.notebook_path)
    assert title and text.startswith("**") and title[:20] in text
    cells = json.loads(rule.notebook_path.read_text())["cells"]
    has_verdict = any(c["cell_type"] == "markdown" and re.match(r"#+\s*Verdict", "".join(c["source"]).strip())
                      for c in cells)
    assert bool(verdict) == has_verdict, "a Verdict heading with no prose after it"
    assert ("**Verdict**" in text) == has_verdict
    html = publish_parts(text, writer="html", settings_overrides={"halt_level": 2, "report_level": 2})["body"]
    assert "system-message" not in html and len(html) > 100


def test_caption_extraction_and_markdown():
    notebook = {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "# Does it work?\n\n*Question:* is $R$ above $0.5$x, see `f()`?"},
        {"cell_type": "code", "metadata": {}, "source": "x = 1", "outputs": [], "execution_count": None},
        {"cell_type": "markdown", "metadata": {}, "source": "## Verdict (quick)\n\nIt **does**: [paper](https://x.org)."},
        {"cell_type": "code", "metadata": {}, "source": "print(x)", "outputs": [], "execution_count": None},
        {"cell_type": "markdown", "metadata": {}, "source": "More verdict."},
        {"cell_type": "markdown", "metadata": {}, "source": "## Appendix\n\nnot the verdict"}]}
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"astrocore-caption-{os.getpid()}.ipynb"
    path.write_text(json.dumps(notebook))
    try:
        question, verdict = registry.question_and_verdict(path)
        text = registry.caption(path)
    finally:
        path.unlink()
    assert question.startswith("# Does it work?") and "Appendix" not in verdict
    assert verdict == "*quick*\n\nIt **does**: [paper](https://x.org).\n\nMore verdict."
    assert ":math:`R`" in text and ":math:`0.5`\\ x" in text and "``f()``" in text
    assert "`paper <https://x.org>`__" in text and text.startswith("**Does it work?**")


@pytest.fixture(scope="module")
def workflow_rules():
    """The rules snakemake builds from the Snakefile (quick profile), through its API: no job runs."""
    from snakemake.api import SnakemakeApi  # noqa: PLC0415
    from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings, StorageSettings  # noqa: PLC0415

    with SnakemakeApi(OutputSettings(quiet=None)) as api:
        workflow = api.workflow(snakefile=ROOT / "Snakefile", workdir=ROOT,
                                config_settings=ConfigSettings(configfiles=[ROOT / "config" / "quick.yaml"]),
                                resource_settings=ResourceSettings(cores=1), storage_settings=StorageSettings())
        return {rule.name: rule for rule in workflow._workflow.rules}


def test_every_figure_output_is_marked_for_the_report(workflow_rules):
    """Each figure rule's PNG figures and CSV tables carry report() with the caption template and the
    figure's name, so `snakemake --report report.zip` bundles each with its caption and provenance."""
    from snakemake.io import is_flagged  # noqa: PLC0415

    for rule in REGISTRY.figure_rules():
        outputs = {str(f): f for f in workflow_rules[rule.name].output}
        assert set(outputs) == set(rule.outputs)
        for path, f in outputs.items():
            marked = is_flagged(f, "report")
            assert marked == path.endswith((".png", ".csv")), (rule.name, path)
            if marked:
                assert str(f.flags["report"].caption).endswith("rules/caption.rst")
                assert f.flags["report"].category == rule.experiment
    assert (ROOT / "rules" / "caption.rst").read_text().strip() == "{{ snakemake.params.caption }}"


def test_the_generated_rules_are_the_registry_s(workflow_rules):
    """snakemake's rules are the registry's rules (plus the hand-written opt-in ones and `all`), with the
    registry's outputs, logs, resources and library inputs."""
    generated = set(workflow_rules) - {"all", "fashion", "fashion_mnist", "benchmarks", "bench", "bench_mgd_batch"}
    assert generated == set(REGISTRY.rules)
    for name in generated:
        rule, spec = workflow_rules[name], REGISTRY.rules[name]
        assert [re.sub(r"\{(\w+),[^{}]*\}", r"{\1}", str(f)) for f in rule.output] == spec.outputs
        assert [re.sub(r"\{(\w+),[^{}]*\}", r"{\1}", str(f)) for f in rule.log] == [spec.log]
        assert rule.resources["runtime"] == dict(spec.resources)["runtime"]
        assert set(spec.library(ROOT)) <= {str(f) for f in rule.input}
        assert rule.shellcmd == "{params.cmd} {log:q}"


@pytest.mark.workflow
def test_the_report_bundles_figures_with_their_captions(tmp_path):
    """Two figure notebooks that need no data run for real, then `snakemake --report`: each figure is in
    the report with its notebook's question as caption."""
    targets = ["figures/smart_schematic.png", "figures/hardware_energy.png"]
    config = ["--configfile", str(ROOT / "config" / "quick.yaml")]
    run = snakemake(*targets, "--cores", "1", *config, cwd=tmp_path)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    # the report of these targets (of everything, `snakemake --report report.zip`, once every figure exists)
    report = snakemake("--report", str(tmp_path / "report.zip"), *targets, *config, cwd=tmp_path)
    assert report.returncode == 0, (report.stdout + report.stderr)[-3000:]
    import zipfile  # noqa: PLC0415

    with zipfile.ZipFile(tmp_path / "report.zip") as bundle:
        names = bundle.namelist()
        text = "".join(bundle.read(n).decode("utf-8", "replace") for n in names if n.endswith((".html", ".js")))
    assert any(n.endswith("smart_schematic.png") for n in names)
    assert "The tripartite synapse" in text and "Energy per inference" in text
