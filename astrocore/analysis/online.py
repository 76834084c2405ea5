"""The online-learning experiment (issue 12, part A): readouts learned online in a changing world.

A reservoir (ESN or Rhythmic Sharing on the same graph, several seeds as
batch columns) is driven by a non-stationary stream
(:mod:`astrocore.analysis.streams`); its states, plus a constant feature, feed
a linear readout predicting the next input sample, learned strictly online by
one of :data:`astrocore.online.LEARNERS` from a label every ``k`` steps
(:func:`astrocore.online.run_online`), tuned on a separate validation stream
with the same budget for every learner (:data:`GRIDS`, 12 settings each).
``ridge_offline``, ridge on every labelled step of the whole test stream (it
sees the future), is the non-online reference.

Metrics, with ``e_t`` the prediction error normalised per coordinate by the
validation stream's standard deviation:

- running NRMSE: ``sqrt(mean over the last w steps and the coordinates of
  e^2)`` (causal, :func:`running_nrmse`);
- stream NRMSE: the same over every step after ``washout`` (:func:`stream_nrmse`);
- recovery time after a switch: the steps until the running NRMSE stays
  within ``1.5 x`` the band it settles in within the new segment (its 90th
  percentile over the segment's second half; :func:`recovery_steps`, on the
  stored running error, every ``record_every`` steps). The issue's "back under
  1.5 x its level before the switch" is not used: where the two regimes
  differ in difficulty it is 0 or never (measured: RLS on Thomas settles at
  a running NRMSE of 0.002 on the limit cycle and 0.02 on the chaotic regime,
  so every switch into chaos would be "never recovered", every switch out
  "instant");
- energy per labelled update (:func:`energy_per_update`): RLS and the window
  ridge from their multiply-accumulates and memory words in digital fp32,
  LMS as one backprop step of a one-layer network, MGD as one MGD step
  (``astrocore.hardware.energy.training_step_energy``).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import xarray as xr

from astrocore import online
from astrocore.analysis._constraints import RUNS, TABLE
from astrocore.analysis.streams import STREAMS, nonstationary_stream, streams_dataset, streams_from_dataset
from astrocore.hardware import energy as hw_energy
from astrocore.hardware.model import HARDWARE
from astrocore.progress import progress
from astrocore.reservoir import ESN, RhythmicSharing
from astrocore.reservoir.readout import make_features, solve_ridge
from astrocore.validation import (POSITIVE_INT, Array, Choice, InstanceOf, Integer, InvalidParameterError, Optional,
                                  Real, Seeds, validate_params)

RESERVOIRS = ("esn", "rhythmic")
ASTRO_GRAPHS = ("links", "domains")
METHODS = online.LEARNERS + ("ridge_offline",)
"""The learners of the table: the online ones and the offline reference."""

GRIDS = {
    "rls": {"forgetting": [0.95, 0.98, 0.99, 0.995, 0.997, 0.998, 0.999, 0.9995, 0.9998, 0.9999, 0.99999, 1.0]},
    "lms": {"learning_rate": list(np.round(np.logspace(-4, -0.5, 12), 6))},
    "mgd_weight": {"eta": [1e-3, 3e-3, 1e-2, 3e-2], "tau_theta": [1, 4, 16]},
    "mgd_node": {"eta": [1e-3, 3e-3, 1e-2, 3e-2], "tau_theta": [1, 4, 16]},
    "window_ridge": {"window": [100, 300, 1000], "ridge": [1e-6, 1e-4, 1e-2, 1.0]},
}
"""Every learner's tuning grid: 12 settings each (the product of the listed values)."""
HARDWARE_PRESETS = ("ideal", "digital8", "pcm")
"""The hardware the MGD readouts run on (part C); RLS, LMS and the ridges run in digital fp32 only."""
MGD_LEARNERS = tuple(m for m in online.LEARNERS if m.startswith("mgd_"))
HARDWARE_GRIDS = {m: {"eta": [1e-3, 3e-3, 1e-2, 3e-2], "amplitude": [0.03, 0.1, 0.3]} for m in MGD_LEARNERS}
"""The MGD grids on a hardware preset: 12 settings, the perturbation amplitude tuned instead of ``tau_theta``
(below one converter level a perturbation measures nothing)."""
VECTOR_KEYS = {"rls": "forgetting", "lms": "learning_rate", "mgd_weight": "eta", "mgd_node": "eta"}
"""The hyperparameter a learner takes per batch column: its settings run as columns of one loop."""

