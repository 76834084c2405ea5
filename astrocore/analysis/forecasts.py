"""Forecast scores of the reservoir-adaptation runs, and their tables: one row per forecast, then mean and spread.

:func:`score_forecasts` scores closed-loop forecasts against the truth: the
valid prediction time (:func:`astrocore.metrics.valid_prediction_time`) and,
on the second half of the horizon, the climate distance and its terms
(:mod:`astrocore.analysis.climate`) and the distribution distance
(:func:`astrocore.metrics.distribution_distance`). A run file of
``rhythmic_adaptation_run.ipynb`` holds these per variant, seed, context and
initial condition (``vpt`` in the context's ``vpt_units``); the functions
below turn them into the tables of ``figures/tables/reservoir_adaptation*``
and ``rhythmic_multiregime``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from astrocore import metrics
from astrocore.analysis import climate
from astrocore.validation import (POSITIVE, AnyOf, Array, Bool, InstanceOf, InvalidParameterError, Optional, Real,
                                  validate_params)
from ._constraints import RUNS

UNITS = {"lyapunov_times": "Lyapunov times", "time_units": "time units"}
PARAM = {"thomas": "b", "lorenz": "rho"}
SYSTEMS = tuple(PARAM)
"""The systems in the order the figures show them."""
MODELS = ("rhythmic_sharing", "esn", "parameter_aware_esn", "reservoirpy_esn")
"""The models of the adaptation experiment, in the order the figures show them."""
RHYTHMIC = "rhythmic_sharing"
VARIANTS = ("authors", "tuned", "tuned_sweep")
"""Rhythmic Sharing's variants (the other models have one, ``tuned``)."""
SCORES = ("vpt", "amplitude_error", "period_error", "type_pred", "type_true", "climate_distance",
          "distribution_distance")
"""What :func:`score_forecasts` returns, one value per forecast."""

#: What :func:`long_form` and :func:`horizon_fraction` read from each run file.
RUN_VARIABLES = ("vpt", "climate_distance", "vpt_units", "trained")
RUN_COORDS = ("variant", "context", "seed", "ic")
RUN_ATTRS = ("system", "model")

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


@validate_params({"runs": RUNS, "variant": Optional(InstanceOf(str, example=lambda: "tuned"))})
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


@validate_params({"forecasts": _FRAME, "runs": RUNS})
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




@validate_params({"prediction": Array(3, finite=False), "truth": Array(3), "dt": POSITIVE,
                  "lyapunov_exponent": POSITIVE, "scale": Array(1)})
