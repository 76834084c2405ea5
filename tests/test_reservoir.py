"""Reservoir core, Rhythmic Sharing, steering, readout and forecast metrics.

References are direct computations: a dense-matrix ESN update, a loop-based
implementation of the Rhythmic Sharing equations (one link at a time, with
``cmath``), ``numpy.linalg.lstsq`` for the ridge readout.
"""

import cmath
import math

import numpy as np
import pytest
import scipy.sparse as sp

from astrocore import metrics
from astrocore.reservoir import (ESN, ReservoirDivergenceError, ReservoirState, RhythmicSharing,
                                 RidgeReadout, to_dataset, topology)


def inputs(t=100, d=3, seed=0, batch=None):
    shape = (t, d) if batch is None else (t, batch, d)
    return np.random.default_rng(seed).normal(size=shape)


# ---------------------------------------------------------------- references
def esn_reference(model, u, index=0):
    """n(t+1) = l n(t) + (1 - l) tanh(W n(t) + W_in u(t) + b), dense."""
    w, w_in = model.W_[index].toarray(), model.W_in_[index]
    x, out = np.zeros(model.n_nodes), []
    for ut in u:
        x = model.leak * x + (1 - model.leak) * np.tanh(w @ x + w_in @ ut + model.bias)
        out.append(x)
    return np.array(out)


def rhythmic_reference(model, u, index=0):
    """The equations of ALGORITHMS.md section 4, one link at a time."""
    w = model.W_[index].toarray()
    n_nodes = w.shape[0]
    post, pre = np.nonzero(w)          # row-major order: the CSR link order
    n_links = post.size
    adj = model.astro_adjacency(index).toarray()
    w_in = model.W_in_[index]
    phi = model.phases0_[index].copy()
    omega = np.broadcast_to(model.omega, (n_links,))
    x = np.zeros(n_nodes)
    states, order_r, mean_phase = [], [], []
    for ut in u:
        mod = np.zeros((n_nodes, n_nodes))
        for k in range(n_links):
            m_k = 1 - model.m / 2 * (1 + math.sin(phi[k]))
            mod[post[k], pre[k]] = w[post[k], pre[k]] * m_k
        new_x = model.leak * x + (1 - model.leak) * np.tanh(mod @ x + w_in @ ut + model.bias)
        new_phi = phi.copy()
        for k in range(n_links):
            ends = {"mean": ((x[post[k]] + 1) / 2 + (x[pre[k]] + 1) / 2) / 2,
                    "pre": (x[pre[k]] + 1) / 2, "post": (x[post[k]] + 1) / 2}
            a_k = ends[model.link_activation]
            nbrs = np.nonzero(adj[k])[0]
            field = sum(adj[k, j] * cmath.exp(1j * phi[j]) for j in nbrs) / nbrs.size
            psi = cmath.phase(field)
            new_phi[k] = phi[k] + omega[k] + math.sin(psi - phi[k] + model.gamma) * (
                model.eps1 + model.eps2 * a_k)
        x, phi = new_x, new_phi
        z = np.mean([cmath.exp(1j * p) for p in phi])
        states.append(x)
        order_r.append(abs(z))
        mean_phase.append(cmath.phase(z))
    return np.array(states), np.array(order_r), np.array(mean_phase), phi


def circ(a, b):
    return np.abs(np.angle(np.exp(1j * (np.asarray(a) - np.asarray(b)))))


# ---------------------------------------------------------------- ESN core
@pytest.mark.parametrize("leak, bias, layout", [(0.0, 0.0, "block"), (0.3, 0.2, "dense"),
                                                (0.5, -0.1, "sparse")])
def test_esn_states_match_dense_reference(leak, bias, layout):
    model = ESN(40, degree=4, spectral_radius=0.9, leak=leak, bias=bias, input_layout=layout,
                input_density=0.5, seed=3)
    u = inputs(120)
    np.testing.assert_allclose(model.run(u).states, esn_reference(model, u), rtol=0, atol=1e-12)