_SEEDS = Seeds()


@validate_params({"name": Choice(online.LEARNERS), "grid": Optional(InstanceOf(dict, example=dict))})
def settings(name: str, grid: dict | None = None) -> list[dict]:
    """The settings of ``name``'s grid (default :data:`GRIDS`), the product of its values in order."""
    grid = GRIDS[name] if grid is None else grid
    allowed = sorted(set(GRIDS[name]) | set(HARDWARE_GRIDS.get(name, {})))
    unknown = sorted(set(grid) - set(allowed))
    empty = sorted(k for k, v in grid.items() if not isinstance(v, (list, tuple)) or not v)
    if unknown or empty:
        raise InvalidParameterError(f"grid of {name!r} must map some of {allowed} to non-empty lists "
                                    f"of values, got {grid!r}")
    out = [{}]
    for key, values in grid.items():
        out = [{**s, key: v} for s in out for v in values]
    return out


@validate_params({"kind": Choice(RESERVOIRS), "n_nodes": Integer(2), "seeds": _SEEDS, "u": Array(2)})
def reservoir_features(kind: str, n_nodes: int, seeds, u, **params) -> np.ndarray:
    """Features ``(T, B, N + 1)`` of a ``kind`` reservoir driven by ``u (T, d)``: its states and a constant 1.

    ``seeds``: one reservoir per seed, as batch columns (the ESN and Rhythmic
    Sharing of one seed share their recurrent graph); ``params`` go to the
    reservoir's constructor.
    """
    cls = ESN if kind == "esn" else RhythmicSharing
    model = cls(n_nodes, seed=list(seeds), n_inputs=u.shape[1], **params)
    states = model.run(np.repeat(u[:, None, :], len(seeds), axis=1)).states
    return make_features(states, "states", True, xp=np)


@validate_params({"prediction": Array(3, finite=False), "truth": Array(3), "scale": Array(1), "window": Integer(1)})
def running_nrmse(prediction, truth, scale, window: int) -> np.ndarray:
    """Causal running NRMSE ``(T, B)``: the root of the mean of ``((y_hat - y) / scale)^2`` over the last ``window``
    steps (fewer at the start) and the coordinates."""
    err2 = np.mean(((prediction - truth) / scale) ** 2, axis=-1)
    csum = np.cumsum(np.concatenate([np.zeros((1,) + err2.shape[1:]), err2]), axis=0)
    idx = np.arange(1, len(err2) + 1)
    lo = np.maximum(idx - window, 0)
    return np.sqrt((csum[idx] - csum[lo]) / (idx - lo)[:, None])


@validate_params({"prediction": Array(3, finite=False), "truth": Array(3), "scale": Array(1), "start": Integer(0)})
def stream_nrmse(prediction, truth, scale, start: int = 0) -> np.ndarray:
    """NRMSE ``(B,)`` over steps ``start:``: the root of the mean over steps and coordinates of the squared
    normalised error (infinite where a column is not finite)."""
    if start >= len(truth):
        raise InvalidParameterError(f"start must be below the stream's length {len(truth)}, got {start}")
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.sqrt(np.mean(((prediction[start:] - truth[start:]) / scale) ** 2, axis=(0, 2)))
    return np.where(np.isfinite(out), out, np.inf)


@validate_params({"running": Array(1), "switches": InstanceOf(list, tuple, np.ndarray, example=lambda: [5]),
                  "factor": Real(1, closed="neither"), "quantile": Real(0, 1, closed="right")})
