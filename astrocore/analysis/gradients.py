"""Gradient quality: how close an MGD estimate comes to the backprop gradient, and at what cost.

The experiments of the ``mgd_gradient``, ``smart_gradient`` and ``smart_scaling``
notebooks, one call each, and the tables and verdicts of their figures. One
batch of digits and the network's initial parameters (a fixed problem); each
estimate is :func:`astrocore.mgd.estimate_gradient` (scaled to estimate the
gradient itself) and its quality the cosine to the backprop gradient ``g``:

- :func:`multiplexing_run`: independent estimates after ``tau_theta``
  perturbations, ``tau_theta`` a multiple of each mode's cycle
  (:meth:`astrocore.mgd.Perturbations.cycle`: N for time and code, the
  Hadamard order for Walsh, 2N + 2 for frequency);
- :func:`running_cosines`: the running estimate over a growing number K of
  perturbations, built from independent blocks, ``g_K = (K' g_K' + (K - K')
  g_{K-K'}) / K``, so a curve costs its largest K (:func:`smart_run`,
  :func:`scaling_run`);
- :func:`crossing`: where a curve first reaches a target, interpolated
  log-linearly in its x (K, or cost evaluations).

For Rademacher codes the expected cosine is about ``(1 + (N-1)/K)^(-1/2)``
(:func:`astrocore.metrics.cosine_theory`; ALGORITHMS.md section 2).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from .. import metrics, mgd
from ..nets import MLP
from ..validation import (
    NO_VALIDATION,
    Array,
    Choice,
    InstanceOf,
    Integer,
    InvalidParameterError,
    Real,
    Seed,
    validate_params,
)
from ._constraints import RUNS, TABLE

DATA = InstanceOf(object, example=lambda: None)
SIZES = InstanceOf(list, tuple, example=lambda: [4, 3, 2])
COUNTS = InstanceOf(list, tuple, np.ndarray, example=lambda: [1, 4])
POSITIVE = Real(0, closed="neither")
SCALING_DIRECTIONS = {"code": "code", "node": "node", "node_batch": mgd.Node(per_sample=False)}
"""The directions of the scaling experiment: weight perturbation, node perturbation with per-sample costs,
and node perturbation that sees only the batch cost (``per_sample=False``)."""


def _problem(data, sizes, batch, seed):
    """A digits MLP (tanh, cross-entropy) at its initial parameters, the first ``batch`` training samples
    and their backprop gradient."""
    model = MLP(sizes, activation="tanh", loss="cross_entropy", seed=seed)
    theta = model.init_params()
    X, Y = data.x_train[:batch], data.y_train[:batch]
    return model, theta, X, Y, model.gradient(theta, X, Y)


@validate_params({"model": InstanceOf(MLP, example=lambda: MLP([2, 2, 1])), "theta": Array(1), "X": Array(2),
                  "Y": Array(2), "direction": NO_VALIDATION, "counts": COUNTS, "draws": Integer(1),
                  "amplitude": POSITIVE, "seed": Seed(), "target": NO_VALIDATION})
def running_cosines(model, theta, X, Y, direction, counts, draws: int, amplitude: float, seed: int,
                    target: float | None = None) -> np.ndarray:
    """Cosine to the backprop gradient of the running estimate after each of ``counts`` (increasing)
    perturbations, for ``draws`` independent draws: an array (len(counts), draws).

    Block ``i`` of draw ``d`` uses seed ``seed * 10**6 + d * 1000 + i``. With ``target``, the counts
    stop one step after the mean cosine over draws first reaches it (fewer rows)."""
    g = model.gradient(theta, X, Y)
    totals, done, rows = [0.0] * draws, 0, []
    for i, k in enumerate(int(k) for k in counts):
        row = []
        for d in range(draws):
            est = mgd.estimate_gradient(model, theta, X, Y, direction=direction, n_perturbations=k - done,
                                        amplitude=amplitude, seed=seed * 10**6 + d * 1000 + i)
            totals[d] = totals[d] + (k - done) * est
            row.append(float(metrics.cosine(totals[d] / k, g)))
        done = k
        rows.append(row)
        if target is not None and len(rows) >= 2 and np.mean(rows[-2]) >= target:
            break
    return np.asarray(rows)


@validate_params({"values": Array(1), "x": Array(1), "target": Real()})
def crossing(values, x, target: float) -> float:
    """The ``x`` at which ``values`` (one per ``x``, increasing x) first reach ``target``, interpolated
    log-linearly in x between the last point below and the first at or above; the first x if it starts
    there; NaN if it never does."""
    above = np.nonzero(values >= target)[0]
    if not len(above):
        return np.nan
    i = above[0]
    if i == 0:
        return float(x[0])
    x0, x1, y0, y1 = np.log(x[i - 1]), np.log(x[i]), values[i - 1], values[i]
    return float(np.exp(x0 + (target - y0) * (x1 - x0) / (y1 - y0)))


def _count_coord(name, values, long_name):
    return (name, np.asarray(values), {"long_name": long_name, "units": "1"})


# -- multiplexing modes ---------------------------------------------------------------------------------
@validate_params({"data": DATA, "mode": Choice(mgd.MULTIPLEXING), "sizes": SIZES, "batch": Integer(1),
                  "factors": COUNTS, "draws": Integer(1), "amplitude": POSITIVE, "seed": Seed()})
def multiplexing_run(data, mode: str, sizes, batch: int, factors, draws: int, amplitude: float,
                     seed: int) -> xr.Dataset:
    """``grad_cosine`` (mode, tau_theta, draw) of independent estimates after ``tau_theta = factor x
    cycle`` perturbations of multiplexing ``mode`` (draw ``d`` uses seed ``seed * 1000 + d``)."""
    model, theta, X, Y, g = _problem(data, sizes, batch, seed)
    cycle = mgd.PERTURBATIONS[mode].cycle(model.n_params)
    taus = np.unique(np.maximum(1, np.round(np.asarray(factors) * cycle).astype(int)))
    cos = np.array([[float(metrics.cosine(mgd.estimate_gradient(
        model, theta, X, Y, direction=mode, n_perturbations=int(k), amplitude=amplitude, seed=seed * 1000 + d), g))
        for d in range(draws)] for k in taus])
    return xr.Dataset(
        {"grad_cosine": (("mode", "tau_theta", "draw"), cos[None],
                         {"long_name": "cosine between the MGD estimate and the backprop gradient", "units": "1"})},
        coords={"mode": [mode], "tau_theta": _count_coord("tau_theta", taus, "perturbations per estimate"),
                "draw": np.arange(draws)},
        attrs={"n_params": model.n_params, "sizes": list(sizes), "batch": batch, "amplitude": amplitude})


def _same_network(runs) -> int:
    N = int(runs[0].attrs["n_params"])
    if any(int(r.attrs["n_params"]) != N for r in runs):
        raise InvalidParameterError(f"runs must all use the same network, got n_params "
                                    f"{[int(r.attrs['n_params']) for r in runs]}")
    return N


@validate_params({"runs": RUNS})
def multiplexing_table(runs) -> pd.DataFrame:
    """Per mode and tau_theta: mean and std over draws of the cosine, code mode's theory value and, for
    code mode, whether the mean lies within 10 % of it."""
    N = _same_network(runs)
    rows = []
    for run in runs:
        mode = str(run["mode"].values[0])
        c = run.grad_cosine.isel(mode=0)
        for tau, mean, std in zip(run.tau_theta.values, c.mean("draw").values, c.std("draw").values):
            theory = float(metrics.cosine_theory(N, tau))
            rows.append(dict(mode=mode, tau_theta=int(tau), tau_over_N=tau / N, cosine_mean=mean, cosine_std=std,
                             code_theory=theory,
                             within_10pct_of_theory=abs(mean - theory) <= 0.1 * theory if mode == "code" else None))
    return pd.DataFrame(rows)


@validate_params({"table": TABLE, "n_params": Integer(1)})
def multiplexing_verdict(table, n_params: int) -> str:
    """Code mode against its theory; the exact modes' cosine after whole cycles."""
    code = table[table["mode"] == "code"]
    lines = [(f"code mode within 10% of theory at {int(code.within_10pct_of_theory.sum())} of {len(code)} "
              "tau_theta values")]
    for mode in ("time", "walsh", "frequency"):
        cycle = mgd.PERTURBATIONS[mode].cycle(n_params)
        whole = table[(table["mode"] == mode) & (table.tau_theta % cycle == 0)]
        lines.append(f"{mode}: cosine after whole periods of {cycle} perturbations: min {whole.cosine_mean.min():.6f}")
    return "\n".join(lines)