def test_esn_batch_columns_share_the_network():
    model = ESN(30, degree=5, leak=0.2, seed=1)
    u = inputs(80, batch=4)
    batched = model.run(u).states                      # one sparse matrix-matrix product per step
    assert batched.shape == (80, 4, 30)
    for b in range(4):
        np.testing.assert_allclose(batched[:, b], esn_reference(model, u[:, b]), rtol=0, atol=1e-12)


def test_esn_seed_batch_equals_individual_seeds():
    seeds = [0, 4, 9]
    model = ESN(25, degree=3, seed=seeds)
    u = inputs(60)
    states = model.run(u).states
    assert states.shape == (60, 3, 25)
    for b, s in enumerate(seeds):
        np.testing.assert_allclose(states[:, b], ESN(25, degree=3, seed=s).run(u).states,
                                   rtol=0, atol=1e-12)


def test_recurrent_matrix_degree_radius_and_self_loops():
    model = ESN(200, degree=7, spectral_radius=0.6, seed=2)
    w = model.W_[0]
    assert w.nnz == 1400 and model.n_links == 1400
    radius = np.max(np.abs(np.linalg.eigvals(w.toarray())))
    assert radius == pytest.approx(0.6, abs=1e-10)
    no_loops = ESN(50, degree=49, self_loops=False, seed=0).W_[0]
    assert no_loops.diagonal().max() == 0 and no_loops.nnz == 50 * 49


def test_spectral_radius_arpack_is_deterministic_and_matches_dense():
    w = ESN(300, degree=10, seed=5).W_[0]
    dense = topology.spectral_radius(w)
    a1 = topology.spectral_radius(w, dense_max=10, rng=topology.host_rng(5, "arpack"))
    a2 = topology.spectral_radius(w, dense_max=10, rng=topology.host_rng(5, "arpack"))
    assert a1 == a2
    assert a1 == pytest.approx(dense, rel=1e-8)


def test_block_input_layout_is_the_authors():
    w_in = ESN(100, input_layout="block", n_inputs=3, seed=0).W_in_[0]
    assert np.all((w_in != 0).sum(axis=1) == 1)                 # every node driven by one input
    assert [(w_in[:, j] != 0).sum() for j in range(3)] == [34, 33, 33]
    assert np.abs(w_in).max() <= 1.2
    assert np.all(w_in[:34, 0] != 0) and np.all(w_in[34:67, 1] != 0)


def test_same_seed_same_numbers():
    u = inputs(150)
    a = RhythmicSharing(60, degree=5, astro_degree=20, seed=11).run(u)
    b = RhythmicSharing(60, degree=5, astro_degree=20, seed=11).run(u)
    c = RhythmicSharing(60, degree=5, astro_degree=20, seed=12).run(u)
    assert np.array_equal(a.states, b.states) and np.array_equal(a.order_R, b.order_R)
    assert np.array_equal(a.mean_phase, b.mean_phase)
    assert not np.allclose(a.states, c.states)


# ---------------------------------------------------------------- readout
@pytest.mark.parametrize("bias", [False, True])
def test_ridge_readout_matches_lstsq(bias):
    rng = np.random.default_rng(0)
    feats, targets, ridge = rng.normal(size=(200, 12)), rng.normal(size=(200, 3)), 0.7
    readout = RidgeReadout(ridge=ridge, bias=bias).fit(feats[:, None], targets[:, None])
    f = np.hstack([feats, np.ones((200, 1))]) if bias else feats
    penalty = np.sqrt(ridge) * np.eye(f.shape[1])
    if bias:
        penalty[-1, -1] = 0.0                                   # the bias is not penalised
    expected = np.linalg.lstsq(np.vstack([f, penalty]), np.vstack([targets, np.zeros((f.shape[1], 3))]),
                               rcond=None)[0]
    np.testing.assert_allclose(readout.coef_[0], expected, rtol=1e-10, atol=1e-12)


def test_readout_features_and_pooling():
    rng = np.random.default_rng(1)
    states, targets = rng.normal(size=(50, 2, 4)), rng.normal(size=(50, 2, 1))
    readout = RidgeReadout(ridge=1e-3, features="states_squares").fit(states, targets)
    assert readout.coef_.shape == (2, 8, 1)
    pooled = RidgeReadout(ridge=1e-3, features="states_squares").fit(states, targets, pool=True)
    f = np.concatenate([states, states ** 2], axis=-1).reshape(100, 8)
    expected = np.linalg.solve(f.T @ f + 1e-3 * np.eye(8), f.T @ targets.reshape(100, 1))
    np.testing.assert_allclose(pooled.coef_[0], expected, rtol=1e-10)


