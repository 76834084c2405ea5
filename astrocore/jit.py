"""Fused CPU kernels: numba-compiled loops, each with its NumPy reference as the fallback.

A hot loop that NumPy runs as many passes over large arrays (the code-mode
perturbation draw of MGD, the Rhythmic Sharing phase step) is written once as a
plain Python loop over the elements and compiled by numba (``nopython``,
``fastmath`` off, so every operation rounds as IEEE 754 says, no FMA
contraction, no reassociation; cached on disk). :func:`fused` pairs it with the
NumPy function it replaces, which takes the same arguments:

    @jit.fused(numpy_reference)
    def kernel(a, b, out): ...          # the loop, compiled on first call

``kernel(...)`` runs the compiled loop when it can, and the NumPy reference
when it cannot: numba is not installed, the loop failed to compile (a warning
says why, once), the active backend is not NumPy, or ``ASTROCORE_JIT=0`` is set
(read at every call: the switch for checking a result on the reference path).
``kernel.reference`` is the NumPy function and ``kernel.py_func`` the loop
itself, uncompiled (the tests run all three on the same inputs).
"""

from __future__ import annotations

import os
import warnings

from . import backend

ENV_VAR = "ASTROCORE_JIT"

try:
    import numba
except ImportError:  # pragma: no cover - numba is in the lock; a bare install may lack it
    numba = None


def enabled() -> bool:
    """True when fused kernels may run: numba importable, the NumPy backend active, ``ASTROCORE_JIT`` not ``0``."""
    return (numba is not None and os.environ.get(ENV_VAR, "1").strip() != "0"
            and backend.get_backend() == "numpy")


class FusedKernel:
    """A numba-compiled loop with its NumPy reference (module docstring)."""

    def __init__(self, py_func, reference):
        self.py_func, self.reference = py_func, reference
        self.__name__, self.__doc__ = py_func.__name__, py_func.__doc__
        self._compiled = None
        if numba is not None:
            try:
                self._compiled = numba.njit(py_func, cache=True, fastmath=False, nogil=True)
            except RuntimeError:  # no file to cache beside (a loop defined interactively)
                self._compiled = numba.njit(py_func, fastmath=False, nogil=True)
        self.failure: str | None = None

    def available(self) -> bool:
        """Whether a call would run the compiled loop (it compiles on first use, so this may still fail once)."""
        return self._compiled is not None and self.failure is None and enabled()

    def __call__(self, *args):
        if not self.available():
            return self.reference(*args)
        try:
            return self._compiled(*args)
        except (numba.core.errors.TypingError, numba.core.errors.LoweringError,
                numba.core.errors.UnsupportedError) as err:
            self.failure = f"{type(err).__name__}: {str(err).splitlines()[0]}"
            warnings.warn(f"fused kernel {self.__name__} did not compile ({self.failure}); "
                          "using its NumPy reference", RuntimeWarning, stacklevel=2)
            return self.reference(*args)


def fused(reference):
    """Decorator: the loop it decorates, compiled, with ``reference`` (same arguments) as its fallback."""

    def decorate(py_func):
        return FusedKernel(py_func, reference)

    return decorate
