"""The one uniform quantizer of the hardware model and its rounding rule.

Every level set of the library goes through :func:`_quantize` (weights,
converters, the cost ADC, MGD's perturbations, reservoir node states and
readout weights) and every rounding through :func:`_round` (the same rule
rounds update steps, :func:`_snap`):

- levels: ``2^bits`` values ``low + k D``, ``D = (high - low) / (2^bits - 1)``,
  after clipping to ``[low, high]``; ``low`` and ``high`` may be arrays (one
  range per readout);
- rounding: to the nearest level, or stochastic, ``floor(y + U)`` with ``U``
  uniform on [0, 1) (unbiased inside the range; aihwkit's stochastic
  rounding). The caller draws ``U`` from its own stream, so every effect keeps
  its draws where they were.

:func:`quantize_between` and :func:`quantize` are the validated entry points;
the underscored kernels are called by the effect parts with checked values
(``out=`` rounds in place, a reservoir's node states every step).
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..validation import (NO_VALIDATION, POSITIVE, Array, Bool, Integer, InvalidParameterError, Optional, Real,
                          Seed, validate_params)


class Bits(Integer):
    """A converter's or a cell's resolution: an int in [1, 32] (never a bool or a float)."""

    def __init__(self):
        super().__init__(1, 32)

    def describe(self) -> str:
        return "an integer number of bits in [1, 32]"


BITS = Bits()
NONNEGATIVE = Real(0)                    # a finite real >= 0
FRACTION = Real(0, 1)


def _round(y, u=None, top=None):
    """``y`` (float) rounded: to the nearest integer (in place), or ``floor(y + u)`` capped at
    ``top`` (a new array in the promoted dtype of ``y`` and ``u``)."""
    xp = backend.xp()
    if u is None:
        return xp.rint(y, out=y)
    y = xp.floor(y + u)
    if top is not None:
        xp.minimum(y, top, out=y)
    return y


def _quantize(x, bits, low, high, u=None, out=None):
    """``x`` on the ``2^bits`` levels over ``[low, high]`` (module docstring), unchecked.

    ``u``: uniforms of ``x``'s shape for stochastic rounding (None: nearest).
    ``out``: where to write (``x`` itself rounds in place). Floating input keeps its dtype.
    """
    xp = backend.xp()
    top = (1 << bits) - 1
    step = (high - low) / top
    y = xp.clip(xp.asarray(x), low, high, out=out)
    y -= low
    y /= step
    y = _round(y, u, top)
    y *= step
    y += low
    if out is not None and y is not out:
        out[...] = y
        return out
    return y


def _snap(x, step, u=None):
    """``x`` rounded to a multiple of ``step`` (no range: an update's granularity), by :func:`_round`."""
    units = x / step
    return _round(units, u) * step


@validate_params({"x": Array(), "bits": BITS, "low": Real(), "high": Real(), "gen": NO_VALIDATION})
def quantize_between(x, bits: int, low: float, high: float, gen=None):
    """``x`` rounded onto ``2^bits`` uniform levels ``low + k D``, ``D = (high - low) /
    (2^bits - 1)``, after clipping to ``[low, high]`` (``low < high``).

    ``gen`` (a random Generator) selects stochastic rounding,
    ``q = low + D floor((x - low) / D + U)`` with ``U ~ U[0, 1)``, unbiased
    inside the range (``E[q] = x``); without it, round to nearest. ``x`` must be
    finite; integer input is quantized as floats (float64), never truncated.
    """
    if not low < high:
        raise InvalidParameterError(f"low must be less than high, got low={low!r} and high={high!r}")
    if gen is not None and not hasattr(gen, "random"):
        raise InvalidParameterError(f"gen must be None or a random Generator, got {gen!r}")
    return _quantize(x, bits, low, high, None if gen is None else _uniform(gen, x.shape, x.dtype))


def _uniform(gen, shape, dtype):
    """Uniforms for stochastic rounding of an array of ``dtype``: float32 draws for float32, else float64."""
    return gen.random(shape, dtype=np.float32 if dtype == np.float32 else np.float64)


@validate_params({"x": Array(), "bits": BITS, "clip": POSITIVE, "stochastic": Bool(), "seed": Optional(Seed())})
def quantize(x, bits: int, clip: float, stochastic: bool = False, seed: int | None = None):
    """``x`` on ``2^bits`` uniform levels over ``[-clip, clip]`` (endpoints included).

    Values outside the range are clipped first. Deterministic rounding goes to
    the nearest level; ``stochastic=True`` rounds up with probability equal to
    the fractional position between the two neighbouring levels
    (``q = D floor(x / D + U)``, unbiased inside the range; aihwkit's
    stochastic rounding), drawing from a Generator seeded with ``seed``.
    ``x`` must be finite and non-empty; integer input becomes float64 (the
    levels are not integers), floating input keeps its dtype.
    """
    if stochastic and seed is None:
        raise InvalidParameterError("stochastic rounding draws random numbers: pass seed=<non-negative int>")
    u = _uniform(backend._rng(seed), x.shape, x.dtype) if stochastic else None
    return _quantize(x, bits, -clip, clip, u)


@validate_params({"bits": BITS, "clip": POSITIVE})
def level_step(bits: int, clip: float) -> float:
    """The spacing ``2 clip / (2^bits - 1)`` of :func:`quantize`'s levels."""
    return 2.0 * clip / ((1 << bits) - 1)