def test_fit_drops_washout_after_each_segment_start():
    model = ESN(30, degree=4, washout=10, seed=0)
    mask = model._training_mask(100, 10, [40, 70])
    assert not mask[:10].any() and not mask[40:50].any() and not mask[70:80].any()
    assert mask.sum() == 70


# ---------------------------------------------------------------- Rhythmic Sharing
@pytest.mark.parametrize("kwargs", [
    {},                                                              # the authors' defaults
    {"gamma": 0.4, "leak": 0.3, "bias": 0.1, "link_activation": "pre"},
    {"astro_graph": "domains", "m": 1.0, "omega": 0.05, "link_activation": "post"},
])
@pytest.mark.parametrize("jit", ["1", "0"], ids=["fused", "numpy"])
def test_rhythmic_matches_loop_reference(kwargs, jit, monkeypatch):
    """Both implementations of the step (the fused loop, its NumPy reference: ASTROCORE_JIT) against the
    loop over the equations."""
    monkeypatch.setenv("ASTROCORE_JIT", jit)
    model = RhythmicSharing(12, degree=3, astro_degree=5, seed=3, **kwargs)
    u = inputs(100)
    run = model.run(u)
    states, order_r, mean_phase, phases = rhythmic_reference(model, u)
    np.testing.assert_allclose(run.states, states, rtol=0, atol=1e-12)
    np.testing.assert_allclose(run.order_R, order_r, rtol=0, atol=1e-12)
    assert circ(run.mean_phase, mean_phase).max() < 1e-12
    np.testing.assert_allclose(run.final_state.phases[0], phases, rtol=0, atol=1e-12)


def test_domains_equal_links_given_the_implied_graph():
    u = inputs(100, seed=4)
    dom = RhythmicSharing(30, degree=4, astro_graph="domains", astro_degree=12, seed=7)
    graph = dom.astro_adjacency()
    assert graph.shape == (dom.n_links, dom.n_links)
    links = RhythmicSharing(30, degree=4, astro_graph=graph, seed=7)
    a, b = dom.run(u), links.run(u)
    np.testing.assert_allclose(a.states, b.states, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.order_R, b.order_R, rtol=0, atol=1e-12)
    assert circ(a.mean_phase, b.mean_phase).max() < 1e-12


def test_links_graph_has_fixed_out_degree_without_self_loops():
    model = RhythmicSharing(40, degree=5, astro_degree=25, seed=0)
    graph = model.astro_adjacency()
    assert np.all(np.diff(graph.indptr) == 25) and graph.diagonal().max() == 0
    assert set(np.unique(graph.data)) == {1.0}


def test_rhythmic_batch_columns_match_single_runs():
    model = RhythmicSharing(20, degree=4, astro_degree=10, seed=2)
    u = inputs(60, batch=3, seed=5)
    run = model.run(u)
    for b in range(3):
        single = model.run(u[:, b])
        np.testing.assert_allclose(run.states[:, b], single.states, rtol=0, atol=1e-12)
        np.testing.assert_allclose(run.order_R[:, b], single.order_R, rtol=0, atol=1e-12)
    seeds = RhythmicSharing(20, degree=4, astro_degree=10, astro_graph="domains", seed=[2, 3])
    both = seeds.run(u[:, 0])
    one = RhythmicSharing(20, degree=4, astro_degree=10, astro_graph="domains", seed=3).run(u[:, 0])
    np.testing.assert_allclose(both.states[:, 1], one.states, rtol=0, atol=1e-12)
    np.testing.assert_allclose(both.mean_phase[:, 1], one.mean_phase, rtol=0, atol=1e-12)


