"""Validation helpers: ``ValueError`` messages that name the parameter, the value
and what is allowed (scikit-learn style: ``"spectral_radius must be > 0, got -1"``)."""

from __future__ import annotations

import numbers

import numpy as np


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_real(name: str, value, *, low=None, high=None, low_open=False, high_open=False) -> float:
    """A finite real number within [low, high] (ends open where asked)."""
    if not _is_real(value) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    value = float(value)
    if low is not None and (value <= low if low_open else value < low):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value:g}")
    if high is not None and (value >= high if high_open else value > high):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {value:g}")
    return value


def check_interval(name: str, value, low: float, high: float) -> float:
    """A finite real number in the closed interval [low, high]."""
    if not _is_real(value) or not np.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{name} must be in [{low:g}, {high:g}], got {value!r}")
    return float(value)


def check_int(name: str, value, *, low=None, high=None, high_name: str | None = None) -> int:
    """An integer (not a bool) within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        what = "a positive integer" if low == 1 else "an integer"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    value = int(value)
    if low is not None and value < low:
        what = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise ValueError(f"{name} must be {what}, got {value}")
    if high is not None and value > high:
        bound = f"{high_name} ({high})" if high_name else str(high)
        raise ValueError(f"{name} must be <= {bound}, got {value}")
    return value


def check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_seed(value) -> int:
    """A seed for :func:`numpy.random.default_rng`: a non-negative int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"seed must be a non-negative int or a sequence of them, got {value!r}")
    return int(value)


def check_seeds(seed) -> tuple[tuple[int, ...], bool]:
    """``(seeds, several)``: an int gives one reservoir, a sequence one per seed."""
    if isinstance(seed, (list, tuple, np.ndarray)):
        seeds = tuple(check_seed(s) for s in seed)
        if not seeds:
            raise ValueError("seed must be a non-negative int or a non-empty sequence, got []")
        return seeds, True
    return (check_seed(seed),), False


def check_finite_array(name: str, array) -> None:
    """Raise naming the first (time) index where ``array`` is NaN or infinite."""
    finite = np.isfinite(array)
    if not finite.all():
        bad = np.argwhere(~finite)[0]
        raise ValueError(f"{name} must be finite, got a non-finite value at index {tuple(bad)}")
