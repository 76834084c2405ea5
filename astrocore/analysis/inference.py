"""Inferring a system's parameter from per-trajectory features: cross-validated, for unseen values."""

from __future__ import annotations

import numpy as np

from astrocore import backend
from astrocore.validation import Array, InvalidParameterError, validate_params

R2_FLOOR = -1.0


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
