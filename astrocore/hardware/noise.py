"""The one noise implementation of the hardware model, and conductance drift.

Every random deviation the effects apply (programming, read, output, cost,
update, modulation and phase noise) is :func:`_noisy` of fresh standard
normals ``e`` drawn by the caller from its own stream:

- ``proportional``: ``w (1 + sigma e)``;
- ``additive``: ``w + (sigma scale) e``, ``scale`` the range sigma is a
  fraction of (the weight range, as aihwkit quotes PCM programming noise in %
  of g_max; the ADC range; 1 for noise in the signal's own units).

:func:`_noisy_into` is the additive form written in place (a reservoir's
phase noise, every step). Drift: ``w(t) = w0 ((t + t0) / t0)^-nu``
(aihwkit's PCM model).
"""

from __future__ import annotations

from .. import backend
from ..validation import validate_params
from .quantizer import NONNEGATIVE, POSITIVE

NOISE_TYPES = ("proportional", "additive")


def _noisy(w, e, sigma, kind="additive", scale=1.0):
    """``w (1 + sigma e)`` (proportional) or ``w + (sigma scale) e`` (additive); unchecked."""
    if kind == "proportional":
        return w * (1.0 + sigma * e)
    return w + (sigma * scale) * e


def _noisy_into(w, e, sigma, out, scale=1.0):
    """Additive :func:`_noisy` into ``out`` (``e`` is scaled in place and used up)."""
    xp = backend.xp()
    xp.multiply(e, sigma * scale, out=e)
    return xp.add(w, e, out=out)


@validate_params({"t": NONNEGATIVE, "nu": NONNEGATIVE, "t0": POSITIVE})
def drift_factor(t: float, nu: float, t0: float) -> float:
    """``((t + t0) / t0)^-nu``: conductance drift after ``t`` seconds (aihwkit PCM)."""
    return _drift_factor(t, nu, t0)


def _drift_factor(t, nu, t0) -> float:
    return float(((t + t0) / t0) ** -nu)
