"""Forecast scores of the reservoir-adaptation runs as tables: one row per forecast, then mean and spread.

A run file of ``rhythmic_adaptation_run.ipynb`` holds, per variant, seed,
context and initial condition, the valid prediction time (``vpt``, in the
context's ``vpt_units``) and the climate distance of one closed-loop forecast.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from astrocore.validation import AnyOf, Bool, InstanceOf, InvalidParameterError, Optional, Real, validate_params

UNITS = {"lyapunov_times": "Lyapunov times", "time_units": "time units"}
PARAM = {"thomas": "b", "lorenz": "rho"}

#: What :func:`long_form` and :func:`horizon_fraction` read from each run file.
RUN_VARIABLES = ("vpt", "climate_distance", "vpt_units", "trained")
RUN_COORDS = ("variant", "context", "seed", "ic")
RUN_ATTRS = ("system", "model")

_RUNS = InstanceOf(list, tuple, example=list)
_FRAME = InstanceOf(pd.DataFrame, example=lambda: pd.DataFrame({"seed": [0], "vpt": [1.0]}))
_COLUMNS = AnyOf(InstanceOf(str, example=lambda: "seed"), InstanceOf(list, tuple, example=lambda: ["seed"]))


def _check_runs(runs, attrs=RUN_ATTRS, variables=RUN_VARIABLES, coords=RUN_COORDS) -> None:
    """Every run is a Dataset of a reservoir-adaptation run (an error names the run and what it lacks)."""
    if len(runs) == 0:
        raise InvalidParameterError("runs must hold at least one run Dataset, got none")
    for i, r in enumerate(runs):
        if not isinstance(r, xr.Dataset):
            raise InvalidParameterError(f"runs[{i}] must be an xarray Dataset, got {type(r).__name__}")
        missing = ([v for v in variables if v not in r.variables] + [c for c in coords if c not in r.coords]
                   + [f"attrs[{a!r}]" for a in attrs if a not in r.attrs])
        if missing:
            raise InvalidParameterError(f"runs[{i}] lacks {missing} of a rhythmic_adaptation_run file")


def _columns(name: str, value, frame: pd.DataFrame) -> list:
    """``value`` (one column name or a list of them) as a list, every column present in ``frame``."""
    cols = [value] if isinstance(value, str) else list(value)
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise InvalidParameterError(f"{name} names column(s) {missing} that forecasts lacks; it has "
                                    f"{list(frame.columns)}")
    return cols


@validate_params({"runs": _RUNS, "variant": Optional(InstanceOf(str, example=lambda: "tuned"))})
def long_form(runs, variant: str | None = None) -> pd.DataFrame:
    """One row per (system, model, variant, context, seed, initial condition) of each run in ``runs``.

    ``variant``: that variant of each run that has it (at least one run must); default: each
    run's ``selected_variant``.
    """
    _check_runs(runs, attrs=RUN_ATTRS + (() if variant is not None else ("selected_variant",)))
    if variant is not None and not any(variant in r.variant.values for r in runs):
        raise InvalidParameterError(f"variant {variant!r} is in none of the runs; they have "
                                    f"{sorted({str(v) for r in runs for v in r.variant.values})}")
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


@validate_params({"forecasts": _FRAME, "keys": _COLUMNS})
def summarize(forecasts: pd.DataFrame, keys) -> pd.DataFrame:
    """Per ``keys`` group (a column name or a list of them): seeds, forecasts (windows over all seeds), VPT and
    climate distance mean and standard deviation over all forecasts (ddof = 1), and the VPT units.

    The spread is over seeds and initial conditions together: a change of CPU
    changes each forecast's trajectory, not the seed's weights.
    """
    keys = _columns("keys", keys, forecasts)
    _columns("forecasts", ["seed", "vpt", "vpt_units", "climate_distance"], forecasts)
    if forecasts.empty:
        raise InvalidParameterError("forecasts is empty: nothing to summarise")
    g = forecasts.groupby(keys, sort=False)
    out = g.agg(seeds=("seed", "nunique"), forecasts=("vpt", "size"), vpt_mean=("vpt", "mean"),
                vpt_std=("vpt", "std"), vpt_units=("vpt_units", "first"),
                climate_distance_mean=("climate_distance", "mean"),
                climate_distance_std=("climate_distance", "std")).reset_index()
    return out.fillna({"vpt_std": 0.0, "climate_distance_std": 0.0})


@validate_params({"context": Real(), "trained": Bool()})
def context_label(context: float, trained: bool) -> str:
    """``0.18*`` for a trained context, ``0.22`` for an unseen one."""
    return f"{context:g}" + ("*" if trained else "")


@validate_params({"forecasts": _FRAME, "runs": _RUNS})
def horizon_fraction(forecasts: pd.DataFrame, runs) -> np.ndarray:
    """VPT as a fraction of the forecast horizon (in the same units), so contexts in different units average."""
    _columns("forecasts", ["system", "context", "vpt"], forecasts)
    _check_runs(runs, attrs=("system", "horizon", "dt"), variables=("vpt_units", "lyapunov_exponent"),
                coords=("context",))
    cap = {(r.attrs["system"], float(c)): r.attrs["horizon"] * r.attrs["dt"] * (
        float(r.lyapunov_exponent.sel(context=c)) if str(r.vpt_units.sel(context=c).item()) == "lyapunov_times"
        else 1.0) for r in runs for c in r.context.values}
    missing = sorted({(s, c) for s, c in zip(forecasts.system, forecasts.context) if (s, c) not in cap})
    if missing:
        raise InvalidParameterError(f"forecasts has (system, context) rows {missing[:5]} that none of the runs "
                                    "holds")
    return forecasts.vpt.to_numpy() / np.array([cap[s, c] for s, c in zip(forecasts.system, forecasts.context)])
