"""The zero-shot adaptation experiment: one model tuned, trained on a few contexts, forecasting every context.

One call, :func:`run`, makes the data of one (system, model) point of
``rhythmic_adaptation_run.ipynb``: the training series and the test
material of every context (``rhythmic_systems_run.ipynb``'s files), the same
tuning budget for every model, and the scores of every forecast.

Models (:data:`astrocore.analysis.forecasts.MODELS`), each through one
:class:`Forecaster` (fit on the training series, forecast a batch of windows):

- ``rhythmic_sharing``: :class:`~astrocore.reservoir.RhythmicSharing` (the
  authors' equations, ``links`` astrocyte graph), phases free during the
  forecast or a context selected by steering (``"authors"``, ``"sweep"``);
- ``esn``: :class:`~astrocore.reservoir.ESN`, the same network without link phases;
- ``parameter_aware_esn``: :class:`~astrocore.reservoir.parameter_aware.ParameterAwareESN`
  (Kong et al. 2021), the context as an extra input channel over the trained range;
- ``reservoirpy_esn``: reservoirpy's ``Reservoir >> Ridge`` with its defaults,
  stepped with its own ``step``.

Tuning (:func:`hyperparameter_sets`, :func:`validation_scores`): set 0 is the
authors', the others are drawn from a seeded distribution; each set is fitted
with every seed and scored on the validation windows of the trained contexts
only (VPT as a fraction of the validation horizon, per window); the
one-standard-error rule (:func:`astrocore.analysis.tuning.one_standard_error`)
picks the set, and for Rhythmic Sharing then one of three variants
(``authors``: set 0 without readout bias and with the authors' steering;
``tuned``: free phases; ``tuned_sweep``: the sweep steering).
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import xarray as xr

from astrocore.analysis import forecasts, tuning
from astrocore.reservoir import ESN, RhythmicSharing
from astrocore.reservoir.parameter_aware import ParameterAwareESN
from astrocore.validation import (Array, Choice, InstanceOf, Integer, InvalidParameterError, Optional, Seed,
                                  Seeds, validate_params)

MODELS = forecasts.MODELS
WASHOUT = 200
"""Steps dropped from every readout fit after the start and after each switch of the training series."""
HYPERPARAMETERS = ("spectral_radius", "input_scaling", "leak", "bias", "ridge")
AUTHORS = dict(spectral_radius=0.6, input_scaling=1.2, leak=0.0, bias=0.0, ridge=1e-6, readout_bias=True)
"""Set 0 of every search: the authors' hyperparameters (with a readout bias; the ``authors`` variant drops it)."""
LONG_NAMES = {
    "vpt": "valid prediction time", "amplitude_error": "climate: relative amplitude error",
    "period_error": "climate: relative dominant-period error",
    "type_pred": "attractor type of the forecast (0 fixed, 1 periodic, 2 irregular)",
    "type_true": "attractor type of the truth (0 fixed, 1 periodic, 2 irregular)",
    "climate_distance": "climate distance (mean of amplitude, period and type terms)",
    "distribution_distance": "Wasserstein distance of the marginals (scaled; metrics.distribution_distance)"}

_CONFIG = InstanceOf(dict, example=lambda: dict(AUTHORS))
_DATASET = InstanceOf(xr.Dataset, example=xr.Dataset)
_TESTS = InstanceOf(list, tuple, example=list)
_STEERING = Optional(Choice(("authors", "sweep")))


@validate_params({"n_configs": Integer(1), "search_seed": Seed()})
def hyperparameter_sets(n_configs: int, search_seed: int = 0) -> list[dict]:
    """``n_configs`` hyperparameter sets: the authors' (:data:`AUTHORS`), then draws from ``search_seed``.

    Spectral radius log-uniform in [0.2, 1.5], input scaling log-uniform in
    [0.1, 2], leak in {0, 0.3, 0.6, 0.8}, node bias uniform in [0, 1], ridge
    log-uniform in [1e-9, 1e-2]; a readout bias throughout.
    """
    rng = np.random.default_rng(search_seed)
    configs = [dict(AUTHORS)]
    for _ in range(n_configs - 1):
        configs.append(dict(spectral_radius=float(np.exp(rng.uniform(np.log(0.2), np.log(1.5)))),
                            input_scaling=float(np.exp(rng.uniform(np.log(0.1), np.log(2.0)))),
                            leak=float(rng.choice([0.0, 0.3, 0.6, 0.8])), bias=float(rng.uniform(0.0, 1.0)),
                            ridge=float(np.exp(rng.uniform(np.log(1e-9), np.log(1e-2)))), readout_bias=True))
    return configs