def score_forecasts(prediction, truth, *, dt: float, lyapunov_exponent: float = 1.0, scale) -> dict:
    """Scores of closed-loop forecasts ``prediction`` against ``truth``, both ``(horizon, batch, coord)``.

    Returns one array per name of :data:`SCORES`, one value per batch column:
    ``vpt`` (valid prediction time, threshold 0.4 of ``scale``, times
    ``lyapunov_exponent``: in Lyapunov times for a chaotic context, in time units
    with the default 1); on the second half of the horizon (the long-run
    climate), the climate distance and its terms (:func:`climate.climate_terms`)
    and the Wasserstein ``distribution_distance`` of the marginals.
    """
    if prediction.shape != truth.shape or truth.shape[0] < 6:
        raise InvalidParameterError(f"prediction and truth must have one shape (horizon >= 6, batch, coord), got "
                                    f"{tuple(prediction.shape)} and {tuple(truth.shape)}")
    if scale.shape[0] != truth.shape[-1]:
        raise InvalidParameterError(f"scale must hold one value per coordinate ({truth.shape[-1]}), got "
                                    f"{scale.shape[0]}")
    vpt = metrics.valid_prediction_time(prediction, truth, dt, lyapunov_exponent, scale=scale)
    half = slice(prediction.shape[0] // 2, None)
    p2, t2 = prediction[half], truth[half]
    terms = climate.climate_terms(p2, t2, scale, dt)
    return dict(vpt=vpt, **terms, distribution_distance=metrics.distribution_distance(p2, t2, scale=scale))


@validate_params({"runs": RUNS})
def present(runs) -> tuple[list, list]:
    """The models (:data:`MODELS` order) and systems (:data:`SYSTEMS` order) that ``runs`` hold."""
    _check_runs(runs, variables=(), coords=())
    return ([m for m in MODELS if m in {r.attrs["model"] for r in runs}],
            [s for s in SYSTEMS if s in {r.attrs["system"] for r in runs}])


@validate_params({"model": InstanceOf(str, example=lambda: "esn"), "variant": InstanceOf(str, example=lambda: "tuned")})
def entry_name(model: str, variant: str) -> str:
    """``model``, or ``rhythmic_sharing: <variant>`` for Rhythmic Sharing (whose variants are all shown)."""
    return model if model != RHYTHMIC else f"{RHYTHMIC}: {variant}"


@validate_params({"runs": RUNS, "selected_first": Bool()})
def every_variant(runs, *, selected_first: bool = True) -> pd.DataFrame:
    """:func:`long_form` of every variant of every run, with an ``entry`` column (:func:`entry_name`).

    Row order (which the tables keep): ``selected_first``: each run's selected
    variant, in run order, then the other variants; otherwise the models other
    than Rhythmic Sharing first, then every variant of each Rhythmic Sharing run.
    """
    _check_runs(runs, attrs=RUN_ATTRS + ("selected_variant",))
    selected = long_form(runs)
    if selected_first:
        parts = [selected, *(long_form([r], variant=str(v)) for r in runs for v in r.variant.values
                             if str(v) != r.attrs["selected_variant"])]
    else:
        parts = [selected[selected.model != RHYTHMIC], *(long_form([r], variant=str(v)) for r in runs
                                                         if r.attrs["model"] == RHYTHMIC for v in r.variant.values)]
    out = pd.concat(parts, ignore_index=True)
    out["entry"] = [entry_name(m, v) for m, v in zip(out.model, out.variant)]
    return out


@validate_params({"table": _FRAME, "runs": RUNS})
def selected_flags(table: pd.DataFrame, runs) -> list[bool]:
    """Per row of ``table`` (columns system, model, variant): whether validation selected that variant."""
    _columns("table", ["system", "model", "variant"], table)
    _check_runs(runs, attrs=RUN_ATTRS + ("selected_variant",), variables=(), coords=())
    selected = {(r.attrs["system"], r.attrs["model"]): str(r.attrs["selected_variant"]) for r in runs}
    missing = sorted({(s, m) for s, m in zip(table.system, table.model)} - set(selected))
    if missing:
        raise InvalidParameterError(f"table has (system, model) rows {missing[:5]} that none of the runs holds")
    return [v == selected[s, m] for s, m, v in zip(table.system, table.model, table.variant)]


@validate_params({"entries": _FRAME, "runs": RUNS})
def variants_table(entries: pd.DataFrame, runs) -> pd.DataFrame:
    """Per (system, model, variant) and trained or unseen contexts: VPT as a fraction of the horizon
    (:func:`horizon_fraction`) and climate distance, mean and std over forecasts, with the variant's
    hyperparameters (the authors' set for ``authors``, the selected set otherwise), validation score and how
    often the authors' steering criterion was met."""
    _columns("entries", ["system", "model", "variant", "trained", "seed", "vpt", "climate_distance"], entries)
    _check_runs(runs, attrs=RUN_ATTRS + ("selected_variant", "selected_config"),
                variables=("config_value", "variant_score", "steering_converged"), coords=("variant", "hyper"))
    scored = entries.assign(vpt_fraction=horizon_fraction(entries, runs),
                            contexts=np.where(entries.trained, "trained", "unseen"))
    table = (scored.groupby(["system", "model", "variant", "contexts"], sort=False)
             .agg(seeds=("seed", "nunique"), forecasts=("vpt", "size"), vpt_fraction_mean=("vpt_fraction", "mean"),
                  vpt_fraction_std=("vpt_fraction", "std"), climate_distance_mean=("climate_distance", "mean"),
                  climate_distance_std=("climate_distance", "std"))
             .fillna({"vpt_fraction_std": 0.0, "climate_distance_std": 0.0}).reset_index())
    about = []
    for r in runs:
        for v in r.variant.values:
            sel_cfg = r.config_value.isel(config=0 if str(v) == "authors" else int(r.attrs["selected_config"]))
            about.append(dict(system=r.attrs["system"], model=r.attrs["model"], variant=str(v),
                              selected=str(v) == r.attrs["selected_variant"],
                              validation_score=float(r.variant_score.sel(variant=v)),
                              steering_criterion_met=float(r.steering_converged.sel(variant=v).mean()),
                              **{h: float(sel_cfg.sel(hyper=h)) for h in r.hyper.values}))
    return table.merge(pd.DataFrame(about), on=["system", "model", "variant"])


@validate_params({"entries": _FRAME, "runs": RUNS})
def trained_and_unseen(entries: pd.DataFrame, runs) -> pd.DataFrame:
    """Per (system, trained, entry): mean VPT as a fraction of the horizon and mean climate distance."""
    _columns("entries", ["system", "trained", "entry", "climate_distance"], entries)
    scored = entries.assign(vpt_fraction=horizon_fraction(entries, runs))
    return scored.groupby(["system", "trained", "entry"]).agg(
        vpt_fraction=("vpt_fraction", "mean"), climate_distance=("climate_distance", "mean")).reset_index()


@validate_params({"means": _FRAME})
def unseen_headline(means: pd.DataFrame) -> str:
    """One line per system of :func:`trained_and_unseen`'s ``means``: the entry with the longest forecasts on
    unseen contexts, the best Rhythmic Sharing variant, and the entry with the closest climate."""
    _columns("means", ["system", "trained", "entry", "vpt_fraction", "climate_distance"], means)
    lines = []
    for system in [s for s in SYSTEMS if s in set(means.system)]:
        every = means[(means.system == system) & ~means.trained].set_index("entry")
        if every.empty:
            continue
        rs = every[every.index.str.startswith(RHYTHMIC)].vpt_fraction
        lines.append(f"{system}, unseen contexts: longest forecasts {every.vpt_fraction.idxmax()} "
                     f"({every.vpt_fraction.max():.3f} of the horizon)"
                     + (f", best rhythmic_sharing variant {rs.max():.3f}" if len(rs) else "")
                     + f"; closest climate: {every.climate_distance.idxmin()} ({every.climate_distance.min():.2f})")
    return "\n".join(lines)


@validate_params({"table": _FRAME, "model": InstanceOf(str, example=lambda: RHYTHMIC),
                  "baseline": InstanceOf(str, example=lambda: "esn"), "z": POSITIVE})
def best_variant_against(table: pd.DataFrame, model: str = RHYTHMIC, baseline: str = "esn", z: float = 2.0):
    """``model``'s best variant (longest mean VPT) per (system, context) of a :func:`summarize` table, against
    ``baseline``.

    Returns ``(best, base, longer, shorter)``: the best variant's rows and the
    baseline's, both indexed by (system, context) with a ``vpt_sem`` column (the
    standard error over forecasts), and the number of regimes where the best
    variant's mean VPT is longer (shorter) than the baseline's by more than ``z``
    standard errors of the difference.
    """
    _columns("table", ["system", "context", "model", "variant", "forecasts", "vpt_mean", "vpt_std"], table)
    sem = table.assign(vpt_sem=table.vpt_std / np.sqrt(table.forecasts))
    best = (sem[sem.model == model].sort_values("vpt_mean", kind="stable")
            .groupby(["system", "context"], sort=False).last())
    rivals = sem[sem.model == baseline].set_index(["system", "context"])
    missing = [k for k in best.index if k not in rivals.index]
    if best.empty or missing:
        raise InvalidParameterError(f"table must hold rows of model {model!r} and of baseline {baseline!r} for the "
                                    f"same (system, context); {baseline!r} lacks {missing[:5]}"
                                    if missing else f"table has no rows of model {model!r}")
    base = rivals.loc[best.index]
    margin = z * np.sqrt(best.vpt_sem ** 2 + base.vpt_sem ** 2)
    return (best, base, int((best.vpt_mean - base.vpt_mean > margin).sum()),
            int((base.vpt_mean - best.vpt_mean > margin).sum()))