# -- smart directions -------------------------------------------------------------------------------------
@validate_params({"data": DATA, "direction": Choice(("code", *mgd.DIRECTIONS)), "sizes": SIZES, "batch": Integer(1),
                  "perturbations": COUNTS, "mixes": COUNTS, "guide": Real(0, 1, closed="left"), "draws": Integer(1),
                  "amplitude": POSITIVE, "seed": Seed()})
def smart_run(data, direction: str, sizes, batch: int, perturbations, mixes, guide: float, draws: int,
              amplitude: float, seed: int) -> xr.Dataset:
    """``grad_cosine`` (direction, n_perturbations, draw) of the running estimate of ``direction``
    (:func:`running_cosines`), ``cost_evaluations`` (K + 1) and, for ``activity``, ``grad_cosine_mix``
    (mix, n_perturbations, draw) for each share ``mixes`` of Bernoulli perturbations.

    The astrocyte's error trace ``d`` is the next batch's summed error per unit, ``dC/db`` (what a
    noise-free running estimate would hold one window later), with bias ``guide``."""
    model, theta, X, Y, _ = _problem(data, sizes, batch, seed)
    ks = sorted(int(k) for k in perturbations)
    if direction == "astrocyte":
        previous = model.gradient(theta, data.x_train[batch:2 * batch], data.y_train[batch:2 * batch])
        trace = np.concatenate([previous[b] for _, b, _, _ in model.layer_slices()])
        chosen = mgd.Astrocyte(guide=guide, error_trace=trace)
    else:
        chosen = direction
    cos = running_cosines(model, theta, X, Y, chosen, ks, draws, amplitude, seed)
    coords = {"direction": [direction], "n_perturbations": _count_coord("n_perturbations", ks,
                                                                        "perturbations per estimate"),
              "draw": np.arange(draws)}
    variables = {"grad_cosine": (("direction", "n_perturbations", "draw"), cos[None],
                                 {"long_name": "cosine between the estimate and the backprop gradient", "units": "1"})}
    if direction == "activity":
        by_mix = np.stack([running_cosines(model, theta, X, Y, mgd.Activity(mix=float(m)), ks, draws, amplitude, seed)
                           for m in mixes])
        coords["mix"] = ("mix", np.asarray(mixes, dtype=float),
                         {"long_name": "share of Bernoulli perturbation power", "units": "1"})
        variables["grad_cosine_mix"] = (("mix", "n_perturbations", "draw"), by_mix,
                                        {"long_name": "cosine to the backprop gradient, activity direction by mix",
                                         "units": "1"})
    run = xr.Dataset(variables, coords=coords)
    run["cost_evaluations"] = ("n_perturbations", np.asarray(ks) + 1,
                               {"long_name": "forward passes on the batch (K perturbed + 1 clean)", "units": "1"})
    run.attrs.update(n_params=model.n_params, n_units=int(sum(sizes[1:])), sizes=list(sizes), batch=batch,
                     amplitude=amplitude)
    return run