def _check_config(cfg: dict) -> None:
    missing = [k for k in (*HYPERPARAMETERS, "readout_bias") if k not in cfg]
    if missing:
        raise InvalidParameterError(f"cfg lacks the hyperparameter(s) {missing}; it has {sorted(cfg)}")


class Forecaster:
    """One model with one hyperparameter set and seed: fit on a training series, forecast batches of windows.

    ``kind``: one of :data:`MODELS`; ``cfg``: a hyperparameter set
    (:func:`hyperparameter_sets`); ``steering``: Rhythmic Sharing's test-time
    steering (None: free phases); ``param_range``: the trained contexts' range
    (the parameter-aware ESN's channel). After a Rhythmic Sharing forecast,
    ``info`` holds the steering information of the run.
    """

    @validate_params({"kind": Choice(MODELS), "cfg": _CONFIG, "seed": Seed(), "steering": _STEERING,
                      "n_nodes": Integer(1), "param_range": Optional(InstanceOf(tuple, list, example=lambda: (0, 1)))})
    def __init__(self, kind: str, cfg: dict, seed: int, steering: str | None = None, *, n_nodes: int = 100,
                 param_range=None):
        _check_config(cfg)
        if steering is not None and kind != "rhythmic_sharing":
            raise InvalidParameterError(f"steering={steering!r} needs link phases: only kind='rhythmic_sharing' "
                                        f"allows it, got kind={kind!r}")
        if kind == "parameter_aware_esn" and param_range is None:
            raise InvalidParameterError("param_range must be given for kind='parameter_aware_esn', got None")
        self.kind, self.steering, self.info = kind, steering, {}
        common = dict(spectral_radius=cfg["spectral_radius"], input_scaling=cfg["input_scaling"], leak=cfg["leak"],
                      bias=cfg["bias"], ridge=cfg["ridge"], readout_bias=cfg["readout_bias"], washout=WASHOUT,
                      seed=seed)
        if kind == "rhythmic_sharing":
            self.m = RhythmicSharing(n_nodes, **common)
        elif kind == "esn":
            self.m = ESN(n_nodes, **common)
        elif kind == "parameter_aware_esn":
            self.m = ParameterAwareESN(n_nodes, param_range=tuple(param_range), **common)
        else:
            from reservoirpy.nodes import Reservoir, Ridge  # noqa: PLC0415

            self.res = Reservoir(n_nodes, sr=cfg["spectral_radius"], lr=1.0 - cfg["leak"], bias=cfg["bias"],
                                 input_scaling=cfg["input_scaling"], rc_connectivity=10 / n_nodes, seed=seed)
            self.ro = Ridge(ridge=cfg["ridge"], fit_bias=cfg["readout_bias"])

    @validate_params({"u": Array(2), "p": Array(1), "segment_starts": InstanceOf(list, tuple, example=list)})
    def fit(self, u, p, segment_starts) -> Forecaster:
        """Fit on the training series ``u (T, d)`` with context ``p (T,)``, switching at ``segment_starts``."""
        if self.kind in ("rhythmic_sharing", "esn"):
            self.m.fit(u, segment_starts=segment_starts)
        elif self.kind == "parameter_aware_esn":
            self.m.fit(u, p, segment_starts=segment_starts)
        else:
            states = self.res.run(u[:-1])
            keep = np.ones(len(u) - 1, dtype=bool)
            for s in [0, *segment_starts]:
                keep[s: s + WASHOUT] = False
            self.ro.fit(states[keep], u[1:][keep])
        return self

    @validate_params({"obs": Array(3), "p": Array(1), "horizon": Integer(1)})
    def forecast(self, obs, p, horizon: int) -> np.ndarray:
        """Closed-loop predictions ``(horizon, B, d)`` after observing ``obs (W, B, d)`` at contexts ``p (B,)``."""
        if self.kind == "rhythmic_sharing":
            with warnings.catch_warnings(record=True):
                warnings.simplefilter("always")
                run = self.m.forecast(obs, horizon, steering=self.steering, record_states=False)
            self.info = run.info
            return run.prediction
        if self.kind == "esn":
            return self.m.forecast(obs, horizon, record_states=False).prediction
        if self.kind == "parameter_aware_esn":
            return self.m.forecast(obs, p, horizon, record_states=False).prediction
        out = np.empty((horizon, obs.shape[1], obs.shape[2]))
        for b in range(obs.shape[1]):
            self.res.reset()
            y = self.ro.step(self.res.run(obs[:, b])[-1])
            for h in range(horizon):
                out[h, b] = y
                y = self.ro.step(self.res.step(y))
        return out


