"""Online readout learners and the causal loop against independent references (issue 12, part A).

References: reservoirpy 0.4's RLS and LMS nodes on the same stream; the RLS
identity with batch ridge; the exact readout gradient; a step-by-step loop
written from the definition; the running NRMSE and window ridge from their
definitions; causality by shuffling the future.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from astrocore import online
from astrocore.analysis import online as ao
from astrocore.analysis.streams import STREAMS, nonstationary_stream
from astrocore.reservoir.readout import solve_ridge
from astrocore.validation import InvalidParameterError


def _stream(T=400, F=8, D=3, B=1, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(T, B, F - 1))
    f = np.concatenate([x, np.ones((T, B, 1))], axis=-1)
    w = rng.normal(size=(F - 1, D))
    y = x @ w + 0.3 + 0.05 * rng.normal(size=(T, B, D))
    return f, y


@pytest.fixture(scope="module")
def reservoir_stream():
    """Reservoir features of a short Thomas switching stream and their one-step-ahead targets."""
    s = nonstationary_stream("thomas_switch", steps=700)
    u = (s.u - s.u.mean(0)) / s.u.std(0)
    f = ao.reservoir_features("esn", 40, [0], u)[:-1]
    return f, u[1:, None, :]


@pytest.mark.parametrize("forgetting, alpha", [(1.0, 1e-6), (0.99, 1e-2), (0.995, 1.0)])
def test_rls_matches_reservoirpy(reservoir_stream, forgetting, alpha):
    reservoirpy_nodes = pytest.importorskip("reservoirpy.nodes")
    f, y = reservoir_stream
    ref = reservoirpy_nodes.RLS(alpha=alpha, forgetting=forgetting, fit_bias=False)
    ref.partial_fit(f[:, 0], y[:, 0])
    run = online.run_online(f, y, online.RLS(forgetting=forgetting, alpha=alpha))
    # the same recursion in another order of operations (the gain as g / d, one triangle of P): equal to 1e-8
    # (with alpha = 1e-6, P(0) = 1e6 I, ours lies 6e-10 from the exact ridge solution, reservoirpy's 1.3e-8)
    np.testing.assert_allclose(run.state["W"][0], ref.Wout, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("rate", [1e-3, 2e-2])
def test_lms_matches_reservoirpy(reservoir_stream, rate):
    reservoirpy_nodes = pytest.importorskip("reservoirpy.nodes")
    f, y = reservoir_stream
    ref = reservoirpy_nodes.LMS(learning_rate=rate, fit_bias=False)
    ref.partial_fit(f[:, 0], y[:, 0])
    run = online.run_online(f, y, online.LMS(learning_rate=rate))
    np.testing.assert_allclose(run.state["W"][0], ref.Wout, rtol=0, atol=1e-8)


@settings(max_examples=25, deadline=None)
@given(T=st.integers(3, 60), F=st.integers(1, 6), alpha=st.floats(1e-2, 10.0), seed=st.integers(0, 2**16))
def test_rls_without_forgetting_is_ridge_on_everything_seen(T, F, alpha, seed):
    """RLS with lambda = 1 and P(0) = I / alpha is the exact ridge solution (F^T F + alpha I)^-1 F^T Y."""
    rng = np.random.default_rng(seed)
    f, y = rng.normal(size=(T, 1, F)), rng.normal(size=(T, 1, 2))
    run = online.run_online(f, y, online.RLS(forgetting=1.0, alpha=alpha))
    exact = np.linalg.solve(f[:, 0].T @ f[:, 0] + alpha * np.eye(F), f[:, 0].T @ y[:, 0])
    np.testing.assert_allclose(run.state["W"][0], exact, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("direction", ["weight", "node"])
def test_mgd_readout_gradient_is_unbiased(direction):
    f, y = _stream(T=1)
    learner = online.MGDReadout(direction=direction, amplitude=1e-2, n_perturbations=20000, seed=3)
    state = learner.init(8, 3, 1)
    state["W"][...] = np.random.default_rng(1).normal(size=(1, 8, 3))
    estimate = learner.estimate(state, f[0], y[0]) / learner.n_perturbations
    exact = f[0, 0][:, None] * (f[0, 0] @ state["W"][0] - y[0, 0])[None, :]
    cos = np.dot(estimate.ravel(), exact.ravel()) / np.linalg.norm(estimate) / np.linalg.norm(exact)
    assert cos >= 0.99


def test_mgd_readout_learns_a_linear_map():
    f, y = _stream(T=3000, seed=4)
    run = online.run_online(f, y, online.MGDReadout("node", eta=0.02, seed=0))
    err = np.sqrt(np.mean((run.prediction - y) ** 2, axis=(1, 2)))
    assert err[-300:].mean() < 0.2 * err[:100].mean()


def _loop_reference(f, y, learner, label_every, offset=0):
    """The definition, one step at a time: predict with the current weights, then learn if labelled."""
    state = learner.init(f.shape[2], y.shape[2], f.shape[1])
    out = np.empty(y.shape)
    for t in range(len(f)):
        out[t] = np.einsum("bf,bfd->bd", f[t], state["W"])
        if t >= offset and (t - offset) % label_every == 0:
            learner.update(state, f[t], y[t])
    return out


LEARNER_FACTORIES = {
    "rls": lambda: online.RLS(0.99, 1e-2), "lms": lambda: online.LMS(0.01),
    "mgd_weight": lambda: online.MGDReadout("weight", eta=0.01, tau_theta=3, seed=2),
    "mgd_node": lambda: online.MGDReadout("node", eta=0.01, n_perturbations=2, seed=2),
    "window_ridge": lambda: online.WindowRidge(window=30, ridge=1e-3, refit_every=7),
}


@pytest.mark.parametrize("name", sorted(LEARNER_FACTORIES))
@pytest.mark.parametrize("label_every, offset", [(1, 0), (7, 3)])
def test_loop_matches_the_step_by_step_definition(name, label_every, offset):
    f, y = _stream(T=200, B=2)
    run = online.run_online(f, y, LEARNER_FACTORIES[name](), label_every=label_every, offset=offset)
    ref = _loop_reference(f, y, LEARNER_FACTORIES[name](), label_every, offset)
    np.testing.assert_allclose(run.prediction, ref, rtol=1e-12, atol=1e-12)
    assert run.labels_used == len(range(offset, 200, label_every)) == run.labelled.sum()


@pytest.mark.parametrize("name", sorted(LEARNER_FACTORIES))
def test_learners_never_read_the_future(name):
    """Shuffling every sample after t0 leaves every prediction up to t0 unchanged."""
    f, y = _stream(T=300, B=2, seed=5)
    t0 = 150
    perm = np.random.default_rng(0).permutation(np.arange(t0 + 1, 300))
    f2, y2 = f.copy(), y.copy()
    f2[t0 + 1:], y2[t0 + 1:] = f[perm], y[perm]
    # y[t] = u[t + 1] is revealed after step t: shuffling from t0 + 1 on leaves the past intact
    a = online.run_online(f, y, LEARNER_FACTORIES[name](), label_every=3)
    b = online.run_online(f2, y2, LEARNER_FACTORIES[name](), label_every=3)
    np.testing.assert_array_equal(a.prediction[:t0 + 1], b.prediction[:t0 + 1])
    assert not np.array_equal(a.prediction[t0 + 2:], b.prediction[t0 + 2:])


def test_the_pipeline_never_reads_the_future():
    """Reservoir features and the learner together: a shuffled future input leaves past predictions as they were."""
    s = nonstationary_stream("thomas_switch", steps=400)
    u = (s.u - s.u.mean(0)) / s.u.std(0)
    t0 = 250
    u2 = u.copy()
    u2[t0 + 1:] = u[t0 + 1:][np.random.default_rng(1).permutation(len(u) - t0 - 1)]
    preds = []
    for series in (u, u2):
        f = ao.reservoir_features("rhythmic", 30, [0, 1], series)[:-1]
        y = np.repeat(series[1:, None], 2, axis=1)
        preds.append(online.run_online(f, y, online.RLS(0.995, 1e-2), label_every=2).prediction)
    np.testing.assert_array_equal(preds[0][:t0], preds[1][:t0])


@pytest.mark.parametrize("name", ["rls", "lms", "mgd_node"])
def test_batch_columns_and_per_column_hyperparameters_are_separate_runs(name):
    f, y = _stream(T=150, B=1, seed=6)
    key, values = {"rls": ("forgetting", [0.97, 1.0]), "lms": ("learning_rate", [1e-3, 3e-2]),
                   "mgd_node": ("eta", [1e-3, 3e-2])}[name]
    make = (lambda v: online.make_learner(name, **{key: v}, seed=4)) if name.startswith("mgd") else \
        (lambda v: online.make_learner(name, **{key: v}))
    both = online.run_online(np.tile(f, (1, 2, 1)), np.tile(y, (1, 2, 1)), make(np.array(values)))
    for b, v in enumerate(values):
        single = online.run_online(f, y, make(v))
        if name.startswith("mgd"):  # one perturbation stream for all columns: compare the deterministic learners
            continue
        np.testing.assert_allclose(both.prediction[:, b], single.prediction[:, 0], rtol=1e-12, atol=1e-12)


def test_window_ridge_refits_on_exactly_its_window():
    f, y = _stream(T=100, seed=7)
    learner = online.WindowRidge(window=20, ridge=1e-3, refit_every=10)
    run = online.run_online(f[:90], y[:90], learner)
    exact = solve_ridge(f[70:90, 0], y[70:90, 0], 1e-3, False)
    np.testing.assert_allclose(run.state["W"][0], exact, rtol=1e-8, atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4), st.integers(1, 40), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_window_sums_fused_loop_is_the_numpy_update_bit_for_bit(B, F, D, seed):
    """The window ridge's rank-one update: compiled loop, the loop run by Python and the NumPy
    reference give the same bits (each entry ``G_ij + (f_i f_j - o_i o_j)``, no FMA), and the
    Gram matrix of the window's samples, built by running sums, matches its definition."""
    from astrocore.online import _fused

    rng = np.random.default_rng(seed)
    gram0, rhs0 = rng.normal(size=(B, F, F)), rng.normal(size=(B, F, D))
    f, old_f = rng.normal(size=(B, F)), rng.normal(size=(B, F))
    y, old_y = rng.normal(size=(B, D)), rng.normal(size=(B, D))
    outs = []
    for func in (_fused.window_sums, _fused.window_sums.py_func, _fused.window_sums.reference):
        gram, rhs = gram0.copy(), rhs0.copy()
        func(gram, rhs, f, y, old_f, old_y)
        outs.append((gram, rhs))
    for other in outs[1:]:
        np.testing.assert_array_equal(outs[0][0], other[0])
        np.testing.assert_array_equal(outs[0][1], other[1])
    outer = np.einsum("bi,bj->bij", f, f) - np.einsum("bi,bj->bij", old_f, old_f)
    np.testing.assert_allclose(outs[0][0], gram0 + outer, rtol=1e-12, atol=1e-12)


