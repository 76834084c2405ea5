"""astrocore.analysis: regime detectors against loop-based definitions, cross-fitting without leakage,
forecast tables and parameter inference."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from astrocore.analysis import forecasts, inference, regimes


@given(hnp.arrays(float, st.integers(1, 60), elements=st.floats(-1e3, 1e3)), st.integers(1, 12))
@settings(max_examples=100, deadline=None)
def test_causal_mean_is_the_mean_of_the_last_window_steps(x, w):
    expected = [np.mean(x[max(0, t - w + 1): t + 1]) for t in range(x.size)]
    np.testing.assert_allclose(regimes.causal_mean(x, w), expected, rtol=1e-9, atol=1e-9)


def _threshold_by_loop(x, y, mask):
    """Every cut between sorted neighbours (and beyond both ends), both sides: the best accuracy on mask."""
    xs = np.sort(x[mask])
    cuts = [xs[0] - 1, *(0.5 * (a + b) for a, b in zip(xs[:-1], xs[1:])), xs[-1] + 1]
    return max(max(np.mean(((x[mask] > c) == up) == y[mask]) for up in (True, False)) for c in cuts)


@given(st.integers(0, 10 ** 6), st.integers(5, 80))
@settings(max_examples=80, deadline=None)
def test_best_threshold_attains_the_best_accuracy_of_any_cut(seed, n):
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=n), 1)            # ties included
    y = (x + rng.normal(scale=0.7, size=n) > 0).astype(int)
    mask = rng.random(n) < 0.7
    mask[0] = True
    pred = regimes.best_threshold(x, y, mask)
    assert np.mean(pred[mask] == y[mask]) == pytest.approx(_threshold_by_loop(x, y, mask))


def test_cross_fitting_does_not_see_the_labels_it_scores():
    rng = np.random.default_rng(1)
    T, split = 400, 200
    x = rng.normal(size=T)
    y = (rng.random(T) < 0.5).astype(int)
    scored = np.ones(T, bool)
    base = regimes.cross_fitted(x, y, scored, split)
    flipped = y.copy()
    flipped[:split] = 1 - flipped[:split]           # labels of the first half only
    again = regimes.cross_fitted(x, flipped, scored, split)
    np.testing.assert_array_equal(base[:split], again[:split])
    features = np.stack([x, rng.normal(size=T)], axis=1)
    np.testing.assert_array_equal(regimes.cross_fitted(features, y, scored, split)[:split],
                                  regimes.cross_fitted(features, flipped, scored, split)[:split])


def test_detection_delay_counts_steps_to_a_persistent_hit():
    regime = np.repeat([0, 1, 0], 20)
    pred = regime.copy()
    pred[20:25] = 0                     # late by 5 steps after the first switch
    pred[40:43] = 1
    pred[45] = 1                        # a relapse: the first 3-step run of hits starts at 46
    assert regimes.detection_delays(pred, regime, first=0, persist=3) == [5, 6]
    assert regimes.detection_delays(np.zeros_like(regime), regime, first=0, persist=3) == [20, 0]


def test_synchrony_accuracy_on_separable_regimes_and_bad_input():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 0, 1], 300)
    velocity = np.where(labels == 0, 0.010, 0.013)
    phase = np.angle(np.exp(1j * np.cumsum(velocity)))
    order_r = np.where(labels == 0, 0.99, 0.77) + 0.01 * rng.normal(size=labels.size)
    acc = regimes.synchrony_accuracy(order_r, phase, labels, warmup=50, transition=20, window=10)
    assert acc > 0.97
    noise = regimes.synchrony_accuracy(rng.random(labels.size), rng.uniform(-3, 3, labels.size), labels,
                                       warmup=50, transition=20, window=10)
    assert noise < 0.65                  # out of sample: no information scores near chance
    with pytest.raises(ValueError, match=r"statistic must be finite, got nan at index \(3,\)"):
        regimes.cross_fitted(np.r_[0, 0, 0, np.nan, 0], np.zeros(5), np.ones(5, bool), 2)
    with pytest.raises(ValueError, match="split must lie inside"):
        regimes.cross_fitted(np.zeros(5), np.zeros(5), np.ones(5, bool), 5)
    with pytest.raises(ValueError, match="window must be a positive integer, got 0"):
        regimes.causal_mean(np.zeros(4), 0)


def test_score_detectors_one_row_per_method_and_seed():
    rng = np.random.default_rng(2)
    T = 600
    regime = np.repeat([0, 1, 0], T // 3)
    u = rng.normal(size=(T, 3)) * np.where(regime == 0, 2.0, 0.5)[:, None]
    R = np.where(regime == 0, 0.95, 0.75)[None] + 0.02 * rng.normal(size=(2, T))
    phi = np.cumsum(np.full((2, T), 0.01), axis=1)
    stats = regimes.detector_statistics(u, R, phi, np.abs(R), std_window=20, norm_window=20, smooth_window=20)
    rows, labels = regimes.score_detectors(stats, regime, warmup=50, transition=30, persist=10)
    counts = pd.DataFrame(rows).groupby("method").size()
    assert counts["R threshold"] == 2 and counts["input-std baseline"] == 1
    assert min(r["accuracy_outside_transitions"] for r in rows if r["method"] == "R threshold") > 0.95
    assert set(labels) == set(stats)


def _run(model, vpt):
    seeds, contexts, ics = [0, 1], [0.18, 0.22], [0, 1, 2]
    shape = (1, len(seeds), len(contexts), len(ics))
    return xr.Dataset(
        {"vpt": (("variant", "seed", "context", "ic"), np.reshape(vpt, shape)),
         "climate_distance": (("variant", "seed", "context", "ic"), np.full(shape, 0.5)),
         "trained": ("context", [True, False]), "vpt_units": ("context", ["lyapunov_times", "time_units"]),
         "lyapunov_exponent": ("context", [0.05, 0.0])},
        coords={"variant": ["tuned"], "seed": seeds, "context": contexts, "ic": ics},
        attrs={"system": "thomas", "model": model, "selected_variant": "tuned", "horizon": 100, "dt": 1.0})


def test_forecast_tables_from_runs():
    vpt = np.arange(12, dtype=float)
    data = forecasts.long_form([_run("esn", vpt)])
    assert len(data) == 12 and set(data.columns) >= {"system", "model", "variant", "context", "seed", "ic", "vpt"}
    row = data[(data.seed == 1) & (data.context == 0.22) & (data.ic == 2)].iloc[0]
    assert row.vpt == 11.0 and not row.trained
    table = forecasts.summarize(data, ["system", "context", "model"]).set_index("context")
    assert table.loc[0.18, "forecasts"] == 6 and table.loc[0.18, "seeds"] == 2
    assert table.loc[0.18, "vpt_mean"] == pytest.approx(np.mean([0, 1, 2, 6, 7, 8]))
    assert table.loc[0.18, "vpt_std"] == pytest.approx(np.std([0, 1, 2, 6, 7, 8], ddof=1))
    frac = forecasts.horizon_fraction(data, [_run("esn", vpt)])
    assert frac[0] == pytest.approx(0.0) and frac[-1] == pytest.approx(11 / 100)
    assert frac[1] == pytest.approx(1 / (100 * 0.05))
    assert forecasts.context_label(0.18, True) == "0.18*"


def test_parameter_scores():
    values = np.linspace(0.1, 0.3, 9)
    perfect = inference.parameter_scores(3 * values[:, None] + 1, values)
    assert perfect["cv_r2"] > 0.99 and perfect["abs_spearman"] == pytest.approx(1.0)
    noise = inference.parameter_scores(np.random.default_rng(0).normal(size=(9, 2)), values)
    assert inference.R2_FLOOR <= noise["cv_r2"] < 0.5
    with pytest.raises(ValueError, match="at least 3 distinct values"):
        inference.parameter_scores(np.zeros((2, 1)), [0.1, 0.2])
    with pytest.raises(ValueError, match="finite"):
        inference.parameter_scores(np.array([[np.nan], [1.0], [2.0]]), [0.1, 0.2, 0.3])


def test_one_standard_error_rule():
    from astrocore.analysis import tuning  # noqa: PLC0415

    best = np.array([1.0, 3.0, 2.0, 2.0])          # mean 2, standard error 0.408
    assert tuning.one_standard_error([np.full(4, 1.7), best]) == 0     # within one SE: the preferred first
    assert tuning.one_standard_error([np.full(4, 1.5), best]) == 1     # beyond it: the best
    assert tuning.one_standard_error([best, np.full(4, 5.0)]) == 1
    assert tuning.one_standard_error([[0.2]]) == 0
    with pytest.raises(ValueError, match="at least one candidate"):
        tuning.one_standard_error([])
    with pytest.raises(ValueError, match="finite"):
        tuning.one_standard_error([[np.nan, 1.0]])


# ---------------------------------------------------------------- declared validation (issue 10)
def test_labels_and_flags_are_checked():
    x = np.arange(6.0)
    with pytest.raises(ValueError, match=r"y must hold whole-number class labels, got 0.5 at index \(1,\)"):
        regimes.best_threshold(x, [0, 0.5, 1, 1, 0, 1], np.ones(6, bool))
    with pytest.raises(ValueError, match=r"y must hold the labels 0 and 1 only, got \[0, 1, 2\]"):
        regimes.best_threshold(x, [0, 2, 1, 1, 0, 1], np.ones(6, bool))
    with pytest.raises(ValueError, match=r"mask must hold only True/False \(or 0/1\), got 3 at index \(2,\)"):
        regimes.best_threshold(x, [0, 0, 1, 1, 0, 1], [1, 1, 3, 1, 1, 1])
    with pytest.raises(ValueError, match=r"need one entry per step in each of x, y, mask, got lengths x=6, y=5"):
        regimes.best_threshold(x, [0, 0, 1, 1, 0], np.ones(6, bool))
    with pytest.raises(ValueError, match=r"mask must select at least one fitting step"):
        regimes.tree_classifier(x[:, None], [0, 0, 1, 1, 0, 1], np.zeros(6, bool))
    with pytest.raises(ValueError, match=r"persist must be a positive integer, got 0"):
        regimes.detection_delays([0, 1], [0, 1], first=0, persist=0)
    # same labels as 0/1 floats, bools and ints: same thresholds
    y = np.array([0, 0, 1, 1, 0, 1])
    for labels in (y, y.astype(float), y.astype(bool)):
        np.testing.assert_array_equal(regimes.best_threshold(x, labels, np.ones(6)),
                                      regimes.best_threshold(x, y, np.ones(6, bool)))


def test_detectors_check_lengths_and_warmup():
    labels = np.repeat([0, 1, 0, 1], 50)
    r, phase = np.linspace(0, 1, 200), np.zeros(200)
    with pytest.raises(ValueError, match=r"warmup must be <= 198"):
        regimes.synchrony_accuracy(r, phase, labels, warmup=199, transition=5, window=5)
    with pytest.raises(ValueError, match=r"need one entry per step in each of order_R, mean_phase, regime"):
        regimes.synchrony_accuracy(r[:150], phase, labels, warmup=10, transition=5, window=5)
    u = np.zeros((200, 3))
    with pytest.raises(ValueError, match=r"must have shape \(seed, time\) with the 200 steps of u"):
        regimes.detector_statistics(u, r[None, :150], phase[None, :150], r[None, :150], std_window=5,
                                    norm_window=5, smooth_window=5)
    with pytest.raises(ValueError, match=r"statistics\['R'\] must have shape \(seed, time\[, k\]\) with the 200"):
        regimes.score_detectors({"R": r[None, :100]}, labels, warmup=10, transition=5, persist=3)
    with pytest.raises(ValueError, match=r"statistics\['R'\] must be finite"):
        regimes.score_detectors({"R": np.full((1, 200), np.nan)}, labels, warmup=10, transition=5, persist=3)


def test_reporting_summarize_takes_one_column_name_as_a_str():
    from astrocore import reporting  # noqa: PLC0415

    runs = pd.DataFrame({"g": ["a", "a", "b"], "seed": [0, 1, 0], "x": [1.0, 3.0, 5.0]})
    by_str = reporting.summarize(runs, "g", "x")
    pd.testing.assert_frame_equal(by_str, reporting.summarize(runs, ["g"], ["x"]))
    assert by_str.x_mean.tolist() == [2.0, 5.0]
    with pytest.raises(ValueError, match=r"runs lack column\(s\) \['group'\]"):
        reporting.summarize(runs, "group", "x")
    with pytest.raises(ValueError, match=r"by must be an instance of str or an instance of list or tuple"):
        reporting.summarize(runs, 3, "x")


def test_forecast_tables_check_their_inputs():
    with pytest.raises(ValueError, match=r"runs must hold at least one run Dataset"):
        forecasts.long_form([])
    with pytest.raises(ValueError, match=r"runs\[0\] must be an xarray Dataset, got dict"):
        forecasts.long_form([{}])
    with pytest.raises(ValueError, match=r"runs\[0\] lacks \['vpt'"):
        forecasts.long_form([xr.Dataset(attrs={"system": "thomas"})])
    with pytest.raises(ValueError, match=r"keys names column\(s\) \['nope'\] that forecasts lacks"):
        forecasts.summarize(pd.DataFrame({"seed": [0], "vpt": [1.0], "vpt_units": ["s"], "climate_distance": [0.1]}),
                            ["nope"])
    with pytest.raises(ValueError, match=r"trained must be a bool \(True or False\), got 'yes'"):
        forecasts.context_label(0.18, "yes")


def test_inference_and_tuning_check_their_inputs():
    from astrocore.analysis import tuning  # noqa: PLC0415

    with pytest.raises(ValueError, match=r"alphas must be > 0"):
        inference.parameter_scores(np.arange(9.0)[:, None], np.arange(9.0), alphas=np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"scores\[1\] must not be empty"):
        tuning.one_standard_error([[0.2], []])
    with pytest.raises(ValueError, match=r"scores must be an instance of list or tuple or ndarray, got 3"):
        tuning.one_standard_error(3)
