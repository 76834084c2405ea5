"""Training in the loop against training in software and deploying: the hardware-MGD experiment.

A *point* is one simulated device: a dict with ``kind`` (``ideal``, ``grid``,
``effect`` or ``preset``), its labels (``weight_bits`` and ``noise`` for the
grid, ``effect`` and ``level`` for one effect at a time, ``preset`` and
optionally ``amplitude``, MGD's perturbation norm on that device) and
``hardware``, the :func:`astrocore.hardware.model_from` spec of the device.

- :func:`train_in_loop`: MGD trained on the device (every forward pass, cost
  read-out and update through it), one run;
- :func:`deploy_backprop`: backprop trained ideally, then written once to every
  device (round to nearest) and evaluated on it;
- :func:`tables`, :func:`accuracy_grids`, :func:`verdict`: the figure's tables
  (grid, one effect at a time, presets) and what they show.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from .. import mgd, training
from ..hardware import deploy, model_from
from ..nets import MLP
from ..validation import NO_VALIDATION, POSITIVE, InstanceOf, Integer, Text, validate_params
from ._constraints import RUNS, TABLE

POINT = InstanceOf(dict, example=lambda: {"kind": "ideal", "hardware": {}})
POINTS = InstanceOf(list, tuple, example=lambda: [{"kind": "ideal", "hardware": {}}])
SIZES = InstanceOf(list, tuple, example=lambda: [64, 32, 10])
SEEDS = InstanceOf(list, tuple, example=lambda: [0])
LABELS = ("kind", "weight_bits", "noise", "effect", "level")


def _device(point: dict, stochastic_rounding: bool | None = None):
    """The :class:`~astrocore.hardware.HardwareModel` of ``point`` (named after its preset or kind);
    ``stochastic_rounding`` overrides the point's."""
    spec = dict(point["hardware"])
    if stochastic_rounding is not None:
        spec["stochastic_rounding"] = stochastic_rounding
    return model_from(spec, name=point.get("preset", point["kind"]))


@validate_params({"data": NO_VALIDATION, "point": POINT, "sizes": SIZES, "activation": Text("tanh"),
                  "seeds": SEEDS, "mode": Text("code"), "eta": POSITIVE, "amplitude": POSITIVE,
                  "tau_theta": Integer(1), "batch_size": Integer(1), "steps": Integer(1), "optimizer": Text("adam"),
                  "eval_points": Integer(1)})