def test_running_and_stream_nrmse_follow_their_definitions():
    rng = np.random.default_rng(0)
    pred, truth, scale = rng.normal(size=(50, 2, 3)), rng.normal(size=(50, 2, 3)), np.array([1.0, 2.0, 0.5])
    run = ao.running_nrmse(pred, truth, scale, 7)
    for t in (0, 3, 6, 7, 49):
        lo = max(t - 6, 0)
        ref = np.sqrt(np.mean(((pred[lo:t + 1] - truth[lo:t + 1]) / scale) ** 2, axis=(0, 2)))
        np.testing.assert_allclose(run[t], ref, rtol=1e-12)
    np.testing.assert_allclose(ao.stream_nrmse(pred, truth, scale, 10),
                               np.sqrt(np.mean(((pred[10:] - truth[10:]) / scale) ** 2, axis=(0, 2))))


def test_recovery_steps_is_the_settling_time():
    running = np.concatenate([np.full(100, 1.0), 5.0 - np.arange(40) / 10, np.full(60, 1.0),
                              np.full(100, 3.0), np.full(100, 1.0)])
    rec = ao.recovery_steps(running, [100, 200, 300])
    assert rec[0] == 35  # band 1.5 x 1.0: 5.0 - t/10 > 1.5 for t < 35, the last step above is 34
    assert rec[1] == 0  # a constant segment never leaves its band
    assert rec[2] == 0
    noisy = np.concatenate([np.full(100, 1.0), np.full(20, 9.0), np.tile([1.0, 4.0], 40)])
    assert ao.recovery_steps(noisy, [100])[0] == 20  # the band is set by the settled segment's 90th percentile
    with pytest.raises(InvalidParameterError, match="switches"):
        ao.recovery_steps(np.ones(10), [5, 4])


