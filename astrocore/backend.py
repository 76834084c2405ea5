"""Array backend: NumPy or CuPy from one code path.

Kernels call :func:`xp` for the array namespace and :func:`rng` for a seeded
random stream, and never touch ``numpy.random``'s global state. The backend is
chosen by the environment variable ``ASTROCORE_BACKEND`` (``numpy``, the
default, or ``cupy``) or by :func:`set_backend`; :func:`use_backend` switches
temporarily.
"""

from __future__ import annotations

import contextlib
import os
from types import ModuleType

import numpy as np

from .validation import Choice, Seed, validate_params

BACKENDS = ("numpy", "cupy")
_ENV_VAR = "ASTROCORE_BACKEND"
_current: str | None = None


class _BackendName(Choice):
    """A backend name, case-insensitive (``ASTROCORE_BACKEND=NumPy`` works); converted to lower case."""

    def accepts(self, value) -> bool:
        return isinstance(value, str) and value.lower() in self.options

    def convert(self, value):
        return value.lower()

    def describe(self) -> str:
        return f"a backend name, one of {self.options} (any case)"


BACKEND = _BackendName(BACKENDS)


def _import_cupy() -> ModuleType:
    try:
        import cupy  # noqa: PLC0415
    except ImportError as err:  # pragma: no cover - depends on the machine
        raise RuntimeError(
            "backend 'cupy' was requested but CuPy is not installed; install the "
            "GPU extra (pip install 'astrocore[gpu]') on a machine with CUDA, or "
            f"use {_ENV_VAR}=numpy"
        ) from err
    return cupy


@validate_params({"name": BACKEND})
def set_backend(name: str) -> None:
    """Select the array backend for all kernels (``'numpy'`` or ``'cupy'``, any case)."""
    if name == "cupy":
        _import_cupy()
    global _current
    _current = name


def get_backend() -> str:
    """Name of the active backend; read from ``ASTROCORE_BACKEND`` on first use."""
    global _current
    if _current is None:
        value = os.environ.get(_ENV_VAR, "numpy") or "numpy"
        if not BACKEND.accepts(value):
            raise ValueError(f"the environment variable {_ENV_VAR} must be {BACKEND.describe()}, got {value!r}")
        set_backend(value)
    return _current


@contextlib.contextmanager
@validate_params({"name": BACKEND})
def use_backend(name: str):
    """Context manager that selects a backend and restores the previous one."""
    previous = get_backend()
    set_backend(name)
    try:
        yield xp()
    finally:
        set_backend(previous)


def xp() -> ModuleType:
    """The array namespace of the active backend (``numpy`` or ``cupy``)."""
    return _import_cupy() if get_backend() == "cupy" else np


@validate_params({"seed": Seed()})
def rng(seed: int):
    """A fresh random Generator seeded with ``seed`` on the active backend.

    ``seed`` must be a non-negative int: every random stream in astrocore
    flows from a configured seed, never from global state.
    """
    return _rng(seed)


def _rng(seed: int):
    """:func:`rng` for a seed already checked (the entry points declare theirs)."""
    if get_backend() == "cupy":
        return _import_cupy().random.default_rng(int(seed))
    return np.random.default_rng(int(seed))


def asarray(a, dtype=None):
    """Move ``a`` to the active backend (no copy when already there)."""
    return xp().asarray(a, dtype=dtype)


def to_host(a):
    """Return ``a`` as a NumPy array (copies device arrays to the host)."""
    if hasattr(a, "get") and not isinstance(a, np.ndarray):
        return a.get()
    return np.asarray(a)