def _smart_rows(direction, mix, run, cosine, N):
    return [dict(direction=direction, mix=mix, n_perturbations=int(k), cost_evaluations=int(e), cosine_mean=m,
                 cosine_std=s, code_theory=float(metrics.cosine_theory(N, k)))
            for k, e, m, s in zip(run.n_perturbations.values, run.cost_evaluations.values,
                                  cosine.mean("draw").values, cosine.std("draw").values)]


@validate_params({"runs": RUNS})
def smart_table(runs) -> pd.DataFrame:
    """Per direction (and, for activity, per mix) and K: cost evaluations, mean and std of the cosine over
    draws, code mode's theory value."""
    N = _same_network(runs)
    rows = []
    for run in runs:
        rows += _smart_rows(str(run.direction.values[0]), np.nan, run, run.grad_cosine.isel(direction=0), N)
        if "grad_cosine_mix" in run:
            for mix in run.mix.values:
                rows += _smart_rows("activity", float(mix), run, run.grad_cosine_mix.sel(mix=mix), N)
    return pd.DataFrame(rows)


@validate_params({"table": TABLE, "n_params": Integer(1), "target": Real(0, 1, closed="neither")})
def smart_verdict(table, n_params: int, target: float = 0.9) -> str:
    """Cost evaluations per direction to a mean cosine of ``target`` (:func:`crossing`), against code
    mode's and its theory."""
    main = table[table.mix.isna()]
    needed = {d: crossing(g.cosine_mean.values, g.cost_evaluations.values, target)
              for d, g in main.groupby("direction", sort=False)}
    theory_k = 1 / (1 / target**2 - 1) * (n_params - 1)
    lines = [f"code theory: cosine {target:g} after K = {theory_k:.0f} perturbations ({theory_k / n_params:.1f} N)"]
    for d, e in needed.items():
        if not np.isfinite(e):
            lines.append(f"{d:>9}: cosine {target:g} not reached (max mean cosine "
                         f"{main[main.direction == d].cosine_mean.max():.3f})")
            continue
        ratio = needed.get("code", np.nan) / e
        fewer = f" ({ratio:.0f}x fewer than code)" if np.isfinite(ratio) and d != "code" else ""
        lines.append(f"{d:>9}: cosine {target:g} after {e:.3g} evaluations{fewer}")
    return "\n".join(lines)