def test_the_table_recovers_from_the_stored_running_error():
    import xarray as xr
    t = np.arange(0, 400, 10)
    run = np.where((t >= 200) & (t < 250), 5.0, 1.0)
    ds = xr.Dataset({"running_nrmse": (("seed", "time"), np.stack([run, run]))}, coords={"time": t})
    rec = ao._recoveries(ds.running_nrmse, np.array([200]))
    np.testing.assert_array_equal(rec, [50.0, 50.0])


def test_tuning_picks_the_best_setting_and_scores_divergence_as_infinite():
    f, y = _stream(T=300, B=2, seed=8)
    best, scores = ao.tune("lms", f, y, np.ones(3), label_every=1, washout=50,
                           grid={"learning_rate": [1e-4, 1e-2, 5.0]})
    assert best == {"learning_rate": 1e-2}
    assert np.isinf(scores[2]) and scores[1] < scores[0]


def test_a_diverging_run_names_the_step_and_the_remedy():
    f, y = _stream(T=200, seed=9)
    with pytest.raises(FloatingPointError, match="diverged.*step.*learning_rate"), \
            np.errstate(over="ignore", invalid="ignore"):
        online.run_online(f, y, online.LMS(learning_rate=100.0))


@pytest.mark.parametrize("make, match", [
    (lambda: online.RLS(forgetting=1.5), "forgetting"),
    (lambda: online.RLS(forgetting=[0.9, 0.0]), "forgetting"),
    (lambda: online.LMS(learning_rate=-1.0), "learning_rate"),
    (lambda: online.MGDReadout(direction="sideways"), "direction"),
    (lambda: online.LMS(0.1).init(3, 2, 0), "batch"),
    (lambda: online.run_online(np.zeros((5, 1, 2)), np.zeros((4, 1, 1)), online.LMS()), "targets"),
    (lambda: online.run_online(np.zeros((5, 1, 2)), np.zeros((5, 1, 1)), online.LMS(), offset=5), "offset"),
    (lambda: online.run_online(np.zeros((5, 2, 2)), np.zeros((5, 2, 1)), online.LMS([0.1, 0.2, 0.3])),
     "learning_rate"),
    (lambda: nonstationary_stream("mackey_glass"), "name"),
    (lambda: ao.recovery_steps(np.ones(10), [0]), "switches"),
    (lambda: ao.recovery_steps(np.ones(10), [5], quantile=0.0), "quantile"),
    (lambda: ao.settings("rls", {"forgeting": [0.99]}), "grid"),
    (lambda: ao.settings("lms", {"learning_rate": []}), "grid"),
    (lambda: ao.online_experiment("thomas_switch", "esn", 10, [0], validation_seeds=[1], steps=100,
                                  grids={"ridge_offline": {}}), "grids"),
])
def test_bad_input_is_a_clear_error(make, match):
    with pytest.raises(InvalidParameterError, match=match):
        make()