class Benchmark(NamedTuple):
    """The data of one system: the training series (as fed: standardised or raw) and the test contexts."""

    tests: list
    u_train: np.ndarray
    p_train: np.ndarray
    starts: list
    mu: np.ndarray
    sd: np.ndarray
    dt: float
    contexts: np.ndarray
    warmup_steps: int
    horizon: int
    param_range: tuple
    trained: np.ndarray


def _lyapunov_scale(ds) -> float:
    """The factor that turns a time into Lyapunov times at the context of ``ds`` (1 if not chaotic)."""
    return ds.attrs["lyapunov_exponent"] if ds.attrs["chaotic"] else 1.0


def _empty_benchmark() -> Benchmark:
    return Benchmark([], np.zeros((2, 3)), np.zeros(2), [], np.zeros(3), np.ones(3), 1.0, np.zeros(0), 1, 1,
                     (0.0, 1.0), np.zeros(0, dtype=bool))


@validate_params({"train": _DATASET, "tests": _TESTS})
def benchmark(train: xr.Dataset, tests) -> Benchmark:
    """The :class:`Benchmark` of a training series file and the context files (sorted by context).

    Inputs are standardised by the training series' mean and standard deviation
    where the file says so (Lorenz), raw otherwise (Thomas, as the authors feed it).
    """
    missing = [v for v in ("truth", "context") if v not in train.variables]
    if missing or not tests:
        raise InvalidParameterError(f"train must hold truth and context (lacks {missing}) and tests at least one "
                                    f"context file (got {len(tests)})")
    tests = sorted(tests, key=lambda ds: ds.attrs["context"])
    if bool(train.attrs["standardise"]):
        mu, sd = train.input_mean.values, train.input_std.values
    else:  # Thomas, as the authors feed it: raw
        mu, sd = np.zeros(3), np.ones(3)
    return Benchmark(
        tests=tests, u_train=(train.truth.values - mu) / sd, p_train=train.context.values,
        starts=list(np.atleast_1d(train.attrs["train_switches"]).astype(int)), mu=mu, sd=sd,
        dt=float(train.attrs["dt"]), contexts=np.array([ds.attrs["context"] for ds in tests]),
        warmup_steps=int(tests[0].attrs["warmup_steps"]), horizon=int(tests[0].attrs["horizon"]),
        param_range=(float(np.min(train.attrs["train_contexts"])), float(np.max(train.attrs["train_contexts"]))),
        trained=np.array([bool(ds.attrs["trained"]) for ds in tests]))


_BENCH = InstanceOf(Benchmark, example=_empty_benchmark)
_WHICH = Choice(("window", "val_window"))


@validate_params({"bench": _BENCH, "which": _WHICH, "selected": InstanceOf(np.ndarray, list, tuple, example=list),
                  "window": Optional(Integer(1))})
def observed_windows(bench: Benchmark, which: str, selected, window: int | None = None) -> tuple:
    """The observed steps before each forecast of the contexts ``selected`` (``which``: ``"window"`` or
    ``"val_window"``), the last ``window`` of the ``warmup_steps`` (all by default): ``(W, B, 3)`` as fed,
    the context per column and the chosen context files."""
    end = bench.warmup_steps
    start = end - (end if window is None else window)
    chosen = [ds for ds, keep in zip(bench.tests, selected) if keep]
    wins = [ds[which].values for ds in chosen]
    obs = np.concatenate([((w[:, start:end] - bench.mu) / bench.sd).transpose(1, 0, 2) for w in wins], axis=1)
    p = np.concatenate([np.full(w.shape[0], ds.attrs["context"]) for w, ds in zip(wins, chosen)])
    return obs, p, chosen