def recovery_steps(running, switches, factor: float = 1.5, quantile: float = 0.9) -> np.ndarray:
    """Settling time after each switch (module docstring), in samples of ``running``, one per switch.

    The band is ``factor`` times the ``quantile`` of the running error over
    the second half of the new segment (where the learner has settled in the
    new regime: a chaotic regime's running error fluctuates, hence a high
    quantile rather than the median); the recovery time is one past the last
    sample of the segment's first half above the band, 0 if none is.
    """
    T = len(running)
    edges = [*(int(s) for s in switches), T]
    out = np.zeros(len(switches))
    for i, s in enumerate(edges[:-1]):
        if not 0 < s < T or edges[i + 1] - s < 2:
            raise InvalidParameterError(f"switches must be increasing inside (0, {T}), at least 2 samples apart, "
                                        f"got {list(switches)}")
        seg = running[s:edges[i + 1]]
        half = len(seg) // 2
        above = np.flatnonzero(seg[:half] > factor * np.quantile(seg[half:], quantile))
        out[i] = above[-1] + 1 if above.size else 0
    return out


@validate_params({"name": Choice(METHODS), "learner": Optional(InstanceOf(online.Learner, example=online.LMS)),
                  "n_nodes": Integer(1), "n_outputs": Integer(1), "hardware": HARDWARE})
def energy_per_update(name: str, learner: online.Learner | None, n_nodes: int, n_outputs: int,
                      hardware="ideal") -> float:
    """Energy (J) of one labelled update of learner ``name`` on a readout of ``n_nodes`` states (module docstring)."""
    sizes = (n_nodes, n_outputs)
    if name.startswith("mgd_"):
        k = learner.n_perturbations
        pj = hw_energy.training_step_energy(sizes, hardware, "mgd", batch=k, tau_x=k,
                                            tau_theta=learner.tau_theta)["total"]
    elif name == "lms":
        pj = hw_energy.training_step_energy(sizes, hardware, "backprop", batch=1)["total"]
    elif name in ("rls", "window_ridge"):
        if hw_energy.technology(hardware) != "fp32":
            raise InvalidParameterError(f"{name} is costed in digital fp32 only (hardware 'ideal'), got {hardware!r}")
        a = hw_energy.EnergyAssumptions()
        ops = learner.macs_per_update(n_nodes + 1, n_outputs)
        pj = ops["macs"] * (a.fp32_mul + a.fp32_add) + ops["words"] * a.sram_read_32bit
    else:
        return float("nan")
    return float(pj) * 1e-12


def _learner(name: str, setting: dict, seed: int, hardware: str = "ideal") -> online.Learner:
    params = dict(setting)
    if name.startswith("mgd_"):
        params["seed"] = seed
        if hardware != "ideal":
            params["hardware"] = hardware
    return online.make_learner(name, **params)


@validate_params({"name": Choice(online.LEARNERS), "features": Array(3), "targets": Array(3), "scale": Array(1),
                  "label_every": Integer(1), "washout": Integer(0), "seed": Integer(0),
                  "grid": Optional(InstanceOf(dict, example=dict)), "hardware": Choice(HARDWARE_PRESETS)})
def tune(name: str, features, targets, scale, *, label_every: int, washout: int, seed: int = 0,
         grid: dict | None = None, hardware: str = "ideal") -> tuple[dict, np.ndarray]:
    """Every setting of ``name``'s grid on the validation stream: ``(best setting, scores)``, scores in
    :func:`settings` order.

    The score is the stream NRMSE after ``washout``, averaged over the
    columns (seeds); a diverging setting scores infinity. The settings that
    differ only in the learner's vector key (:data:`VECTOR_KEYS`) run as
    columns of one loop.
    """
    order = settings(name, grid)
    key = VECTOR_KEYS.get(name)
    B = features.shape[1]
    groups: dict[tuple, list[int]] = {}
    for i, s in enumerate(order):
        groups.setdefault(tuple((k, v) for k, v in s.items() if k != key), []).append(i)
    scores = np.full(len(order), np.inf)
    for fixed, idx in groups.items():
        setting = dict(fixed)
        if key is not None:
            setting[key] = np.repeat([order[i][key] for i in idx], B)
        f, y = np.tile(features, (1, len(idx), 1)), np.tile(targets, (1, len(idx), 1))
        with np.errstate(over="ignore", invalid="ignore"):
            run = online.run_online(f, y, _learner(name, setting, seed, hardware), label_every=label_every,
                                    check_finite=False)
        scores[idx] = stream_nrmse(run.prediction, y, scale, washout).reshape(len(idx), B).mean(1)
    return order[int(np.argmin(scores))], scores