def test_order_parameter_of_the_final_phases():
    model = RhythmicSharing(30, degree=4, astro_degree=10, seed=0)
    run = model.run(inputs(50))
    z = np.exp(1j * run.final_state.phases[0]).mean()
    assert run.order_R[-1] == pytest.approx(abs(z), abs=1e-13)
    assert circ(run.mean_phase[-1], np.angle(z)) < 1e-12
    assert run.order_R.shape == run.mean_phase.shape == (50,)


# ---------------------------------------------------------------- forecasting
def sine(t=400, period=25.0):
    tt = np.arange(t)
    return np.stack([np.sin(2 * np.pi * tt / period), np.cos(2 * np.pi * tt / period)], axis=1)


def test_closed_loop_feeds_the_prediction_back():
    model = ESN(30, degree=4, input_scaling=0.5, washout=20, ridge=1e-8, seed=0).fit(sine(300))
    warm = sine(330)[300:]
    run = model.forecast(warm, 10)
    x = esn_reference(model, warm)[-1]
    w, w_in, coef = model.W_[0].toarray(), model.W_in_[0], model.readout_.coef_[0]
    for h in range(10):
        y = x @ coef
        np.testing.assert_allclose(run.prediction[h], y, rtol=0, atol=1e-12)
        x = np.tanh(w @ x + w_in @ y)


def test_esn_forecasts_a_sine():
    model = ESN(50, degree=5, spectral_radius=0.9, input_scaling=0.5, washout=50, ridge=1e-8,
                seed=0).fit(sine(600))
    truth = sine(700)[600:]
    run = model.forecast(sine(600)[400:], 100, truth=truth)
    assert run.first_index == 200
    assert metrics.nrmse(run.prediction, truth) < 0.05


def fitted_rhythmic(**kwargs):
    model = RhythmicSharing(30, degree=4, astro_degree=10, input_scaling=0.5, washout=50, seed=1,
                            **kwargs)
    return model.fit(sine(500))


def test_steering_authors_shifts_rigidly_then_freezes():
    model = fitted_rhythmic()
    obs = sine(800)                        # 700 shifted steps of 0.01 rad: more than a full turn
    run = model.forecast(obs, 30, steering="authors", target_phase=1.0, n_free=100, omega0=0.01,
                         phase_tol=0.006, error_tol=1e9)
    info = run.info
    assert info["converged"] and info["frozen_at"][0] >= 100
    frozen_at = int(info["frozen_at"][0])
    r, phase = run.warmup.order_R, run.warmup.mean_phase
    # warmup entry t holds phi(t + 1): the shift starts with entry n_free
    assert np.ptp(r[100:frozen_at]) < 1e-12                       # R unchanged by the rigid shift
    np.testing.assert_allclose(np.diff(np.unwrap(phase[100:frozen_at])), 0.01, atol=1e-12)
    assert np.ptp(r[frozen_at:]) < 1e-12 and circ(phase[frozen_at:], phase[-1]).max() < 1e-12
    assert circ(phase[frozen_at - 1], 1.0) < 0.006
    assert np.ptp(run.order_R) < 1e-12 and circ(run.mean_phase, run.mean_phase[0]).max() < 1e-12


def test_steering_authors_warns_when_criteria_are_not_met():
    model = fitted_rhythmic()
    with pytest.warns(RuntimeWarning, match="did not meet"):
        run = model.forecast(sine(300), 5, steering="authors", n_free=100, error_tol=1e-30)
    assert not run.info["converged"] and run.info["frozen_at"][0] == -1


