"""The climate of a long closed-loop forecast: attractor type, dominant period, and the climate distance.

A forecast that has lost its trajectory can still keep the attractor's
*climate*: its amplitude, its dominant period and its kind of motion. The
**climate distance** of the README and the reservoir tables is the mean of
three terms, each in [0, 1], between a forecast and the true continuation
(the second half of a closed-loop run, ``(time, batch, coord)``):

- amplitude error ``min(1, mean_i |s_hat_i - s_i| / s_i / mean_i(s_i / c_i))``
  (``s``: standard deviation over time of each coordinate, ``c``: the
  attractor's scale);
- dominant-period error ``min(1, |P_hat - P| / P)`` (peak of the power spectrum
  of ``x``), 1 where the forecast is a fixed point;
- attractor type (:func:`attractor_type`: fixed point, periodic, irregular)
  matched (0) or not (1).

It is 0 for the true climate and 1 when all three are wrong. The Wasserstein
distance of the marginal distributions is another metric,
:func:`astrocore.metrics.distribution_distance`.
"""

from __future__ import annotations

import numpy as np

from astrocore import backend
from astrocore.validation import POSITIVE, Array, InvalidParameterError, validate_params

FIXED_POINT_AMPLITUDE = 0.02
"""Below this mean relative amplitude (std over time / scale) a trajectory is a fixed point."""
PERIODIC_AUTOCORRELATION = 0.95
"""Above this autocorrelation of ``x`` at some lag (up to :data:`PERIODS` dominant periods): periodic."""
PERIODS = 4
TYPES = {0: "fixed point", 1: "periodic", 2: "irregular"}

_SERIES = Array((3,), finite=False)      # (time, batch, coord): a forecast may diverge


def _host(x) -> np.ndarray:
    return np.asarray(backend.to_host(x), dtype=float)


def _check_scale(scale: np.ndarray, u: np.ndarray) -> np.ndarray:
    if scale.shape not in ((), (u.shape[-1],)) or np.any(scale <= 0):
        raise InvalidParameterError(f"scale must be > 0, one value or one per coordinate ({u.shape[-1]}), got "
                                    f"{scale.tolist()}")
    return scale


def _dominant_period(x: np.ndarray, dt: float) -> np.ndarray:
    spec = np.abs(np.fft.rfft(x - x.mean(0), axis=0)) ** 2
    freq = np.fft.rfftfreq(x.shape[0], dt)
    return 1.0 / freq[1 + np.argmax(spec[1:], axis=0)]


def _attractor_type(u: np.ndarray, scale: np.ndarray, dt: float) -> np.ndarray:
    amp = (u.std(0) / scale).mean(-1)
    x = u[..., 0] - u[..., 0].mean(0)
    period = np.maximum(1, np.round(_dominant_period(u[..., 0], dt) / dt).astype(int))
    kinds = []
    for b in range(u.shape[1]):
        if amp[b] < FIXED_POINT_AMPLITUDE:
            kinds.append(0)
            continue
        lags = np.arange(1, min(PERIODS * period[b], u.shape[0] // 2))
        xb = x[:, b]
        ac = [np.dot(xb[:-k], xb[k:]) / np.sqrt(np.dot(xb[:-k], xb[:-k]) * np.dot(xb[k:], xb[k:]) + 1e-300)
              for k in lags]
        kinds.append(1 if len(ac) and max(ac) > PERIODIC_AUTOCORRELATION else 2)
    return np.array(kinds)


@validate_params({"x": Array(2, finite=False), "dt": POSITIVE})
def dominant_period(x, dt: float) -> np.ndarray:
    """Dominant period (time units) of each column of ``x (time, batch)`` sampled every ``dt``: the peak of the
    power spectrum of the mean-removed series (the zero frequency left out). Needs at least 3 samples."""
    x = _host(x)
    if x.shape[0] < 3:
        raise InvalidParameterError(f"x must have at least 3 time steps for a period, got shape {x.shape}")
    return _dominant_period(x, dt)


@validate_params({"u": _SERIES, "scale": Array(ndim=(0, 1)), "dt": POSITIVE})
def attractor_type(u, scale, dt: float) -> np.ndarray:
    """0 fixed point, 1 periodic, 2 irregular, per batch column of ``u (time, batch, coord)`` (see :data:`TYPES`).

    Fixed point: mean relative amplitude (std over time / ``scale``) below
    :data:`FIXED_POINT_AMPLITUDE`; periodic: the autocorrelation of ``x`` exceeds
    :data:`PERIODIC_AUTOCORRELATION` at some lag below :data:`PERIODS` dominant
    periods (and half the series); otherwise irregular.
    """
    u = _host(u)
    if u.shape[0] < 3:
        raise InvalidParameterError(f"u must have at least 3 time steps, got shape {u.shape}")
    return _attractor_type(u, _check_scale(_host(scale), u), dt)


def _climate_terms(prediction: np.ndarray, truth: np.ndarray, scale: np.ndarray, dt: float) -> dict:
    p2, t2 = prediction, truth
    amp = np.minimum(1, (np.abs(p2.std(0) - t2.std(0)) / scale).mean(-1) / (t2.std(0) / scale).mean(-1).clip(1e-12))
    kind_p, kind_t = _attractor_type(p2, scale, dt), _attractor_type(t2, scale, dt)
    per = np.where(kind_p == 0, 1.0, np.minimum(1, np.abs(_dominant_period(p2[..., 0], dt)
                                                          - _dominant_period(t2[..., 0], dt))
                                               / _dominant_period(t2[..., 0], dt)))
    climate = (amp + per + (kind_p != kind_t)) / 3
    return dict(amplitude_error=amp, period_error=per, type_pred=kind_p, type_true=kind_t, climate_distance=climate)


def _check_pair(prediction: np.ndarray, truth: np.ndarray, scale: np.ndarray) -> None:
    if prediction.shape != truth.shape:
        raise InvalidParameterError(f"prediction and truth must have one shape (time, batch, coord), got "
                                    f"{prediction.shape} and {truth.shape}")
    if truth.shape[0] < 3:
        raise InvalidParameterError(f"truth must have at least 3 time steps, got shape {truth.shape}")
    _check_scale(scale, truth)


@validate_params({"prediction": _SERIES, "truth": Array(3), "scale": Array(ndim=(0, 1)), "dt": POSITIVE})
def climate_terms(prediction, truth, scale, dt: float) -> dict[str, np.ndarray]:
    """The climate distance and its terms, one value per batch column of ``(time, batch, coord)`` arrays.

    Keys: ``amplitude_error``, ``period_error``, ``type_pred`` and ``type_true``
    (:func:`attractor_type` of the forecast and of the truth), ``climate_distance``
    (their mean, module docstring). ``scale``: the attractor's scale per coordinate.
    """
    prediction, truth, scale = _host(prediction), _host(truth), _host(scale)
    _check_pair(prediction, truth, scale)
    return _climate_terms(prediction, truth, scale, dt)


@validate_params({"prediction": _SERIES, "truth": Array(3), "scale": Array(ndim=(0, 1)), "dt": POSITIVE})
def climate_distance(prediction, truth, scale, dt: float) -> np.ndarray:
    """Climate distance in [0, 1] per batch column (module docstring): the mean of the amplitude, period and
    attractor-type terms of :func:`climate_terms`."""
    return climate_terms(prediction, truth, scale, dt)["climate_distance"]