def _test_and_validation(stream: str, steps: int, streams: xr.Dataset | None) -> tuple:
    """The test (``ic = 0``) and validation (``ic = 1``) streams: simulated, or read from ``streams``."""
    if streams is None:
        return nonstationary_stream(stream, steps=steps, ic=0), nonstationary_stream(stream, steps=steps, ic=1)
    have = streams_from_dataset(streams)
    name, length = streams.attrs["stream"], streams.sizes.get("time", 0)
    if name != stream or length != steps or not {0, 1} <= set(have):
        raise InvalidParameterError(f"streams must hold stream {stream!r} at ics 0 and 1 with {steps} steps, got "
                                    f"{name!r} at ics {sorted(have)} with {length} steps")
    return have[0], have[1]


def _offline_ridge(features, targets, labelled, ridge: float) -> np.ndarray:
    """Predictions of ridge fitted per column on every labelled step of the whole stream (sees the future)."""
    out = np.empty(targets.shape)
    for b in range(features.shape[1]):
        W = solve_ridge(features[labelled, b], targets[labelled, b], ridge, True)
        out[:, b] = features[:, b] @ W
    return out


@validate_params({"stream": Choice(STREAMS),
                  "reservoir": Choice(RESERVOIRS), "n_nodes": Integer(2), "seeds": _SEEDS,
                  "validation_seeds": _SEEDS, "label_every": InstanceOf(list, tuple, example=lambda: [1]),
                  "learners": InstanceOf(list, tuple, example=lambda: ["rls"]), "steps": Integer(10),
                  "washout": Integer(0), "window": Integer(1), "record_every": Integer(1),
                  "ridge": Real(0, closed="neither"), "astro_graph": Choice(ASTRO_GRAPHS),
                  "reservoir_params": Optional(InstanceOf(dict, example=dict)),
                  "grids": Optional(InstanceOf(dict, example=dict)), "hardware": Choice(HARDWARE_PRESETS),
                  "streams": Optional(InstanceOf(xr.Dataset, example=lambda: streams_dataset("roessler_switch",
                                                                                             steps=20)))})