def test_steering_sweep_selects_the_best_offset():
    model = fitted_rhythmic()
    obs = sine(400)
    run = model.forecast(obs, 20, steering="sweep", n_free=150, n_candidates=8, n_settle=30,
                         window=40)
    info = run.info
    assert info["scores"].shape == (1, 8)
    best = int(np.argmin(info["scores"][0]))
    assert info["best_offset"][0] == pytest.approx(2 * np.pi * best / 8)
    free_phase = run.warmup.mean_phase[149]                        # <Phi> after the free steps
    assert circ(info["selected_mean_phase"][0], free_phase + info["best_offset"][0]) < 1e-9
    assert np.ptp(run.order_R) < 1e-12                              # frozen during the forecast
    assert run.warmup.order_R.shape == (400,)
    with pytest.raises(ValueError, match="at least n_free"):
        model.forecast(obs[:200], 5, steering="sweep", n_free=150, n_settle=30, window=40)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("make, message", [
    (lambda: ESN(spectral_radius=-1), r"spectral_radius must be a finite real number > 0, got -1"),
    (lambda: ESN(spectral_radius=0), r"spectral_radius must be a finite real number > 0, got 0"),
    (lambda: RhythmicSharing(m=1.5), r"m must be a real number in \[0, 1\], got 1.5"),
    (lambda: RhythmicSharing(m=-0.1), r"m must be a real number in \[0, 1\], got -0.1"),
    (lambda: ESN(10, degree=20), r"degree must be <= n_nodes \(10\), got 20"),
    (lambda: ESN(10, degree=10, self_loops=False), r"degree must be <= n_nodes - 1 \(9\), got 10"),
    (lambda: ESN(input_layout="diagonal"), r"input_layout must be one of"),
    (lambda: ESN(leak=1.0), r"leak must be a real number in \[0, 1\), got 1.0"),
    (lambda: ESN(seed=-1), r"seed must be a non-negative int"),
    (lambda: RhythmicSharing(10, degree=2, astro_degree=50), r"astro_degree must be <= the number of links - 1 \(19\), got 50"),
    (lambda: RhythmicSharing(astro_graph="glia"), r"astro_graph must be one of"),
    (lambda: RhythmicSharing(10, degree=2, astro_graph=sp.eye(7)), r"astro_graph must be a \(n_links, n_links\)"),
])
def test_bad_hyperparameters_raise_clear_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_input_of_the_wrong_dimension():
    model = ESN(20, degree=3, seed=0)
    model.run(inputs(10, d=3))
    with pytest.raises(ValueError, match=r"u must have n_inputs=3 features in its last axis, got 2"):
        model.run(inputs(10, d=2))
    with pytest.raises(ValueError, match=r"u must have 2 or 3 dimension\(s\), got shape \(10,\)"):
        model.run(np.zeros(10))
    with pytest.raises(ValueError, match=r"u must be finite, got nan at index \(0, 0\)"):
        model.run(np.full((5, 3), np.nan))
    with pytest.raises(ValueError, match="2 batch columns but the model has 3 seeds"):
        ESN(20, degree=3, seed=[0, 1, 2]).run(inputs(10, batch=2))


@pytest.mark.parametrize("horizon", [0, -3, 2.5, True, "10"])
def test_horizon_must_be_a_positive_integer(horizon):
    model = ESN(20, degree=3, washout=5, seed=0).fit(sine(50))
    with pytest.raises(ValueError, match=r"horizon must be a positive integer"):
        model.forecast(sine(20), horizon)


def test_steering_options_are_validated():
    model = fitted_rhythmic()
    with pytest.raises(ValueError, match=r"steering must be None or one of \('authors', 'sweep'\) or an instance of "
                                         r"PhaseController, got 'wander'"):
        model.forecast(sine(50), 5, steering="wander")
    with pytest.raises(ValueError, match="needs link phases"):
        ESN(20, degree=3, washout=5).fit(sine(50)).forecast(sine(20), 5, steering="authors")


def test_divergence_raises_with_the_step():
    model = ESN(20, degree=3, washout=5, seed=0).fit(sine(60))
    model.readout_.coef_[:] = np.inf
    model.readout_._coef_dev = model.readout_.coef_
    with pytest.raises(ReservoirDivergenceError,
                       match=r"at step 0 \(closed-loop forecast\); hyperparameters: .*spectral_radius"), \
            np.errstate(invalid="ignore"):
        model.forecast(sine(20), 50)
    rhythmic = RhythmicSharing(20, degree=3, astro_degree=5, seed=0)
    rhythmic.W_[0].data[:] = np.inf                 # inf * 0 in the first step's recurrent product
    with pytest.raises(ReservoirDivergenceError, match=r"RhythmicSharing diverged to NaN/inf at step 0"), \
            np.errstate(invalid="ignore"):
        rhythmic.run(inputs(30))
    # a non-finite initial state is bad input, refused before the run, naming the array and the index
    rhythmic = RhythmicSharing(20, degree=3, astro_degree=5, seed=0)
    nodes = np.zeros((1, 20))
    nodes[0, 3] = np.nan
    with pytest.raises(ValueError, match=r"initial_state.nodes must be finite, got nan at index \(0, 3\)"):
        rhythmic.run(inputs(30), initial_state=ReservoirState(nodes, rhythmic.phases0_))


