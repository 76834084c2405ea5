"""Array backend: NumPy or CuPy from one code path, and the library's one seed policy.

Kernels call :func:`xp` for the array namespace and :func:`stream` for a seeded
random stream, and never touch ``numpy.random``'s global state. The backend is
chosen by the environment variable ``ASTROCORE_BACKEND`` (``numpy``, the
default, or ``cupy``) or by :func:`set_backend`; :func:`use_backend` switches
temporarily.

Seed policy
-----------
A run has one seed, a non-negative int. Every random draw of the run comes from
one of its *named streams*: the stream ``name`` of run ``seed`` is the
generator of ``numpy.random.SeedSequence([seed, STREAMS[name], *keys])``
(:func:`seed_sequence`, :func:`stream`), so each stream is independent of the
others, and drawing more or fewer numbers from one (a longer initialisation, a
new effect on the device, another batch size) never shifts another:

============== ==========================================================
stream         draws
============== ==========================================================
initialisation the network's initial parameters (:meth:`astrocore.nets.MLP.init_params`)
perturbations  MGD's perturbations and smart-direction signs
minibatches    the order in which training samples are presented
device         a simulated chip (:class:`astrocore.hardware.Device`): see
               :func:`device_stream`
recurrent,     a reservoir's random structures (``reservoir.topology.host_rng``):
input, astro,  recurrent graph, input layout, astrocyte graph, initial link
phases,        phases, ARPACK's start vector, steering phases
arpack, steer
============== ==========================================================

A simulated device is a sub-run: its seed is :func:`stream_seed` ``(seed,
"device")`` (one 32-bit word of the device's SeedSequence), its own draws come
from ``rng(device seed)`` and its structures' from ``SeedSequence([device seed,
DEVICE_STREAMS[name], *keys])`` (:func:`device_stream`). The numbers in
:data:`STREAMS` and :data:`DEVICE_STREAMS` are part of every result: never
renumber one; add new names with new numbers.
"""

from __future__ import annotations

import contextlib
import os
from types import ModuleType

import numpy as np

from .validation import Bool, Choice, Integer, Optional, Seed, validate_params

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


class on_host:  # noqa: N801 - used like a function: ``with backend.on_host():``
    """Context manager: NumPy for the block, then the previous backend (what a host-side model uses).

    :func:`use_backend` without the name check and generator frame, for calls in a step loop."""

    __slots__ = ("_previous",)

    def __enter__(self):
        global _current
        self._previous = get_backend()
        _current = "numpy"
        return np

    def __exit__(self, *exc):
        global _current
        _current = self._previous


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


STREAMS = {
    # reservoir structures (astrocore.reservoir.topology.host_rng)
    "recurrent": 1, "input": 2, "astro": 3, "phases": 4, "arpack": 5, "steer": 6,
    # training
    "initialisation": 7, "perturbations": 8, "minibatches": 9,
    # test-time adaptation (astrocore.reservoir.phase_control: the MGD codes of the link-phase controller)
    "phase_control": 10,
    # a simulated device ("HWAR"; astrocore.hardware.device)
    "device": 0x48574152,
}
"""The named streams of a run: name -> the number that follows the seed in its SeedSequence."""

DEVICE_STREAMS = {"recurrent": 1, "input": 2, "modulation": 3, "phase": 4, "readout": 5, "controller": 6}
"""A device's named streams (the reservoirs' hardware draws: programmed weights, modulation and phase noise;
an online readout's chips, one per batch column: :mod:`astrocore.online.chip`; the link-phase controller's
cost read-out: :mod:`astrocore.reservoir.phase_control`)."""

_STREAM = Choice(tuple(STREAMS))
_DEVICE_STREAM = Choice(tuple(DEVICE_STREAMS))
_KEY = Integer(0)


def _check_keys(keys) -> tuple:
    return tuple(_KEY.check("keys", k) for k in keys)


@validate_params({"seed": Seed(), "name": _STREAM})
def seed_sequence(seed: int, name: str, *keys: int) -> np.random.SeedSequence:
    """The SeedSequence of stream ``name`` of run ``seed``: ``SeedSequence([seed, STREAMS[name], *keys])``.

    ``keys`` (non-negative ints) split a stream further (one per column, layer, ...)."""
    return _seed_sequence(seed, name, _check_keys(keys))


def _seed_sequence(seed, name, keys=()) -> np.random.SeedSequence:
    return np.random.SeedSequence([int(seed), STREAMS[name], *keys])


@validate_params({"seed": Seed(), "name": _STREAM, "host": Bool()})
def stream(seed: int, name: str, *keys: int, host: bool = False):
    """The random Generator of stream ``name`` of run ``seed`` (module docstring).

    On the NumPy backend (or with ``host=True``, always NumPy: what a reservoir
    builds on the host) it is ``numpy.random.default_rng(seed_sequence(seed,
    name, *keys))``; on the CuPy backend a CuPy generator seeded with the first
    32-bit word of that SeedSequence.
    """
    return _stream(seed, name, _check_keys(keys), host)


def _stream(seed, name, keys=(), host=False):
    """:func:`stream` for arguments already checked (the entry points declare theirs)."""
    sequence = _seed_sequence(seed, name, keys)
    if host or get_backend() != "cupy":
        return np.random.default_rng(sequence)
    return _import_cupy().random.default_rng(int(sequence.generate_state(1)[0]))


@validate_params({"seed": Seed(), "name": _STREAM})
def stream_seed(seed: int, name: str) -> int:
    """An int seed for a sub-run: the first 32-bit word of :func:`seed_sequence` ``(seed, name)``.

    ``stream_seed(seed, "device")`` is the seed of run ``seed``'s simulated device
    (:func:`astrocore.hardware.stream_seed` gives the same number)."""
    return _stream_seed(seed, name)


def _stream_seed(seed, name) -> int:
    return int(_seed_sequence(seed, name).generate_state(1)[0])


@validate_params({"seed": Seed(), "name": Optional(_DEVICE_STREAM)})
def device_stream(seed: int, name: str | None = None, *keys: int):
    """A stream of the simulated device of run ``seed``.

    ``name=None``: the device's own generator, :func:`rng` ``(stream_seed(seed,
    "device"))`` on the active backend (a :class:`astrocore.hardware.Device`'s
    chip draws). A name of :data:`DEVICE_STREAMS` (and ``keys``): the host
    Generator of ``SeedSequence([stream_seed(seed, "device"), DEVICE_STREAMS[name],
    *keys])`` (a reservoir's weights and oscillators on the device).
    """
    return _device_stream(seed, name, _check_keys(keys))


def _device_stream(seed, name=None, keys=()):
    device_seed = _stream_seed(seed, "device")
    if name is None:
        return _rng(device_seed)
    return np.random.default_rng([device_seed, DEVICE_STREAMS[name], *keys])


def asarray(a, dtype=None):
    """Move ``a`` to the active backend (no copy when already there)."""
    return xp().asarray(a, dtype=dtype)


def to_host(a):
    """Return ``a`` as a NumPy array (copies device arrays to the host)."""
    if hasattr(a, "get") and not isinstance(a, np.ndarray):
        return a.get()
    return np.asarray(a)