# -- scaling with width -------------------------------------------------------------------------------
@validate_params({"data": DATA, "width": Integer(1), "direction": Choice(tuple(SCALING_DIRECTIONS)),
                  "batch": Integer(1), "target_cosine": Real(0, 1, closed="neither"), "max_factor": POSITIVE,
                  "draws": Integer(1), "amplitude": POSITIVE, "seed": Seed()})
def scaling_run(data, width: int, direction: str, batch: int, target_cosine: float, max_factor: float, draws: int,
                amplitude: float, seed: int) -> xr.Dataset:
    """``grad_cosine`` (width, direction, n_perturbations, draw) of the running estimate of ``direction``
    (:data:`SCALING_DIRECTIONS`) for a [inputs, width, outputs] MLP, K = 1, 2, 4, ... up to ``max_factor``
    N, stopping one step after the mean cosine reaches ``target_cosine``; ``n_params`` and ``n_units``."""
    model, theta, X, Y, _ = _problem(data, [data.n_features, width, data.n_outputs], batch, seed)
    N = model.n_params
    ks = [int(k) for k in 2 ** np.arange(int(np.log2(max(1, max_factor * N))) + 1)]
    rows = running_cosines(model, theta, X, Y, SCALING_DIRECTIONS[direction], ks, draws, amplitude, seed,
                           target=target_cosine)
    run = xr.Dataset(
        {"grad_cosine": (("width", "direction", "n_perturbations", "draw"), rows[None, None],
                         {"long_name": "cosine between the running estimate and the backprop gradient",
                          "units": "1"})},
        coords={"width": [width], "direction": [direction], "draw": np.arange(draws),
                "n_perturbations": _count_coord("n_perturbations", ks[:len(rows)], "perturbations (iterations)")})
    run["n_params"] = ("width", [N], {"long_name": "parameters N", "units": "1"})
    run["n_units"] = ("width", [width + data.n_outputs], {"long_name": "non-input units M", "units": "1"})
    run.attrs.update(target_cosine=target_cosine, batch=batch, amplitude=amplitude)
    return run


@validate_params({"runs": RUNS})
def scaling_table(runs) -> pd.DataFrame:
    """Per width and direction: perturbations to the runs' target cosine (:func:`crossing` of the mean
    over draws), code mode's count over the direction's, and code mode's theory ``(N-1)/(1/c^2 - 1)``."""
    target = float(runs[0].attrs["target_cosine"])
    rows = []
    for run in runs:
        curve = run.grad_cosine.isel(width=0, direction=0).mean("draw").values
        rows.append(dict(width=int(run.width.item()), n_params=int(run.n_params.item()),
                         n_units=int(run.n_units.item()), direction=str(run.direction.item()),
                         iterations_to_target=crossing(curve, run.n_perturbations.values, target)))
    table = pd.DataFrame(rows).sort_values(["width", "direction"]).reset_index(drop=True)
    code = table[table.direction == "code"].set_index("width").iterations_to_target
    table["code_over_direction"] = [code.get(w, np.nan) / it for w, it in zip(table.width, table.iterations_to_target)]
    table["code_theory"] = [(N - 1) / (1 / target**2 - 1) for N in table.n_params]
    return table


@validate_params({"table": TABLE})
def scaling_verdict(table) -> str:
    """The advantage of node perturbation over code mode by width, and each direction's growth exponent
    of the perturbations needed with N (a straight-line fit in log-log)."""
    lines = []
    for direction in ("node", "node_batch"):
        group = table[table.direction == direction]
        if len(group):
            lines.append(f"{direction}: code needs {group.code_over_direction.min():.1f}x to "
                         f"{group.code_over_direction.max():.1f}x more perturbations than {direction} for widths "
                         f"{group.width.min()} to {group.width.max()}")
    slope = {d: np.polyfit(np.log(g.n_params), np.log(g.iterations_to_target), 1)[0]
             for d, g in table.groupby("direction") if g.iterations_to_target.notna().all() and len(g) > 1}
    lines.append(f"growth exponent of iterations with N: {({d: round(float(s), 2) for d, s in slope.items()})}")
    return "\n".join(lines)
