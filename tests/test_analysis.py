"""astrocore.analysis: regime detectors against loop-based definitions, cross-fitting without leakage, the climate
distance term by term, forecast scores and tables, parameter inference, and the experiments' runs (input series,
synchrony records, adaptation, hardware reservoir) on small cases."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from astrocore import metrics
from astrocore.analysis import adaptation, climate, forecasts, hardware_reservoir, inference, regimes, series, synchrony


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


def test_regime_accuracy_on_separable_regimes_and_bad_input():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 0, 1], 300)
    velocity = np.where(labels == 0, 0.010, 0.013)
    phase = np.angle(np.exp(1j * np.cumsum(velocity)))
    order_r = np.where(labels == 0, 0.99, 0.77) + 0.01 * rng.normal(size=labels.size)
    acc = regimes.regime_accuracy(order_r, phase, labels, warmup=50, transition=20, window=10)
    assert acc > 0.97
    noise = regimes.regime_accuracy(rng.random(labels.size), rng.uniform(-3, 3, labels.size), labels,
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
        regimes.regime_accuracy(r, phase, labels, warmup=199, transition=5, window=5)
    with pytest.raises(ValueError, match=r"need one entry per step in each of order_R, mean_phase, regime"):
        regimes.regime_accuracy(r[:150], phase, labels, warmup=10, transition=5, window=5)
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


# ------------------------------------------------------------------ climate: attractor type and climate distance
def _wave(period, T=400, dt=1.0, amplitude=1.0, batch=1):
    t = np.arange(T) * dt
    x = amplitude * np.sin(2 * np.pi * t / period)
    u = np.stack([x, amplitude * np.cos(2 * np.pi * t / period), 0.5 * x], axis=-1)
    return np.repeat(u[:, None], batch, axis=1)


def test_dominant_period_of_sines():
    t = np.arange(400) * 0.5
    x = np.stack([np.sin(2 * np.pi * t / 20), np.sin(2 * np.pi * t / 50) + 0.1 * np.sin(2 * np.pi * t / 7)], 1)
    np.testing.assert_allclose(climate.dominant_period(x, 0.5), [20.0, 50.0], rtol=0.05)


def test_attractor_types_fixed_periodic_irregular():
    rng = np.random.default_rng(0)
    u = np.concatenate([_wave(25), np.full((400, 1, 3), 2.0) + 1e-4 * rng.normal(size=(400, 1, 3)),
                        rng.normal(size=(400, 1, 3))], axis=1)
    assert climate.attractor_type(u, np.ones(3), 1.0).tolist() == [1, 0, 2]
    assert climate.TYPES[2] == "irregular"


def _climate_by_hand(p, t, scale, dt):
    """The climate distance of one column, written out term by term."""
    amp = min(1.0, np.mean(np.abs(p.std(0) - t.std(0)) / scale) / np.mean(t.std(0) / scale))
    kp = climate.attractor_type(p[:, None], scale, dt)[0]
    kt = climate.attractor_type(t[:, None], scale, dt)[0]
    Pp, Pt = climate.dominant_period(p[:, :1], dt)[0], climate.dominant_period(t[:, :1], dt)[0]
    per = 1.0 if kp == 0 else min(1.0, abs(Pp - Pt) / Pt)
    return (amp + per + float(kp != kt)) / 3


def test_climate_distance_is_the_mean_of_its_three_terms():
    truth = _wave(25)
    rng = np.random.default_rng(1)
    pred = np.concatenate([_wave(25), _wave(40, amplitude=0.5), np.zeros((400, 1, 3)), rng.normal(size=(400, 1, 3))],
                          axis=1)
    scale = np.array([0.7, 0.7, 0.35])
    truth4 = np.repeat(truth, 4, axis=1)
    terms = climate.climate_terms(pred, truth4, scale, 1.0)
    expected = [_climate_by_hand(pred[:, b], truth4[:, b], scale, 1.0) for b in range(4)]
    np.testing.assert_allclose(terms["climate_distance"], expected, rtol=1e-12)
    np.testing.assert_allclose(climate.climate_distance(pred, truth4, scale, 1.0), expected, rtol=1e-12)
    assert terms["climate_distance"][0] == 0.0                 # the true climate
    assert terms["climate_distance"][2] == pytest.approx(1.0)  # a fixed point: every term wrong
    assert terms["type_pred"].tolist() == [1, 1, 0, 2] and terms["type_true"].tolist() == [1, 1, 1, 1]
    assert np.all((terms["climate_distance"] >= 0) & (terms["climate_distance"] <= 1))


def test_climate_checks_its_input():
    u = _wave(25)
    with pytest.raises(ValueError, match=r"prediction and truth must have one shape"):
        climate.climate_terms(u, u[:100], np.ones(3), 1.0)
    with pytest.raises(ValueError, match=r"scale must be > 0, one value or one per coordinate \(3\)"):
        climate.climate_distance(u, u, np.ones(2), 1.0)
    with pytest.raises(ValueError, match=r"scale must be > 0"):
        climate.attractor_type(u, np.array([1.0, 0.0, 1.0]), 1.0)
    with pytest.raises(ValueError, match=r"dt must be a finite real number > 0"):
        climate.dominant_period(u[:, :, 0], 0.0)
    with pytest.raises(ValueError, match=r"truth must have 3 dimension\(s\)"):
        climate.climate_terms(u, u[:, 0], np.ones(3), 1.0)


def test_score_forecasts_scores_vpt_on_the_whole_horizon_and_climate_on_its_second_half():
    rng = np.random.default_rng(2)
    truth = np.repeat(_wave(25, T=200), 3, axis=1)
    pred = truth + np.linspace(0, 2, 200)[:, None, None] * rng.normal(size=(1, 3, 3))
    scale = np.array([0.7, 0.7, 0.35])
    s = forecasts.score_forecasts(pred, truth, dt=0.5, lyapunov_exponent=0.9, scale=scale)
    assert tuple(s) == forecasts.SCORES
    np.testing.assert_array_equal(s["vpt"], metrics.valid_prediction_time(pred, truth, 0.5, 0.9, scale=scale))
    np.testing.assert_array_equal(s["climate_distance"],
                                  climate.climate_distance(pred[100:], truth[100:], scale, 0.5))
    np.testing.assert_array_equal(s["distribution_distance"],
                                  metrics.distribution_distance(pred[100:], truth[100:], scale=scale))
    with pytest.raises(ValueError, match=r"scale must hold one value per coordinate \(3\)"):
        forecasts.score_forecasts(pred, truth, dt=0.5, scale=np.ones(2))
    with pytest.raises(ValueError, match=r"prediction and truth must have one shape"):
        forecasts.score_forecasts(pred[:4], truth[:4], dt=0.5, scale=scale)


# ------------------------------------------------------------------ forecast tables of several variants
def _variant_run(model, variants, selected, system="thomas"):
    seeds, contexts, ics = [0, 1], [0.18, 0.22], [0, 1]
    shape = (len(variants), len(seeds), len(contexts), len(ics))
    vpt = np.arange(np.prod(shape), dtype=float).reshape(shape) + (10 if model == "esn" else 0)
    return xr.Dataset(
        {"vpt": (("variant", "seed", "context", "ic"), vpt),
         "climate_distance": (("variant", "seed", "context", "ic"), np.full(shape, 0.25)),
         "trained": ("context", [True, False]), "vpt_units": ("context", ["lyapunov_times", "time_units"]),
         "lyapunov_exponent": ("context", [0.05, 0.0]),
         "config_value": (("config", "hyper"), [[0.6, 1.2, 0.0, 0.0, 1e-6], [0.9, 0.5, 0.3, 0.1, 1e-4]]),
         "variant_score": ("variant", np.linspace(0.1, 0.2, len(variants))),
         "steering_converged": (("variant", "seed"), np.zeros((len(variants), 2)))},
        coords={"variant": list(variants), "seed": seeds, "context": contexts, "ic": ics,
                "hyper": list(adaptation.HYPERPARAMETERS)},
        attrs={"system": system, "model": model, "selected_variant": selected, "selected_config": 1, "horizon": 100,
               "dt": 1.0})


def test_every_variant_keeps_the_row_orders_of_both_tables():
    rs = _variant_run("rhythmic_sharing", forecasts.VARIANTS, "tuned")
    esn = _variant_run("esn", ["tuned"], "tuned")
    first = forecasts.every_variant([rs, esn])
    assert first.drop_duplicates(["model", "variant"]).entry.tolist() == [
        "rhythmic_sharing: tuned", "esn", "rhythmic_sharing: authors", "rhythmic_sharing: tuned_sweep"]
    last = forecasts.every_variant([rs, esn], selected_first=False)
    assert last.drop_duplicates(["model", "variant"]).entry.tolist() == [
        "esn", "rhythmic_sharing: authors", "rhythmic_sharing: tuned", "rhythmic_sharing: tuned_sweep"]
    assert len(first) == len(last) == 4 * 8
    table = forecasts.summarize(first, ["system", "context", "model", "variant"])
    assert forecasts.selected_flags(table, [rs, esn]) == [v in ("tuned",) for v in table.variant]
    assert forecasts.present([esn, rs]) == (["rhythmic_sharing", "esn"], ["thomas"])


def test_variants_table_and_the_trained_against_unseen_means():
    rs = _variant_run("rhythmic_sharing", forecasts.VARIANTS, "authors")
    esn = _variant_run("esn", ["tuned"], "tuned")
    entries = forecasts.every_variant([rs, esn])
    table = forecasts.variants_table(entries, [rs, esn])
    assert len(table) == 4 * 2 and set(table.contexts) == {"trained", "unseen"}
    row = table[(table.variant == "tuned_sweep") & (table.contexts == "trained")].iloc[0]
    assert row.forecasts == 4 and row.spectral_radius == 0.9 and not row.selected
    authors = table[table.variant == "authors"].iloc[0]
    assert authors.spectral_radius == 0.6 and authors.selected           # the authors' set, not the selected one
    vpt = rs.vpt.sel(variant="tuned_sweep", context=0.18).values.ravel()
    assert row.vpt_fraction_mean == pytest.approx(np.mean(vpt / (100 * 0.05)))
    means = forecasts.trained_and_unseen(entries, [rs, esn])
    assert len(means) == 8 and set(means.columns) == {"system", "trained", "entry", "vpt_fraction", "climate_distance"}
    headline = forecasts.unseen_headline(means)
    assert headline.startswith("thomas, unseen contexts: longest forecasts rhythmic_sharing: tuned_sweep (0.205 of the "
                               "horizon), best rhythmic_sharing variant 0.205; closest climate: ")
    assert "best rhythmic_sharing variant" in headline and "closest climate" in headline


def test_best_variant_against_counts_clear_differences():
    table = pd.DataFrame({"system": ["thomas"] * 6, "context": [0.18, 0.18, 0.29, 0.29, 0.18, 0.29],
                          "model": ["rhythmic_sharing"] * 4 + ["esn"] * 2,
                          "variant": ["authors", "tuned", "authors", "tuned", "tuned", "tuned"],
                          "forecasts": [4] * 6, "vpt_mean": [1.0, 2.0, 0.5, 0.6, 1.0, 0.55],
                          "vpt_std": [0.2] * 6})
    best, base, longer, shorter = forecasts.best_variant_against(table)
    assert best.variant.tolist() == ["tuned", "tuned"] and (longer, shorter) == (1, 0)
    assert best.index.tolist() == base.index.tolist() == [("thomas", 0.29), ("thomas", 0.18)]
    assert best.vpt_sem.iloc[0] == pytest.approx(0.1) and base.vpt_mean.tolist() == [0.55, 1.0]
    with pytest.raises(ValueError, match=r"baseline 'reservoirpy_esn'"):
        forecasts.best_variant_against(table, baseline="reservoirpy_esn")
    with pytest.raises(ValueError, match=r"table names column\(s\) \['forecasts'\]"):
        forecasts.best_variant_against(table.drop(columns="forecasts"))


# ------------------------------------------------------------------ the adaptation experiment
def _benchmark_files(T=500, switch=250):
    t = np.arange(T, dtype=float)
    context = np.where(t < switch, 0.18, 0.29)
    phase = np.cumsum(context)
    truth = np.c_[np.sin(phase), np.cos(phase), np.sin(2 * phase)]
    train = xr.Dataset({"truth": (("time", "coord"), truth), "context": ("time", context)},
                       attrs={"system": "thomas", "dt": 1.0, "standardise": 0, "train_switches": [switch],
                              "train_contexts": [0.18, 0.29]})
    tests = []
    for c in (0.29, 0.18, 0.22):                     # out of order: the benchmark sorts them
        phase = [c * (np.arange(160) + 40 * k) for k in range(4)]      # 4 windows of 160 steps
        x = np.stack([np.c_[np.sin(ph), np.cos(ph), np.sin(2 * ph)] for ph in phase])
        tests.append(xr.Dataset(
            {"window": (("ic", "step", "coord"), x[:2]), "val_window": (("val_ic", "step", "coord"), x[2:]),
             "scale": ("coord", x.reshape(-1, 3).std(0))},
            attrs={"context": c, "lyapunov_exponent": 0.0, "chaotic": 0, "trained": int(c != 0.22),
                   "vpt_units": "time_units", "warmup_steps": 100, "horizon": 60, "param_name": "b"}))
    return train, tests


def test_hyperparameter_sets_start_with_the_authors_and_are_seeded():
    a, b = adaptation.hyperparameter_sets(4, 7), adaptation.hyperparameter_sets(4, 7)
    assert a == b and a[0] == adaptation.AUTHORS and len(a) == 4
    assert all(0.2 <= c["spectral_radius"] <= 1.5 and c["leak"] in (0.0, 0.3, 0.6, 0.8) for c in a[1:])


@pytest.mark.parametrize("model", ["esn", "parameter_aware_esn"])
def test_adaptation_run_scores_every_variant_seed_context_and_window(model):
    from astrocore.reservoir.parameter_aware import ParameterAwareESN  # noqa: PLC0415

    train, tests = _benchmark_files()
    ds = adaptation.run(model, train, tests, seeds=[0, 1], n_configs=2, search_seed=0, val_horizon=40, n_nodes=30)
    assert ds.context.values.tolist() == [0.18, 0.22, 0.29] and ds.trained.values.tolist() == [True, False, True]
    for name in forecasts.SCORES:
        assert ds[name].dims == ("variant", "seed", "context", "ic") and ds[name].shape == (1, 2, 3, 2)
    assert ds.attrs["selected_variant"] == "tuned" and ds.attrs["selected_config"] in (0, 1)
    assert ds.config_score.shape == (2,) and np.isnan(ds.steering_converged).all()
    # the stored forecast is the model's own, from the first window of each context
    cfg = adaptation.hyperparameter_sets(2, 0)[ds.attrs["selected_config"]]
    f = adaptation.Forecaster(model, cfg, 0, n_nodes=30, param_range=(0.18, 0.29)).fit(
        train.truth.values, train.context.values, [250])
    obs = np.stack([t.window.values[0, :100] for t in sorted(tests, key=lambda d: d.attrs["context"])], axis=1)
    pred = f.forecast(obs, np.array([0.18, 0.22, 0.29]), 60)
    np.testing.assert_array_equal(ds.prediction.sel(variant="tuned").values, pred.transpose(1, 0, 2))
    if model == "parameter_aware_esn":
        assert isinstance(f.m, ParameterAwareESN)
        np.testing.assert_array_equal(pred, f.m.forecast(obs, np.array([0.18, 0.22, 0.29]), 60).prediction)


def test_forecaster_checks_its_arguments():
    with pytest.raises(ValueError, match=r"steering='sweep' needs link phases"):
        adaptation.Forecaster("esn", adaptation.AUTHORS, 0, "sweep")
    with pytest.raises(ValueError, match=r"param_range must be given for kind='parameter_aware_esn'"):
        adaptation.Forecaster("parameter_aware_esn", adaptation.AUTHORS, 0)
    with pytest.raises(ValueError, match=r"kind must be one of"):
        adaptation.Forecaster("lstm", adaptation.AUTHORS, 0)
    with pytest.raises(ValueError, match=r"cfg lacks the hyperparameter\(s\) \['ridge', 'readout_bias'\]"):
        adaptation.Forecaster("esn", {k: v for k, v in adaptation.AUTHORS.items() if k not in ("ridge", "readout_bias")},
                              0)
    with pytest.raises(ValueError, match=r"model must be one of"):
        adaptation.run("lstm", xr.Dataset(), [], seeds=[0], n_configs=1)


# ------------------------------------------------------------------ input series and synchrony records
def test_regime_labels_alternate_at_the_switches():
    assert series.regime_labels([2, 5], 8).tolist() == [0, 0, 1, 1, 1, 0, 0, 0]
    with pytest.raises(ValueError, match=r"switch_times must be increasing within \(0, t_end=7\)"):
        series.regime_labels([5, 2], 8)
    with pytest.raises(ValueError, match=r"switch_times must be integer steps"):
        series.regime_labels([2.5], 8)


@pytest.mark.parametrize("case", series.CASES)
def test_switching_series_cases(case):
    s = series.switching_series(case, 300, [100, 200], [0.18, 0.29], [1.0, 1.0, 0.5], rtol=1e-6, atol=1e-8)
    assert s.u.shape == (301, 3) and s.regime.tolist() == series.regime_labels([100, 200], 301).tolist()
    first, second = s.u[s.regime == 0], s.u[s.regime == 1]
    if case in ("authors", "matched"):
        assert set(np.unique(s.context)) == {0.18, 0.29}
    else:
        assert np.all(s.context == 0.18)
    if case == "matched":
        np.testing.assert_allclose(second.std(0), first.std(0), rtol=1e-10)
        np.testing.assert_allclose(second.mean(0), first.mean(0), atol=1e-10)
    if case == "mirror":
        base = series.switching_series("reversed", 300, [100, 200], [0.18, 0.29], [1.0, 1.0, 0.5], rtol=1e-6,
                                       atol=1e-8).u
        np.testing.assert_array_equal(s.u[100:200], base[100:200][::-1][:, [0, 2, 1]])


def test_regime_run_records_and_snapshots(tmp_path):
    s = series.switching_series("authors", 240, [120], [0.18, 0.29], [10.0, 10.0, 1.0], rtol=1e-6, atol=1e-8)
    ds = synchrony.regime_run(s, "authors", [0, 1], ["links", "domains"], [150, 60])
    assert ds.order_R.shape == (2, 2, 241) and ds.snapshot.values.tolist() == [60, 150]
    recorded = ds.order_R.sel(graph="domains", seed=0, time=[60, 150]).values
    np.testing.assert_allclose(np.abs(np.exp(1j * ds.phase.values).mean(axis=1)), recorded, atol=1e-9)
    z = synchrony.domain_field(ds.phase.values[0], ds.binding_domain.values, ds.binding_link.values,
                               int(ds.attrs["n_domains"]))
    by_loop = [np.mean([np.exp(1j * ds.phase.values[0, l]) for d, l in zip(ds.binding_domain.values,
                                                                              ds.binding_link.values) if d == k])
               for k in range(int(ds.attrs["n_domains"]))]
    np.testing.assert_allclose(z, by_loop, rtol=1e-12)
    table = synchrony.schematic_table(ds, warmup=20)
    assert table.time.tolist() == [60.0, 150.0] and table.regime.tolist() == ["chaotic", "limit cycle"]
    assert table.order_R.tolist() == pytest.approx(recorded.tolist(), abs=1e-9) and (table.seeds == 2).all()
    with pytest.raises(ValueError, match=r"astro_graphs must name one or more of"):
        synchrony.regime_run(s, "authors", [0], ["astro"], [10])
    with pytest.raises(ValueError, match=r"snapshot_times must be steps in \[0, 241\)"):
        synchrony.regime_run(s, "authors", [0], ["links"], [300])


def test_schematic_layout():
    nodes, astro = synchrony.schematic_layout(8, 5)
    np.testing.assert_allclose(np.hypot(*nodes.T), 1.0)
    assert astro.shape == (5, 2) and astro[0].tolist() == [-0.5, 0.5]


def test_inference_run_and_its_tables():
    ds = synchrony.inference_run("thomas", [0.18, 0.22, 0.26], dt=1.0, steps=120, washout=40, transient=50.0,
                                 x0=[0.1, 0.0, -0.1], standardise=False, seeds=[0, 1], rtol=1e-6)
    assert ds.feature_value.shape == (2, 3, len(synchrony.FEATURES)) and ds.order_R.shape == (2, 3, 120)
    R = ds.order_R.sel(seed=1, value=0.22).values[40:]
    assert float(ds.feature_value.sel(seed=1, value=0.22, feature="R_mean")) == pytest.approx(R.mean())
    scores = inference.scores_table([ds])
    assert scores.feature_set.tolist() == list(inference.FEATURE_SETS) and (scores.seeds == 2).all()
    features = inference.features_table([ds])
    assert features.value.tolist() == [0.18, 0.22, 0.26]
    assert features.R_mean.iloc[1] == pytest.approx(ds.feature_value.sel(value=0.22, feature="R_mean").mean())
    with pytest.raises(ValueError, match=r"washout must be < steps \(120\)"):
        synchrony.inference_run("thomas", [0.18], dt=1.0, steps=120, washout=120, transient=0.0, x0=[0.1, 0.0, -0.1],
                                standardise=False, seeds=[0])
    with pytest.raises(ValueError, match=r"runs\[0\] lacks"):
        inference.scores_table([xr.Dataset()])


# ------------------------------------------------------------------ regime runs, spans and verdicts
def test_regime_spans_and_best_detectors():
    assert regimes.regime_spans(np.array([0, 1, 1, 0, 1])) == [(1, 3), (4, 4)]
    table = pd.DataFrame({"system": ["thomas"] * 5 + ["thomas_matched"] * 5, "method": list(regimes.METHODS) * 2,
                          "accuracy_all_steps_mean": [0.9, 0.8, 0.85, 0.95, 0.7, 0.6, 0.5, 0.5, 0.52, 0.5],
                          "accuracy_all_steps_std": [0.01] * 10})
    best = regimes.best_detectors(table)
    assert best.loc["thomas"].synchrony_method == "R threshold" and best.loc["thomas"].baseline == 0.95
    assert best.loc["thomas_matched"].synchrony == 0.6 and best.loc["thomas_matched"].baseline_method == \
        "input-std baseline"
    with pytest.raises(ValueError, match=r"lacks \['mean-activity baseline'\]"):
        regimes.best_detectors(table[table.method != "mean-activity baseline"])


def test_score_runs_scores_every_graph_of_every_case():
    rng = np.random.default_rng(3)
    T = 400
    regime = (np.arange(T) // 100) % 2
    runs = {case: xr.Dataset(
        {"truth": (("time", "coord"), rng.normal(size=(T, 3)) * (1 + regime[:, None])),
         "regime": ("time", regime), "order_R": (("graph", "seed", "time"), rng.random((2, 2, T))),
         "mean_phase": (("graph", "seed", "time"), rng.random((2, 2, T))),
         "mean_activity": (("graph", "seed", "time"), rng.random((2, 2, T)))},
        coords={"graph": ["links", "domains"], "seed": [0, 1]}) for case in ("authors", "mirror")}
    statistics, per_seed = regimes.score_runs(runs, std_window=20, norm_window=20, smooth_window=20, warmup=50,
                                              transition=20, persist=10)
    assert set(statistics) == {(c, g) for c in runs for g in ("links", "domains")}
    assert set(per_seed.system) == {"thomas", "thomas_mirror"}
    assert len(per_seed) == 2 * 2 * (2 + 2 + 1 + 1 + 2)      # cases x graphs x rows (seeds per method)
    with pytest.raises(ValueError, match=r"runs\['x'\] lacks"):
        regimes.score_runs({"x": xr.Dataset()}, std_window=20, norm_window=20, smooth_window=20, warmup=50,
                           transition=20, persist=10)


# ------------------------------------------------------------------ the hardware reservoir experiment
def test_hardware_reservoir_run_and_table():
    kw = dict(n_nodes=20, t_end=400, switch_times=[150, 300], b_values=[0.18, 0.29], x0=[10.0, 10.0, 1.0],
              warmup=50, transition=30, features="states", dt=0.025, train_steps=300, n_ics=2, warmup_steps=60,
              horizon=20, lyapunov_exponent=0.9056, rtol=1e-6)
    runs = [hardware_reservoir.run(bits, [0.0, 0.1], [0, 1], **kw) for bits in (0, 4)]
    ds = runs[1]
    assert ds.vpt.shape == (2, 2, 2) and ds.order_R.shape == (2, 2, 401) and int(ds.bits) == 4
    assert ds.scored.values.tolist() == regimes.outside_transitions(ds.regime.values, 50, 30).astype(int).tolist()
    assert any(k.endswith("state_bits") and v == 4 for k, v in ds.attrs.items())     # the device, in the attrs
    table = hardware_reservoir.table(runs, warmup=50, transition=30, smooth_window=20)
    assert table[["bits", "phase_noise"]].values.tolist() == [[0, 0.0], [0, 0.1], [4, 0.0], [4, 0.1]]
    assert (table.seeds == 2).all() and (table.forecasts == 4).all()
    assert table.vpt_mean.iloc[2] == pytest.approx(float(runs[1].vpt.sel(phase_noise=0.0).mean()))
    assert [hardware_reservoir.bits_label(b) for b in (0, 6)] == ["float64", "6"]
    with pytest.raises(ValueError, match=r"bits must be an integer >= 0"):
        hardware_reservoir.device(-1, 0.0)
