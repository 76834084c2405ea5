"""The link-phase controller and test-time readout adaptation against independent references (issue 12, part B).

References: zero offsets against the unadapted frozen-phase run, and that run
against a twin model whose phases cannot move (``eps1 = eps2 = omega = 0``)
started from the free run's state; the MGD estimate against central finite
differences of the same cost; the order parametrisation against the
definition of ``R`` and ``<Phi>``; readout adaptation by RLS against its
closed form (ridge pulled towards the prior readout).
"""

from __future__ import annotations

import numpy as np
import pytest

from astrocore import online
from astrocore.hardware import CostReadout, HardwareModel
from astrocore.online.adapt import adapt_readout
from astrocore.reservoir import ESN, ReservoirState, RhythmicSharing, topology
from astrocore.reservoir.controller import PhaseController
from astrocore.reservoir.phase_control import phase_cost
from astrocore.reservoir.readout import make_features
from astrocore.systems import simulate
from astrocore.validation import InvalidParameterError

PARAMS = {"spectral_radius": 0.6, "input_scaling": 1.2, "readout_bias": True, "washout": 100, "seed": 3}


def _series(steps=1100, b=0.2):
    run = simulate("thomas", t_end=float(steps + 300), dt=1.0, x0=[0.1, 0.0, -0.1], transient=300.0,
                   schedule=b)
    return run.state[:steps]


@pytest.fixture(scope="module")
def fitted():
    u = _series()
    model = RhythmicSharing(30, astro_graph="domains", **PARAMS).fit(u[:700])
    windows = np.stack([u[700:820], u[760:880]], axis=1)       # (120, 2, 3)
    return model, windows, u


def _controlled(model, windows, controller, horizon=40):
    return model.forecast(windows, horizon, steering=controller, n_free=50, n_settle=10, record_states=True)


def test_zero_offsets_reproduce_the_frozen_run_exactly(fitted):
    model, windows, _ = fitted
    frozen = _controlled(model, windows, PhaseController(n_iterations=0))
    still = _controlled(model, windows, PhaseController(n_iterations=3, eta=0.0))
    assert np.array_equal(frozen.prediction, still.prediction)
    assert np.array_equal(frozen.states, still.states)
    assert np.array_equal(still.info["theta"], np.zeros_like(still.info["theta"]))