def train_in_loop(data, point: dict, *, sizes, activation: str, seeds, mode: str, eta: float, amplitude: float,
                  tau_theta: int, batch_size: int, steps: int, optimizer: str, eval_points: int) -> xr.Dataset:
    """MGD (``mode`` multiplexing, one minibatch per window of ``tau_theta`` steps) trained on the
    device of ``point``, its own ``amplitude`` if it names one; the trajectory with the point's labels
    as attrs ``point_<label>`` and ``training = "mgd_in_loop"``."""
    model = MLP(sizes, activation=activation, loss="cross_entropy")
    run = mgd.train(model, data, direction=mode, eta=eta, amplitude=point.get("amplitude", amplitude),
                    tau_theta=tau_theta, tau_x=tau_theta, batch_size=batch_size, steps=steps, optimizer=optimizer,
                    seed=list(seeds), eval_every=max(tau_theta, steps // eval_points), hardware=_device(point))
    return run.assign_attrs(training="mgd_in_loop", **{f"point_{k}": v for k, v in point.items() if k != "hardware"})


@validate_params({"data": NO_VALIDATION, "points": POINTS, "sizes": SIZES, "activation": Text("tanh"),
                  "seeds": SEEDS, "bp_eta": POSITIVE, "bp_batch_size": Integer(1), "bp_steps": Integer(1),
                  "optimizer": Text("adam")})
def deploy_backprop(data, points, *, sizes, activation: str, seeds, bp_eta: float, bp_batch_size: int,
                    bp_steps: int, optimizer: str) -> xr.Dataset:
    """Backprop trained in float (one run per seed), its final parameters written once to every point's
    device with deterministic rounding and the test set classified through it: ``test_accuracy``
    (point, seed) with the points' labels as coordinates, and ``ideal_test_accuracy`` (seed)."""
    model = MLP(sizes, activation=activation, loss="cross_entropy")
    trained = training.train_backprop(model, data, eta=bp_eta, steps=bp_steps, batch_size=bp_batch_size,
                                      optimizer=optimizer, seed=list(seeds))
    theta = trained.theta.values
    accuracy = np.empty((len(points), len(seeds)))
    for index, point in enumerate(points):
        network, stored = deploy(model, theta, _device(point, stochastic_rounding=False), seed=list(seeds))
        accuracy[index] = training.evaluate(network, stored, data.x_test, data.y_test)[1]
    labels = {key: ("point", [p.get(key, "" if key in ("kind", "effect") else np.nan) for p in points])
              for key in LABELS}
    labels["preset"] = ("point", [p.get("preset", "") for p in points])
    return xr.Dataset({"test_accuracy": (("point", "seed"), accuracy,
                                         {"long_name": "test accuracy on the device", "units": "1"}),
                       "ideal_test_accuracy": ("seed", trained.test_accuracy.isel(step=-1).values,
                                               {"long_name": "test accuracy of the float network", "units": "1"})},
                      coords={"point": np.arange(len(points)), "seed": list(seeds), **labels},
                      attrs={"training": "backprop_deployed", "bp_steps": bp_steps})


def _summary(acc) -> dict:
    acc = np.asarray(acc, dtype=float)
    return dict(seeds=acc.size, test_accuracy_mean=acc.mean(),
                test_accuracy_std=acc.std(ddof=1) if acc.size > 1 else 0.0)


@validate_params({"in_loop": RUNS, "deployed": InstanceOf(xr.Dataset, example=xr.Dataset)})
def tables(in_loop, deployed) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """``(grid, effects, presets, ideal)``: final test accuracy (mean, sample std over seeds) of MGD in
    the loop (``in_loop``: the runs of :func:`train_in_loop`) and of deployed backprop (``deployed``:
    :func:`deploy_backprop`) on the grid of weight bits and noise, one effect at a time, and the presets;
    ``ideal[training]`` on the ideal device (backprop: the float network)."""
    grid, effects, presets, ideal = [], [], [], {}
    for run in in_loop:
        final, kind = run.test_accuracy.isel(step=-1).values, run.attrs["point_kind"]
        if kind == "grid":
            grid.append(dict(training="mgd_in_loop", weight_bits=int(run.attrs["point_weight_bits"]),
                             noise=float(run.attrs["point_noise"]), **_summary(final)))
        elif kind == "effect":
            effects.append(dict(effect=run.attrs["point_effect"], level=float(run.attrs["point_level"]),
                                training="mgd_in_loop", **_summary(final)))
        elif kind == "preset":
            presets.append(dict(preset=run.attrs["point_preset"], training="mgd_in_loop",
                                amplitude=float(run.attrs["amplitude"]), **_summary(final)))
        else:
            ideal["mgd_in_loop"] = _summary(final)
    ideal["backprop_deployed"] = _summary(deployed.ideal_test_accuracy.values)
    for index in range(deployed.sizes["point"]):
        point = deployed.isel(point=index)
        acc, kind = point.test_accuracy.values, str(point.kind.item())
        if kind == "grid":
            grid.append(dict(training="backprop_deployed", weight_bits=int(point.weight_bits), noise=float(point.noise),
                             **_summary(acc)))
        elif kind == "effect":
            effects.append(dict(effect=str(point.effect.item()), level=float(point.level), training="backprop_deployed",
                                **_summary(acc)))
        elif kind == "preset":
            presets.append(dict(preset=str(point.preset.item()), training="backprop_deployed", amplitude=np.nan,
                                **_summary(acc)))
    grid = pd.DataFrame(grid).sort_values(["training", "weight_bits", "noise"], ignore_index=True)
    effects = pd.DataFrame(effects).sort_values(["effect", "training", "level"], ignore_index=True)
    presets = pd.DataFrame(presets, columns=["preset", "training", "amplitude", "seeds", "test_accuracy_mean",
                                             "test_accuracy_std"]).sort_values(["preset", "training", "amplitude"],
                                                                               ignore_index=True)
    return grid, effects, presets, ideal


@validate_params({"table": TABLE})
def accuracy_grids(table) -> tuple[dict, pd.DataFrame]:
    """Mean test accuracy in % by weight bits (rows) and noise (columns) for each training, and the
    difference in points, in the loop minus deployed (positive: in-loop training wins)."""
    pivots = {t: g.pivot(index="weight_bits", columns="noise", values="test_accuracy_mean") * 100
              for t, g in table.groupby("training")}
    return pivots, pivots["mgd_in_loop"] - pivots["backprop_deployed"]


@validate_params({"table": TABLE, "effects": TABLE, "presets": TABLE, "ideal": InstanceOf(dict, example=dict)})
def verdict(table, effects, presets, ideal: dict) -> str:
    """Where MGD in the loop beats deployed backprop by more than a point, the worst level of each
    effect, each preset, and each method's loss against its own ideal device."""
    pivots, diff = accuracy_grids(table)
    wins = diff.stack()
    lines = [(f"ideal device: MGD in the loop {100 * ideal['mgd_in_loop']['test_accuracy_mean']:.2f}%, "
              f"backprop {100 * ideal['backprop_deployed']['test_accuracy_mean']:.2f}%"),
             (f"MGD in the loop beats deployed backprop by > 1 point at {int((wins > 1).sum())} of {wins.size} "
              f"(bits, noise) points, loses by > 1 point at {int((wins < -1).sum())}")]
    for (bits, noise), value in wins.items():
        in_loop, deployed = pivots["mgd_in_loop"].loc[bits, noise], pivots["backprop_deployed"].loc[bits, noise]
        lines.append(f"  {bits:>2} bits, noise {noise:.2f}: in loop {in_loop:5.1f}%  deployed {deployed:5.1f}%  "
                     f"({value:+.1f})")
    for (name, training_), group in effects.groupby(["effect", "training"]):
        worst = group.loc[group.test_accuracy_mean.idxmin()]
        lines.append(f"{name:>22} {training_:>17}: {100 * worst.test_accuracy_mean:5.1f}% at level {worst.level:g} "
                     f"(ideal {100 * ideal[training_]['test_accuracy_mean']:.1f}%)")
    for row in presets.itertuples():
        lines.append(f"preset {row.preset:>8} {row.training:>17} (amplitude {row.amplitude:g}): "
                     f"{100 * row.test_accuracy_mean:5.1f}%")
    for training_ in ("mgd_in_loop", "backprop_deployed"):
        drop = ideal[training_]["test_accuracy_mean"] * 100 - pivots[training_]
        lines.append(f"{training_}: loss against its own ideal device, {drop.min().min():+.1f} to "
                     f"{drop.max().max():+.1f} points")
    return "\n".join(lines)
