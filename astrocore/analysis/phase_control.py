"""Test-time context selection with few labels: astrocyte phase control against the alternatives.

One call, :func:`run`, makes the data of one system for
``integration_phase_run.ipynb`` (issue 12, part B). A Rhythmic Sharing
reservoir with the ``domains`` astrocyte graph and a plain ESN on the same
graph are fitted by ridge on the trained contexts of the training series
(:mod:`.adaptation`'s material, each model with the hyperparameters the
adaptation experiment selected for it on the trained contexts); at
every test context the last ``W`` observed steps before each forecast are the
only data about the context, with a label (the next sample, as a measured
prediction error) every ``k`` steps. Methods (:data:`METHODS`):

- ``none``: Rhythmic Sharing as trained (free phases through the forecast);
- ``freeze``: phases frozen after ``n_free = W // 2`` free steps, no offset
  (the starting point of the controllers);
- ``authors``, ``sweep``: the two steering rules of :mod:`astrocore.reservoir.steering`
  (``n_free = W // 2``; the sweep settles ``W // 10`` steps and scores
  ``W // 5``); both read the error at every step, so they exist at ``k = 1`` only;
- ``mgd_order``, ``mgd_domains``: the MGD link-phase controller
  (:mod:`astrocore.reservoir.phase_control`) on ``(<Phi>, R)`` or on one offset per
  astrocyte, readout frozen;
- ``rls_rs``, ``rls_esn``: the readout adapted by RLS from the same labels
  (:func:`astrocore.online.adapt.adapt_readout`), reservoir unchanged;
- ``esn``: the plain ESN as trained; ``parameter_aware_esn``: an ESN told the
  parameter (Kong et al. 2021): an upper reference, not a competitor.

Tuning: every adapting method gets the same budget (:data:`GRIDS`, 4 settings),
chosen per window length and label density on the validation windows of the
**trained** contexts only, by the one-standard-error rule
(:func:`astrocore.analysis.tuning.one_standard_error`). Scores: VPT and the
climate distance of :func:`astrocore.analysis.forecasts.score_forecasts`.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr

from astrocore import online
from astrocore.analysis import adaptation, forecasts, tuning
from astrocore.online.adapt import adapt_readout
from astrocore.progress import progress as show_progress
from astrocore.reservoir import ESN, RhythmicSharing
from astrocore.reservoir.controller import PhaseController
from astrocore.reservoir.parameter_aware import ParameterAwareESN
from astrocore.validation import (Bool, Choice, InstanceOf, Integer, InvalidParameterError, Optional, Seeds,
                                  validate_params)

from ._constraints import RUNS, TABLE

METHODS = ("none", "freeze", "authors", "sweep", "mgd_order", "mgd_domains", "rls_rs", "rls_esn", "esn",
           "parameter_aware_esn")
HARDWARE_PRESETS = ("ideal", "digital8", "pcm")
HARDWARE_METHODS = ("none", "freeze", "sweep", "mgd_order", "mgd_domains")
"""What runs on a hardware preset other than ``ideal`` (part C): Rhythmic Sharing on the device, as trained,
frozen, steered by the sweep and by the two MGD controllers (costs through the device's cost read-out); the
readout adaptation and the ESNs stay in digital fp32 (the ``ideal`` run)."""
EVERY_LABEL = ("authors", "sweep")
"""Methods that read the prediction error at every step (defined at ``label_every = 1`` only)."""
NO_LABELS = ("none", "freeze", "esn", "parameter_aware_esn")
GRIDS = {
    "mgd_order": [{"amplitude": a, "eta": e} for a in (0.1, 0.3) for e in (0.05, 0.2)],
    "mgd_domains": [{"amplitude": a, "eta": e} for a in (0.1, 0.3) for e in (0.05, 0.2)],
    "rls_rs": [{"alpha": a} for a in (0.01, 0.1, 1.0, 10.0)],
    "rls_esn": [{"alpha": a} for a in (0.01, 0.1, 1.0, 10.0)],
}
"""The tuning budget: 4 settings per adapting method (MGD: amplitude and step RMS in rad; RLS: ``P(0) = I / alpha``,
forgetting 1)."""
TABLE_COLUMNS = ("system", "hardware", "context", "trained", "method", "window", "label_every", "seeds", "forecasts",
                 "vpt_mean", "vpt_std", "vpt_units", "climate_distance_mean", "climate_distance_std", "labels_used",
                 "cost_evaluations", "setting", "vpt_fraction")
LONG_NAMES = {"vpt": "valid prediction time", "climate_distance": "climate distance (amplitude, period, type)"}

_DATASET = InstanceOf(xr.Dataset, example=xr.Dataset)
_TESTS = InstanceOf(list, tuple, example=list)
_WINDOWS = InstanceOf(list, tuple, example=lambda: [50])


CONFIG_MODELS = {"rs": "rhythmic_sharing", "esn": "esn", "pa": "parameter_aware_esn"}
"""Whose tuned hyperparameters each model takes (``configs`` of :func:`run`)."""


@validate_params({"ds": _DATASET})
def selected_hyperparameters(ds: xr.Dataset) -> dict:
    """The hyperparameter set a ``rhythmic_adaptation_run`` file selected (``selected_config``), with a
    readout bias."""
    missing = [v for v in ("config_value", "hyper") if v not in ds.variables] + (
        [] if "selected_config" in ds.attrs else ["attrs['selected_config']"])
    if missing:
        raise InvalidParameterError(f"ds must be a rhythmic_adaptation_run file; it lacks {missing}")
    row = ds.config_value.isel(config=int(ds.attrs["selected_config"]))
    return {str(h): float(row.sel(hyper=h)) for h in ds.hyper.values} | {"readout_bias": True}


def _models(bench, seed: int, n_nodes: int, configs: dict, hardware: str = "ideal") -> dict:
    def common(name):
        cfg = configs.get(CONFIG_MODELS[name], dict(adaptation.AUTHORS))
        return {**{k: cfg[k] for k in adaptation.HYPERPARAMETERS}, "readout_bias": True,
                "washout": adaptation.WASHOUT, "seed": seed}

    rs = RhythmicSharing(n_nodes, astro_graph="domains", hardware=hardware, **common("rs")).fit(
        bench.u_train, segment_starts=bench.starts)
    if hardware != "ideal":
        return {"rs": rs}
    esn = ESN(n_nodes, **common("esn")).fit(bench.u_train, segment_starts=bench.starts)
    pa = ParameterAwareESN(n_nodes, param_range=bench.param_range, **common("pa")).fit(
        bench.u_train, bench.p_train, segment_starts=bench.starts)
    return {"rs": rs, "esn": esn, "pa": pa}


def _forecast(method: str, models: dict, obs, p, horizon: int, window: int, label_every: int, setting: dict,
              n_iterations: int, n_perturbations: int, seed: int) -> tuple:
    """Standardised prediction ``(horizon, B, 3)``, labels used and cost evaluations (per window), and the
    forecast's ``info``."""
    n_free, n_settle = window // 2, window // 10
    rs = models["rs"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the authors' criterion unmet: reported as is
        if method == "none":
            return rs.forecast(obs, horizon, record_states=False).prediction, 0, 0, {}
        if method == "esn":
            return models["esn"].forecast(obs, horizon, record_states=False).prediction, 0, 0, {}
        if method == "parameter_aware_esn":
            return models["pa"].forecast(obs, p, horizon, record_states=False).prediction, 0, 0, {}
        if method in ("rls_rs", "rls_esn"):
            model = rs if method == "rls_rs" else models["esn"]
            run = adapt_readout(model, obs, horizon, online.RLS(forgetting=1.0, alpha=setting["alpha"]),
                                label_every=label_every, start=n_free)
            return run.prediction, run.labels_used, run.labels_used, {}
        if method == "authors":
            run = rs.forecast(obs, horizon, steering="authors", n_free=n_free, record_states=False)
            return run.prediction, window - n_free - 1, window - n_free - 1, run.info
        if method == "sweep":
            scored = window // 5
            run = rs.forecast(obs, horizon, steering="sweep", n_free=n_free, n_settle=n_settle, window=scored,
                              n_candidates=32, record_states=False)
            return run.prediction, scored, 32, run.info
        ctl = PhaseController("order" if method == "mgd_order" else "domains", label_every=label_every,
                              n_iterations=0 if method == "freeze" else n_iterations,
                              n_perturbations=n_perturbations, seed=seed, **setting)
        run = rs.forecast(obs, horizon, steering=ctl, n_free=n_free, n_settle=n_settle, record_states=False)
        if method == "freeze":
            return run.prediction, 0, 0, {}
        return run.prediction, run.info["labels_used"], run.info["cost_evaluations"], run.info


@validate_params({"train": _DATASET, "tests": _TESTS, "seeds": Seeds(), "windows": _WINDOWS,
                  "label_every": _WINDOWS, "n_nodes": Integer(1), "n_iterations": Integer(1),
                  "n_perturbations": Integer(1), "val_horizon": Integer(1),
                  "configs": Optional(InstanceOf(dict, example=dict)), "hardware": Choice(HARDWARE_PRESETS),
                  "progress": Bool()})
def run(train: xr.Dataset, tests, *, seeds, windows, label_every, n_nodes: int = 100, n_iterations: int = 20,
        n_perturbations: int = 8, val_horizon: int = 400, configs: dict | None = None, hardware: str = "ideal",
        progress: bool = True) -> xr.Dataset:
    """Every method (:data:`METHODS`) at every window length, label density, seed, context and window.

    ``train``, ``tests``: ``rhythmic_systems_run.ipynb``'s files of one system;
    ``configs``: the hyperparameters per model (``rhythmic_sharing``, ``esn``,
    ``parameter_aware_esn``; :func:`selected_hyperparameters`
    of the adaptation runs, tuned on the trained contexts), the authors' set
    where a model is missing; ``hardware``: the preset Rhythmic Sharing and its
    controllers run on (other than ``"ideal"``: :data:`HARDWARE_METHODS` only).
    Returns a Dataset with ``vpt`` and ``climate_distance`` over ``(method,
    window, label_every, seed, context, ic)`` (NaN where a method does not
    exist: the steering rules at ``label_every > 1``), ``labels_used`` and
    ``cost_evaluations`` per window, the tuning's ``val_score`` per setting and
    the ``selected`` setting, and the MGD controllers' window cost per iteration
    relative to ``C(0)`` (``relative_cost``, median over windows, first seed).
    """
    bench = adaptation.benchmark(train, tests)
    bad = [w for w in windows if not isinstance(w, (int, np.integer)) or not 20 <= w <= bench.warmup_steps]
    if bad or not windows:
        raise InvalidParameterError(f"windows must be integers in [20, {bench.warmup_steps}] (the observed steps "
                                    f"before each forecast), got {list(windows)}")
    if not label_every or any(not isinstance(k, (int, np.integer)) or k < 1 for k in label_every):
        raise InvalidParameterError(f"label_every must be positive integers, got {list(label_every)}")
    H, n_ic, n_ctx = bench.horizon, tests[0].sizes["ic"], len(bench.tests)
    configs = configs or {}
    unknown = sorted(set(configs) - set(CONFIG_MODELS.values()))
    if unknown:
        raise InvalidParameterError(f"configs has unknown model(s) {unknown}; allowed: {sorted(CONFIG_MODELS.values())}")
    models = {seed: _models(bench, seed, n_nodes, configs, hardware) for seed in seeds}
    methods = METHODS if hardware == "ideal" else HARDWARE_METHODS
    shape = (len(METHODS), len(windows), len(label_every), len(seeds), n_ctx, n_ic)
    vpt, climate = np.full(shape, np.nan), np.full(shape, np.nan)
    labels = np.full(shape[:3], np.nan)
    evaluations = np.full(shape[:3], np.nan)
    n_set = max(len(g) for g in GRIDS.values())
    val_score = np.full(shape[:3] + (n_set,), np.nan)
    selected = np.full(shape[:3], -1)
    mgd = [m for m in METHODS if m.startswith("mgd")]
    rel_cost = np.full((len(mgd), len(windows), len(label_every), n_iterations + 1), np.nan)
    every = np.ones(n_ctx, dtype=bool)
    test_windows = {W: adaptation.observed_windows(bench, "window", every, int(W)) for W in windows}
    val_windows = {W: adaptation.observed_windows(bench, "val_window", bench.trained, int(W)) for W in windows}
    tasks = [(w, k, m) for w in range(len(windows)) for k in range(len(label_every)) for m in range(len(METHODS))]
    for w, k, m in show_progress(tasks, desc=f"{train.attrs['system']}: methods x windows x labels",
                                 disable=not progress):
        method, W, ke = METHODS[m], int(windows[w]), int(label_every[k])
        if method not in methods or (method in EVERY_LABEL and ke != 1) or (method in NO_LABELS and k > 0):
            continue
        args = {"horizon": H, "window": W, "label_every": ke, "n_iterations": n_iterations,
                "n_perturbations": n_perturbations}
        setting = {}
        if method in GRIDS:
            obs, p, chosen = val_windows[windows[w]]
            per_setting = []
            for cfg in GRIDS[method]:
                windows_scores = []
                for seed in seeds:
                    pred = _forecast(method, models[seed], obs, p, setting=cfg, seed=seed,
                                     **dict(args, horizon=val_horizon))[0]
                    scores = adaptation.score_windows(pred * bench.sd + bench.mu, bench, "val_window", chosen,
                                                      val_horizon)
                    for r, ds in zip(scores, chosen):
                        windows_scores.append(np.asarray(r["vpt"]) / (val_horizon * bench.dt
                                                                      * adaptation._lyapunov_scale(ds)))
                per_setting.append(np.concatenate(windows_scores))
            val_score[m, w, k, :len(per_setting)] = [s.mean() for s in per_setting]
            selected[m, w, k] = tuning.one_standard_error(per_setting)
            setting = GRIDS[method][selected[m, w, k]]
        obs, p, chosen = test_windows[windows[w]]
        for s, seed in enumerate(seeds):
            pred, used, evals, info = _forecast(method, models[seed], obs, p, setting=setting, seed=seed, **args)
            for c, r in enumerate(adaptation.score_windows(pred * bench.sd + bench.mu, bench, "window", chosen, H)):
                vpt[m, w, k, s, c], climate[m, w, k, s, c] = r["vpt"], r["climate_distance"]
            labels[m, w, k], evaluations[m, w, k] = used, evals
            if s == 0 and method in mgd:
                rel_cost[mgd.index(method), w, k] = np.median(info["cost"] / info["cost"][0], axis=1)
        if method in NO_LABELS:  # the same forecast at every label density
            vpt[m, w], climate[m, w] = vpt[m, w, k], climate[m, w, k]
            labels[m, w], evaluations[m, w] = labels[m, w, k], evaluations[m, w, k]
    coords = {"method": list(METHODS), "window": [int(x) for x in windows],
              "label_every": [int(x) for x in label_every], "seed": list(seeds),
              "context": ("context", bench.contexts, {"long_name": f"context parameter {tests[0].attrs['param_name']}",
                                                      "units": "1"}),
              "ic": np.arange(n_ic), "setting": np.arange(n_set), "iteration": np.arange(n_iterations + 1)}
    dims = ("method", "window", "label_every", "seed", "context", "ic")
    ds = xr.Dataset({"vpt": (dims, vpt, {"long_name": LONG_NAMES["vpt"], "units": "see vpt_units"}),
                     "climate_distance": (dims, climate, {"long_name": LONG_NAMES["climate_distance"], "units": "1"})},
                    coords=coords)
    ds["labels_used"] = (dims[:3], labels, {"long_name": "labels read per observed window", "units": "1"})
    ds["cost_evaluations"] = (dims[:3], evaluations,
                              {"long_name": "cost evaluations (reservoir passes over the window) per window",
                               "units": "1"})
    ds["val_score"] = (dims[:3] + ("setting",), val_score,
                       {"long_name": "validation VPT / horizon (trained contexts)", "units": "1"})
    ds["selected"] = (dims[:3], selected, {"long_name": "tuning setting kept (index into GRIDS[method]; -1: none)",
                                           "units": "1"})
    ds["relative_cost"] = (("mgd_method", "window", "label_every", "iteration"), rel_cost,
                           {"long_name": "controller's window cost / C(0), median over windows (first seed)",
                            "units": "1"})
    ds = ds.assign_coords(mgd_method=mgd)
    ds["trained"] = ("context", bench.trained, {"long_name": "context in the training series", "units": "1"})
    ds["vpt_units"] = ("context", [t.attrs["vpt_units"] for t in tests])
    ds["vpt_cap"] = ("context", [H * bench.dt * adaptation._lyapunov_scale(t) for t in bench.tests],
                     {"long_name": "the forecast horizon in VPT units (the largest VPT)", "units": "see vpt_units"})
    ds.attrs.update(system=train.attrs["system"], hardware="fp32" if hardware == "ideal" else hardware,
                    n_nodes=n_nodes, dt=bench.dt, warmup_steps=bench.warmup_steps,
                    horizon=H, val_horizon=val_horizon, n_iterations=n_iterations, n_perturbations=n_perturbations,
                    **{f"config_{m}": str({k: round(v, 6) for k, v in configs.get(m, adaptation.AUTHORS).items()})
                       for m in CONFIG_MODELS.values()})
    return ds


@validate_params({"runs": RUNS})
def long_form(runs) -> pd.DataFrame:
    """One row per forecast of every run: system, context, trained, method, window, label_every, seed, ic,
    vpt, vpt_fraction (of the horizon), climate_distance, vpt_units, labels_used, cost_evaluations, setting."""
    frames = []
    for ds in runs:
        missing = [v for v in ("vpt", "climate_distance", "labels_used", "vpt_cap", "selected") if v not in ds]
        if missing:
            raise InvalidParameterError(f"runs must be integration_phase_run files; one lacks {missing}")
        df = ds[["vpt", "climate_distance"]].to_dataframe().reset_index().dropna(subset=["vpt"])
        per = ds[["labels_used", "cost_evaluations", "selected"]].to_dataframe().reset_index()
        ctx = ds[["trained", "vpt_units", "vpt_cap"]].to_dataframe().reset_index()
        df = df.merge(per, on=["method", "window", "label_every"]).merge(ctx, on="context")
        df["vpt_fraction"] = df["vpt"] / df["vpt_cap"]
        df["setting"] = [_setting_label(m, int(i)) for m, i in zip(df["method"], df["selected"])]
        df.insert(0, "system", ds.attrs["system"])
        df.insert(1, "hardware", ds.attrs.get("hardware", "fp32"))
        frames.append(df.drop(columns=["selected", "vpt_cap"]))
    return pd.concat(frames, ignore_index=True)


def _setting_label(method: str, index: int) -> str:
    if index < 0:
        return ""
    return " ".join(f"{k}={v:g}" for k, v in GRIDS[method][index].items())


@validate_params({"runs": RUNS})
def table(runs) -> pd.DataFrame:
    """``figures/tables/integration_phase_control.csv``: per system, context, method, window and label
    density the seeds, forecasts, VPT and climate distance (mean and standard deviation over every seed and
    initial condition), the labels and cost evaluations per window and the tuned setting."""
    df = long_form(runs)
    keys = ["system", "hardware", "context", "trained", "method", "window", "label_every"]
    out = forecasts.summarize(df, keys)
    extra = df.groupby(keys, sort=False).agg(labels_used=("labels_used", "first"),
                                             cost_evaluations=("cost_evaluations", "first"),
                                             setting=("setting", "first"),
                                             vpt_fraction=("vpt_fraction", "mean")).reset_index()
    out = out.merge(extra, on=keys)
    out["method"] = pd.Categorical(out["method"], METHODS, ordered=True)
    out = out.sort_values(["system", "hardware", "window", "label_every", "context", "method"]).reset_index(drop=True)
    out["method"] = out["method"].astype(str)
    return out[list(TABLE_COLUMNS)]


def _beats(table: pd.DataFrame, a: str, b: str, z: float = 2.0) -> tuple[int, int, int]:
    """Unseen (system, context, window, label_every) rows where ``a``'s mean VPT is more than ``z`` standard
    errors above ``b``'s, within them, and below; pairs where both exist."""
    keys = ["system", "hardware", "context", "window", "label_every"]
    rows = table[~table["trained"].astype(bool)]
    pa, pb = rows[rows["method"] == a].set_index(keys), rows[rows["method"] == b].set_index(keys)
    both = pa.join(pb, lsuffix="_a", rsuffix="_b", how="inner")
    se = np.sqrt(both["vpt_std_a"] ** 2 / both["forecasts_a"] + both["vpt_std_b"] ** 2 / both["forecasts_b"])
    diff = both["vpt_mean_a"] - both["vpt_mean_b"]
    return int((diff > z * se).sum()), int((diff.abs() <= z * se).sum()), int((diff < -z * se).sum())


@validate_params({"table": TABLE})
def verdict(table: pd.DataFrame) -> list[str]:
    """Plain lines: per system, window and label density the mean VPT fraction at the unseen contexts of every
    method, then where the astrocyte controller beats each alternative by more than two standard errors."""
    lines = []
    unseen = table[~table["trained"].astype(bool)]
    for (system, hw, window, k), g in unseen.groupby(["system", "hardware", "window", "label_every"], sort=False):
        means = g.groupby("method", sort=False)["vpt_fraction"].mean()
        parts = ", ".join(f"{m} {means[m]:.3f}" for m in METHODS if m in means.index)
        lines.append(f"{system} ({hw}), W = {window}, a label every {k}: VPT / horizon at unseen contexts: {parts}")
    for rival in ("none", "freeze", "sweep", "authors", "mgd_order", "rls_rs", "rls_esn", "esn"):
        up, tie, down = _beats(table[table["hardware"] == "fp32"], "mgd_domains", rival)
        if up + tie + down:
            lines.append(f"mgd_domains against {rival}: longer VPT in {up}, within 2 standard errors in {tie}, "
                         f"shorter in {down} of {up + tie + down} (unseen context, window, label density) cases")
    for hw in [h for h in dict.fromkeys(table["hardware"]) if h != "fp32"]:
        for rival in ("freeze", "sweep"):
            up, tie, down = _beats(table[table["hardware"] == hw], "mgd_domains", rival)
            if up + tie + down:
                lines.append(f"on {hw}: mgd_domains against {rival}: longer VPT in {up}, within 2 standard errors in "
                             f"{tie}, shorter in {down} of {up + tie + down} cases")
    return lines