def test_the_frozen_run_is_a_reservoir_whose_phases_cannot_move(fitted, monkeypatch):
    """The twin runs the free step on the NumPy path (ASTROCORE_JIT=0), whose sin/cos is the frozen run's:
    the fused step's polynomial sin/cos differs in the last bit, which 40 closed-loop steps amplify to
    ~4e-12 (the fused step is checked against the NumPy one in test_rhythmic_fused)."""
    model, windows, _ = fitted
    frozen = _controlled(model, windows, PhaseController(n_iterations=0))
    # independent path: the free run of the first n_free steps (public run, the steering phases), then a
    # twin with the same structure whose phase equation is phi <- phi + 0, forecasting from that state
    phases = topology.host_rng(3, "steer").uniform(0.0, 2 * np.pi, model.n_links)
    start = ReservoirState(np.zeros((2, model.n_nodes)), np.tile(phases, (2, 1)))
    free = model.run(windows[:50], initial_state=start)
    twin = RhythmicSharing(30, astro_graph="domains", eps1=0.0, eps2=0.0, omega=0.0, **PARAMS)
    twin.readout_ = model.readout_
    monkeypatch.setenv("ASTROCORE_JIT", "0")
    ref = twin.forecast(windows[50:], 40, initial_state=free.final_state)
    np.testing.assert_allclose(frozen.prediction, ref.prediction, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(frozen.order_R, ref.order_R, rtol=1e-12)


def test_mgd_estimate_points_along_the_finite_difference_gradient(fitted):
    model, windows, _ = fitted
    ctl = PhaseController("order", n_perturbations=1)
    cost = phase_cost(model, windows, controller=ctl, n_free=50, n_settle=10)
    theta = np.array([[0.3, -0.2], [0.1, 0.2]])
    h = 1e-4
    steps = np.stack([theta + h * e for e in np.eye(2)] + [theta - h * e for e in np.eye(2)], axis=1)
    c = cost.cost(steps)
    fd = (c[:, :2] - c[:, 2:]) / (2 * h)
    rng = np.random.default_rng(0)
    a, K = 1e-3, 400
    codes = rng.choice([-1.0, 1.0], size=(2, K, 2))
    c = cost.cost(np.concatenate([theta[:, None] + a * codes, theta[:, None] - a * codes], axis=1))
    est = np.einsum("bk,bkp->bp", (c[:, :K] - c[:, K:]) / (2 * a), codes) / K
    for b in range(2):
        cosine = est[b] @ fd[b] / np.linalg.norm(est[b]) / np.linalg.norm(fd[b])
        assert cosine > 0.99


def test_mgd_keeps_the_best_measured_offsets(fitted):
    model, windows, _ = fitted
    run = _controlled(model, windows, PhaseController(n_iterations=6, amplitude=0.2, eta=0.2))
    cost = run.info["cost"]
    assert np.all(cost[-1] <= cost[0] + 1e-15)
    np.testing.assert_allclose(cost[-1], np.nanmin(cost[:-1], axis=0), rtol=1e-9)
    assert run.info["cost_evaluations"] == (2 * 8 + 1) * 6 + 1
    assert run.info["labels_used"] == 120 - 1 - 60
    sparse = _controlled(model, windows, PhaseController(n_iterations=1, label_every=10))
    assert sparse.info["labels_used"] == len([t for t in range(60, 119) if (t + 1) % 10 == 0])


def test_domain_offsets_shift_the_links_their_astrocyte_binds(fitted):
    model, windows, _ = fitted
    cost = phase_cost(model, windows, controller=PhaseController(), n_free=50, n_settle=10)
    theta = np.zeros((2, 1, cost.n_parameters))
    theta[0, 0, 5] = 0.7
    moved = cost.phases(theta) - np.repeat(cost.phi_free, 1, axis=0)
    bound = model.domains_[0].toarray()[5] > 0
    np.testing.assert_allclose(moved[0, bound], 0.7)
    assert np.all(moved[0, ~bound] == 0) and np.all(moved[1] == 0)


def test_order_parameters_move_mean_phase_and_synchrony(fitted):
    model, windows, _ = fitted
    cost = phase_cost(model, windows, controller=PhaseController("order"), n_free=50, n_settle=10)
    z0 = np.exp(1j * cost.phi_free).mean(axis=1)
    rotated = np.exp(1j * cost.phases(np.array([[[0.5, 0.0]], [[0.5, 0.0]]]))).mean(axis=1)
    np.testing.assert_allclose(np.abs(rotated), np.abs(z0), rtol=1e-12)
    np.testing.assert_allclose(np.angle(rotated / z0), 0.5, atol=1e-12)
    narrowed = np.abs(np.exp(1j * cost.phases(np.array([[[0.0, -0.5]], [[0.0, -0.5]]]))).mean(axis=1))
    assert np.all(narrowed > np.abs(z0))


def test_domains_need_the_domains_graph_and_windows_need_labels():
    u = _series(600)
    links = RhythmicSharing(20, astro_degree=5, **PARAMS).fit(u[:400])
    with pytest.raises(InvalidParameterError, match="astro_graph='domains'"):
        links.forecast(u[400:500], 5, steering=PhaseController(), n_free=20, n_settle=5)
    domains = RhythmicSharing(20, astro_graph="domains", **PARAMS).fit(u[:400])
    with pytest.raises(InvalidParameterError, match="no labelled step"):
        domains.forecast(u[400:430], 5, steering=PhaseController(label_every=50), n_free=20, n_settle=5)
    with pytest.raises(InvalidParameterError, match="n_free"):
        domains.forecast(u[400:430], 5, steering=PhaseController(), n_free=29)
    with pytest.raises(InvalidParameterError, match="parametrisation"):
        PhaseController("links")


@pytest.mark.parametrize("kind", [ESN, RhythmicSharing])
def test_readout_adaptation_without_labels_is_the_plain_forecast(fitted, kind):
    _, windows, u = fitted
    model = kind(30, **PARAMS).fit(u[:700])
    plain = model.forecast(windows, 30, record_states=False).prediction
    run = adapt_readout(model, windows, 30, online.RLS(alpha=1.0), label_every=10_000)
    np.testing.assert_allclose(run.prediction, plain, rtol=1e-10, atol=1e-12)
    assert run.labels_used == 0


def test_rls_adaptation_is_ridge_pulled_towards_the_fitted_readout(fitted):
    _, windows, u = fitted
    model = ESN(30, **PARAMS).fit(u[:700])
    alpha, start, k = 0.5, 30, 3
    run = adapt_readout(model, windows, 5, online.RLS(forgetting=1.0, alpha=alpha), label_every=k, start=start)
    states = model.run(windows).states                          # (T, B, N): n(t + 1) at entry t
    f = make_features(states, model.features, model.readout_bias)
    t = np.array([s for s in range(windows.shape[0] - 1) if (s + 1) % k == 0 and s >= start])
    w0 = model.readout_.coef_[0]
    for b in range(2):
        X, Y = f[t, b], windows[t + 1, b]
        ref = np.linalg.solve(alpha * np.eye(X.shape[1]) + X.T @ X, alpha * w0 + X.T @ Y)
        np.testing.assert_allclose(run.coef[b], ref, rtol=1e-6, atol=1e-8)
    assert run.labels_used == t.size


def test_the_ideal_preset_reproduces_the_controller_without_hardware(fitted):
    _, windows, u = fitted
    ctl = PhaseController(n_iterations=3, amplitude=0.2, eta=0.2)
    runs = []
    for hw in (None, "ideal"):
        model = RhythmicSharing(30, astro_graph="domains", hardware=hw, **PARAMS).fit(u[:700])
        runs.append(_controlled(model, windows, ctl))
    assert np.array_equal(runs[0].prediction, runs[1].prediction)
    assert np.array_equal(runs[0].info["cost"], runs[1].info["cost"])


def test_on_a_device_every_cost_is_read_through_its_cost_readout(fitted):
    _, windows, u = fitted
    ctl = PhaseController(n_iterations=3, amplitude=0.2, eta=0.2)
    coarse = RhythmicSharing(30, astro_graph="domains", hardware=HardwareModel(
        cost=CostReadout(cost_bits=2, cost_range=64.0)), **PARAMS).fit(u[:700])
    run = _controlled(coarse, windows, ctl)
    # a 2-bit read-out over [0, 64] reads every C / C(0) below 10 as 0: the estimate is zero and no offset
    # ever looks better, so the frozen phases are kept
    assert np.array_equal(run.info["theta"], np.zeros_like(run.info["theta"]))
    fine = RhythmicSharing(30, astro_graph="domains", hardware=HardwareModel(
        cost=CostReadout(cost_bits=16, cost_range=4.0)), **PARAMS).fit(u[:700])
    ideal = RhythmicSharing(30, astro_graph="domains", **PARAMS).fit(u[:700])
    a, b = _controlled(fine, windows, ctl).info["cost"], _controlled(ideal, windows, ctl).info["cost"]
    np.testing.assert_allclose(a, b, rtol=1e-3)