def test_energy_per_update_orders_the_learners():
    n, d = 100, 3
    e = {m: ao.energy_per_update(m, online.make_learner(m), n, d) for m in ("rls", "lms", "mgd_node")}
    assert e["rls"] > 10 * e["lms"]  # O(N^2) against O(N D)
    assert ao.energy_per_update("rls", online.RLS(), 2 * n, d) > 3.5 * e["rls"]
    assert ao.energy_per_update("mgd_node", online.MGDReadout(), n, d, "pcm") > 0
    with pytest.raises(InvalidParameterError, match="fp32"):
        ao.energy_per_update("rls", online.RLS(), n, d, "pcm")


@pytest.mark.parametrize("name", STREAMS)
def test_streams_switch_where_they_say(name):
    s = nonstationary_stream(name, steps=400)
    assert s.u.shape == (400, 3) and np.all(np.isfinite(s.u))
    changes = np.flatnonzero(np.diff(s.context)) + 1
    if name == "thomas_drift":
        assert s.switches == () and s.context.min() >= 0.18 and s.context.max() <= 0.29 + 1e-12
        assert changes.size > 3
    else:
        assert tuple(changes) == s.switches
    other = nonstationary_stream(name, steps=400, ic=1)
    assert not np.allclose(other.u, s.u)


def test_online_experiment_tables_every_learner():
    ds = ao.online_experiment("thomas_switch", "esn", 20, [0, 1], validation_seeds=[10], steps=600,
                              label_every=[1, 10], washout=50, record_every=50,
                              grids={"rls": {"forgetting": [0.99, 1.0]}, "lms": {"learning_rate": [1e-3, 1e-2]},
                                     "mgd_weight": {"eta": [1e-3, 1e-2], "tau_theta": [1]},
                                     "mgd_node": {"eta": [1e-3, 1e-2], "tau_theta": [1]},
                                     "window_ridge": {"window": [50], "ridge": [1e-3, 1.0]}})
    assert set(ds.learner.values) == set(ao.METHODS)
    assert ds.nrmse.shape == (6, 2, 2) and np.all(np.isfinite(ds.nrmse))
    assert int(ds.labels_used.sel(learner="rls", label_every=10)) == len(range(0, 599, 10))
    assert int(ds.cost_evaluations.sel(learner="mgd_node", label_every=1)) == 2 * 599
    # the offline ridge sees every label of the stream: no online learner beats it by much
    assert float(ds.nrmse.sel(learner="ridge_offline", label_every=1).mean()) < \
        1.2 * float(ds.nrmse.sel(learner="rls", label_every=1).mean())
