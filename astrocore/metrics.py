"""Metrics shared by the experiments.

Classification accuracy and the cosine between gradient estimates; the
reservoir metrics (valid prediction time, NRMSE, distribution distance) live here
too. The climate distance of the reservoir tables (amplitude, period and attractor
type) is :func:`astrocore.analysis.climate.climate_distance`, their regime accuracy
:func:`astrocore.analysis.regimes.regime_accuracy`.
"""

from __future__ import annotations

import numpy as np

from . import backend
from .validation import POSITIVE, Array, Choice, Integer, InvalidParameterError, Optional, validate_params

FORECAST = Array((2, 3), finite=False)       # a forecast may diverge: NaN and inf are its business
TRUTH = Array((2, 3))
SCALE = Optional(Array())   # > 0 everywhere, broadcast against one time step: checked with the data


@validate_params({"outputs": Array(), "targets": Array()})
def accuracy(outputs, targets) -> float:
    """Fraction of samples classified correctly.

    One output column: the prediction is ``output > 0.5`` against the 0/1
    target. Several columns: ``argmax`` of outputs against ``argmax`` of the
    (one-hot) targets. ``outputs`` and ``targets`` are finite, non-empty and of
    one shape ``(..., n_samples, n_columns)``.
    """
    xp = backend.xp()
    if outputs.ndim < 2 or outputs.shape != targets.shape:
        raise InvalidParameterError(f"outputs and targets must have one shape (..., n_samples, n_columns), got "
                                    f"outputs {tuple(outputs.shape)} and targets {tuple(targets.shape)}")
    if outputs.shape[-1] == 1:
        correct = (outputs[..., 0] > 0.5) == (targets[..., 0] > 0.5)
    else:
        correct = xp.argmax(outputs, axis=-1) == xp.argmax(targets, axis=-1)
    return float(xp.mean(correct))


@validate_params({"a": Array(), "b": Array(), "axis": Integer()})
def cosine(a, b, axis: int = -1):
    """Cosine similarity ``a.b / (|a| |b|)`` along ``axis`` (0 where a norm is 0).

    ``a`` and ``b`` finite, non-empty and broadcastable; ``axis`` one of their axes."""
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise InvalidParameterError(f"a and b must have broadcastable shapes, got {tuple(a.shape)} and "
                                    f"{tuple(b.shape)}") from None
    if not -len(shape) <= axis < len(shape):
        raise InvalidParameterError(f"axis must be an axis of arrays of shape {shape}, got {axis}")
    return _cosine(a, b, axis)


def _cosine(a, b, axis=-1):
    """:func:`cosine` without validation (the trainers' checkpoints)."""
    xp = backend.xp()
    a, b = xp.asarray(a), xp.asarray(b)
    num = xp.sum(a * b, axis=axis)
    den = xp.sqrt(xp.sum(a * a, axis=axis) * xp.sum(b * b, axis=axis))
    return xp.where(den > 0, num / xp.where(den > 0, den, 1), 0.0)


@validate_params({"n_params": Integer(1), "n_perturbations": Array()})
def cosine_theory(n_params: int, n_perturbations) -> np.ndarray:
    """Expected cosine of an averaged Rademacher (code-mode) gradient estimate.

    ``(1 + (N - 1) / tau)^(-1/2)`` for ``N`` parameters and ``tau``
    perturbations (McCaughan et al. 2023, ALGORITHMS.md section 2): ``tau`` a
    number or an array of numbers, each finite and > 0.
    """
    tau = np.asarray(backend.to_host(n_perturbations), dtype=float)
    if not np.all(tau > 0):
        bad = np.argwhere(~(tau > 0))[0]
        raise InvalidParameterError(f"n_perturbations must be > 0, got {tau[tuple(bad)]} at index "
                                    f"{tuple(int(i) for i in bad)}")
    return (1.0 + (n_params - 1) / tau) ** -0.5


# --------------------------------------------------------------------------
# Reservoir forecasts: valid prediction time, NRMSE, distribution distance.
# Arrays are (time, dim) or (time, batch, dim); a batch gives one value per
# column. ``scale`` is the per-coordinate standard deviation used to normalise
# errors; default: that of ``truth`` over time (pass the attractor's std for
# short forecast windows).
# --------------------------------------------------------------------------


def _forecast_pair(prediction, truth):
    pred = np.asarray(backend.to_host(prediction), dtype=float)
    true = np.asarray(backend.to_host(truth), dtype=float)
    if pred.shape != true.shape or pred.ndim not in (2, 3):
        raise InvalidParameterError("prediction and truth must have the same shape (time, dim) or "
                         f"(time, batch, dim), got {pred.shape} and {true.shape}")
    return pred, true


