"""Learning curves of the MGD study: time to a target, the tables and verdicts of its figures.

What the MGD figure notebooks compute from the trajectories that
:func:`astrocore.mgd.train` and :func:`astrocore.training.train_backprop`
write (``test_accuracy``, ``train_accuracy``, ``cost``, ``cost_evaluations``,
``wall_seconds`` by ``seed`` and ``step``):

- :func:`first_reach`: per seed, where a curve first reaches a target;
- :func:`steps_for_budget`: the steps a budget of cost evaluations buys;
- :func:`parity_table`, :func:`sweep_table`, :func:`versus_table`,
  :func:`smart_table`: the tables of ``mgd_parity``, ``mgd_sweep``,
  ``mgd_vs_backprop`` and ``smart_perturbations`` (columns as the README and
  the tests name them), with the verdict lines printed under each figure
  (``*_verdict``) and :func:`describe`, a run's one-line summary.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..validation import (
    Array,
    InstanceOf,
    Integer,
    InvalidParameterError,
    Real,
    validate_params,
)
from ._constraints import RUNS, TABLE

RUN = InstanceOf(xr.Dataset, example=lambda: xr.Dataset({"test_accuracy": (("seed", "step"), [[0.5]])},
                                                        coords={"seed": [0], "step": [0]}))
SMART_ORDER = ("backprop", "code", "node", "activity", "astrocyte")
"""The row order of the smart-perturbation table: the reference, weight perturbation, the smart directions."""


@validate_params({"curve": Array(2), "target": Real(), "at": Array(1)})
def first_reach(curve, target: float, at) -> np.ndarray:
    """Per row of ``curve`` (seed, checkpoint): the value of ``at`` (one per checkpoint: the step,
    the cost evaluations, the wall time) at the first checkpoint where ``curve >= target``; ``inf``
    where it never does."""
    if at.shape[0] != curve.shape[1]:
        raise InvalidParameterError(f"at must have one value per checkpoint ({curve.shape[1]}), got {at.shape[0]}")
    return _first_reach(curve, target, at)


def _first_reach(curve, target, at):
    reached = np.asarray(curve) >= target
    first = reached.argmax(axis=1)
    return np.where(reached.any(axis=1), np.asarray(at)[first], np.inf)


def _median(values) -> float:
    """Median over seeds, NaN when it is not finite (fewer than half the seeds got there)."""
    value = float(np.median(values))
    return value if np.isfinite(value) else np.nan


@validate_params({"evaluations": Integer(1), "tau_theta": Integer(1)})
def steps_for_budget(evaluations: int, tau_theta: int) -> int:
    """MGD steps in whole windows of ``tau_theta`` steps for a budget of ``evaluations`` cost evaluations
    (a window costs ``tau_theta + 1``: its perturbed passes and one clean pass); at least one window."""
    return max(1, evaluations // (tau_theta + 1)) * tau_theta


@validate_params({"run": RUN})
def describe(run) -> str:
    """One line: the final test accuracy over seeds (mean, std, each seed) and the cost evaluations spent."""
    final = run.test_accuracy.isel(step=-1)
    return (f"final test accuracy {float(final.mean()):.4f} +- {float(final.std()):.4f} over {final.size} seed(s) "
            f"{np.round(final.values.ravel(), 4).tolist()} after {int(run.cost_evaluations[-1])} cost evaluations")


# -- parity ---------------------------------------------------------------------------------------------
@validate_params({"runs": RUN})
def parity_table(runs) -> pd.DataFrame:
    """Steps to solve n-bit parity (every pattern right: training accuracy 1) by ``bits`` and ``mode``:
    ``seeds``, ``solved_fraction`` and the median and quartiles of the steps over the seeds that solved it.

    ``runs``: the parity runs combined along ``bits`` and ``mode`` (dims bits, mode, seed, step)."""
    solved = runs.train_accuracy == 1.0
    first_step = xr.where(solved.any("step"), runs.step[solved.argmax("step")], np.nan)
    return (first_step.to_dataframe(name="steps").reset_index()
            .groupby(["bits", "mode"]).steps
            .agg(seeds="size", solved_fraction=lambda s: s.notna().mean(),
                 steps_to_solve_median="median",
                 steps_to_solve_q25=lambda s: s.quantile(0.25), steps_to_solve_q75=lambda s: s.quantile(0.75))
            .reset_index())


@validate_params({"table": TABLE})
def parity_verdict(table) -> str:
    """Per mode: the n for which every seed solved parity, and the median steps by n."""
    return "\n".join(
        f"{mode:>9}: every seed solved parity for n in {rows[rows.solved_fraction == 1.0].bits.tolist()}; "
        f"median steps {rows.steps_to_solve_median.round(0).tolist()} for n = {rows.bits.tolist()}"
        for mode, rows in table.groupby("mode"))


# -- the tau_theta x eta sweep ------------------------------------------------------------------------
@validate_params({"runs": RUNS, "target_accuracy": Real(0, 1)})
def sweep_table(runs, target_accuracy: float) -> pd.DataFrame:
    """One row per (tau_theta, eta) run: final test accuracy (mean, std over seeds), the median steps and
    cost evaluations to ``target_accuracy`` (NaN unless every seed got there) and the fraction that did."""
    rows = []
    for run in runs:
        acc = run.test_accuracy
        steps = _first_reach(acc.values, target_accuracy, run.step.values)
        evals = _first_reach(acc.values, target_accuracy, run.cost_evaluations.values)
        hit = np.isfinite(steps)
        rows.append(dict(tau_theta=int(run.tau_theta.item()), eta=float(run.eta.item()), seeds=run.sizes["seed"],
                         final_test_accuracy_mean=float(acc.isel(step=-1).mean()),
                         final_test_accuracy_std=float(acc.isel(step=-1).std()),
                         steps_to_target_median=float(np.median(steps)) if hit.all() else np.nan,
                         evals_to_target_median=float(np.median(evals)) if hit.all() else np.nan,
                         reached_target_fraction=float(hit.mean())))
    return pd.DataFrame(rows).sort_values(["tau_theta", "eta"]).reset_index(drop=True)


@validate_params({"table": TABLE, "target_accuracy": Real(0, 1)})
def sweep_verdict(table, target_accuracy: float) -> str:
    """The best final accuracy and the fastest route to the target, with their (tau_theta, eta)."""
    best = table.loc[table.final_test_accuracy_mean.idxmax()]
    lines = [f"best final accuracy {best.final_test_accuracy_mean:.4f} at tau_theta={best.tau_theta}, eta={best.eta}"]
    if table.evals_to_target_median.notna().any():
        fastest = table.loc[table.evals_to_target_median.idxmin()]
        lines.append(f"fastest to {target_accuracy:.0%}: {fastest.evals_to_target_median:.3g} evaluations at "
                     f"tau_theta={fastest.tau_theta}, eta={fastest.eta}")
    return "\n".join(lines)


# -- MGD against backprop -----------------------------------------------------------------------------
@validate_params({"runs": RUNS})
def versus_table(runs) -> pd.DataFrame:
    """One row per (dataset, method) run: parameters, seeds, final test accuracy (mean, std over seeds,
    ddof 0), cost evaluations and wall seconds at the end."""
    rows = []
    for run in runs:
        final = run.test_accuracy.isel(step=-1)
        rows.append(dict(dataset=str(run.dataset.item()), method=str(run.method.item()),
                         n_params=int(run.attrs["model_n_params"]), seeds=run.sizes["seed"],
                         test_accuracy_mean=float(final.mean()), test_accuracy_std=float(final.std()),
                         cost_evaluations=int(run.cost_evaluations[-1]), wall_seconds=float(run.wall_seconds[-1])))
    return pd.DataFrame(rows)


@validate_params({"table": TABLE})
def versus_verdict(table) -> str:
    """Per dataset: backprop's and MGD's final accuracy and whether the gap is within one point."""
    lines = []
    for name, group in table.groupby("dataset"):
        acc = group.set_index("method").test_accuracy_mean
        gap = 100 * (acc["backprop"] - acc["mgd"])
        lines.append(f"{name}: backprop {100 * acc['backprop']:.2f}%, MGD {100 * acc['mgd']:.2f}% -> gap {gap:+.2f} "
                     f"points ({'within' if gap <= 1.0 else 'NOT within'} 1 point)")
    return "\n".join(lines)


# -- smart directions ------------------------------------------------------------------------------------
@validate_params({"runs": RUNS, "target_accuracy": Real(0, 1), "bp_margin": Real(0, 1)})
def smart_table(runs, target_accuracy: float, bp_margin: float) -> tuple[pd.DataFrame, dict]:
    """Time to a target test accuracy per (dataset, direction) run, and the targets.

    Targets: ``target_accuracy``, and backprop's final test accuracy (mean over seeds) minus
    ``bp_margin`` per dataset (``targets[dataset]``). A seed reaches a target at its first checkpoint at
    or above it; the columns give the median over seeds of the cost evaluations (to either target) and
    of the wall seconds (to backprop's) at that checkpoint, NaN when fewer than half the seeds got there.
    Rows: datasets in order, directions in :data:`SMART_ORDER`.
    """
    names = list(dict.fromkeys(str(r.dataset.item()) for r in runs))
    rows, targets = [], {}
    for name in names:
        group = {str(r.direction.item()): r for r in runs if str(r.dataset.item()) == name}
        if "backprop" not in group:
            raise InvalidParameterError(f"runs must hold a backprop run for dataset {name!r} (its target), got "
                                        f"directions {sorted(group)}")
        targets[name] = float(group["backprop"].test_accuracy.isel(step=-1).mean()) - bp_margin
        for direction, run in group.items():
            acc, evals = run.test_accuracy.values, run.cost_evaluations.values
            reach_bp = _first_reach(acc, targets[name], evals)
            wall_bp = _first_reach(acc, targets[name], run.wall_seconds.values)
            rows.append(dict(dataset=name, direction=direction, seeds=run.sizes["seed"],
                             evals_to_90_median=_median(_first_reach(acc, target_accuracy, evals)),
                             evals_to_bp_minus_1_median=_median(reach_bp),
                             final_test_accuracy_mean=float(run.test_accuracy.isel(step=-1).mean()),
                             wall_seconds_median=_median(wall_bp)))
    order = {d: i for i, d in enumerate(SMART_ORDER)}
    table = pd.DataFrame(rows).sort_values(["dataset", "direction"],
                                           key=lambda c: c.map(order) if c.name == "direction" else c)
    return table.reset_index(drop=True), targets


@validate_params({"table": TABLE, "targets": InstanceOf(dict, example=dict), "runs": RUNS})
def smart_verdict(table, targets: dict, runs) -> str:
    """Per dataset: the best smart direction, its speed-up over code mode to backprop's target (a lower
    bound, from code mode's budget of cost evaluations, when it never got there) and the accuracy gap."""
    budgets = {str(r.dataset.item()): int(r.cost_evaluations[-1]) for r in runs if str(r.direction.item()) == "code"}
    lines = []
    for name, target in targets.items():
        t = table[table.dataset == name].set_index("direction")
        smart = t.loc[[d for d in SMART_ORDER[2:] if d in t.index]]
        reached = smart.evals_to_bp_minus_1_median.dropna()
        best = reached.idxmin() if len(reached) else smart.final_test_accuracy_mean.idxmax()
        bp_acc = t.loc["backprop", "final_test_accuracy_mean"]
        gap = 100 * (bp_acc - t.loc[best, "final_test_accuracy_mean"])
        lines.append(f"{name}: target backprop - 1 point = {100 * target:.2f}%; best smart direction: {best}")
        if best in reached.index and "code" in t.index:
            code = t.loc["code", "evals_to_bp_minus_1_median"]
            speed = (f"{code / reached[best]:.1f}x" if np.isfinite(code)
                     else f"> {budgets[name] / reached[best]:.1f}x (code mode never got there)")
            lines.append(f"  evaluations to the target: {best} {reached[best]:.3g}, code {code:.3g} -> speed-up {speed}")
        else:
            lines.append("  no smart direction reached the target in the median over seeds")
        lines.append(f"  final test accuracy: backprop {100 * bp_acc:.2f}%, {best} "
                     f"{100 * t.loc[best, 'final_test_accuracy_mean']:.2f}% -> gap {gap:+.2f} points "
                     f"({'within' if gap <= 1.0 + 1e-9 else 'NOT within'} 1 point); "
                     f"code {100 * t.loc['code', 'final_test_accuracy_mean']:.2f}%")
    return "\n".join(lines)
