"""Forecast scores of the reservoir-adaptation runs as tables: one row per forecast, then mean and spread.

A run file of ``rhythmic_adaptation_run.ipynb`` holds, per variant, seed,
context and initial condition, the valid prediction time (``vpt``, in the
context's ``vpt_units``) and the climate distance of one closed-loop forecast.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

UNITS = {"lyapunov_times": "Lyapunov times", "time_units": "time units"}
PARAM = {"thomas": "b", "lorenz": "rho"}


def long_form(runs, variant: str | None = None) -> pd.DataFrame:
    """One row per (system, model, variant, context, seed, initial condition) of each run in ``runs``.

    ``variant``: that variant of each run that has it; default: each run's ``selected_variant``.
    """
    rows = []
    for r in runs:
        v = variant or str(r.attrs["selected_variant"])
        if v not in r.variant.values:
            continue
        sel = r.sel(variant=v)
        vpt, climate = sel.vpt.transpose("context", "seed", "ic").values, sel.climate_distance.transpose(
            "context", "seed", "ic").values
        for c, context in enumerate(r.context.values):
            units = str(r.vpt_units.sel(context=context).item())
            trained = bool(r.trained.sel(context=context))
            for s, seed in enumerate(r.seed.values):
                for i, ic in enumerate(r.ic.values):
                    rows.append(dict(system=r.attrs["system"], model=r.attrs["model"], variant=v,
                                     context=float(context), trained=trained, vpt_units=units, seed=int(seed),
                                     ic=int(ic), vpt=float(vpt[c, s, i]), climate_distance=float(climate[c, s, i])))
    return pd.DataFrame(rows)


def summarize(forecasts: pd.DataFrame, keys) -> pd.DataFrame:
    """Per ``keys`` group: seeds, forecasts (windows over all seeds), VPT and climate distance mean and
    standard deviation over all forecasts (ddof = 1), and the VPT units.

    The spread is over seeds and initial conditions together: a change of CPU
    changes each forecast's trajectory, not the seed's weights.
    """
    keys = list(keys)
    g = forecasts.groupby(keys, sort=False)
    out = g.agg(seeds=("seed", "nunique"), forecasts=("vpt", "size"), vpt_mean=("vpt", "mean"),
                vpt_std=("vpt", "std"), vpt_units=("vpt_units", "first"),
                climate_distance_mean=("climate_distance", "mean"),
                climate_distance_std=("climate_distance", "std")).reset_index()
    return out.fillna({"vpt_std": 0.0, "climate_distance_std": 0.0})


def context_label(context: float, trained: bool) -> str:
    """``0.18*`` for a trained context, ``0.22`` for an unseen one."""
    return f"{context:g}" + ("*" if trained else "")


def horizon_fraction(forecasts: pd.DataFrame, runs) -> np.ndarray:
    """VPT as a fraction of the forecast horizon (in the same units), so contexts in different units average."""
    cap = {(r.attrs["system"], float(c)): r.attrs["horizon"] * r.attrs["dt"] * (
        float(r.lyapunov_exponent.sel(context=c)) if str(r.vpt_units.sel(context=c).item()) == "lyapunov_times"
        else 1.0) for r in runs for c in r.context.values}
    return forecasts.vpt.to_numpy() / np.array([cap[s, c] for s, c in zip(forecasts.system, forecasts.context)])