def _scale(true, scale):
    if scale is None:
        scale = true.std(axis=0)
    scale = np.asarray(backend.to_host(scale), dtype=float)
    if np.any(scale <= 0):
        raise InvalidParameterError(f"scale must be > 0 in every coordinate, got {scale}")
    try:
        np.broadcast_shapes(scale.shape, true.shape[1:])
    except ValueError:
        raise InvalidParameterError(f"scale of shape {scale.shape} does not broadcast against one time step of "
                                    f"shape {true.shape[1:]} (one value, or one per coordinate)") from None
    return scale


@validate_params({"prediction": FORECAST, "truth": TRUTH, "scale": SCALE})
def normalized_error(prediction, truth, scale=None) -> np.ndarray:
    """``e(t) = sqrt(mean_i ((y_hat_i - y_i) / s_i)^2)``, shape ``(time, [batch])``."""
    return _normalized_error(prediction, truth, scale)


def _normalized_error(prediction, truth, scale=None):
    pred, true = _forecast_pair(prediction, truth)
    return np.sqrt(np.mean(((pred - true) / _scale(true, scale)) ** 2, axis=-1))


@validate_params({"prediction": FORECAST, "truth": TRUTH, "dt": POSITIVE, "lyapunov_exponent": POSITIVE,
                  "threshold": POSITIVE, "scale": SCALE})
def valid_prediction_time(prediction, truth, dt: float, lyapunov_exponent: float = 1.0,
                          threshold: float = 0.4, scale=None):
    """Valid prediction time in Lyapunov times (``lyapunov_exponent=1``: in model time).

    ``prediction[k]`` is the forecast ``k + 1`` steps after the last observed
    sample. With ``k*`` the first index where :func:`normalized_error` exceeds
    ``threshold`` (0.4 by default), ``VPT = k* dt lambda``: the time predicted
    within the threshold. A forecast that never exceeds it gets its full length
    (a lower bound). A float, or one value per batch column.
    """
    err = _normalized_error(prediction, truth, scale)
    above = err > threshold
    first = np.where(above.any(axis=0), np.argmax(above, axis=0), err.shape[0])
    vpt = first * dt * lyapunov_exponent
    return float(vpt) if np.ndim(vpt) == 0 else vpt


@validate_params({"prediction": FORECAST, "truth": TRUTH, "scale": SCALE})
def nrmse(prediction, truth, scale=None):
    """``sqrt(mean_{t,i} ((y_hat_i - y_i) / s_i)^2)``: a float, or one per batch column."""
    err = _normalized_error(prediction, truth, scale)
    out = np.sqrt(np.mean(err ** 2, axis=0))
    return float(out) if np.ndim(out) == 0 else out


@validate_params({"prediction": FORECAST, "truth": TRUTH, "method": Choice(("wasserstein", "spectrum")),
                  "scale": SCALE})
def distribution_distance(prediction, truth, method: str = "wasserstein", scale=None):
    """Distance between the long-term distributions of two trajectories: of each coordinate's values, or of
    the power over frequencies.

    ``"wasserstein"``: mean over coordinates of the 1-D Wasserstein distance
    between the marginal distributions, divided by the coordinate's scale
    (0 for identical distributions). ``"spectrum"``: total-variation distance
    ``(1/2) sum_f |P_hat(f) - P(f)|`` between the power spectra (periodogram
    of each mean-removed coordinate, summed over coordinates, normalised to
    unit sum); in [0, 1]. The two series may differ in length for
    ``"wasserstein"``; ``"spectrum"`` needs equal lengths. A float, or one value
    per batch column.
    """
    return _distribution_distance(prediction, truth, method, scale)


def _distribution_distance(prediction, truth, method, scale):
    from scipy.stats import wasserstein_distance  # noqa: PLC0415

    pred = np.asarray(backend.to_host(prediction), dtype=float)
    true = np.asarray(backend.to_host(truth), dtype=float)
    if pred.ndim != true.ndim or pred.shape[1:] != true.shape[1:] or pred.ndim not in (2, 3):
        raise InvalidParameterError("prediction and truth must be (time, dim) or (time, batch, dim) with "
                         f"matching trailing shapes, got {pred.shape} and {true.shape}")
    if pred.ndim == 3:
        return np.array([_distribution_distance(pred[:, b], true[:, b], method, scale)
                         for b in range(pred.shape[1])])
    if method == "wasserstein":
        s = _scale(true, scale)
        return float(np.mean([wasserstein_distance(pred[:, i], true[:, i]) / s[i]
                              for i in range(true.shape[1])]))
    if method == "spectrum":
        if pred.shape != true.shape:
            raise InvalidParameterError("method='spectrum' needs prediction and truth of equal length")

        def spectrum(x):
            p = (np.abs(np.fft.rfft(x - x.mean(axis=0), axis=0)) ** 2).sum(axis=1)
            return p / p.sum() if p.sum() > 0 else p

        return float(0.5 * np.abs(spectrum(pred) - spectrum(true)).sum())
    raise InvalidParameterError(f"method must be one of ('wasserstein', 'spectrum'), got {method!r}")