# ---------------------------------------------------------------- datasets
def test_to_dataset_has_named_dims_and_attrs():
    model = fitted_rhythmic()
    truth = sine(520)[500:]
    ds = to_dataset(model.forecast(sine(500)[300:], 20, truth=truth), dt=0.1, time_units="s")
    assert ds["state"].dims == ("time", "batch", "node")
    assert ds["prediction"].dims == ds["truth"].dims == ("time", "batch", "coord")
    assert ds["order_R"].dims == ds["mean_phase"].dims == ("time", "batch")
    assert ds.sizes["batch"] == 1 and ds.sizes["time"] == 20
    for name in ("state", "order_R", "mean_phase", "prediction", "truth"):
        assert {"long_name", "units"} <= set(ds[name].attrs)
    assert ds["mean_phase"].attrs["units"] == "rad"
    assert ds["time"].values[0] == pytest.approx(20.0)          # first_index 200 times dt 0.1
    assert ds.attrs["model"] == "rhythmic_links" and ds.attrs["m"] == 0.6


def test_initial_state_continues_a_run():
    model = RhythmicSharing(20, degree=3, astro_degree=10, seed=0)
    u = inputs(80)
    whole = model.run(u)
    first = model.run(u[:50])
    rest = model.run(u[50:], initial_state=first.final_state)
    np.testing.assert_allclose(rest.states, whole.states[50:], rtol=0, atol=1e-13)
    np.testing.assert_allclose(rest.order_R, whole.order_R[50:], rtol=0, atol=1e-13)
    assert isinstance(first.final_state, ReservoirState)


# ---------------------------------------------------------------- metrics
def test_valid_prediction_time_and_nrmse():
    truth = np.stack([np.sin(np.arange(200) * 0.1), np.cos(np.arange(200) * 0.1)], axis=1)
    scale = np.ones(2)
    pred = truth + (np.arange(200) * 0.01)[:, None]       # e(t) = 0.01 t exceeds 0.4 at t = 41
    assert metrics.valid_prediction_time(pred, truth, dt=0.5, lyapunov_exponent=0.9, scale=scale) \
        == pytest.approx(41 * 0.5 * 0.9)
    assert metrics.valid_prediction_time(truth, truth, dt=0.5) == pytest.approx(100.0)
    batch = np.stack([pred, truth], axis=1)
    vpt = metrics.valid_prediction_time(batch, np.stack([truth, truth], axis=1), dt=1.0, scale=scale)
    np.testing.assert_allclose(vpt, [41, 200])
    assert metrics.nrmse(truth + 0.3, truth, scale=scale) == pytest.approx(0.3)


def test_distribution_distance():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 2))
    assert metrics.distribution_distance(x, x) == 0.0
    assert metrics.distribution_distance(x + 1.0, x) == pytest.approx(1.0, rel=0.05)
    assert metrics.distribution_distance(x, x, method="spectrum") == 0.0
    t = np.arange(1000)
    slow, fast = np.sin(0.05 * t)[:, None], np.sin(0.5 * t)[:, None]
    assert 0.9 < metrics.distribution_distance(slow, fast, method="spectrum") <= 1.0


# ---------------------------------------------------------------- declared validation (issue 10)
def test_the_public_entry_points_are_declared():
    from astrocore import validation  # noqa: PLC0415

    declared = set(validation.REGISTRY)
    for name in ("esn.ESN.__init__", "esn.ESN.run", "esn.ESN.fit", "esn.ESN.forecast",
                 "rhythmic.RhythmicSharing.__init__", "rhythmic.RhythmicSharing.run",
                 "rhythmic.RhythmicSharing.forecast", "readout.RidgeReadout.__init__", "readout.RidgeReadout.fit",
                 "readout.RidgeReadout.predict", "steering.steer_authors", "steering.steer_sweep",
                 "topology.recurrent_matrix", "topology.astro_links_graph", "results.to_dataset"):
        assert f"astrocore.reservoir.{name}" in declared, name