def online_experiment(stream: str, reservoir: str, n_nodes: int, seeds, *, validation_seeds, label_every=(1, 10, 100),
                      learners=METHODS, steps: int = 7500, washout: int = 200, window: int = 50,
                      record_every: int = 10, ridge: float = 1e-6, astro_graph: str = "domains",
                      reservoir_params: dict | None = None, grids: dict | None = None,
                      hardware: str = "ideal", streams: xr.Dataset | None = None) -> xr.Dataset:
    """One stream, one reservoir: every learner at every label density, tuned on the validation stream.

    The test stream is ``nonstationary_stream(stream, ic=0)`` driving the
    reservoirs of ``seeds``, the validation stream ``ic=1`` driving those of
    ``validation_seeds`` (other initial conditions and other reservoirs),
    simulated here or read from ``streams`` (:func:`streams_dataset` of
    ``stream`` with ``ics`` 0 and 1 and ``steps`` steps: the workflow
    simulates each stream once for all its jobs); both are standardised with
    the validation stream's mean and standard deviation. Rhythmic Sharing uses the ``astro_graph`` astrocyte graph
    (``domains``: the astrocytes of part B's phase controller);
    ``reservoir_params`` go to both reservoirs. ``hardware``: the preset the
    MGD readouts run on (:class:`astrocore.online.MGDReadout` ``hardware=``,
    tuned on :data:`HARDWARE_GRIDS`; ``"ideal"``: plain arithmetic); only the
    MGD learners run on a preset other than ``"ideal"``. Returns one Dataset (dims ``learner``, ``label_every``,
    ``seed``, ``time`` every ``record_every`` steps, ``switch``, ``setting``).
    """
    unknown = [m for m in learners if m not in METHODS]
    bad_k = [k for k in label_every if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1]
    if unknown or bad_k or not learners or not label_every:
        raise InvalidParameterError(f"learners must be a non-empty list of {METHODS} and label_every of integers "
                                    f">= 1, got {list(learners)} and {list(label_every)}")
    if not set(grids or {}) <= set(online.LEARNERS):
        raise InvalidParameterError(f"grids must be keyed by online learners {online.LEARNERS}, got {sorted(grids)}")
    if washout >= steps - 1:
        raise InvalidParameterError(f"washout must be below steps - 1 = {steps - 1}, got {washout}")
    if hardware != "ideal" and not set(learners) <= set(MGD_LEARNERS):
        raise InvalidParameterError(f"learners must be among {MGD_LEARNERS} with hardware={hardware!r} (RLS, LMS and "
                                    f"the ridges are costed in digital fp32 only), got {list(learners)}")
    if hardware != "ideal":
        grids = {m: (grids or {}).get(m, HARDWARE_GRIDS[m]) for m in learners}
    test, val = _test_and_validation(stream, steps, streams)
    mean, std = val.u.mean(0), val.u.std(0)
    params = dict(reservoir_params or {}, **({"astro_graph": astro_graph} if reservoir == "rhythmic" else {}))
    t0 = time.perf_counter()
    f_test = reservoir_features(reservoir, n_nodes, seeds, (test.u - mean) / std, **params)
    reservoir_seconds = time.perf_counter() - t0
    f_val = reservoir_features(reservoir, n_nodes, validation_seeds, (val.u - mean) / std, **params)
    y_test = np.repeat(((test.u[1:] - mean) / std)[:, None], len(seeds), axis=1)
    y_val = np.repeat(((val.u[1:] - mean) / std)[:, None], len(validation_seeds), axis=1)
    f_test, f_val = f_test[:-1], f_val[:-1]
    T, B, D = y_test.shape
    unit = np.ones(D)
    switches = [s - 1 for s in test.switches]
    grids = grids or {}
    n_set = max([len(settings(m, grids.get(m))) for m in learners if m in online.LEARNERS], default=1)
    shape = (len(learners), len(label_every))
    rec_t = np.arange(0, T, record_every)
    running = np.full(shape + (B, len(rec_t)), np.nan)
    nrmse = np.full(shape + (B,), np.nan)
    labels_used = np.zeros(shape, int)
    evaluations = np.zeros(shape, int)
    energy = np.full(shape, np.nan)
    best = np.full(shape, "", dtype=object)
    scores = np.full(shape + (n_set,), np.nan)
    loop_seconds = np.full(shape, np.nan)
    jobs = [(i, m, j, k) for i, m in enumerate(learners) for j, k in enumerate(label_every)]
    for i, m, j, k in progress(jobs, desc=f"online {stream} {reservoir}"):
        if m == "ridge_offline":
            labelled = np.zeros(T, bool)
            labelled[washout::k] = True
            pred, n_labels, n_eval = _offline_ridge(f_test, y_test, labelled, ridge), int(labelled.sum()), 0
        else:
            setting, s = tune(m, f_val, y_val, unit, label_every=k, washout=washout, grid=grids.get(m),
                              hardware=hardware)
            scores[i, j, :len(s)] = s
            best[i, j] = ", ".join(f"{key}={val:g}" for key, val in setting.items())
            learner = _learner(m, setting, seed=0, hardware=hardware)
            t0 = time.perf_counter()
            with np.errstate(over="ignore", invalid="ignore"):
                run = online.run_online(f_test, y_test, learner, label_every=k, check_finite=False)
            loop_seconds[i, j] = time.perf_counter() - t0
            pred, n_labels, n_eval = run.prediction, run.labels_used, run.cost_evaluations
            energy[i, j] = energy_per_update(m, learner, n_nodes, D, hardware)
        with np.errstate(over="ignore", invalid="ignore"):
            run_err = running_nrmse(np.where(np.isfinite(pred), pred, np.inf), y_test, unit, window)
        running[i, j] = run_err[rec_t].T
        nrmse[i, j] = stream_nrmse(pred, y_test, unit, washout)
        labels_used[i, j], evaluations[i, j] = n_labels, n_eval
    ds = xr.Dataset(
        {"running_nrmse": (("learner", "label_every", "seed", "time"), running,
                           {"long_name": f"running NRMSE over the last {window} steps", "units": "1"}),
         "nrmse": (("learner", "label_every", "seed"), nrmse,
                   {"long_name": f"NRMSE over steps {washout}:", "units": "1"}),
         "labels_used": (("learner", "label_every"), labels_used, {"units": "labels"}),
         "cost_evaluations": (("learner", "label_every"), evaluations, {"units": "readout evaluations"}),
         "energy_per_update_j": (("learner", "label_every"), energy,
                                 {"long_name": "energy per labelled update", "units": "J"}),
         "best_setting": (("learner", "label_every"), best.astype(str)),
         "tuning_nrmse": (("learner", "label_every", "setting"), scores,
                          {"long_name": "validation NRMSE of each grid setting", "units": "1"}),
         "loop_seconds": (("learner", "label_every"), loop_seconds, {"units": "s"}),
         "context": (("time",), test.context[1:][rec_t], {"long_name": "system parameter of the target"})},
        coords={"learner": list(learners), "label_every": list(label_every), "seed": list(seeds),
                "time": rec_t, "switch": switches, "setting": np.arange(n_set)},
        attrs={"stream": stream, "reservoir": reservoir, "n_nodes": n_nodes,
               "hardware": "fp32" if hardware == "ideal" else hardware,
               "astro_graph": astro_graph if reservoir == "rhythmic" else "none", "steps": T, "washout": washout,
               "window": window, "dt": test.dt, "system": test.system,
               "reservoir_seconds": reservoir_seconds,
               "grids": repr({m: grids.get(m, GRIDS[m]) for m in learners if m in GRIDS})})
    return ds


