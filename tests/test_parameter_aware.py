"""astrocore.reservoir.parameter_aware: the parameter-aware ESN (Kong et al. 2021) against a loop-based reference of
its equations, its channel, its batches, and its bad-input checks (astrocore.validation)."""

import numpy as np
import pytest

from astrocore.reservoir import ESN, ReservoirDivergenceError
from astrocore.reservoir.parameter_aware import ParameterAwareESN
from astrocore.validation import InvalidParameterError

N, D = 24, 2
RANGE = (0.2, 0.4)


def _series(T=400, switch=200):
    """A 2-d series whose frequency follows the parameter p (0.2 then 0.4 from ``switch``)."""
    p = np.where(np.arange(T) < switch, RANGE[0], RANGE[1])
    phase = np.cumsum(p)
    return np.c_[np.sin(phase), np.cos(1.3 * phase)], p


def _model(**kw):
    kw = {"degree": 4, "spectral_radius": 0.8, "leak": 0.3, "bias": 0.1, "washout": 20, "features": "states_squares",
          "readout_bias": True, "ridge": 1e-4, "seed": 3, **kw}
    return ParameterAwareESN(N, param_range=RANGE, **kw)


def _channel(p):
    return 2 * (p - RANGE[0]) / (RANGE[1] - RANGE[0]) - 1


def _step_by_loop(m, n, x):
    """One node update, entry by entry: n_i <- l n_i + (1 - l) tanh(sum_j W_ij n_j + sum_k W_in_ik x_k + b)."""
    W, W_in = m.esn_.W_[0].toarray(), m.esn_.W_in_[0]
    new = np.empty_like(n)
    for i in range(n.size):
        a = sum(W[i, j] * n[j] for j in range(n.size)) + sum(W_in[i, k] * x[k] for k in range(x.size)) + m.esn_.bias
        new[i] = m.esn_.leak * n[i] + (1 - m.esn_.leak) * np.tanh(a)
    return new


def _features(m, n):
    return np.r_[n, n ** 2, 1.0] if m.esn_.readout_bias else np.r_[n, n ** 2]


def _forecast_by_loop(m, u_warm, p, horizon):
    n = np.zeros(N)
    for u in u_warm:
        n = _step_by_loop(m, n, np.r_[u, _channel(p)])
    coef = m.esn_.readout_.coef_[0]
    out = []
    for _ in range(horizon):
        f = _features(m, n)
        y = np.array([sum(f[k] * coef[k, j] for k in range(f.size)) for j in range(D)])
        out.append(y)
        n = _step_by_loop(m, n, np.r_[y, _channel(p)])
    return np.array(out)


def test_channel_maps_the_trained_range_onto_minus_one_to_one():
    m = _model()
    np.testing.assert_allclose(m.channel(np.array([0.2, 0.3, 0.4, 0.5])), [-1.0, 0.0, 1.0, 2.0], atol=1e-12)
    assert float(m.channel(0.3)) == pytest.approx(0.0, abs=1e-12)


def test_the_network_is_the_esn_with_one_more_input():
    u, p = _series()
    m = _model().fit(u, p, segment_starts=[200])
    esn = ESN(N, degree=4, spectral_radius=0.8, seed=3, n_inputs=D + 1)
    assert (m.esn_.W_[0] != esn.W_[0]).nnz == 0
    np.testing.assert_array_equal(m.esn_.W_in_[0], esn.W_in_[0])
    assert m.n_inputs == D and m.get_params()["param_range"] == list(RANGE)