@pytest.mark.parametrize("make, name", [
    (lambda: ESN(20, degree=3, self_loops="no"), "self_loops"),
    (lambda: ESN(20, degree=3, self_loops=1), "self_loops"),
    (lambda: ESN(20, degree=3, readout_bias="False"), "readout_bias"),
    (lambda: RhythmicSharing(20, degree=3, astro_degree=5, astro_self_loops="no"), "astro_self_loops"),
    (lambda: RidgeReadout(bias=0), "bias"),
    (lambda: ESN(20, degree=3, washout=5).fit(sine(50), pool_batch="no"), "pool_batch"),
    (lambda: ESN(20, degree=3).run(inputs(10), record_states="False"), "record_states"),
])
def test_flags_accept_bools_only(make, name):
    with pytest.raises(ValueError, match=rf"^{name} must be a bool \(True or False\), got"):
        make()


def test_numpy_bools_are_bools():
    model = ESN(20, degree=3, self_loops=np.bool_(False), readout_bias=np.bool_(True))
    assert model.self_loops is False and model.readout_bias is True and model.W_[0].diagonal().max() == 0


@pytest.mark.parametrize("seed", [[0, 0], (3, 1, 3), np.array([2, 2])])
def test_repeated_seeds_are_refused(seed):
    with pytest.raises(ValueError, match=r"seed must be .*distinct"):
        ESN(20, degree=3, seed=seed)
    with pytest.raises(ValueError, match=r"seed must be .*distinct"):
        RhythmicSharing(20, degree=3, astro_degree=5, seed=seed)


def test_a_one_element_seed_list_is_a_batch_of_one():
    run = ESN(20, degree=3, seed=[4]).run(inputs(10))
    assert run.batched and run.states.shape == (10, 1, 20)
    assert not ESN(20, degree=3, seed=4).run(inputs(10)).batched


def test_memory_requests_are_refused_before_allocating(monkeypatch):
    from astrocore.validation import MemoryRequestError  # noqa: PLC0415

    monkeypatch.setenv("ASTROCORE_MAX_MEMORY", str(64 * 2**20))             # 64 MiB
    with pytest.raises(MemoryRequestError, match=r"^n_nodes=100000 needs about .* MiB.*reduce n_nodes"):
        ESN(100_000, degree=100)
    with pytest.raises(MemoryRequestError, match=r"^astro_degree=5000 needs about"):
        RhythmicSharing(2000, degree=5, astro_degree=5000)
    model = ESN(400, degree=4, washout=5, seed=0).fit(inputs(50))
    with pytest.raises(MemoryRequestError, match=r"^u=<array of shape \(30000, 3\)> needs about .*"
                                                 r"record_states=False keeps none"):
        model.run(inputs(30_000))
    assert model.run(inputs(30_000), record_states=False).states is None        # nothing recorded: fits
    with pytest.raises(MemoryRequestError, match=r"^horizon=100000 needs about .*reduce horizon"):
        model.forecast(inputs(20), 100_000)
    assert model.forecast(inputs(20), 100_000, record_states=False).prediction.shape == (100_000, 3)
    with pytest.raises(MemoryError):                                             # a MemoryError too
        model.forecast(inputs(20), 10**12)
    with pytest.raises(MemoryRequestError, match=r"^n_candidates=1000000 needs about"):
        fitted_rhythmic().forecast(sine(400), 5, steering="sweep", n_free=100, n_settle=20, window=20,
                                   n_candidates=10**6)


