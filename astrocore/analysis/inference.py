"""Inferring a system's parameter from per-trajectory features: cross-validated, for unseen values."""

from __future__ import annotations

import numpy as np
import pandas as pd

from astrocore import backend, reporting
from astrocore.validation import Array, InvalidParameterError, validate_params
from ._constraints import RUNS

R2_FLOOR = -1.0
FEATURE_SETS = {"synchrony (R, <Phi>)": ["R_mean", "R_std", "phase_velocity"], "R only": ["R_mean"],
                "mean activity": ["activity_mean"], "input statistics": ["input_std", "input_norm"]}
"""The feature sets scored by :func:`scores_table` (features of :func:`astrocore.analysis.synchrony.inference_run`)."""
SHOWN_FEATURES = {"R_mean": "R", "phase_velocity": "phase_velocity", "activity_mean": "activity",
                  "input_std": "input_std"}
"""The features :func:`features_table` reports, with their column names."""


@validate_params({"features": Array(ndim=None), "values": Array(ndim=None), "alphas": Array(1)})
def parameter_scores(features, values, *, alphas=np.logspace(-3, 3, 13)) -> dict[str, float]:
    """How well ``features`` (``(samples, k)``, one row per parameter value) predict ``values``.

    ``cv_r2``: R^2 of a standardised ridge regression (penalty chosen by RidgeCV
    inside each fold) with leave-one-value-out cross-validation, so every
    prediction is for a value the model has not seen; clipped below at
    ``R2_FLOOR`` = -1. ``abs_spearman``: the largest |Spearman rho| of one
    feature with the values.
    """
    from scipy.stats import spearmanr  # noqa: PLC0415
    from sklearn.linear_model import RidgeCV  # noqa: PLC0415
    from sklearn.model_selection import LeaveOneGroupOut, cross_val_predict  # noqa: PLC0415
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415
    from sklearn.preprocessing import StandardScaler  # noqa: PLC0415

    X = np.asarray(backend.to_host(features), dtype=float)
    y = np.asarray(backend.to_host(values), dtype=float).ravel()
    if X.ndim != 2:
        if X.size % y.size:
            raise InvalidParameterError(f"features need one row per value ({y.size}), got shape {X.shape}")
        X = X.reshape(y.size, -1)
    if X.shape[0] != y.size:
        raise InvalidParameterError(f"features need one row per value ({y.size}), got {X.shape[0]}")
    if np.unique(y).size < 3:
        raise InvalidParameterError(f"values need at least 3 distinct values to cross-validate, got "
                                    f"{np.unique(y).size}")
    if np.any(np.asarray(backend.to_host(alphas)) <= 0):
        raise InvalidParameterError(f"alphas must be > 0, got {np.asarray(alphas).tolist()}")
    model = make_pipeline(StandardScaler(), RidgeCV(alphas=alphas))
    pred = cross_val_predict(model, X, y, groups=y, cv=LeaveOneGroupOut())
    r2 = 1 - np.sum((pred - y) ** 2) / np.sum((y - y.mean()) ** 2)
    rho = [abs(spearmanr(X[:, j], y).statistic) for j in range(X.shape[1])]
    rho = [0.0 if not np.isfinite(r) else r for r in rho]
    return {"cv_r2": float(max(r2, R2_FLOOR)), "abs_spearman": float(max(rho))}


def _check_runs(runs) -> None:
    if len(runs) == 0:
        raise InvalidParameterError("runs must hold at least one rhythmic_inference_run Dataset, got none")
    for i, ds in enumerate(runs):
        missing = [v for v in ("feature_value", "value", "seed", "feature") if v not in getattr(ds, "variables", ())]
        if missing or "system" not in ds.attrs:
            raise InvalidParameterError(f"runs[{i}] lacks {missing or ['attrs[system]']} of a rhythmic_inference_run "
                                        "file")


@validate_params({"runs": RUNS})
def scores_table(runs) -> pd.DataFrame:
    """Per system and feature set of :data:`FEATURE_SETS`: :func:`parameter_scores` (``cv_r2``, ``abs_spearman``)
    of each seed, mean and std over seeds (:func:`astrocore.reporting.summarize`)."""
    _check_runs(runs)
    per_seed = pd.DataFrame([
        dict(system=ds.attrs["system"], feature_set=name, n_features=len(cols), seed=int(seed),
             samples=ds.sizes["value"],
             **parameter_scores(ds.feature_value.sel(seed=seed, feature=cols).values, ds.value.values))
        for ds in runs for name, cols in FEATURE_SETS.items() for seed in ds.seed.values])
    return reporting.summarize(per_seed, ["system", "feature_set", "n_features", "samples"], ["cv_r2", "abs_spearman"])


@validate_params({"runs": RUNS})
def features_table(runs) -> pd.DataFrame:
    """Per system and parameter value: each feature of :data:`SHOWN_FEATURES`, mean and std over seeds."""
    _check_runs(runs)
    per_value = pd.concat([ds.feature_value.sel(feature=list(SHOWN_FEATURES)).to_dataframe().feature_value
                           .unstack("feature").rename(columns=SHOWN_FEATURES).reset_index()
                           .assign(system=ds.attrs["system"]) for ds in runs])
    return reporting.summarize(per_value, ["system", "value"], list(SHOWN_FEATURES.values()))
