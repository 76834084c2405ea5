"""The energy estimate of one inference and one training step, per preset and method, and its summaries.

The numbers are :mod:`astrocore.hardware.energy`'s (operation counts times
per-operation energies, every constant a named assumption); this module lays
them out as the ``hardware_energy`` notebook shows them: one row per (preset,
method) with every component of a training step (:func:`energy_table`), the
ratios to the fp32 reference and the energy of a whole run
(:func:`run_summary`), and the assumptions as text (:func:`assumption_lines`).
"""

from __future__ import annotations

import itertools
import textwrap

import pandas as pd

from ..hardware import EnergyAssumptions, forward_energy, training_step_energy
from ..reporting import format_energy
from ..validation import InstanceOf, Integer, validate_params
from ._constraints import TABLE

NAMES = InstanceOf(list, tuple, example=lambda: ["ideal"])
COUNTS = InstanceOf(dict, example=lambda: {"mgd": 1, "backprop": 1})
SIZES = InstanceOf(list, tuple, example=lambda: [4, 3, 2])
ASSUMPTIONS = InstanceOf(EnergyAssumptions, example=EnergyAssumptions)
DEFAULT = EnergyAssumptions()
"""The constants of :class:`astrocore.hardware.EnergyAssumptions` as published (frozen)."""


@validate_params({"sizes": SIZES, "presets": NAMES, "methods": NAMES, "batches": COUNTS, "tau_theta": Integer(1),
                  "tau_x": Integer(1), "assumptions": ASSUMPTIONS})
def energy_table(sizes, presets, methods, batches: dict, tau_theta: int, tau_x: int,
                 assumptions: EnergyAssumptions = DEFAULT) -> pd.DataFrame:
    """One row per (preset, method): ``per_inference_pj`` (one sample's forward pass),
    ``per_training_step_pj`` (a minibatch of ``batches[method]``) and its components ``step_<part>``."""
    rows = []
    for hw in presets:
        inference = forward_energy(sizes, hw, assumptions)["total"]
        for m in methods:
            step = training_step_energy(sizes, hw, m, batch=batches[m], tau_theta=tau_theta, tau_x=tau_x,
                                        assumptions=assumptions)
            rows.append(dict(preset=hw, method=m, per_inference_pj=inference, per_training_step_pj=step["total"],
                             **{f"step_{k}": v for k, v in step.items() if k != "total"}))
    return pd.DataFrame(rows)


@validate_params({"energy": TABLE, "run_steps": COUNTS})
def run_summary(energy, run_steps: dict) -> pd.DataFrame:
    """Per (preset, method): how many times less than fp32 an inference and a step of the same method
    cost, the steps of a run (``run_steps[method]``) and the energy of that run (text)."""
    fp32 = energy.set_index(["preset", "method"]).loc["ideal"]
    summary = energy.assign(
        inference_vs_fp32=lambda d: fp32.per_inference_pj.iloc[0] / d.per_inference_pj,
        step_vs_fp32_same_method=lambda d: [fp32.loc[m, "per_training_step_pj"] / v
                                            for m, v in zip(d.method, d.per_training_step_pj)],
        run_steps=lambda d: d.method.map(run_steps),
        per_run=lambda d: [format_energy(v) for v in d.per_training_step_pj * d.method.map(run_steps)])
    return summary[["preset", "method", "inference_vs_fp32", "step_vs_fp32_same_method", "run_steps", "per_run"]]


@validate_params({"sizes": SIZES, "tau_x": Integer(1), "assumptions": ASSUMPTIONS})
def assumption_lines(sizes, tau_x: int, assumptions: EnergyAssumptions = DEFAULT,
                     width: int = 62) -> list[str]:
    """The estimate's model and every constant with its source, as lines for a figure's side panel."""
    n_params = sum((a + 1) * b for a, b in itertools.pairwise(sizes))
    lines = [f"Assumptions (an estimate, not a measurement); network {'-'.join(map(str, sizes))}, N = {n_params}",
             "per step: backprop B x (forward + delta + gradient) + N writes;",
             f"MGD B (1 + 1/tau_x) forwards + N local ops + N/tau_theta writes (tau_x = {tau_x})", ""]
    for name, value, unit, source in assumptions.rows():
        lines.append(f"{name} = {value:g} {unit}")
        lines += ["    " + s for s in textwrap.wrap(source, width)]
    return lines