def test_fit_is_the_ridge_solution_over_the_teacher_forced_states():
    u, p = _series()
    m = _model().fit(u, p, segment_starts=[200])
    n, states = np.zeros(N), []
    for t in range(len(u) - 1):
        n = _step_by_loop(m, n, np.r_[u[t], _channel(p[t])])
        states.append(n)
    keep = np.ones(len(u) - 1, bool)
    for s in (0, 200):
        keep[s: s + 20] = False
    F = np.array([_features(m, s) for s in np.array(states)[keep]])
    reg = np.full(F.shape[1], 1e-4)
    reg[-1] = 0.0                                    # the readout bias is not penalised
    coef = np.linalg.solve(F.T @ F + np.diag(reg), F.T @ u[1:][keep])
    np.testing.assert_allclose(m.esn_.readout_.coef_[0], coef, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("p_test", [0.2, 0.3, 0.45])   # trained, unseen inside, unseen outside the range
def test_closed_loop_matches_the_equations_by_loop(p_test):
    u, p = _series()
    m = _model().fit(u, p, segment_starts=[200])
    warm = u[250:310]
    run = m.forecast(warm, p_test, 15)
    expected = _forecast_by_loop(m, warm, p_test, 15)
    np.testing.assert_allclose(run.prediction, expected, rtol=1e-10, atol=1e-12)
    assert run.prediction.shape == (15, D) and not run.batched and run.first_index == 60
    # the recorded states are those whose readout is the prediction
    feats = np.array([_features(m, s) for s in run.states])
    np.testing.assert_allclose(feats @ m.esn_.readout_.coef_[0], run.prediction, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(run.final_state.nodes[0], run.states[-1])


def test_a_batch_is_its_columns_each_at_its_own_parameter():
    u, p = _series()
    m = _model().fit(u, p, segment_starts=[200])
    warm = np.stack([u[100:150], u[300:350], u[320:370]], axis=1)          # (T, B, d)
    values = np.array([0.2, 0.33, 0.4])
    batch = m.forecast(warm, values, 12, record_states=False)
    assert batch.batched and batch.prediction.shape == (12, 3, D) and batch.states is None
    for b in range(3):
        one = m.forecast(warm[:, b], values[b], 12).prediction
        np.testing.assert_allclose(batch.prediction[:, b], one, rtol=1e-12, atol=1e-13)
    shared = m.forecast(warm, 0.33, 12).prediction
    np.testing.assert_allclose(shared[:, 1], batch.prediction[:, 1], rtol=1e-12, atol=1e-13)
    assert not np.allclose(batch.prediction[:, 0], m.forecast(warm[:, 0], 0.4, 12).prediction)   # p matters


def test_a_constant_parameter_fits_like_one_per_step():
    u, _ = _series()
    a = _model().fit(u, 0.3)
    b = _model().fit(u, np.full(len(u), 0.3))
    np.testing.assert_array_equal(a.esn_.readout_.coef_, b.esn_.readout_.coef_)


def test_a_diverging_closed_loop_raises_naming_the_step():
    u, p = _series()
    m = _model().fit(u, p)
    m.esn_.readout_.coef_[0][:] = np.nan
    with pytest.raises(ReservoirDivergenceError, match="diverged to NaN/inf at closed-loop step 0"):
        m.forecast(u[:50], 0.3, 5)


@pytest.mark.parametrize("kwargs, message", [
    ({"param_range": (0.4, 0.2)}, r"param_range must be a pair \(low, high\) of finite real numbers with low < high"),
    ({"param_range": (0.3, 0.3)}, r"param_range must be .*low must be < high"),
    ({"param_range": (0.0, float("nan"))}, r"param_range must be a pair"),
    ({"param_range": 0.3}, r"param_range must be a pair"),
    ({"param_range": RANGE, "seed": -1}, r"seed must be"),
    ({"param_range": RANGE, "seed": [0, 1]}, r"seed must be"),
    ({"param_range": RANGE, "ridge": -1.0}, r"ridge must be a finite real number >= 0"),
    ({"param_range": RANGE, "leak": 1.0}, r"leak must be a real number in \[0, 1\)"),
    ({"param_range": RANGE, "features": "squares"}, r"features must be one of"),
])
def test_construction_refuses_bad_values(kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        ParameterAwareESN(N, **kwargs)
    with pytest.raises(TypeError):
        ParameterAwareESN(N)                        # param_range is required


def test_fit_and_forecast_refuse_bad_input():
    u, p = _series()
    m = _model()
    with pytest.raises(InvalidParameterError, match="not fitted"):
        m.forecast(u[:10], 0.3, 5)
    with pytest.raises(InvalidParameterError, match=r"p must be one value or one per time step of u \(400\)"):
        m.fit(u, p[:-1])
    with pytest.raises(InvalidParameterError, match=r"u must be finite, got nan"):
        m.fit(np.where(np.arange(400)[:, None] == 7, np.nan, u), p)
    with pytest.raises(InvalidParameterError, match=r"segment_starts must be"):
        m.fit(u, p, segment_starts=[1.5])
    m.fit(u, p)
    with pytest.raises(InvalidParameterError, match=r"u_warm must have n_inputs=2 features"):
        m.forecast(np.zeros((10, 3)), 0.3, 5)
    with pytest.raises(InvalidParameterError, match=r"p must be one value, or one per batch column of u_warm \(2\)"):
        m.forecast(np.zeros((10, 2, D)), np.array([0.2, 0.3, 0.4]), 5)
    with pytest.raises(InvalidParameterError, match=r"p must be one value, or one per batch column"):
        m.forecast(np.zeros((10, D)), np.array([0.2, 0.3]), 5)
    with pytest.raises(InvalidParameterError, match=r"horizon must be a positive integer"):
        m.forecast(u[:10], 0.3, 0)
    with pytest.raises(InvalidParameterError, match=r"p must be finite"):
        m.forecast(u[:10], float("nan"), 5)
    with pytest.raises(InvalidParameterError, match=r"record_states must be a bool"):
        m.forecast(u[:10], 0.3, 5, record_states="yes")
