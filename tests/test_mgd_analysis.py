"""The MGD side's analyses (astrocore.analysis.learning, gradients, hardware_mgd, energy), the schematic
drawing (astrocore.diagrams) and reporting.format_energy: what the MGD notebooks call."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import xarray as xr

from astrocore import datasets, diagrams, metrics, mgd
from astrocore.analysis import energy, gradients, hardware_mgd, learning
from astrocore.reporting import format_energy


def _run(acc, evals=None, wall=None, **coords):
    """A trajectory Dataset (seed, step) with the given test accuracy curves."""
    acc = np.asarray(acc, dtype=float)
    steps = np.arange(acc.shape[1]) * 10
    evals = steps * 2 if evals is None else np.asarray(evals)
    ds = xr.Dataset({"test_accuracy": (("seed", "step"), acc), "train_accuracy": (("seed", "step"), acc),
                     "cost_evaluations": ("step", evals),
                     "wall_seconds": ("step", np.linspace(0, 1, acc.shape[1]) if wall is None else wall)},
                    coords={"seed": np.arange(acc.shape[0]), "step": steps})
    return ds.assign_coords(**coords)


# -- learning curves ---------------------------------------------------------------------------------------
def test_first_reach_gives_the_first_checkpoint_at_the_target_or_inf():
    curve = np.array([[0.1, 0.5, 0.9, 0.95], [0.1, 0.2, 0.3, 0.4], [0.9, 0.1, 0.9, 0.9]])
    np.testing.assert_array_equal(learning.first_reach(curve, 0.9, [0, 10, 20, 30]), [20, np.inf, 0])
    with pytest.raises(ValueError, match=r"at must have one value per checkpoint \(4\), got 3"):
        learning.first_reach(curve, 0.9, [0, 1, 2])


def test_a_budget_buys_whole_windows():
    assert learning.steps_for_budget(20000, 10) == 18180
    assert learning.steps_for_budget(5, 10) == 10
    with pytest.raises(ValueError, match="evaluations must be"):
        learning.steps_for_budget(0, 10)


def test_parity_table_counts_solved_seeds_and_their_median_steps():
    acc = np.array([[[[0.5, 1.0, 1.0], [0.5, 0.5, 1.0], [0.5, 0.5, 0.5]]]])  # bits, mode, seed, step
    runs = xr.Dataset({"train_accuracy": (("bits", "mode", "seed", "step"), acc)},
                      coords={"bits": [2], "mode": ["code"], "seed": [0, 1, 2], "step": [0, 100, 200]})
    table = learning.parity_table(runs)
    row = table.iloc[0]
    assert list(table.columns) == ["bits", "mode", "seeds", "solved_fraction", "steps_to_solve_median",
                                   "steps_to_solve_q25", "steps_to_solve_q75"]
    assert (row.seeds, row.solved_fraction, row.steps_to_solve_median) == (3, pytest.approx(2 / 3), 150.0)
    assert "code: every seed solved parity for n in []; median steps [150.0]" in learning.parity_verdict(table)


def test_sweep_table_needs_every_seed_for_a_time_to_target():
    fast = _run([[0.5, 0.95, 0.96], [0.6, 0.91, 0.97]], tau_theta=10, eta=1e-3)
    slow = _run([[0.5, 0.95, 0.96], [0.6, 0.7, 0.8]], tau_theta=1, eta=1e-3)
    table = learning.sweep_table([fast, slow], 0.9)
    assert table.tau_theta.tolist() == [1, 10]
    assert np.isnan(table.steps_to_target_median[0]) and table.reached_target_fraction[0] == 0.5
    assert table.steps_to_target_median[1] == 10 and table.evals_to_target_median[1] == 20
    assert table.final_test_accuracy_std[1] == pytest.approx(np.std([0.96, 0.97]))
    verdict = learning.sweep_verdict(table, 0.9)
    assert "best final accuracy 0.9650 at tau_theta=10" in verdict and "fastest to 90%: 20 evaluations" in verdict


def test_versus_table_and_verdict():
    runs = [_run([[0.5, 0.96], [0.5, 0.98]], dataset="digits", method=m).assign_attrs(model_n_params=2410)
            for m in ("backprop", "mgd")]
    runs[1]["test_accuracy"] = runs[1].test_accuracy - 0.02
    table = learning.versus_table(runs)
    assert list(table.columns) == ["dataset", "method", "n_params", "seeds", "test_accuracy_mean", "test_accuracy_std",
                                   "cost_evaluations", "wall_seconds"]
    assert table.test_accuracy_mean.tolist() == pytest.approx([0.97, 0.95])
    assert learning.versus_verdict(table) == "digits: backprop 97.00%, MGD 95.00% -> gap +2.00 points (NOT within 1 point)"


def test_smart_table_orders_directions_and_takes_backprops_target():
    curves = {"node": [[0.2, 0.965, 0.97]] * 3, "backprop": [[0.2, 0.9, 0.97]] * 3, "code": [[0.1, 0.2, 0.3]] * 3,
              "astrocyte": [[0.2, 0.5, 0.965], [0.2, 0.97, 0.97], [0.1, 0.1, 0.1]]}
    runs = [_run(acc, evals=[0, 100, 200], dataset="digits", direction=d) for d, acc in curves.items()]
    table, targets = learning.smart_table(runs, 0.9, 0.01)
    assert targets == {"digits": pytest.approx(0.96)}
    assert table.direction.tolist() == ["backprop", "code", "node", "astrocyte"]
    by = table.set_index("direction")
    assert by.loc["node", "evals_to_bp_minus_1_median"] == 100 and np.isnan(by.loc["code", "evals_to_90_median"])
    assert by.loc["astrocyte", "evals_to_bp_minus_1_median"] == 200  # median of (200, 100, inf)
    verdict = learning.smart_verdict(table, targets, runs)
    assert "best smart direction: node" in verdict and "> 2.0x (code mode never got there)" in verdict
    with pytest.raises(ValueError, match="runs must hold a backprop run for dataset 'digits'"):
        learning.smart_table(runs[:1], 0.9, 0.01)


def test_describe_names_the_final_accuracy_and_the_budget():
    text = learning.describe(_run([[0.5, 0.9], [0.5, 0.8]]))
    assert text == "final test accuracy 0.8500 +- 0.0500 over 2 seed(s) [0.9, 0.8] after 20 cost evaluations"


# -- gradient quality --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    return datasets.digits()


def test_crossing_interpolates_log_linearly():
    assert gradients.crossing(np.array([0.1, 0.5, 0.9]), np.array([1, 10, 100]), 0.7) == pytest.approx(10**1.5)
    assert gradients.crossing(np.array([0.95, 0.99]), np.array([4, 8]), 0.9) == 4.0
    assert np.isnan(gradients.crossing(np.array([0.1, 0.2]), np.array([4, 8]), 0.9))


def test_running_cosines_build_the_estimate_from_independent_blocks(problem):
    model, theta, X, Y, g = problem
    cos = gradients.running_cosines(model, theta, X, Y, "code", [2, 6], 2, 1e-5, 3)
    first = mgd.estimate_gradient(model, theta, X, Y, n_perturbations=2, amplitude=1e-5, seed=3 * 10**6 + 1000)
    second = mgd.estimate_gradient(model, theta, X, Y, n_perturbations=4, amplitude=1e-5, seed=3 * 10**6 + 1001)
    assert cos.shape == (2, 2)
    assert cos[1, 1] == pytest.approx(float(metrics.cosine((2 * first + 4 * second) / 6, g)), rel=1e-12)
    stopped = gradients.running_cosines(model, theta, X, Y, "time", [1, 2, 4, 64, 128, 256], 1, 1e-5, 0, target=0.0)
    assert stopped.shape == (2, 1)  # one step after the target is reached


def test_multiplexing_run_is_exact_after_a_cycle_for_time_mode(digits):
    run = gradients.multiplexing_run(digits, "time", [64, 2, 10], 8, [1], 2, 1e-6, 0)
    assert run.grad_cosine.dims == ("mode", "tau_theta", "draw") and run.tau_theta.values.tolist() == [160]
    assert float(run.grad_cosine.min()) > 0.9999
    table = gradients.multiplexing_table([run])
    assert table.tau_over_N.tolist() == [1.0] and table.within_10pct_of_theory.isna().all()
    assert "time: cosine after whole periods of 160 perturbations: min 1.0000" in \
        gradients.multiplexing_verdict(table, 160)
    with pytest.raises(ValueError, match="runs must all use the same network"):
        gradients.multiplexing_table([run, run.assign_attrs(n_params=7)])


def test_smart_and_scaling_runs_and_their_tables(digits):
    node = gradients.smart_run(digits, "node", [64, 2, 10], 8, [1, 8], [0.0], 0.5, 2, 1e-5, 0)
    activity = gradients.smart_run(digits, "activity", [64, 2, 10], 8, [1, 8], [0.0, 1.0], 0.5, 2, 1e-5, 0)
    astro = gradients.smart_run(digits, "astrocyte", [64, 2, 10], 8, [8], [0.0], 0.5, 1, 1e-5, 0)
    assert node.cost_evaluations.values.tolist() == [2, 9] and "grad_cosine_mix" not in node
    assert activity.grad_cosine_mix.dims == ("mix", "n_perturbations", "draw")
    np.testing.assert_array_equal(activity.grad_cosine_mix.sel(mix=0.0), activity.grad_cosine.isel(direction=0))
    table = gradients.smart_table([node, activity, astro])
    assert len(table) == 2 + 2 + 4 + 1 and table.mix.notna().sum() == 4
    assert "cosine 0.9" in gradients.smart_verdict(table, int(node.attrs["n_params"]))
    scaling = [gradients.scaling_run(digits, 2, d, 8, 0.5, 1, 1, 1e-5, 0) for d in ("code", "node", "node_batch")]
    table = gradients.scaling_table(scaling)
    assert table.direction.tolist() == ["code", "node", "node_batch"] and table.code_over_direction[0] == 1.0
    assert "growth exponent" in gradients.scaling_verdict(table)


# -- hardware: in the loop and deployed ---------------------------------------------------------------------
POINTS = [{"kind": "ideal", "hardware": {}},
          {"kind": "grid", "weight_bits": 4, "noise": 0.1,
           "hardware": {"weight_bits": 4, "weight_clip": 2.0, "stochastic_rounding": True, "programming_noise": 0.1}},
          {"kind": "effect", "effect": "cost_noise", "level": 0.01, "hardware": {"cost_noise": 0.01}},
          {"kind": "preset", "preset": "pcm", "amplitude": 0.1, "hardware": {"preset": "pcm", "weight_clip": 2.0}}]


def test_in_loop_and_deployed_runs_make_the_three_tables(digits):
    kw = dict(sizes=[64, 4, 10], activation="tanh", seeds=[0, 1])
    in_loop = [hardware_mgd.train_in_loop(digits, p, mode="code", eta=2e-3, amplitude=1e-2, tau_theta=5, batch_size=8,
                                          steps=20, optimizer="adam", eval_points=2, **kw) for p in POINTS]
    assert in_loop[3].attrs["amplitude"] == 0.1 and in_loop[1].attrs["point_weight_bits"] == 4
    assert in_loop[1].attrs["training"] == "mgd_in_loop" and "point_hardware" not in in_loop[1].attrs
    deployed = hardware_mgd.deploy_backprop(digits, POINTS, bp_eta=3e-3, bp_batch_size=8, bp_steps=10,
                                            optimizer="adam", **kw)
    assert deployed.test_accuracy.dims == ("point", "seed") and deployed.kind.values.tolist()[1] == "grid"
    grid, effects, presets, ideal = hardware_mgd.tables(in_loop, deployed)
    assert grid.training.tolist() == ["backprop_deployed", "mgd_in_loop"] and grid.seeds.tolist() == [2, 2]
    assert effects.effect.tolist() == ["cost_noise"] * 2 and presets.amplitude.isna().tolist() == [True, False]
    assert set(ideal) == {"mgd_in_loop", "backprop_deployed"}
    pivots, diff = hardware_mgd.accuracy_grids(grid)
    assert diff.loc[4, 0.1] == pytest.approx(pivots["mgd_in_loop"].loc[4, 0.1] - pivots["backprop_deployed"].loc[4, 0.1])
    text = hardware_mgd.verdict(grid, effects, presets, ideal)
    assert "(bits, noise) points" in text and "preset      pcm" in text


# -- energy ---------------------------------------------------------------------------------------------------
def test_energy_table_summary_and_assumptions():
    table = energy.energy_table([64, 32, 10], ["ideal", "pcm"], ["mgd", "backprop"], {"mgd": 32, "backprop": 32}, 30, 1)
    assert table[["preset", "method"]].values.tolist() == [["ideal", "mgd"], ["ideal", "backprop"], ["pcm", "mgd"],
                                                            ["pcm", "backprop"]]
    assert {"per_inference_pj", "per_training_step_pj", "step_update", "step_local"} <= set(table.columns)
    summary = energy.run_summary(table, {"mgd": 10, "backprop": 1})
    assert summary.inference_vs_fp32.iloc[0] == 1.0 and summary.step_vs_fp32_same_method.iloc[1] == 1.0
    assert summary.per_run.iloc[0] == format_energy(10 * table.per_training_step_pj.iloc[0])
    lines = energy.assumption_lines([64, 32, 10], 1)
    assert "N = 2410" in lines[0] and any(line.startswith("pcm_write = 30 pJ per pulse") for line in lines)


@pytest.mark.parametrize("value, text", [(4.65e9, "4.65 mJ"), (589e3 * 1e3, "589 uJ"), (23.1e3, "23.1 nJ"),
                                         (447.0, "447 pJ"), (0.00964, "9.64 fJ"), (0.0, "0 fJ")])
def test_format_energy_picks_engineering_units(value, text):
    assert format_energy(value) == text


def test_format_energy_refuses_a_negative_energy():
    with pytest.raises(ValueError, match="value must be a finite real number >= 0"):
        format_energy(-1.0)


# -- the schematic ----------------------------------------------------------------------------------------------
def test_star_alternates_its_radii():
    vertices = diagrams.star((1.0, 2.0), 0.9, 0.4, points=5)
    radii = np.hypot(vertices[:, 0] - 1.0, vertices[:, 1] - 2.0)
    assert vertices.shape == (10, 2)
    np.testing.assert_allclose(radii, [0.9, 0.4] * 5)


def test_the_tripartite_synapse_and_its_table_are_drawn():
    fig, (ax, side) = plt.subplots(1, 2)
    diagrams.tripartite_synapse(ax)
    diagrams.local_values_panel(side)
    assert len(ax.patches) >= 12 and not ax.axison
    assert any("astrocyte" == t.get_text() for t in ax.texts) and len(side.texts) == 1 + 3 * 4
    table = diagrams.local_values_table()
    assert list(table.columns) == ["symbol", "meaning", "directions", "role"]
    assert table.symbol.tolist() == ["a_i", "d_j", "C", "s_j"]
    plt.close(fig)


# -- directions from a config block's options --------------------------------------------------------------------
def test_from_options_gives_each_direction_its_own_options():
    options = dict(mix=0.25, guide=0.3, tau_d=4)
    assert repr(mgd.from_options("activity", **options)) == "Activity(layerwise=False, mix=0.25)"
    assert repr(mgd.from_options("astrocyte", **options)) == "Astrocyte(layerwise=False, guide=0.3, tau_d=4.0)"
    assert repr(mgd.from_options("node", **options)) == "Node(layerwise=False, per_sample=True)"
    assert mgd.from_options("walsh", **options).mode == "walsh"
    with pytest.raises(ValueError, match="name must be a Direction"):
        mgd.from_options("fourier")