def _recoveries(running: xr.DataArray, switches) -> np.ndarray:
    """Recovery steps of every (seed, switch) from a stored running NRMSE ``(seed, time)`` (NaN: not finite)."""
    time = running.time.values
    idx = np.searchsorted(time, switches)
    spacing = float(time[1] - time[0]) if len(time) > 1 else 1.0
    out = []
    for run in running.values:
        if not len(idx):
            break
        out.append(recovery_steps(run, idx) * spacing if np.all(np.isfinite(run)) else np.full(len(idx), np.nan))
    return np.ravel(out)


TABLE_COLUMNS = ["system", "reservoir", "n_nodes", "learner", "label_every", "hardware", "seeds", "nrmse_mean",
                 "nrmse_std", "recovery_steps_median", "not_settled_fraction", "post_switch_nrmse", "labels_used",
                 "cost_evaluations", "energy_per_update_j", "best_setting"]


@validate_params({"runs": RUNS, "after": POSITIVE_INT})
def online_table(runs, after: int = 300) -> pd.DataFrame:
    """``figures/tables/integration_online``: one row per (stream, reservoir, size, learner, label density).

    ``nrmse_mean``/``nrmse_std``: over seeds; ``recovery_steps_median``: the
    median over every switch and seed of :func:`recovery_steps` on the stored
    running NRMSE (resolution ``record_every`` steps; NaN for a stream
    without switches); ``not_settled_fraction``: the share of switches after
    which a diverged run never settles; ``post_switch_nrmse``: the running
    NRMSE over the first ``after`` steps after each switch, averaged over
    switches and seeds (an absolute measure: the recovery time is relative to
    each learner's own settled error, so a learner that fits no regime well
    recovers "at once").
    """
    rows = []
    for ds in runs:
        t = ds.time.values
        near = np.zeros(len(t), bool)
        for sw in ds.switch.values:
            near |= (t >= sw) & (t < sw + after)
        for m in ds.learner.values:
            for k in ds.label_every.values:
                sel = ds.sel(learner=m, label_every=k)
                rec = _recoveries(sel.running_nrmse, ds.switch.values)
                rows.append({
                    "system": ds.attrs["stream"], "reservoir": ds.attrs["reservoir"],
                    "n_nodes": int(ds.attrs["n_nodes"]),
                    "learner": str(m), "label_every": int(k), "hardware": ds.attrs.get("hardware", "fp32"),
                    "seeds": int(ds.sizes["seed"]), "nrmse_mean": float(sel.nrmse.mean()),
                    "nrmse_std": float(sel.nrmse.std(ddof=1)) if ds.sizes["seed"] > 1 else 0.0,
                    "recovery_steps_median": float(np.median(np.where(np.isnan(rec), np.inf, rec))) if rec.size
                    else float("nan"),
                    "not_settled_fraction": float(np.isnan(rec).mean()) if rec.size else float("nan"),
                    "post_switch_nrmse": float(sel.running_nrmse.values[:, near].mean()) if near.any()
                    else float("nan"),
                    "labels_used": int(sel.labels_used), "cost_evaluations": int(sel.cost_evaluations),
                    "energy_per_update_j": float(sel.energy_per_update_j),
                    "best_setting": str(sel.best_setting.values)})
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