@validate_params({"pred": Array(3), "bench": _BENCH, "which": _WHICH, "chosen": _TESTS, "horizon": Integer(1)})
def score_windows(pred, bench: Benchmark, which: str, chosen, horizon: int) -> list:
    """Per chosen context the score dict (:func:`astrocore.analysis.forecasts.score_forecasts`) of its
    windows, from predictions ``(horizon, B, 3)`` in the units of the data."""
    W, out, i = bench.warmup_steps, [], 0
    for ds in chosen:
        truth = ds[which].values
        n = truth.shape[0]
        out.append(forecasts.score_forecasts(pred[:, i:i + n], truth[:, W:W + horizon].transpose(1, 0, 2),
                                             dt=bench.dt, lyapunov_exponent=_lyapunov_scale(ds),
                                             scale=ds.scale.values))
        i += n
    return out


def _evaluate(forecaster: Forecaster, bench: Benchmark, which: str, selected, horizon: int):
    """Forecast the windows ``which`` of the contexts ``selected`` in one batch; per-context score dicts and
    the predictions (in the units of the data)."""
    obs, p, chosen = observed_windows(bench, which, selected)
    pred = forecaster.forecast(obs, p, horizon) * bench.sd + bench.mu
    return score_windows(pred, bench, which, chosen, horizon), pred


def _forecaster(kind, cfg, seed, steering, bench: Benchmark, n_nodes: int) -> Forecaster:
    return Forecaster(kind, cfg, seed, steering, n_nodes=n_nodes, param_range=bench.param_range).fit(
        bench.u_train, bench.p_train, bench.starts)


@validate_params({"kind": Choice(MODELS), "cfg": _CONFIG, "bench": _BENCH,
                  "seeds": Seeds(), "val_horizon": Integer(1), "steering": _STEERING, "n_nodes": Integer(1)})
def validation_scores(kind: str, cfg: dict, bench: Benchmark, seeds, val_horizon: int, steering=None,
                      n_nodes: int = 100) -> np.ndarray:
    """Validation scores (VPT / ``val_horizon``) of every window of every trained context, over all ``seeds``."""
    out = []
    for seed in seeds:
        res, _ = _evaluate(_forecaster(kind, cfg, seed, steering, bench, n_nodes), bench, "val_window",
                          bench.trained, val_horizon)
        for r, ds in zip(res, [t for t, k in zip(bench.tests, bench.trained) if k]):
            out.append(np.asarray(r["vpt"]) / (val_horizon * bench.dt * _lyapunov_scale(ds)))
    return np.concatenate(out)


@validate_params({"model": Choice(MODELS), "train": _DATASET, "tests": _TESTS, "seeds": Seeds(),
                  "n_configs": Integer(1), "search_seed": Seed(), "val_horizon": Integer(1), "n_nodes": Integer(1)})