def test_cross_parameter_relations_are_errors():
    with pytest.raises(ValueError, match=r"n_domains applies to astro_graph='domains' only"):
        RhythmicSharing(20, degree=3, astro_degree=5, n_domains=4)
    with pytest.raises(ValueError, match=r"astro_self_loops applies to astro_graph='links' only"):
        RhythmicSharing(20, degree=3, astro_degree=5, astro_graph="domains", astro_self_loops=True)
    with pytest.raises(ValueError, match=r"n_domains must be <= the number of links \(60\), got 61"):
        RhythmicSharing(20, degree=3, astro_graph="domains", n_domains=61)
    with pytest.raises(ValueError, match=r"omega must be a finite real number or an array of n_links=60"):
        RhythmicSharing(20, degree=3, astro_degree=5, omega=np.zeros(7))
    model = fitted_rhythmic()
    with pytest.raises(ValueError, match=r"n_free must be < the length of u_warm \(100\) for steering='authors'"):
        model.forecast(sine(100), 5, steering="authors", n_free=600)
    with pytest.raises(ValueError, match=r"truth must have the prediction's shape \(5, 2\)"):
        model.forecast(sine(100), 5, truth=np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"initial_state.nodes must have shape \(30,\), \(1, 30\)"):
        model.run(sine(10), initial_state=ReservoirState(np.zeros((1, 7))))
    with pytest.raises(ValueError, match=r"initial_state.phases must have shape"):
        model.run(sine(10), initial_state=ReservoirState(np.zeros((1, 30)), np.zeros((1, 5))))
    with pytest.raises(ValueError, match=r"initial_state must be None with steering='sweep'"):
        model.forecast(sine(400), 5, steering="sweep", initial_state=model.fit_state_)
    esn = ESN(20, degree=3, washout=10, seed=[0, 1])
    with pytest.raises(ValueError, match=r"washout=60 after each segment start leaves no training rows out of 49"):
        esn.fit(sine(50), washout=60)
    with pytest.raises(ValueError, match=r"y must have 1 or 2 batch columns like u, got shape \(50, 3, 2\)"):
        esn.fit(sine(50), y=np.zeros((50, 3, 2)))
    with pytest.raises(ValueError, match=r"segment_starts must be None or a sequence of integer time indices, got \[10.5\]"):
        esn.fit(sine(50), segment_starts=[10.5])


def test_forecast_checks_the_readout_before_the_warm_up():
    with pytest.raises(RuntimeError, match=r"not fitted"):
        ESN(20, degree=3).forecast(sine(20), 5)
    model = ESN(20, degree=3, washout=5, seed=0).fit(np.stack([sine(60)] * 2, axis=1))
    with pytest.raises(ValueError, match=r"fitted for 2 batch columns and cannot serve batch=3"):
        model.forecast(np.stack([sine(20)] * 3, axis=1), 5)
    with pytest.raises(ValueError, match=r"u_warm must have n_inputs=2 features in its last axis, got 3"):
        model.forecast(inputs(20), 5)


def test_readout_inputs_are_checked():
    rng = np.random.default_rng(0)
    states, targets = rng.normal(size=(30, 1, 4)), rng.normal(size=(30, 1, 2))
    bad = states.copy()
    bad[7, 0, 2] = np.inf
    with pytest.raises(ValueError, match=r"states must be finite, got inf at index \(7, 0, 2\)"):
        RidgeReadout().fit(bad, targets)
    with pytest.raises(ValueError, match=r"targets must have the time and batch axes of states \(30, 1\)"):
        RidgeReadout().fit(states, targets[:20])
    with pytest.raises(ValueError, match=r"mask leaves the readout no training rows"):
        RidgeReadout().fit(states, targets, np.zeros(30, bool))
    with pytest.raises(ValueError, match=r"states must have the 4 nodes the readout was fitted on"):
        RidgeReadout().fit(states, targets).predict(np.zeros((5, 1, 6)))
    with pytest.raises(ValueError, match=r"bits must be None or an integer in \[1, 32\], got 0"):
        RidgeReadout(bits=0)


def test_to_dataset_checks_its_arguments():
    run = fitted_rhythmic().forecast(sine(100), 5)
    with pytest.raises(ValueError, match=r"coord_names must name the 2 coordinates"):
        to_dataset(run, coord_names=["x", "y", "z"])
    with pytest.raises(ValueError, match=r"dt must be a finite real number > 0, got 0"):
        to_dataset(run, dt=0)
    with pytest.raises(ValueError, match=r"run must be an instance of ReservoirRun"):
        to_dataset({"prediction": 1})