@validate_params({"runs": RUNS})
def speed_table(runs) -> pd.DataFrame:
    """Steps per second of each online loop (all seeds together) against the reservoir's own run on the stream."""
    rows = []
    for ds in runs:
        steps = int(ds.attrs["steps"])
        for m in ds.learner.values:
            for k in ds.label_every.values:
                sec = float(ds.loop_seconds.sel(learner=m, label_every=k))
                if np.isfinite(sec):
                    rows.append({"system": ds.attrs["stream"], "reservoir": ds.attrs["reservoir"],
                                 "n_nodes": int(ds.attrs["n_nodes"]), "learner": str(m), "label_every": int(k),
                                 "loop_steps_per_s": steps / sec,
                                 "reservoir_steps_per_s": steps / float(ds.attrs["reservoir_seconds"]),
                                 "loop_over_reservoir": sec / float(ds.attrs["reservoir_seconds"])})
    return pd.DataFrame(rows)


@validate_params({"table": TABLE})
def online_verdict(table: pd.DataFrame) -> list[str]:
    """Where MGD-trained readouts stand against RLS and LMS, per label density: one line per comparison."""
    lines = []
    fp32 = table[table.hardware == "fp32"]
    online_rows = fp32[fp32.learner.isin(online.LEARNERS)]
    for k, part in online_rows.groupby("label_every"):
        mean = part.groupby("learner").nrmse_mean.median()
        best_mgd = mean[[m for m in mean.index if m.startswith("mgd_")]].idxmin()
        wins = {ref: int((part[part.learner == best_mgd].set_index(["system", "reservoir", "n_nodes"]).nrmse_mean
                          <= part[part.learner == ref].set_index(["system", "reservoir", "n_nodes"]).nrmse_mean)
                         .sum()) for ref in ("rls", "lms")}
        n = int((part.learner == best_mgd).sum())
        lines.append(f"label every {k}: median NRMSE over streams and reservoirs: " +
                     ", ".join(f"{m} {v:.3f}" for m, v in mean.sort_values().items()) +
                     f"; {best_mgd} at or below RLS in {wins['rls']} of {n} cases, at or below LMS in "
                     f"{wins['lms']} of {n}")
        post = part.dropna(subset=["post_switch_nrmse"]).groupby("learner").post_switch_nrmse.median()
        if len(post):
            lines.append(f"label every {k}: median NRMSE in the first steps after a switch: " +
                         ", ".join(f"{m} {v:.3f}" for m, v in post.sort_values().items()))
    energy = fp32[fp32.label_every == fp32.label_every.min()].groupby("learner").energy_per_update_j.median()
    lines.append("energy per labelled update (J, median, digital fp32): " +
                 ", ".join(f"{m} {v:.2e}" for m, v in energy.dropna().sort_values().items()))
    keys = ["system", "reservoir", "n_nodes"]
    for (hw, k), part in table[table.hardware != "fp32"].groupby(["hardware", "label_every"], sort=False):
        rls = fp32[(fp32.learner == "rls") & (fp32.label_every == k)].set_index(keys)
        for m, rows in part.groupby("learner", sort=False):
            rows = rows.set_index(keys)
            ideal = fp32[(fp32.learner == m) & (fp32.label_every == k)].set_index(keys)
            lines.append(
                f"{m} on {hw}, label every {k}: median NRMSE {rows.nrmse_mean.median():.3f} (fp32: "
                f"{ideal.nrmse_mean.median():.3f}, RLS fp32: {rls.nrmse_mean.median():.3f}); at or below RLS in "
                f"{int((rows.nrmse_mean <= rls.nrmse_mean.reindex(rows.index)).sum())} of {len(rows)}; energy per "
                f"update {rows.energy_per_update_j.median():.2e} J against RLS fp32 "
                f"{rls.energy_per_update_j.median():.2e} J")
    return lines