def run(model: str, train: xr.Dataset, tests, *, seeds, n_configs: int, search_seed: int = 0,
        val_horizon: int = 200, n_nodes: int = 100) -> xr.Dataset:
    """Tune ``model`` on the trained contexts, then score every variant, seed, context and window.

    ``train``: the training series file, ``tests``: one context file per
    context (``rhythmic_systems_run.ipynb``). Returns the run's Dataset: per
    (variant, seed, context, ic) every score of
    :data:`astrocore.analysis.forecasts.SCORES`; per variant and context the
    forecast of the first seed and window (``prediction``) and the truth; the
    hyperparameter sets and their validation scores, the variants' scores, how
    often the authors' steering criterion was met; attrs ``selected_variant``
    and ``selected_config``.
    """
    bench = benchmark(train, tests)
    tests, H = bench.tests, bench.horizon
    configs = hyperparameter_sets(n_configs, search_seed)
    config_windows = [validation_scores(model, cfg, bench, seeds, val_horizon, n_nodes=n_nodes) for cfg in configs]
    config_scores = np.array([w.mean() for w in config_windows])
    best = tuning.one_standard_error(config_windows)
    variants = {"tuned": (configs[best], None)}
    if model == "rhythmic_sharing":
        variants = {"authors": (dict(configs[0], readout_bias=False), "authors"), "tuned": (configs[best], None),
                    "tuned_sweep": (configs[best], "sweep")}
    variant_windows = {name: config_windows[best] if name == "tuned"
                       else validation_scores(model, cfg, bench, seeds, val_horizon, steer, n_nodes=n_nodes)
                       for name, (cfg, steer) in variants.items()}
    variant_scores = {name: float(w.mean()) for name, w in variant_windows.items()}
    selected = list(variants)[tuning.one_standard_error(list(variant_windows.values()))]

    every = np.ones(len(tests), dtype=bool)
    n_ic = tests[0].sizes["ic"]
    keys = forecasts.SCORES
    records = {k: np.full((len(variants), len(seeds), len(tests), n_ic), np.nan) for k in keys}
    examples = np.full((len(variants), len(tests), H, 3), np.nan)
    converged = np.full((len(variants), len(seeds)), np.nan)
    for v, (name, (cfg, steer)) in enumerate(variants.items()):
        for s, seed in enumerate(seeds):
            f = _forecaster(model, cfg, seed, steer, bench, n_nodes)
            res, pred = _evaluate(f, bench, "window", every, H)
            for c, r in enumerate(res):
                for k in keys:
                    records[k][v, s, c] = r[k]
            if s == 0:
                examples[v] = pred[:, ::n_ic].transpose(1, 0, 2)
            if "converged" in f.info:
                frozen = np.asarray(f.info.get("frozen_at", [])) >= 0
                converged[v, s] = float(frozen.mean())

    W, dt = bench.warmup_steps, bench.dt
    dims = ("variant", "seed", "context", "ic")
    ds = xr.Dataset(
        {k: (dims, records[k], {"long_name": LONG_NAMES[k], "units": "see vpt_units" if k == "vpt" else "1"})
         for k in keys},
        coords={"variant": list(variants), "seed": list(seeds),
                "context": ("context", bench.contexts, {"long_name": f"context parameter {tests[0].attrs['param_name']}",
                                                        "units": "1"}),
                "ic": np.arange(n_ic), "lead": ("lead", np.arange(1, H + 1) * dt, {"long_name": "lead time", "units": "1"}),
                "coord": ["x", "y", "z"], "config": np.arange(len(configs)), "hyper": list(HYPERPARAMETERS)})
    ds["prediction"] = (("variant", "context", "lead", "coord"), examples,
                        {"long_name": "closed-loop forecast (first seed, first initial condition)", "units": "1"})
    ds["truth"] = (("context", "lead", "coord"), np.stack([t.window.values[0, W:W + H] for t in tests]),
                   {"long_name": "true continuation (first initial condition)", "units": "1"})
    ds["trained"] = ("context", bench.trained, {"long_name": "context in the training series", "units": "1"})
    ds["lyapunov_exponent"] = ("context", [t.attrs["lyapunov_exponent"] for t in tests],
                               {"long_name": "largest Lyapunov exponent", "units": "1/time"})
    ds["vpt_units"] = ("context", [t.attrs["vpt_units"] for t in tests])
    ds["config_value"] = (("config", "hyper"), [[c[h] for h in ds.hyper.values] for c in configs],
                          {"long_name": "hyperparameter set", "units": "1"})
    ds["config_score"] = ("config", config_scores,
                          {"long_name": "validation VPT / horizon (trained contexts, every seed)", "units": "1"})
    ds["variant_score"] = ("variant", [variant_scores[k] for k in variants],
                           {"long_name": "validation VPT / horizon of the variant", "units": "1"})
    ds["steering_converged"] = (("variant", "seed"), converged,
                                {"long_name": "fraction of windows where the authors' steering criterion was met",
                                 "units": "1"})
    ds.attrs.update(system=train.attrs["system"], model=model, selected_variant=selected, selected_config=best,
                    n_nodes=n_nodes, dt=dt, warmup_steps=W, horizon=H, val_horizon=val_horizon, n_configs=n_configs,
                    search_seed=search_seed)
    return ds
